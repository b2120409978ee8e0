#!/usr/bin/env python3
"""Smoke-test a built bundle (or any `halo-paylink` executable): start, show a page, quit cleanly.

    python3 packaging/smoke_test.py                          dist/halo-paylink/halo-paylink
    python3 packaging/smoke_test.py --exe .venv/bin/halo-paylink --app-dir .venv/bin

What it checks, each in a fresh temporary folder:
  1. `--version` and `--help` exit 0 (`--help` imports every subcommand module, which proves the
     bundle holds the modules the CLI imports by name);
  2. with HALO_PAYLINK_SMOKE_TEST=1 and QT_QPA_PLATFORM=offscreen the app shows its first page and
     exits 0 within the timeout (60 s), once plain and once with `--demo` (built-in sandbox); the
     app honours that variable by quitting once the page is painted, and may print
     `first page painted after <seconds> s` (stdout or stderr), which the report repeats;
  3. the app wrote nothing next to itself (the app folder is byte-for-byte unchanged: names, sizes,
     modification times), nothing in the working directory, and nothing under the (redirected)
     home folder except toolkit caches: everything of its own goes below HALO_PAYLINK_HOME.

Standard library only, so it runs with any Python 3.11 without the app's environment.
Exit status 0 when every check passed; the report says how long the window run took.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXE = ROOT / "dist" / "halo-paylink" / "halo-paylink"
SMOKE_ENV = "HALO_PAYLINK_SMOKE_TEST"
HOME_ENV = "HALO_PAYLINK_HOME"
DEFAULT_TIMEOUT = 60.0

#: What the app may print in smoke mode to say how long the first page took.
PAINTED = re.compile(r"first page painted after ([0-9]+(?:\.[0-9]+)?) s")

#: Folders below the home directory that libraries (not the app) may write to.
TOOLKIT_CACHES = (".cache/fontconfig", ".cache/mesa_shader_cache", ".cache/qtshadercache")


@dataclass
class StepResult:
    """One run of the executable."""

    args: list[str]
    returncode: int | None  # None: killed after the timeout
    seconds: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def painted_after(self) -> float | None:
        """Seconds to the first painted page, when the app reported it."""
        match = PAINTED.search(self.stdout + "\n" + self.stderr)
        return float(match.group(1)) if match else None


@dataclass
class SmokeReport:
    """Everything the smoke test found; `problems` is empty when it passed."""

    steps: list[StepResult] = field(default_factory=list)
    app_dir_changes: list[str] = field(default_factory=list)
    stray_files: list[str] = field(default_factory=list)
    home_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def window_seconds(self) -> float | None:
        """Wall time of the first window run (start to exit), if it ran."""
        windows = [step for step in self.steps if step.args in ([], ["--demo"])]
        return windows[0].seconds if windows else None


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below `folder` with its size and modification time (ns)."""
    found: dict[str, tuple[int, int]] = {}
    for path in folder.rglob("*"):
        info = path.lstat()
        size = info.st_size if path.is_file() else -1
        found[path.relative_to(folder).as_posix()] = (size, info.st_mtime_ns)
    return found


