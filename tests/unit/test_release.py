"""Release identity and legal files, checked in pure Python over the repository's own files.

One app id (`halo_paylink.APP_ID`) and one publisher (`halo_paylink.PUBLISHER`) wherever a
packaging file repeats them; no trace of the id or publisher the app used to claim; the Windows
upgrade GUID derived from the id; one version source; the package metadata a packager checks;
the lock files agreeing with pyproject.toml; a notice for every runtime dependency.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
import uuid
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest

import halo_paylink
from halo_paylink import APP_ID, HOMEPAGE, PUBLISHER, resources

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
ISS = PACKAGING / "windows" / "halo-paylink.iss"
SPEC = PACKAGING / "pyinstaller" / "halo-paylink.spec"
LOCKS = PACKAGING / "requirements"
FORMER_ID = "com." + "benjipays."  # split so this file does not match its own search
FORMER_PUBLISHER = "Benji " + "Pays"


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    paths = [ROOT / n.decode() for n in names if n]
    return [p for p in paths if p.is_file() and p.suffix not in {".png", ".ico", ".icns"}]


def test_app_id_is_a_domain_the_project_controls() -> None:
    # Reverse DNS of a domain the publisher controls; io.github.<owner> is the GitHub form.
    assert re.fullmatch(r"io\.github\.[a-z0-9-]+\.[A-Za-z][A-Za-z0-9]*", APP_ID)
    assert f"https://github.com/{APP_ID.split('.')[2]}/halo-paylink" == HOMEPAGE


def test_the_former_identity_is_gone() -> None:
    offenders = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if FORMER_ID in text or FORMER_ID in path.name:
            offenders.append(path.relative_to(ROOT).as_posix())
    assert not offenders, f"the old app id is still in {offenders}"


def test_nothing_names_benji_pays_as_the_publisher(pyproject: dict) -> None:
    root = ET.parse(METAINFO).getroot()
    developer = root.find("developer")
    assert developer is not None and developer.findtext("name") == PUBLISHER
    assert developer.get("id") == APP_ID.rsplit(".", 1)[0]
    iss = ISS.read_text(encoding="utf-8")
    defines = dict(re.findall(r'^\s*#define (\w+) "([^"]*)"', iss, re.MULTILINE))
    assert defines["AppPublisher"] == PUBLISHER
    assert defines["AppURL"] == HOMEPAGE
    spec = SPEC.read_text(encoding="utf-8")
    assert 'StringStruct("CompanyName", PUBLISHER)' in spec
    assert '"NSHumanReadableCopyright": f"© {PUBLISHER}.' in spec
    assert [a["name"] for a in pyproject["project"]["authors"]] == [PUBLISHER]
    for text in (iss, spec, METAINFO.read_text(encoding="utf-8"), (ROOT / "LICENSE").read_text()):
        for line in text.splitlines():
            if re.search(r"publisher|company|copyright|developer|author", line, re.IGNORECASE):
                assert FORMER_PUBLISHER not in line, line


def test_windows_upgrade_guid_is_derived_from_the_app_id() -> None:
    match = re.search(r"^AppId=\{\{([0-9a-f-]{36})\}$", ISS.read_text(encoding="utf-8"), re.M)
    assert match is not None
    assert match.group(1) == str(uuid.uuid5(uuid.NAMESPACE_DNS, APP_ID))


def test_install_script_and_flatpak_name_the_app_id() -> None:
    install = (PACKAGING / "linux" / "install.sh").read_text(encoding="utf-8")
    assert f"\nAPP_ID={APP_ID}\n" in install
    manifest = PACKAGING / "flatpak" / f"{APP_ID}.yml"
    assert re.search(rf"^id: {re.escape(APP_ID)}$", manifest.read_text(encoding="utf-8"), re.M)


def test_macos_minimum_matches_the_qt_it_ships() -> None:
    # The PySide6 wheels of 6.10 and later are built for macOS 13 and later only.
    spec = SPEC.read_text(encoding="utf-8")
    assert '"LSMinimumSystemVersion": "13.0"' in spec
    assert "macOS 13" in (PACKAGING / "README.md").read_text(encoding="utf-8")


# --- metadata -----------------------------------------------------------------------------------


def test_one_version_source(pyproject: dict) -> None:
    project = pyproject["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "halo_paylink.__version__"
    }
    assert metadata.version("halo-paylink") == halo_paylink.__version__


def test_package_metadata_is_complete(pyproject: dict) -> None:
    project = pyproject["project"]
    assert pyproject["build-system"]["requires"] == ["setuptools>=77"]
    assert project["license"] == "MIT"
    assert {"LICENSE", "THIRD_PARTY_NOTICES.md"} <= set(project["license-files"])
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert project["urls"]["Homepage"] == HOMEPAGE
    assert project["urls"]["Issues"] == halo_paylink.ISSUES_URL
    assert project["scripts"] == {"halo-paylink": "halo_paylink.cli:main"}
    assert project["gui-scripts"] == {"halo-paylink-gui": "halo_paylink.__main__:gui_main"}
    extras = project["optional-dependencies"]
    tools = {re.split(r"[<>=!~ ]", r)[0] for r in extras["dev"]}
    assert {"ruff", "mypy", "radon"} <= tools
    assert not tools & {re.split(r"[<>=!~ ]", r)[0] for r in extras["test"]}
    dev_py = (ROOT / "dev.py").read_text(encoding="utf-8")
    assert "[test,dev]" in dev_py


def test_metainfo_links_and_screenshots() -> None:
    root = ET.parse(METAINFO).getroot()
    urls = {u.get("type"): u.text for u in root.findall("url")}
    assert urls["homepage"] == HOMEPAGE
    assert urls["bugtracker"] == halo_paylink.ISSUES_URL
    shots = root.findall("screenshots/screenshot")
    assert shots and [s.get("type") for s in shots].count("default") == 1
    for shot in shots:
        assert shot.findtext("caption")
        image = shot.findtext("image") or ""
        prefix = HOMEPAGE.replace("github.com", "raw.githubusercontent.com") + "/main/"
        assert image.startswith(prefix)
        assert (ROOT / image.removeprefix(prefix)).is_file(), f"{image} is not in the repository"


# --- lock files ---------------------------------------------------------------------------------


def read_lock(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) for a `pip-compile --generate-hashes` file."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        assert match, f"{path.name}: not a hashed pin: {line[:80]}"
        hashes = frozenset(re.findall(r"sha256:([0-9a-f]{64})", match.group(3)))
        pins[match.group(1).lower().replace("_", "-").replace(".", "-")] = (
            match.group(2),
            hashes,
        )
    return pins


def test_lock_files_are_hashed_and_agree() -> None:
    bundle = read_lock(LOCKS / "bundle.lock")
    runtime = read_lock(LOCKS / "runtime.lock")
    assert {"pyinstaller", "setuptools", "pyside6-essentials"} <= bundle.keys()
    assert "pyinstaller" not in runtime and "pyside6-essentials" in runtime
    for name, pin in runtime.items():
        assert bundle[name] == pin, f"{name}: runtime.lock and bundle.lock differ"


def test_locked_versions_satisfy_pyproject(pyproject: dict) -> None:
    from packaging.requirements import Requirement

    runtime = read_lock(LOCKS / "runtime.lock")
    for line in pyproject["project"]["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower()
        assert name in runtime, f"{name} is not locked: run python3 packaging/lock.py"
        assert requirement.specifier.contains(runtime[name][0]), f"{name} lock is stale"
    bundle_in = (LOCKS / "bundle.in").read_text(encoding="utf-8")
    assert f"\n{pyproject['build-system']['requires'][0]}\n" in bundle_in


def test_build_script_installs_from_the_lock() -> None:
    build = (PACKAGING / "build.py").read_text(encoding="utf-8")
    assert '"--require-hashes", "-r", BUNDLE_LOCK' in build
    assert '"--no-deps", "--no-build-isolation"' in build


# --- legal files --------------------------------------------------------------------------------


def runtime_distributions() -> set[str]:
    """Every distribution the installed app needs at run time (extras left out)."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    environment = default_environment()
    found: set[str] = set()
    pending = ["halo-paylink"]
    while pending:
        name = pending.pop()
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is not None and not marker.evaluate({**environment, "extra": ""}):
                continue
            key = requirement.name.lower().replace("_", "-").replace(".", "-")
            if key not in found:
                found.add(key)
                pending.append(requirement.name)
    return found


