#!/usr/bin/env python3
"""One-command set-up and run for Halo PayLink Assistant (standard library only).

    python3 dev.py demo      set up .venv if needed, open the app on the built-in Halo sandbox
    python3 dev.py test      set up .venv if needed, run lint, type checks and the whole test suite
                             (`python3 dev.py test -m "not slow"` skips the slow tests)
    python3 dev.py app ...   set up .venv if needed, run `halo-paylink ...` with any arguments

The virtual environment lives in `.venv` next to this file, holds the app (editable) with its
`test` and `dev` extras (pytest and friends; ruff, mypy, radon), and is brought up to date only
when `pyproject.toml` changes (a hash of it is stored in `.venv/.halo-paylink-stamp`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".halo-paylink-stamp"
MIN_PYTHON = (3, 11)


def venv_bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / folder / f"{name}{suffix}"


def ensure_venv() -> None:
    """Create `.venv` and install the project with its test and dev extras, once per pyproject
    change."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(
            f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer is needed; "
            f"this is {sys.version.split()[0]}."
        )
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and venv_bin("python").exists():
        return
    if not venv_bin("python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing Halo PayLink Assistant and its test tools into .venv ...", flush=True)
    pip = [str(venv_bin("python")), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test,dev]"], check=True)
    STAMP.write_text(wanted)


def run(args: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def cmd_test(extra: list[str]) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    py = str(venv_bin("python"))
    steps = [
        (
            "ruff check",
            [py, "-m", "ruff", "check", "src", "tests", "benchmarks", "scripts", "dev.py"],
        ),
        (
            "ruff format --check",
            [
                py,
                "-m",
                "ruff",
                "format",
                "--check",
                "src",
                "tests",
                "benchmarks",
                "scripts",
                "dev.py",
            ],
        ),
        ("mypy", [py, "-m", "mypy"]),
        ("complexity (no function above 20)", [py, "scripts/complexity.py", "--max", "20"]),
    ]
    if not extra:
        for title, args in steps:
            print(f"== {title}", flush=True)
            if code := run(args, env):
                print(f"{title} failed (exit {code}).", flush=True)
                return code
    print("== pytest", flush=True)
    return run([py, "-m", "pytest", *extra], env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "app"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return cmd_test(rest)
    app = str(venv_bin("halo-paylink"))
    if command == "demo":
        return run([app, "--demo", *rest])
    return run([app, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