def diff_snapshots(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    """Human-readable differences: added, removed and changed paths."""
    changes = [f"added {name}" for name in sorted(after.keys() - before.keys())]
    changes += [f"removed {name}" for name in sorted(before.keys() - after.keys())]
    changes += [
        f"changed {name}"
        for name in sorted(before.keys() & after.keys())
        if before[name] != after[name] and before[name][0] != -1  # folders' mtimes may move
    ]
    return changes


def files_below(folder: Path) -> list[str]:
    """Relative paths of the files (not folders) below `folder`, sorted."""
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def label(args: Sequence[str]) -> str:
    """How a run is named in the report."""
    if not args or list(args) == ["--demo"]:
        return " ".join([*args, "(window, smoke mode)"])
    return " ".join(args)


def smoke_environment(base: Path) -> dict[str, str]:
    """The environment for the app: offscreen, smoke mode, and every user folder inside `base`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DISPLAY", "WAYLAND_DISPLAY"} and not key.startswith("XDG_")
    }
    user_home = base / "user-home"
    env.update(
        {
            SMOKE_ENV: "1",
            HOME_ENV: str(base / "app-home"),
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(user_home),
            "XDG_CONFIG_HOME": str(user_home / ".config"),
            "XDG_DATA_HOME": str(user_home / ".local" / "share"),
            "XDG_STATE_HOME": str(user_home / ".local" / "state"),
            "XDG_CACHE_HOME": str(user_home / ".cache"),
            "XDG_RUNTIME_DIR": str(base / "runtime"),
            # A keyring probe must not wait for a real desktop's secret service.
            "DBUS_SESSION_BUS_ADDRESS": "disabled:",
        }
    )
    return env


def run_step(
    command: Sequence[str], args: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> StepResult:
    """Run the executable once with `args`; never raises for a failure or a timeout."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*command, *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or ""
        err = expired.stderr or ""
        return StepResult(
            args,
            None,
            time.monotonic() - started,
            out if isinstance(out, str) else out.decode(errors="replace"),
            err if isinstance(err, str) else err.decode(errors="replace"),
        )
    return StepResult(args, done.returncode, time.monotonic() - started, done.stdout, done.stderr)


def smoke(
    command: Sequence[str], app_dir: Path, *, timeout: float = DEFAULT_TIMEOUT
) -> SmokeReport:
    """Run every check against `command` (the executable and any leading arguments).

    Args:
        command: how to start the app, e.g. `["dist/halo-paylink/halo-paylink"]`.
        app_dir: the folder the app is installed in; it must not change.
        timeout: seconds each run may take before it is killed and counted as a failure.
    """
    report = SmokeReport()
    before = snapshot(app_dir)
    with tempfile.TemporaryDirectory(prefix="halo-paylink-smoke-") as tmp:
        base = Path(tmp)
        cwd = base / "cwd"
        for folder in (cwd, base / "user-home", base / "runtime"):
            folder.mkdir(mode=0o700)
        env = smoke_environment(base)

        for args in (["--version"], ["--help"], [], ["--demo"]):
            step = run_step(command, args, env, cwd, timeout)
            report.steps.append(step)
            shown = label(args)
            if step.returncode is None:
                report.problems.append(f"{shown}: still running after {timeout:.0f} s (killed)")
            elif step.returncode != 0:
                tail = step.stderr.strip().splitlines()[-15:]
                report.problems.append(
                    f"{shown}: exit status {step.returncode}\n    " + "\n    ".join(tail)
                )

        report.app_dir_changes = diff_snapshots(before, snapshot(app_dir))
        report.home_files = files_below(base / "app-home")
        report.stray_files = [f"(working directory) {name}" for name in files_below(cwd)] + [
            f"~/{name}"
            for name in files_below(base / "user-home")
            if not name.startswith(TOOLKIT_CACHES)
        ]
    if report.app_dir_changes:
        report.problems.append(
            "the app wrote next to itself: " + ", ".join(report.app_dir_changes[:10])
        )
    if report.stray_files:
        report.problems.append(
            f"the app wrote outside {HOME_ENV}: " + ", ".join(report.stray_files[:10])
        )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", type=Path, default=DEFAULT_EXE, help="the executable to test")
    parser.add_argument(
        "--app-dir", type=Path, help="folder that must stay unchanged (default: the exe's folder)"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per run")
    args = parser.parse_args(argv)
    exe = args.exe.resolve()
    if not exe.is_file():
        print(f"smoke test: no executable at {exe}; build it first (python3 packaging/build.py)")
        return 2
    report = smoke([str(exe)], (args.app_dir or exe.parent).resolve(), timeout=args.timeout)
    for step in report.steps:
        status = "timeout" if step.returncode is None else f"exit {step.returncode}"
        painted = (
            "" if step.painted_after is None else f"  (first page after {step.painted_after} s)"
        )
        print(f"  {label(step.args):<28} {status:<9} {step.seconds:6.2f} s{painted}")
    print(f"  files written below {HOME_ENV}: {len(report.home_files)}")
    if report.ok:
        print(f"smoke test passed: window run {report.window_seconds:.2f} s")
        return 0
    print("smoke test FAILED:")
    for problem in report.problems:
        print(f"  - {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
