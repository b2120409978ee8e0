"""Packaging and desktop integration, checked in pure Python (fast; no PyInstaller, no validators).

One app id everywhere (desktop file, icon names, AppStream id, installer scripts), real icon files
of the right sizes, `halo_paylink.resources` finding them from a checkout and a PyInstaller bundle,
the bundle's Qt exclusions matching what the code imports, and the smoke-test harness, the Linux
install script and the tarball layout doing what they promise. The freedesktop validators
themselves run in `python3 packaging/build.py --validate` (see packaging/README.md).
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import plistlib
import re
import struct
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import halo_paylink
from halo_paylink import APP_ID, APP_NAME, resources

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
PACKAGE_ICONS = ROOT / "src" / "halo_paylink" / "data" / "icons"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_script(name: str, path: Path) -> ModuleType:
    """Import a packaging script (not a package) by path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def script_name(pyproject: dict) -> str:
    (name,) = [n for n, target in pyproject["project"]["scripts"].items() if "cli:main" in target]
    return name


@pytest.fixture(scope="module")
def bundle_config() -> ModuleType:
    return load_script("halo_paylink_bundle_config", PACKAGING / "pyinstaller" / "bundle_config.py")


@pytest.fixture(scope="module")
def smoke() -> ModuleType:
    return load_script("halo_paylink_smoke_test", PACKAGING / "smoke_test.py")


# --- PNG / ICO / ICNS readers: enough to prove the files are real images of the right size ------


