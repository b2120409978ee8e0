#!/usr/bin/env python3
"""Build the Linux bundle of Halo PayLink Assistant from a clean venv, check it, and pack it.

    python3 packaging/build.py               everything below
    python3 packaging/build.py --reuse-venv  keep build/bundle-venv if it exists (faster rebuilds)
    python3 packaging/build.py --validate    only validate the desktop file and metainfo

Steps:
  1. validate packaging/linux/*.desktop and *.metainfo.xml with `desktop-file-validate` and
     `appstreamcli validate --no-net` when they are installed (Debian: desktop-file-utils,
     appstream); a missing validator is a warning, or an error with --strict;
  2. create a clean venv in build/bundle-venv; install the project (not editable) and PyInstaller;
  3. run PyInstaller with packaging/pyinstaller/halo-paylink.spec -> dist/halo-paylink/ (one-dir);
  4. pack dist/halo-paylink-<version>-linux-<arch>.tar.gz: the bundle, share/ (desktop file,
     metainfo, icons) and install.sh;
  5. smoke-test the bundle (packaging/smoke_test.py): offscreen start, first page, exit 0, and
     nothing written next to itself.

Standard library only; run it with the system's Python 3.11+. On Windows and macOS run the spec by
hand (see packaging/README.md); this script builds the Linux bundle.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
SPEC = PACKAGING / "pyinstaller" / "halo-paylink.spec"
BUILD = ROOT / "build"
VENV = BUILD / "bundle-venv"
WORK = BUILD / "pyinstaller"
DIST = ROOT / "dist"
BUNDLE_NAME = "halo-paylink"
PYINSTALLER_REQUIREMENT = "pyinstaller>=6.10,<7"

sys.path.insert(0, str(PACKAGING))
import smoke_test  # noqa: E402  (a sibling script, standard library only)


def read_package_constant(name: str) -> str:
    """Read a string constant from src/halo_paylink/__init__.py without importing the package."""
    text = (ROOT / "src" / "halo_paylink" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(rf'^{name}\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit(f"{name} not found in src/halo_paylink/__init__.py")
    return match.group(1)


APP_ID = read_package_constant("APP_ID")
VERSION = read_package_constant("__version__")


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(args: list[str | os.PathLike[str]], **kwargs: object) -> None:
    print("$ " + " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, **kwargs)  # type: ignore[call-overload]


def validate(strict: bool) -> bool:
    """Validate the desktop file and the metainfo with the freedesktop tools; False on failure."""
    desktop = LINUX / f"{APP_ID}.desktop"
    metainfo = LINUX / f"{APP_ID}.metainfo.xml"
    checks = [
        ("desktop-file-validate", [str(desktop)], "desktop-file-utils"),
        ("appstreamcli", ["validate", "--no-net", "--explain", str(metainfo)], "appstream"),
    ]
    ok = True
    for tool, args, debian_package in checks:
        exe = shutil.which(tool)
        if exe is None:
            message = f"{tool} is not installed (apt-get install {debian_package}); not validated"
            print(("ERROR: " if strict else "warning: ") + message)
            ok = ok and not strict
            continue
        done = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
        output = (done.stdout + done.stderr).strip()
        print(f"$ {tool} {' '.join(args)}\n{output}" if output else f"$ {tool} {' '.join(args)}")
        if done.returncode != 0:
            print(f"ERROR: {tool} failed (exit {done.returncode})")
            ok = False
    return ok


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(reuse: bool) -> None:
    """Create the build venv (fresh unless `reuse`) with the project and PyInstaller."""
    if reuse and venv_python().exists():
        print(f"reusing {VENV.relative_to(ROOT)}")
    else:
        print(f"creating a clean venv in {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [venv_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run([*pip, "--upgrade", "pip"])
    # Not editable: the bundle must be built from what a user would install.
    run([*pip, str(ROOT), PYINSTALLER_REQUIREMENT])


def run_pyinstaller() -> Path:
    bundle = DIST / BUNDLE_NAME
    if bundle.exists():
        shutil.rmtree(bundle)
    run(
        [
            venv_python(),
            *("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN"),
            *("--distpath", DIST, "--workpath", WORK, SPEC),
        ],
        cwd=ROOT,
    )
    exe = bundle / BUNDLE_NAME
    if not exe.is_file():
        raise SystemExit(f"PyInstaller did not produce {exe}")
    return bundle


def report_missing_system_libraries(bundle: Path) -> list[str]:
    """Warn about libraries the display plugins need that neither the bundle nor this system has.

    PyInstaller bundles what it finds on the build machine; a library missing here (for example
    libxcb-cursor0) must then be installed on every user's machine, so say so now.
    """
    internal = bundle / "_internal"
    plugins = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    ldd = shutil.which("ldd")
    if ldd is None or not plugins.is_dir():
        return []
    env = dict(os.environ, LD_LIBRARY_PATH=f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}")
    missing: set[str] = set()
    for plugin in sorted(plugins.glob("*.so")):
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, env=env)
        missing.update(line.split()[0] for line in done.stdout.splitlines() if "not found" in line)
    for name in sorted(missing):
        print(f"warning: {name} is in neither the bundle nor this system; users will need it")
    return sorted(missing)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owner-neutral archive entries (no build machine user names)."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def make_tarball(bundle: Path) -> Path:
    """Pack the bundle with the desktop integration files and install.sh."""
    arch = platform.machine().lower() or "unknown"
    top = f"{BUNDLE_NAME}-{VERSION}"
    tarball = DIST / f"{BUNDLE_NAME}-{VERSION}-linux-{arch}.tar.gz"
    extras = {
        f"share/applications/{APP_ID}.desktop": LINUX / f"{APP_ID}.desktop",
        f"share/metainfo/{APP_ID}.metainfo.xml": LINUX / f"{APP_ID}.metainfo.xml",
        "install.sh": LINUX / "install.sh",
    }
    icons = ROOT / "resources" / "icons" / "hicolor"
    for icon in sorted(icons.rglob("*")):
        if icon.is_file():
            extras[f"share/icons/hicolor/{icon.relative_to(icons).as_posix()}"] = icon
    with tarfile.open(tarball, "w:gz") as tar:
        for path in sorted(bundle.iterdir()):
            tar.add(path, arcname=f"{top}/{path.name}", filter=_normalise)
        for name, source in extras.items():
            info = _normalise(tar.gettarinfo(str(source), arcname=f"{top}/{name}"))
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            with source.open("rb") as handle:
                tar.addfile(info, handle)
    return tarball


def folder_size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size:.0f} B"
        size /= 1024
    raise AssertionError("unreachable")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse-venv", action="store_true", help="keep an existing build venv")
    parser.add_argument("--validate", action="store_true", help="only validate the metadata")
    parser.add_argument("--strict", action="store_true", help="fail when a validator is missing")
    parser.add_argument("--skip-smoke", action="store_true", help="do not smoke-test the bundle")
    parser.add_argument("--timeout", type=float, default=60.0, help="smoke test timeout (s)")
    args = parser.parse_args(argv)

    step("validate desktop file and metainfo")
    if not validate(args.strict):
        return 1
    if args.validate:
        return 0
    if not sys.platform.startswith("linux"):
        print("build.py builds the Linux bundle; on Windows/macOS see packaging/README.md")
        return 2

    started = time.monotonic()
    step("clean venv with the project and PyInstaller")
    make_venv(args.reuse_venv)
    step("PyInstaller")
    bundle = run_pyinstaller()
    report_missing_system_libraries(bundle)
    step("tarball")
    tarball = make_tarball(bundle)
    print(f"built in {time.monotonic() - started:.0f} s")
    print(f"bundle:  {bundle.relative_to(ROOT)}  {human(folder_size(bundle))}")
    print(f"tarball: {tarball.relative_to(ROOT)}  {human(tarball.stat().st_size)}")

    if args.skip_smoke:
        return 0
    step("smoke test")
    return smoke_test.main(["--exe", str(bundle / BUNDLE_NAME), "--timeout", str(args.timeout)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