def test_every_runtime_dependency_has_a_notice() -> None:
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8").lower()
    named = {
        name.lower().replace("_", "-").replace(".", "-")
        for name in re.findall(r"^\| ([^|]+?) (?:\(|\|)", notices, re.M)
        for name in name.split(", ")
    }
    missing = sorted(runtime_distributions() - named)
    assert not missing, f"add these to THIRD_PARTY_NOTICES.md: {missing}"
    locked = set(read_lock(LOCKS / "runtime.lock"))
    assert not locked - named, f"locked but without a notice: {sorted(locked - named)}"


def test_licence_texts_referred_to_are_there() -> None:
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    for name in set(re.findall(r"LICENSES/([\w.-]+\.txt)", notices)):
        assert (ROOT / "LICENSES" / name).is_file(), name
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert PUBLISHER in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_legal_text_in_a_checkout_is_the_repository_file() -> None:
    for name in resources.LEGAL_FILES:
        assert resources.legal_text(name) == (ROOT / name).read_text(encoding="utf-8")


def test_legal_text_of_an_install_comes_from_its_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a wheel or a bundle: no checkout around the module, the files in `licenses/`."""
    module = tmp_path / "site" / "halo_paylink" / "resources.py"
    module.parent.mkdir(parents=True)
    monkeypatch.setattr(resources, "__file__", str(module))

    class Installed:
        def read_text(self, name: str) -> str | None:
            return "the MIT text" if name == "licenses/LICENSE" else None

    monkeypatch.setattr(metadata, "distribution", lambda name: Installed())
    assert resources.legal_text("LICENSE") == "the MIT text"
    assert resources.legal_text("NO_SUCH_FILE") is None

    def not_installed(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    assert resources.legal_text("LICENSE") is None
