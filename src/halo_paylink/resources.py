"""Find the files bundled with the app (icons), wherever it runs from. Pure Python, no Qt.

The files live in the package folder `halo_paylink/data/` (generated from the sources in the
repository's `resources/` by `packaging/make_icons.py`), so one lookup serves a source checkout, an
editable or a regular install, and a PyInstaller bundle, whose spec copies them to
`<sys._MEIPASS>/halo_paylink/data/`.

Everything here is read-only: the app never writes next to itself (see `storage.paths`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from halo_paylink import APP_ID

#: the icon sizes shipped as PNG, in pixels (square)
ICON_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512)

#: the size `icon_path()` prefers: large enough for any window/taskbar, small to load
_PREFERRED_ICON_SIZE = 256


def resources_dir() -> Path:
    """Return the folder that holds the bundled data files (it may not exist in a broken install).

    In a PyInstaller bundle this is `<sys._MEIPASS>/halo_paylink/data`; otherwise the `data` folder
    next to this module. Cheap and side-effect free; safe to call from any thread.
    """
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root:
        return Path(bundle_root) / "halo_paylink" / "data"
    return Path(__file__).resolve().parent / "data"


def icon_files() -> dict[int, Path]:
    """Return the application icon PNGs that exist, keyed by size in pixels, smallest first.

    A UI can add every one to its window icon so each place (title bar, task switcher) gets a
    crisp picture instead of a scaled one.
    """
    folder = resources_dir() / "icons"
    found = {size: folder / f"{APP_ID}-{size}.png" for size in ICON_SIZES}
    return {size: path for size, path in found.items() if path.is_file()}


def icon_path() -> Path | None:
    """Return the path of the application icon (a 256 px PNG), or None when it is missing.

    A PNG rather than the SVG so that showing it needs no SVG image plugin. None means the
    install is incomplete; callers should carry on without an icon rather than fail.
    """
    files = icon_files()
    if not files:
        return None
    if _PREFERRED_ICON_SIZE in files:
        return files[_PREFERRED_ICON_SIZE]
    return files[max(files)]


def svg_icon_path() -> Path | None:
    """Return the path of the scalable (SVG) application icon, or None when it is missing."""
    path = resources_dir() / "icons" / f"{APP_ID}.svg"
    return path if path.is_file() else None


#: The licence files shipped with every artefact, in the order the About dialog shows them.
LEGAL_FILES: tuple[str, ...] = ("LICENSE", "THIRD_PARTY_NOTICES.md")

_DISTRIBUTION = "halo-paylink"


def legal_text(name: str) -> str | None:
    """The text of one of `LEGAL_FILES`, or None when this install lacks it.

    A source checkout (run from `src/`, or installed editable) reads the repository's own file,
    so an edit shows at once; an installed wheel and a PyInstaller bundle (which copies the
    package's metadata) read the copy in the distribution's `licenses/` metadata folder.
    Blocking file I/O, small.
    """
    from importlib import metadata

    checkout = Path(__file__).resolve().parents[2]
    path = checkout / name
    if (checkout / "pyproject.toml").is_file() and path.is_file():
        return path.read_text(encoding="utf-8")
    try:
        return metadata.distribution(_DISTRIBUTION).read_text(f"licenses/{name}")
    except metadata.PackageNotFoundError:
        return None
