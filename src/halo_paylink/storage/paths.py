"""Where every file of the app lives.

All folders come from platformdirs (app name "halo-paylink", no app author), unless the environment
variable `HALO_PAYLINK_HOME` names a folder: then everything lives below it (`config/`, `state/`,
`logs/`, `cache/`), which tests and portable installs use. Nothing is created until `ensure()`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from halo_paylink.storage.atomic import ensure_private_dir

APP_NAME = "halo-paylink"
#: Environment variable that moves every app folder below one directory.
HOME_ENV = "HALO_PAYLINK_HOME"
PROFILES_FILE_NAME = "profiles.json"
LOG_FILE_NAME = "halo-paylink.log"


@dataclass(frozen=True)
class AppPaths:
    """The app's folders. Pure values: constructing one touches no disk.

    Attributes:
        config_dir: profiles (settings the user chose).
        state_dir: run journals and reports (what the app did).
        log_dir: the rotating log file.
        cache_dir: anything that can be deleted at any time.
    """

    config_dir: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> AppPaths:
        """This user's folders: below `HALO_PAYLINK_HOME` when set (not empty), else platformdirs.

        Args:
            environ: the environment to read (default `os.environ`); tests pass their own.
        """
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV, "").strip()
        if home:
            return cls.under(Path(home).expanduser())
        import platformdirs  # imported here so that importing this module stays free of work

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        return cls(
            config_dir=Path(dirs.user_config_dir),
            state_dir=Path(dirs.user_state_dir),
            log_dir=Path(dirs.user_log_dir),
            cache_dir=Path(dirs.user_cache_dir),
        )

    @classmethod
    def under(cls, home: str | os.PathLike[str]) -> AppPaths:
        """Every folder below `home` (portable mode, tests)."""
        root = Path(home)
        return cls(
            config_dir=root / "config",
            state_dir=root / "state",
            log_dir=root / "logs",
            cache_dir=root / "cache",
        )

    @classmethod
    def temporary(cls, prefix: str = "halo-paylink-demo-") -> AppPaths:
        """Every folder below a new, private temporary folder (demo mode): nothing the session
        writes reaches this user's real folders. Creates the folder (blocking); the caller
        removes `root` when done (it is in the system's temp folder either way)."""
        return cls.under(tempfile.mkdtemp(prefix=prefix))

    @property
    def root(self) -> Path:
        """The folder all four live below, for `under` and `temporary` paths (the config
        folder's parent)."""
        return self.config_dir.parent

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / PROFILES_FILE_NAME

    @property
    def journals_dir(self) -> Path:
        """Backfill run journals (one per run)."""
        return self.state_dir / "runs"

    @property
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"

    @property
    def tenants_dir(self) -> Path:
        """What was learned about each Halo (one small JSON file per Halo address)."""
        return self.state_dir / "tenants"

    @property
    def admin_steps_dir(self) -> Path:
        """Backups of email templates the assistant changed, and custom buttons it created."""
        return self.state_dir / "admin-steps"

    @property
    def log_file(self) -> Path:
        return self.log_dir / LOG_FILE_NAME

    def all_dirs(self) -> tuple[Path, ...]:
        return (
            self.config_dir,
            self.state_dir,
            self.log_dir,
            self.cache_dir,
            self.journals_dir,
            self.reports_dir,
            self.tenants_dir,
            self.admin_steps_dir,
        )

    def ensure(self) -> AppPaths:
        """Create every folder (owner-only, 0700 on POSIX) and return self. Blocking, idempotent."""
        for folder in self.all_dirs():
            ensure_private_dir(folder)
        return self


#: The installed command's name.
COMMAND_NAME = "halo-paylink"


def program_command(
    *, which: Callable[[str], str | None] = shutil.which, executable: str | None = None
) -> str:
    """How to start this program again from a shell, for the commands the app prints.

    `halo-paylink` when that name on PATH is this installation's (a pip, pipx or bundle
    install); otherwise, e.g. run through `python3 dev.py` or `python -m halo_paylink` with the
    virtual environment not on PATH, this interpreter with `-m halo_paylink`, which works from
    any folder.
    """
    python = executable or sys.executable
    found = which(COMMAND_NAME)
    if found and python:
        here = {Path(python).parent, Path(python).resolve().parent}
        there = {Path(found).parent, Path(found).resolve().parent}
        if here & there:
            return COMMAND_NAME
    if not python:  # an embedded interpreter without a path: the name is all we have
        return COMMAND_NAME
    if getattr(sys, "frozen", False):  # a bundle: its executable is the program itself
        return shlex.quote(python)
    return f"{shlex.quote(python)} -m halo_paylink"
