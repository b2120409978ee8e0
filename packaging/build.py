#!/usr/bin/env python3
"""Build the Linux bundle of Halo PayLink Assistant from a clean venv, check it, and pack it.

    python3 packaging/build.py               everything below
    python3 packaging/build.py --reuse-venv  keep build/bundle-venv if it exists (faster rebuilds)
    python3 packaging/build.py --validate    only validate the desktop file, metainfo, manifest

Steps:
  1. validate packaging/linux/*.desktop and *.metainfo.xml with `desktop-file-validate` and
     `appstreamcli validate --no-net`, and let `flatpak-builder --show-manifest` parse the
     Flatpak manifest, when they are installed (Debian: desktop-file-utils, appstream,
     flatpak-builder); a missing validator is a warning, or an error with --strict;
  2. create a clean venv in build/bundle-venv; install the locked dependencies and PyInstaller
     (`pip install --require-hashes -r packaging/requirements/bundle.lock`), then the project
     itself (not editable, no dependencies, built with that locked setuptools);
  3. run PyInstaller with packaging/pyinstaller/halo-paylink.spec -> dist/halo-paylink/ (one-dir);
  4. check the bundle (`check_bundle`): LICENSE, the third-party notices and the licence texts at
     its top and in the app's metadata (which the About dialog reads), no dangling symlink, and
     every library Qt's display plugins link to either in the bundle or a system library every
     distribution has; a failure stops the build;
  5. pack dist/halo-paylink-<version>-linux-<arch>.tar.gz: the bundle (legal files included),
     share/ (desktop file, metainfo, icons) and install.sh;
  6. smoke-test the bundle (packaging/smoke_test.py): offscreen start, first page, exit 0, and
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
#: Files every artefact carries at its top (the bundle folder, the tarball, the wheel's metadata).
LEGAL_FILES = ("LICENSE", "THIRD_PARTY_NOTICES.md")
#: Libraries the bundle leaves to the user's system: glibc's, the GPU driver stack, which must match
#: the machine's own driver, and libxcb / libwayland-client / libwayland-egl, which every X11 or
#: Wayland desktop has and PyInstaller never bundles (they must match the display server's).
SYSTEM_LIBRARIES = re.compile(
    r"^(ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libGL|libEGL|libGLX|libOpenGL"
    r"|libGLdispatch|libdrm|libgbm|libxcb|libwayland-client|libwayland-egl)[.-]"
)
#: Every package the build venv gets, pinned with hashes (refresh: python3 packaging/lock.py).
BUNDLE_LOCK = PACKAGING / "requirements" / "bundle.lock"

sys.path.insert(0, str(PACKAGING))
import smoke_test  # noqa: E402  (a sibling script, standard library only)

sys.path.insert(0, str(PACKAGING / "pyinstaller"))
from bundle_config import BUNDLED_SYSTEM_LIBRARIES  # noqa: E402


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
    manifest = PACKAGING / "flatpak" / f"{APP_ID}.yml"
    checks = [
        ("desktop-file-validate", [str(desktop)], "desktop-file-utils"),
        ("appstreamcli", ["validate", "--no-net", "--explain", str(metainfo)], "appstream"),
        ("flatpak-builder", ["--show-manifest", str(manifest)], "flatpak-builder"),
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
        # The manifest check prints the whole parsed manifest; only its errors are of interest.
        output = (done.stderr if tool == "flatpak-builder" else done.stdout + done.stderr).strip()
        print(f"$ {tool} {' '.join(args)}\n{output}" if output else f"$ {tool} {' '.join(args)}")
        if done.returncode != 0:
            print(f"ERROR: {tool} failed (exit {done.returncode})")
            ok = False
    return ok


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(reuse: bool) -> None:
    """Create the build venv (fresh unless `reuse`) with the locked dependencies and the project."""
    if reuse and venv_python().exists():
        print(f"reusing {VENV.relative_to(ROOT)}")
    else:
        print(f"creating a clean venv in {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [venv_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run([*pip, "--upgrade", "pip"])
    # Exactly the locked versions, each file checked against its hash.
    run([*pip, "--require-hashes", "-r", BUNDLE_LOCK])
    # Not editable: the bundle must be built from what a user would install. No dependencies
    # (they are all locked above) and no build isolation (the locked setuptools builds it).
    run([*pip, "--no-deps", "--no-build-isolation", str(ROOT)])


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


def missing_libraries(bundle: Path) -> list[str]:
    """Libraries the display plugins need that neither the bundle nor this system has.

    PyInstaller bundles what it finds on the build machine; a library missing here (for example
    libwayland-cursor.so.0) would have to be installed on every user's machine, and Qt then
    fails to start on a desktop that lacks it: install it here (see packaging/README.md).
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
    return sorted(missing)


