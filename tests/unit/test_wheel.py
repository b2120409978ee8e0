"""The sdist and the wheel a packager gets: built from the tracked files in a temp dir.

The sdist is built from a copy of what git tracks, and the wheel from the unpacked sdist (as
packagers and pip do), with setuptools' own backend in this interpreter (no download). Then the
wheel is checked for its licence files, entry points, version and metadata, and installed
without dependencies into a folder, where `resources.legal_text` must find the licence.
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import halo_paylink
from halo_paylink import APP_ID

ROOT = Path(__file__).resolve().parents[2]
BUILD = "import sys, setuptools.build_meta as b; print(b.build_{kind}(sys.argv[1]))"

pytestmark = pytest.mark.slow


def backend(kind: str, source: Path, out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-c", BUILD.format(kind=kind), str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("artefacts")
    checkout = tmp / "checkout"
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = ROOT / name.decode()
        if source.is_file():
            target = checkout / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    out = tmp / "out"
    out.mkdir()
    sdist = backend("sdist", checkout, out)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    wheel = backend("wheel", unpacked, out)
    return sdist, wheel


def test_sdist_has_what_packagers_and_tests_need(artefacts: tuple[Path, Path]) -> None:
    sdist, _ = artefacts
    top = f"halo_paylink-{halo_paylink.__version__}"
    with tarfile.open(sdist) as tar:
        names = {m.name.removeprefix(top + "/") for m in tar.getmembers()}
    for needed in (
        "LICENSE",
        "THIRD_PARTY_NOTICES.md",
        "LICENSES/LGPL-3.0-only.txt",
        "pyproject.toml",
        "dev.py",
        "tests/conftest.py",
        "tests/unit/test_wheel.py",
        f"packaging/linux/{APP_ID}.desktop",
        f"packaging/linux/{APP_ID}.metainfo.xml",
        f"packaging/flatpak/{APP_ID}.yml",
        "packaging/requirements/bundle.lock",
        "packaging/requirements/runtime.lock",
        f"resources/icons/{APP_ID}.svg",
        f"resources/icons/hicolor/256x256/apps/{APP_ID}.png",
        f"src/halo_paylink/data/icons/{APP_ID}-256.png",
    ):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.startswith(("build/", "dist/"))]


def test_wheel_has_licences_entry_points_and_metadata(artefacts: tuple[Path, Path]) -> None:
    _, wheel = artefacts
    info = f"halo_paylink-{halo_paylink.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        meta = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        licence = archive.read(f"{info}/licenses/LICENSE")
    assert licence == (ROOT / "LICENSE").read_bytes()
    assert f"{info}/licenses/THIRD_PARTY_NOTICES.md" in names
    assert f"{info}/licenses/LICENSES/LGPL-3.0-only.txt" in names
    assert f"halo_paylink/data/icons/{APP_ID}-256.png" in names
    assert "halo_paylink/py.typed" in names
    assert "[console_scripts]\nhalo-paylink = halo_paylink.cli:main" in entry_points
    assert "[gui_scripts]\nhalo-paylink-gui = halo_paylink.__main__:gui_main" in entry_points
    assert meta["Version"] == halo_paylink.__version__
    assert meta["License-Expression"] == "MIT"
    assert set(meta.get_all("License-File") or []) >= {"LICENSE", "THIRD_PARTY_NOTICES.md"}
    assert halo_paylink.PUBLISHER in (meta["Author"] or "")
    assert any(u.startswith("Homepage, ") for u in meta.get_all("Project-URL") or [])
    assert "Environment :: X11 Applications :: Qt" in (meta.get_all("Classifier") or [])
    assert meta.get_all("Provides-Extra") == ["test", "dev"]


def test_installed_wheel_finds_its_licence(artefacts: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = artefacts
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # what pip does for a pure-Python wheel
        archive.extractall(target)
    code = (
        "import halo_paylink.resources as r, sys; "
        "assert r.__file__.startswith(sys.argv[1]), r.__file__; "
        "print(len(r.legal_text('LICENSE')), len(r.legal_text('THIRD_PARTY_NOTICES.md')))"
    )
    # -S: no site-packages, so neither the editable install nor anything else is importable.
    done = subprocess.run(
        [
            *(sys.executable, "-S", "-c"),
            f"import sys; sys.path.insert(0, sys.argv[1]); {code}",
            str(target),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sizes = [int(n) for n in done.stdout.split()]
    assert sizes == [
        len((ROOT / "LICENSE").read_text(encoding="utf-8")),
        len((ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")),
    ]
