#!/usr/bin/env python3
"""Render the application icon from its hand-written SVG sources (packaging tool, not run by CI).

    python3 packaging/make_icons.py          regenerate every icon file
    python3 packaging/make_icons.py --check  fail if a committed file differs from a fresh render

Sources (edit these by hand):
    resources/icons/<APP_ID>.svg        the icon on a 512 x 512 canvas, used for 32 px and up
    resources/icons/<APP_ID>-small.svg  a pixel-aligned 16 x 16 variant for 16 and 24 px, where
                                        the full drawing turns to mush

Outputs (committed; the app and the installers use them as they are):
    resources/icons/hicolor/<N>x<N>/apps/<APP_ID>.png   N in SIZES (freedesktop icon theme layout)
    resources/icons/hicolor/scalable/apps/<APP_ID>.svg
    resources/icons/<APP_ID>.ico                        Windows (16-256 px)
    resources/icons/<APP_ID>.icns                       macOS (32-1024 px)
    src/halo_paylink/data/icons/<APP_ID>.svg, <APP_ID>-<N>.png
        copies shipped inside the package, found at run time by `halo_paylink.resources`

Rendering uses `rsvg-convert` (Debian: `apt-get install librsvg2-bin`) when it is on PATH, else
PySide6's QtSvg. The .ico/.icns files are written with Pillow, a packaging-only tool: when it is
not importable it is installed with pip into build/icon-tools (never into the app's environment).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from halo_paylink import APP_ID  # noqa: E402  (the package is imported from the checkout)

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: sizes drawn from the small, pixel-aligned variant
SMALL_SIZES = (16, 24)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)
SOURCE_DIR = ROOT / "resources" / "icons"
PACKAGE_ICON_DIR = ROOT / "src" / "halo_paylink" / "data" / "icons"
PILLOW_DIR = ROOT / "build" / "icon-tools"


def import_pillow() -> Any:
    """Return `PIL.Image`, installing Pillow into build/icon-tools first when it is missing."""
    try:
        from PIL import Image
    except ImportError:
        pass
    else:
        return Image
    sys.path.insert(0, str(PILLOW_DIR))
    try:
        from PIL import Image
    except ImportError:
        print(f"Pillow not found; installing it into {PILLOW_DIR} ...", flush=True)
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"),
                *("--target", str(PILLOW_DIR), "Pillow"),
            ],
            check=True,
        )
        from PIL import Image
    return Image


def render(svg: Path, size: int, out: Path) -> None:
    """Render `svg` to a `size` x `size` RGBA PNG at `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rsvg = shutil.which("rsvg-convert")
    if rsvg:
        args = [rsvg, "-w", str(size), "-h", str(size), str(svg), "-o", str(out)]
        subprocess.run(args, check=True)
        return
    # Fallback: QtSvg (ships in PySide6-Essentials). Imported here so that --help needs no Qt.
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["make_icons", "-platform", "offscreen"])
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise RuntimeError(f"could not write {out}")


def normalise_png(path: Path, image_module: Any) -> None:
    """Re-save as plain 8-bit RGBA without metadata, so regenerating gives identical bytes."""
    with image_module.open(path) as im:
        rgba = im.convert("RGBA")
    rgba.save(path, "PNG", optimize=True)


def generate(out_root: Path) -> list[Path]:
    """Write every output under `out_root` (mirroring the repository layout); return their paths."""
    image_module = import_pillow()
    big_svg = SOURCE_DIR / f"{APP_ID}.svg"
    small_svg = SOURCE_DIR / f"{APP_ID}-small.svg"
    icons = out_root / "resources" / "icons"
    package = out_root / PACKAGE_ICON_DIR.relative_to(ROOT)
    written: list[Path] = []

    pngs: dict[int, Path] = {}
    for size in SIZES:
        png = icons / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        render(small_svg if size in SMALL_SIZES else big_svg, size, png)
        normalise_png(png, image_module)
        pngs[size] = png
        written.append(png)
    scalable = icons / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(big_svg, scalable)
    written.append(scalable)

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "1024.png"
        render(big_svg, 1024, big)
        frames = {size: image_module.open(pngs[size]).convert("RGBA") for size in SIZES}
        frames[1024] = image_module.open(big).convert("RGBA")

        ico = icons / f"{APP_ID}.ico"
        frames[256].save(
            ico,
            format="ICO",
            sizes=[(s, s) for s in ICO_SIZES],
            append_images=[frames[s] for s in ICO_SIZES if s != 256],
        )
        written.append(ico)

        icns = icons / f"{APP_ID}.icns"
        frames[1024].save(
            icns, format="ICNS", append_images=[frames[s] for s in ICNS_SIZES if s != 1024]
        )
        written.append(icns)

    package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(big_svg, package / f"{APP_ID}.svg")
    written.append(package / f"{APP_ID}.svg")
    for size, png in pngs.items():
        shutil.copyfile(png, package / f"{APP_ID}-{size}.png")
        written.append(package / f"{APP_ID}-{size}.png")
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if committed icons differ from a fresh render"
    )
    args = parser.parse_args(argv)
    if not args.check:
        for path in generate(ROOT):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = [
            path.relative_to(tmp)
            for path in generate(Path(tmp))
            if not (ROOT / path.relative_to(tmp)).exists()
            or not filecmp.cmp(path, ROOT / path.relative_to(tmp), shallow=False)
        ]
    for rel in stale:
        print(f"out of date: {rel}")
    print("icons are up to date" if not stale else "run: python3 packaging/make_icons.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