def unbundled_libraries(bundle: Path) -> list[str]:
    """Libraries the display plugins load from this system although the bundle should carry them.

    `ldd` with the bundle first on the path shows where each dependency comes from; anything
    from outside the bundle that is not glibc or the GPU stack (`SYSTEM_LIBRARIES`) may be missing
    on a user's machine.
    """
    internal = bundle / "_internal"
    plugins = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    ldd = shutil.which("ldd")
    if ldd is None or not plugins.is_dir():
        return []
    env = dict(os.environ, LD_LIBRARY_PATH=f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}")
    outside: set[str] = set()
    for plugin in sorted(plugins.glob("libq*.so")):
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, env=env)
        for line in done.stdout.splitlines():
            parts = line.split()
            if (
                len(parts) >= 3
                and parts[1] == "=>"
                and parts[2].startswith("/")
                and not parts[2].startswith(str(internal))
                and not SYSTEM_LIBRARIES.match(parts[0])
            ):
                outside.add(parts[0])
    return sorted(outside)


def dangling_symlinks(folder: Path) -> list[str]:
    """Symlinks below `folder` whose target does not exist (or points outside `folder`)."""
    found = []
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            target = path.resolve()
            if not target.exists() or not target.is_relative_to(root):
                found.append(path.relative_to(folder).as_posix())
    return found


def remove_dangling_symlinks(folder: Path) -> list[str]:
    """Delete the symlinks `dangling_symlinks` finds (PyInstaller leaves some for excluded
    libraries); returns what it removed."""
    removed = dangling_symlinks(folder)
    for name in removed:
        (folder / name).unlink()
    return removed


def check_bundle(bundle: Path) -> list[str]:
    """Everything wrong with a built bundle folder, in words; empty when it is fit to ship."""
    problems = []
    for name in LEGAL_FILES:
        top = bundle / name
        if not top.is_file():
            problems.append(f"{name} is missing at the top of the bundle")
        elif top.read_bytes() != (ROOT / name).read_bytes():
            problems.append(f"{name} in the bundle differs from the repository's")
        in_metadata = list((bundle / "_internal").glob(f"halo_paylink-*.dist-info/licenses/{name}"))
        if not in_metadata:
            problems.append(f"{name} is not in the bundled metadata (the About dialog reads it)")
    for text in sorted((ROOT / "LICENSES").glob("*.txt")):
        if not (bundle / "LICENSES" / text.name).is_file():
            problems.append(f"LICENSES/{text.name} is missing from the bundle")
    for name in BUNDLED_SYSTEM_LIBRARIES:
        if not (bundle / "_internal" / name).is_file():
            problems.append(f"{name} is not in the bundle")
    for name in dangling_symlinks(bundle):
        problems.append(f"dangling symlink: {name}")
    for name in missing_libraries(bundle):
        problems.append(f"{name} is in neither the bundle nor this system (install it and rebuild)")
    return problems


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
    for name in LEGAL_FILES:
        if not (bundle / name).is_file():  # the spec copies them into the folder itself
            extras[name] = ROOT / name
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

    step("validate desktop file, metainfo and Flatpak manifest")
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
    step("check the bundle")
    for name in remove_dangling_symlinks(bundle):
        print(f"removed dangling symlink {name}")
    for name in unbundled_libraries(bundle):
        print(f"note: {name} comes from this system, not the bundle")
    problems = check_bundle(bundle)
    for problem in problems:
        print(f"ERROR: {problem}")
    if problems:
        return 1
    print("licence files, notices, symlinks and display libraries: ok")
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
