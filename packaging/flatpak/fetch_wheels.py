#!/usr/bin/env python3
"""Download the wheels the Flatpak is built from: exactly the files pinned in the lock files.

    python3 packaging/flatpak/fetch_wheels.py [--arch x86_64|aarch64] [--python 3.12]

Reads packaging/requirements/runtime.lock (what the app runs with) and the setuptools pin of
bundle.lock (what builds the app), and lets pip download, hash-checked, the binary wheels for the
Flatpak runtime's Python and architecture into packaging/flatpak/wheels/. flatpak-builder then
installs them offline with `--require-hashes`. Needs the network; the build itself does not.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE.parent / "requirements"
WHEELS = HERE / "wheels"
#: The Python and glibc of the runtime the manifest names (org.kde.Platform 6.8 is built on the
#: freedesktop 24.08 SDK: Python 3.12, glibc 2.40). PySide6 6.10+ wheels need glibc 2.34 or newer.
RUNTIME_PYTHON = "3.12"
RUNTIME_GLIBC_MINOR = 40


def build_pins() -> str:
    """The hashed setuptools pin of bundle.lock, as a requirements file fragment."""
    text = (REQUIREMENTS / "bundle.lock").read_text(encoding="utf-8")
    match = re.search(r"^setuptools==.*?(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise SystemExit("bundle.lock pins no setuptools: run python3 packaging/lock.py")
    return match.group(0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="x86_64", choices=("x86_64", "aarch64"))
    parser.add_argument("--python", default=RUNTIME_PYTHON)
    args = parser.parse_args(argv)
    WHEELS.mkdir(exist_ok=True)
    abi = "cp" + args.python.replace(".", "")
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build.txt"
        build.write_text(build_pins(), encoding="utf-8")
        for requirements in (REQUIREMENTS / "runtime.lock", build):
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "download", "--require-hashes", "--no-deps"),
                    *("--only-binary", ":all:", "--python-version", args.python),
                    *("--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none"),
                    *(
                        f"--platform=manylinux_2_{minor}_{args.arch}"
                        for minor in range(RUNTIME_GLIBC_MINOR, 16, -1)
                    ),
                    f"--platform=manylinux2014_{args.arch}",
                    "--platform=any",
                    *("-d", str(WHEELS), "-r", str(requirements)),
                ],
                check=True,
            )
    print(f"wheels for the Flatpak in {WHEELS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
