"""storage.paths and storage.atomic: folder layout, the env override, atomic owner-only writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from halo_paylink.storage import atomic
from halo_paylink.storage.atomic import ensure_private_dir, write_atomic
from halo_paylink.storage.paths import HOME_ENV, AppPaths

POSIX = os.name != "nt"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_home_env_overrides_everything(tmp_path: Path) -> None:
    paths = AppPaths.default({HOME_ENV: str(tmp_path)})
    assert paths.config_dir == tmp_path / "config"
    assert paths.state_dir == tmp_path / "state"
    assert paths.log_dir == tmp_path / "logs"
    assert paths.cache_dir == tmp_path / "cache"
    assert paths.journals_dir == tmp_path / "state" / "runs"
    assert paths.reports_dir == tmp_path / "state" / "reports"
    assert paths.profiles_file == tmp_path / "config" / "profiles.json"
    assert paths.log_file.parent == tmp_path / "logs"


def test_home_env_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert AppPaths.default({HOME_ENV: "~/portable"}).config_dir == tmp_path / "portable" / "config"


def test_reads_os_environ_by_default(isolated_app_home: Path) -> None:
    assert AppPaths.default().config_dir == isolated_app_home / "config"


def test_platformdirs_without_override() -> None:
    import platformdirs

    paths = AppPaths.default({HOME_ENV: "  "})  # blank counts as unset
    dirs = platformdirs.PlatformDirs("halo-paylink", appauthor=False)
    assert paths.config_dir == Path(dirs.user_config_dir)
    assert paths.state_dir == Path(dirs.user_state_dir)
    assert paths.log_dir == Path(dirs.user_log_dir)
    assert paths.cache_dir == Path(dirs.user_cache_dir)
    assert "halo-paylink" in str(paths.config_dir)


def test_nothing_created_until_ensure(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home")
    _ = (paths.profiles_file, paths.journals_dir, paths.reports_dir, paths.log_file)
    assert not (tmp_path / "home").exists()
    assert paths.ensure() is paths
    for folder in paths.all_dirs():
        assert folder.is_dir()
        if POSIX:
            assert mode_of(folder) == 0o700, folder
    paths.ensure()  # idempotent


def test_import_creates_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "fresh"
    code = (
        "import halo_paylink.storage.paths, halo_paylink.storage.profiles, "
        "halo_paylink.storage.secrets, halo_paylink.storage.logs, halo_paylink.cli.common"
    )
    env = dict(os.environ, **{HOME_ENV: str(home)})
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert not home.exists()


def test_ensure_private_dir_tightens_existing(tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    ensure_private_dir(folder)
    if POSIX:
        assert mode_of(folder) == 0o700


# --- atomic writes -------------------------------------------------------------------------------
def test_write_atomic_round_trip_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    write_atomic(target, "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    if POSIX:
        assert mode_of(target) == 0o600
        assert mode_of(target.parent) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]  # no temp files left


def test_write_atomic_custom_mode(tmp_path: Path) -> None:
    target = tmp_path / "x"
    write_atomic(target, "x", mode=0o640)
    if POSIX:
        assert mode_of(target) == 0o640


def test_crash_before_replace_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "profiles.json"
    write_atomic(target, "old contents")

    seen_temp: list[Path] = []

    def crash(src: str, dst: object) -> None:
        # The new data is fully written to the temp file in the same folder when the "crash" hits.
        temp = Path(src)
        assert temp.parent == tmp_path
        assert temp.read_text() == "new contents"
        if POSIX:
            assert mode_of(temp) == 0o600
        seen_temp.append(temp)
        raise OSError("simulated power loss")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        write_atomic(target, "new contents")
    assert seen_temp
    assert target.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles.json"]  # temp removed


def test_crash_during_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f"
    write_atomic(target, "old")

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_windows_skips_chmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(atomic, "_posix", lambda: False)
    monkeypatch.setattr(atomic.os, "chmod", lambda *a, **k: calls.append(a))
    write_atomic(tmp_path / "w", "data")
    ensure_private_dir(tmp_path / "d")
    assert calls == []
    assert (tmp_path / "w").read_text() == "data"


def test_chmod_refusal_is_tolerated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("file system without modes")

    monkeypatch.setattr(atomic.os, "chmod", refuse)
    write_atomic(tmp_path / "f", "data")
    assert (tmp_path / "f").read_text() == "data"
