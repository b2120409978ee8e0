#!/usr/bin/env python3
"""Render the window in the light and the dark scheme, and the About dialog, to PNG.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/scheme_screenshots.py [--out DIR]

Writes scheme-light.png, scheme-dark.png (the Application page after its Test, in demo mode on
the built-in sandbox) and about.png. The scheme is set as the desktop would set it, through
`ui.theme.SchemeFollower` (the offscreen platform reports no scheme of its own). App folders go
to a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from screenshots import ROOT, SIZE, until  # the page-by-page script beside this one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HALO_PAYLINK_HOME"] = tempfile.mkdtemp(prefix="halo-paylink-shots-")
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtCore import Qt

    from halo_paylink.ui import app as app_module
    from halo_paylink.ui.about import AboutDialog
    from halo_paylink.ui.theme import SchemeFollower

    qapp = app_module.make_application()
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    app_module.install_asyncgen_hooks(loop)
    sandbox, demo = app_module.start_demo_sandbox()
    context, window = app_module.build_window(demo=demo, profile=None)
    window.resize(*SIZE)
    window.show()
    scheme = [Qt.ColorScheme.Light]
    follower = SchemeFollower(qapp, scheme=lambda: scheme[0], environ={})

    async def shot(widget: object, name: str) -> None:
        await asyncio.sleep(0.2)
        widget.grab().save(str(args.out / name))  # type: ignore[attr-defined]
        print(args.out / name)

    async def drive() -> None:
        await until(lambda: window.current_page.busy_text() is None)  # profiles read
        window.go_next()
        await until(lambda: context.state.connect.complete)
        window.go_next()
        window.current_page.run_test()  # type: ignore[attr-defined]
        await until(lambda: window.next_button.isEnabled())
        for name, value in (("light", Qt.ColorScheme.Light), ("dark", Qt.ColorScheme.Dark)):
            scheme[0] = value
            follower.update()
            await shot(window, f"scheme-{name}.png")
        about = AboutDialog(window)
        about.show()
        await shot(about, "about.png")
        about.close()
        window._force_close = True
        window.close()
        await context.aclose()

    try:
        with loop:
            loop.run_until_complete(drive())
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