def png_size(data: bytes) -> tuple[int, int]:
    """Decode a PNG far enough to check it: chunk CRCs, RGBA 8-bit, and the pixel data length."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    assert header is not None, "no IHDR chunk"
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) == (8, 6, 0), "expected 8-bit RGBA, not interlaced"
    assert len(zlib.decompress(idat)) == height * (1 + width * 4), "pixel data has the wrong size"
    return width, height


def test_app_id_is_reverse_dns_and_names_the_files() -> None:
    assert re.fullmatch(r"[a-z]+(\.[a-z0-9]+)+\.[A-Za-z][A-Za-z0-9]*", APP_ID)
    assert DESKTOP.is_file()
    assert METAINFO.is_file()
    assert (ICONS / f"{APP_ID}.svg").is_file()


def test_desktop_file_is_consistent(script_name: str) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Icon"] == APP_ID
    assert entry["Exec"].split()[0] == script_name
    assert entry["TryExec"] == script_name
    assert entry["Terminal"] == "false"
    # X11 docks match windows by WM_CLASS, which Qt takes from the executable's name.
    assert entry["StartupWMClass"] == script_name
    for key in ("Categories", "Keywords", "Actions"):
        assert entry[key].endswith(";"), f"{key} must end with ';'"
    assert "Office" in entry["Categories"].split(";")
    actions = [a for a in entry["Actions"].split(";") if a]
    assert actions
    for action in actions:
        group = parser[f"Desktop Action {action}"]
        assert group["Name"]
        assert group["Exec"].split()[0] == script_name
    assert "--demo" in parser["Desktop Action demo"]["Exec"].split()


def test_metainfo_is_consistent(pyproject: dict, script_name: str) -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_NAME
    assert root.findtext("metadata_license") in {"CC0-1.0", "FSFAP", "MIT"}
    assert root.findtext("project_license") == pyproject["project"]["license"]
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert root.findtext("icon") == APP_ID
    assert root.findtext("provides/binary") == script_name
    summary = root.findtext("summary") or ""
    assert 0 < len(summary) <= 80 and not summary.endswith(".")
    assert root.findall("description/p")
    releases = root.findall("releases/release")
    assert releases, "at least one release"
    assert releases[0].get("version") == halo_paylink.__version__, "newest release first"
    dates = [r.get("date") or "" for r in releases]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("size", SIZES)
def test_png_icons_are_real_and_the_right_size(size: int) -> None:
    themed = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    assert png_size(themed.read_bytes()) == (size, size)
    packaged = PACKAGE_ICONS / f"{APP_ID}-{size}.png"
    assert packaged.read_bytes() == themed.read_bytes(), "run packaging/make_icons.py"


def test_svg_icon_is_square_and_copied_everywhere() -> None:
    source = ICONS / f"{APP_ID}.svg"
    root = ET.parse(source).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    assert width == height > 0
    for copy in (
        ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
        PACKAGE_ICONS / f"{APP_ID}.svg",
    ):
        assert copy.read_bytes() == source.read_bytes(), f"{copy} is stale: run make_icons.py"


def test_ico_holds_the_windows_sizes() -> None:
    data = (ICONS / f"{APP_ID}.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = set()
    for index in range(count):
        width, height, _, _, _, _, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * index : 22 + 16 * index]
        )
        assert offset + length <= len(data)
        payload = data[offset : offset + length]
        side = width or 256  # 0 means 256
        assert (width or 256) == (height or 256)
        if payload.startswith(PNG_SIGNATURE):
            assert png_size(payload) == (side, side)
        else:  # a BMP DIB header: width, then double height (image + mask)
            assert struct.unpack("<ii", payload[4:12]) == (side, side * 2)
        sizes.add(side)
    assert {16, 24, 32, 48, 64, 128, 256} <= sizes


def test_icns_holds_the_macos_sizes() -> None:
    data = (ICONS / f"{APP_ID}.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    wanted = {b"ic07": 128, b"ic08": 256, b"ic09": 512, b"ic10": 1024}
    found = {}
    pos = 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        assert length >= 8 and pos + length <= len(data)
        if kind in wanted:
            found[kind] = png_size(data[pos + 8 : pos + length])[0]
        pos += length
    assert found == wanted


# --- halo_paylink.resources -------------------------------------------------------------------


def test_resources_find_the_icon_in_the_package() -> None:
    assert resources.resources_dir() == ROOT / "src" / "halo_paylink" / "data"
    path = resources.icon_path()
    assert path is not None and path.name == f"{APP_ID}-256.png"
    assert png_size(path.read_bytes()) == (256, 256)
    assert sorted(resources.icon_files()) == list(SIZES)
    svg = resources.svg_icon_path()
    assert svg is not None and svg.read_bytes() == (ICONS / f"{APP_ID}.svg").read_bytes()


def test_resources_use_the_pyinstaller_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    data = tmp_path / "halo_paylink" / "data"
    assert resources.resources_dir() == data
    assert resources.icon_path() is None  # nothing bundled yet: no icon, no error
    (data / "icons").mkdir(parents=True)
    (data / "icons" / f"{APP_ID}-48.png").write_bytes(b"x")
    assert resources.icon_path() == data / "icons" / f"{APP_ID}-48.png"  # the largest there is
    (data / "icons" / f"{APP_ID}-256.png").write_bytes(b"x")
    assert resources.icon_path() == data / "icons" / f"{APP_ID}-256.png"
    assert resources.svg_icon_path() is None


# --- PyInstaller spec and installer recipes ---------------------------------------------------


def _string_args(tree: ast.AST, function: str) -> set[str]:
    return {
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == function
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    }


def test_spec_collects_the_dynamically_imported_modules() -> None:
    tree = ast.parse((PACKAGING / "pyinstaller" / "halo-paylink.spec").read_text(encoding="utf-8"))
    assert {"halo_paylink", "keyring.backends"} <= _string_args(tree, "collect_submodules")
    assert "keyring" in _string_args(tree, "copy_metadata")
    called = {
        n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and hasattr(n.func, "id")
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= called


def test_bundle_names_match_the_console_script(script_name: str, bundle_config: ModuleType) -> None:
    assert script_name == bundle_config.BUNDLE_NAME
    for module in bundle_config.EXCLUDED_QT_MODULES:
        assert module.startswith("PySide6.Qt")
    for needed in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"):
        assert needed not in bundle_config.EXCLUDED_QT_MODULES


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_app_code_imports_nothing_the_bundle_leaves_out(bundle_config: ModuleType) -> None:
    excluded = set(bundle_config.EXCLUDED_QT_MODULES)
    excluded_roots = set(bundle_config.EXCLUDED_PACKAGES)
    offenders = []
    for path in sorted((ROOT / "src" / "halo_paylink").rglob("*.py")):
        for module in _imported_modules(path):
            if module in excluded or module.split(".")[0] in excluded_roots:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, (
        "the bundle excludes these; remove them from packaging/pyinstaller/bundle_config.py "
        f"if they are really needed: {offenders}"
    )


def test_translations_are_only_left_out_while_unused(bundle_config: ModuleType) -> None:
    if not any("translations" in prefix for prefix in bundle_config.EXCLUDED_DATA_PREFIXES):
        return  # the catalogs are bundled: any use is fine
    users = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "src" / "halo_paylink").rglob("*.py"))
        if "QTranslator" in path.read_text(encoding="utf-8")
    ]
    assert not users, (
        f"{users} use QTranslator but the bundle leaves Qt's translations out: "
        "drop the translations prefix from EXCLUDED_DATA_PREFIXES in bundle_config.py"
    )


def test_inno_setup_script_matches_the_app(bundle_config: ModuleType) -> None:
    text = (PACKAGING / "windows" / "halo-paylink.iss").read_text(encoding="utf-8")
    defines = dict(re.findall(r'^\s*#define (\w+) "([^"]*)"', text, re.MULTILINE))
    assert defines["AppIdRdns"] == APP_ID
    assert defines["AppName"] == APP_NAME
    assert defines["AppVersion"] == halo_paylink.__version__
    assert defines["AppExeName"] == f"{bundle_config.BUNDLE_NAME}.exe"
    assert defines["CliExeName"] == f"{bundle_config.WINDOWS_CLI_NAME}.exe"
    assert re.search(r"^AppId=\{\{[0-9a-f-]{36}\}$", text, re.MULTILINE)
    assert f"dist\\{bundle_config.BUNDLE_NAME}\\*" in text
    assert 'AppUserModelID: "{#AppIdRdns}"' in text


def test_macos_entitlements_are_a_valid_plist() -> None:
    entitlements = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert entitlements
    assert all(key.startswith("com.apple.security.") for key in entitlements)
    assert "com.apple.security.app-sandbox" not in entitlements


# --- Linux install script and tarball ---------------------------------------------------------


def _fake_unpacked_tarball(folder: Path) -> None:
    """The tarball's layout with stand-in program files."""
    (folder / "_internal").mkdir(parents=True)
    (folder / "_internal" / "lib.so").write_bytes(b"lib")
    exe = folder / "halo-paylink"
    exe.write_text("#!/bin/sh\necho fake\n")
    exe.chmod(0o755)
    for target, source in {
        f"share/applications/{APP_ID}.desktop": DESKTOP,
        f"share/metainfo/{APP_ID}.metainfo.xml": METAINFO,
        f"share/icons/hicolor/48x48/apps/{APP_ID}.png": PACKAGE_ICONS / f"{APP_ID}-48.png",
        "install.sh": PACKAGING / "linux" / "install.sh",
        "LICENSE": ROOT / "LICENSE",
        "THIRD_PARTY_NOTICES.md": ROOT / "THIRD_PARTY_NOTICES.md",
    }.items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        (folder / target).write_bytes(source.read_bytes())


def _install_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PREFIX", "XDG_DATA_HOME"}}
    return dict(env, PATH="/usr/bin:/bin", **extra)


def _installed_files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.name != "mimeinfo.cache"
    }


def test_install_script_installs_and_uninstalls(tmp_path: Path) -> None:
    unpacked, prefix = tmp_path / "halo paylink-0.1.0", tmp_path / "pre fix"
    _fake_unpacked_tarball(unpacked)
    env = _install_env(PREFIX=str(prefix))
    install = ["sh", str(unpacked / "install.sh")]
    subprocess.run(install, env=env, check=True, capture_output=True)

    libdir = prefix / "lib" / "halo-paylink"
    assert (libdir / "_internal" / "lib.so").read_bytes() == b"lib"
    assert (libdir / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert (prefix / "bin" / "halo-paylink").resolve() == (libdir / "halo-paylink").resolve()
    desktop = (prefix / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f'Exec="{libdir}/halo-paylink"\n' in desktop
    assert f'Exec="{libdir}/halo-paylink" --demo\n' in desktop
    assert f"TryExec={libdir}/halo-paylink\n" in desktop
    assert (prefix / "share" / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (prefix / "share" / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").is_file()

    subprocess.run([*install, "--uninstall"], env=env, check=True, capture_output=True)
    assert not _installed_files(prefix)


def test_install_script_follows_xdg_and_leaves_an_uninstaller(tmp_path: Path) -> None:
    unpacked, home, data = tmp_path / "unpacked", tmp_path / "home", tmp_path / "it's data"
    _fake_unpacked_tarball(unpacked)
    home.mkdir()
    env = _install_env(HOME=str(home), XDG_DATA_HOME=str(data))
    subprocess.run(["sh", str(unpacked / "install.sh")], env=env, check=True, capture_output=True)

    libdir = home / ".local" / "lib" / "halo-paylink"
    assert (data / "applications" / f"{APP_ID}.desktop").is_file()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (data / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").is_file()
    assert not (home / ".local" / "share").exists()  # XDG_DATA_HOME, not the default
    assert (home / ".local" / "bin" / "halo-paylink").resolve() == libdir / "halo-paylink"
    uninstaller = libdir / "uninstall.sh"
    assert uninstaller.stat().st_mode & 0o111

    # The tarball is gone by now; the uninstaller needs nothing from it, nor the environment.
    subprocess.run(["rm", "-rf", str(unpacked)], check=True)
    done = subprocess.run(
        [str(uninstaller)], env=_install_env(), check=True, capture_output=True, text=True
    )
    assert "Removed Halo PayLink Assistant" in done.stdout
    assert not _installed_files(data) and not _installed_files(home)


def test_tarball_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = load_script("halo_paylink_build", PACKAGING / "build.py")
    assert (APP_ID, halo_paylink.__version__) == (build.APP_ID, build.VERSION)
    bundle = tmp_path / "dist" / "halo-paylink"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "halo-paylink").write_bytes(b"exe")
    (bundle / "halo-paylink").chmod(0o755)
    monkeypatch.setattr(build, "DIST", tmp_path / "dist")
    tarball = build.make_tarball(bundle)
    assert tarball.parent == tmp_path / "dist"
    top = f"halo-paylink-{halo_paylink.__version__}"
    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members[f"{top}/halo-paylink"].mode & 0o111
    assert members[f"{top}/install.sh"].mode == 0o755
    for name in (
        f"share/applications/{APP_ID}.desktop",
        f"share/metainfo/{APP_ID}.metainfo.xml",
        *(f"share/icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in SIZES),
        f"share/icons/hicolor/scalable/apps/{APP_ID}.svg",
        "LICENSE",
        "THIRD_PARTY_NOTICES.md",
    ):
        assert f"{top}/{name}" in members, name
    assert {(m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, "")}


# --- the smoke-test harness, against stand-in apps --------------------------------------------

FAKE_APP = """\
import os, sys, time
from pathlib import Path
behaviour = {behaviour!r}
if sys.argv[1:] == ["--version"]:
    print("halo-paylink 0.1.0")
    sys.exit(0)
if sys.argv[1:] == ["--help"]:
    print("usage: halo-paylink [COMMAND]")
    sys.exit(0)
assert os.environ["HALO_PAYLINK_SMOKE_TEST"] == "1"
assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
home = Path(os.environ["HALO_PAYLINK_HOME"])
(home / "logs").mkdir(parents=True, exist_ok=True)
(home / "logs" / "halo-paylink.log").write_text("started")
if behaviour == "next-to-itself":
    (Path(__file__).parent / "settings.ini").write_text("oops")
elif behaviour == "user-config":
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "halo-paylink"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.json").write_text("{{}}")
elif behaviour == "toolkit-cache":
    folder = Path.home() / ".cache" / "fontconfig"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cache-9").write_text("fonts")
elif behaviour == "crash":
    sys.exit(3)
elif behaviour == "hang":
    time.sleep(30)
print("first page painted after 0.25 s", file=sys.stderr)
sys.exit(0)
"""


def _run_fake(smoke: ModuleType, tmp_path: Path, behaviour: str, timeout: float = 20.0) -> Any:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    script = app_dir / "fake_app.py"
    script.write_text(textwrap.dedent(FAKE_APP.format(behaviour=behaviour)))
    return smoke.smoke([sys.executable, str(script)], app_dir, timeout=timeout)


@pytest.mark.parametrize("behaviour", ["well-behaved", "toolkit-cache"])
def test_smoke_harness_passes_a_well_behaved_app(
    smoke: ModuleType, tmp_path: Path, behaviour: str
) -> None:
    report = _run_fake(smoke, tmp_path, behaviour)
    assert report.ok, report.problems
    assert [s.args for s in report.steps] == [["--version"], ["--help"], [], ["--demo"]]
    assert [s.painted_after for s in report.steps] == [None, None, 0.25, 0.25]
    assert report.home_files == ["logs/halo-paylink.log"]
    assert report.window_seconds is not None and report.window_seconds > 0


@pytest.mark.parametrize(
    ("behaviour", "problem"),
    [
        ("next-to-itself", "the app wrote next to itself: added settings.ini"),
        ("user-config", "outside HALO_PAYLINK_HOME: ~/.config/halo-paylink/profiles.json"),
        ("crash", "(window, smoke mode): exit status 3"),
    ],
)
def test_smoke_harness_catches_a_misbehaving_app(
    smoke: ModuleType, tmp_path: Path, behaviour: str, problem: str
) -> None:
    report = _run_fake(smoke, tmp_path, behaviour)
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_smoke_harness_kills_a_hanging_app(smoke: ModuleType, tmp_path: Path) -> None:
    report = _run_fake(smoke, tmp_path, "hang", timeout=2.0)
    assert report.steps[-1].returncode is None
    assert any("still running after 2 s" in p for p in report.problems), report.problems


# --- the bundle check build.py runs after PyInstaller -----------------------------------------


def _fake_bundle(folder: Path) -> Path:
    """A bundle folder with everything `check_bundle` wants and nothing it refuses."""
    internal = folder / "_internal"
    licences = internal / f"halo_paylink-{halo_paylink.__version__}.dist-info" / "licenses"
    licences.mkdir(parents=True)
    for name in ("LICENSE", "THIRD_PARTY_NOTICES.md"):
        (folder / name).write_bytes((ROOT / name).read_bytes())
        (licences / name).write_bytes((ROOT / name).read_bytes())
    (folder / "LICENSES").mkdir()
    for text in (ROOT / "LICENSES").glob("*.txt"):
        (folder / "LICENSES" / text.name).write_bytes(text.read_bytes())
    (internal / "libreal.so.1").write_bytes(b"lib")
    (internal / "libwayland-cursor.so.0").write_bytes(b"lib")
    (internal / "libreal.so").symlink_to("libreal.so.1")
    return folder


def test_bundle_check_passes_a_complete_bundle(tmp_path: Path) -> None:
    build = load_script("halo_paylink_build", PACKAGING / "build.py")
    assert build.check_bundle(_fake_bundle(tmp_path / "bundle")) == []


def test_bundle_check_finds_missing_legal_files_and_dangling_links(tmp_path: Path) -> None:
    build = load_script("halo_paylink_build", PACKAGING / "build.py")
    bundle = _fake_bundle(tmp_path / "bundle")
    (bundle / "THIRD_PARTY_NOTICES.md").unlink()
    (bundle / "LICENSE").write_text("something else")
    next(bundle.glob("_internal/*.dist-info/licenses/LICENSE")).unlink()
    (bundle / "LICENSES" / "LGPL-3.0-only.txt").unlink()
    (bundle / "_internal" / "libwayland-cursor.so.0").unlink()
    (bundle / "_internal" / "libQt6Network.so.6").symlink_to("PySide6/Qt/lib/libQt6Network.so.6")
    (bundle / "_internal" / "outside").symlink_to(tmp_path)
    problems = build.check_bundle(bundle)
    assert problems == [
        "LICENSE in the bundle differs from the repository's",
        "LICENSE is not in the bundled metadata (the About dialog reads it)",
        "THIRD_PARTY_NOTICES.md is missing at the top of the bundle",
        "LICENSES/LGPL-3.0-only.txt is missing from the bundle",
        "libwayland-cursor.so.0 is not in the bundle",
        "dangling symlink: _internal/libQt6Network.so.6",
        "dangling symlink: _internal/outside",
    ]
    assert build.remove_dangling_symlinks(bundle) == [
        "_internal/libQt6Network.so.6",
        "_internal/outside",
    ]
    assert (bundle / "_internal" / "libreal.so").is_symlink()  # a good link stays


BUILT_BUNDLE = ROOT / "dist" / "halo-paylink"


@pytest.mark.skipif(
    not (BUILT_BUNDLE / "halo-paylink").is_file(), reason="no bundle (python3 packaging/build.py)"
)
def test_the_built_bundle_passes_the_check() -> None:
    """CI builds the bundle before the test suite; this repeats its check over the real folder."""
    build = load_script("halo_paylink_build", PACKAGING / "build.py")
    assert build.check_bundle(BUILT_BUNDLE) == []
    wayland = list((BUILT_BUNDLE / "_internal").rglob("libwayland-cursor.so.0"))
    assert wayland, "no libwayland-cursor.so.0 in the bundle (apt-get install libwayland-cursor0)"
