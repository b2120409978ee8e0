#!/usr/bin/env python3
"""Render every page of the assistant to PNG (docs/screenshots/), in demo mode with real state.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out DIR]
        [--size WxH] [--scheme light|dark] [--all]

`--all` renders the normal size (docs/screenshots/) and, each in its own folder below it, the
variants an admin may have: small-light and small-dark (900x650), normal-dark, and scale2-light
and scale2-dark (QT_SCALE_FACTOR=2 on a 1920x1080 screen: 960x540 logical pixels, the window
filling the screen). Each variant runs in its own process, as the scale factor is fixed at start.

The window runs on the built-in sandbox (loopback only), exactly like `halo-paylink --demo`, and
is driven through the pages the way an admin would: discovery, the Test, the options, the link,
a dry run, the pilot, a backfill (captured mid-run and finished) and the summary. App folders go
to a temporary directory. The client secret is only ever in the masked field, so it never shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZE = (1000, 820)
SMALL = (900, 650)
#: folder -> (size, scheme, scale factor); a size of None fills the screen.
VARIANTS: dict[str, tuple[tuple[int, int] | None, str, str]] = {
    "small-light": (SMALL, "light", "1"),
    "small-dark": (SMALL, "dark", "1"),
    "normal-dark": (SIZE, "dark", "1"),
    "scale2-light": (None, "light", "2"),
    "scale2-dark": (None, "dark", "2"),
}
FULL_HD = '{"screens": [{"name": "fullhd", "x": 0, "y": 0, "width": 1920, "height": 1080}]}'


def render_all(out: Path) -> int:
    """The normal size here, then every variant in a child process of its own."""
    import subprocess

    status = subprocess.call([sys.executable, __file__, "--out", str(out)])
    screens = Path(tempfile.mkdtemp(prefix="halo-paylink-screens-")) / "screens.json"
    screens.write_text(FULL_HD)
    for folder, (size, scheme, scale) in VARIANTS.items():
        env = dict(os.environ, QT_SCALE_FACTOR=scale)
        env["QT_QPA_PLATFORM"] = f"offscreen:configfile={screens}"
        command = [sys.executable, __file__, "--out", str(out / folder), "--scheme", scheme]
        if size is not None:
            command += ["--size", f"{size[0]}x{size[1]}"]
        status = subprocess.call(command, env=env) or status
    return status


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


SMALL_SIZE = (760, 600)
#: Grabs the window into NAME.png, scrolled to a widget (or the top).
Shot = Callable[..., Awaitable[None]]
#: Switches the dark palette on or off.
Dark = Callable[[bool], None]


async def until(condition: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        await asyncio.sleep(0.02)


async def settle() -> None:
    """Let layouts and pending paints happen before grabbing."""
    await asyncio.sleep(0.15)


async def drive(window: object, sandbox: object, out: Path, dark: Callable[[bool], None]) -> None:
    from halo_paylink.core.backfill import RunOptions
    from halo_paylink.core.wizard import BackfillPhase, PageId
    from halo_paylink.ui.shell import WizardWindow
    from halo_paylink.ui.widgets.common import BannerMessage

    assert isinstance(window, WizardWindow)
    shots: list[str] = []

    async def shot(name: str, scroll_to: object | None = None) -> None:
        scroller = window._scrollers[window.current_id]
        if scroll_to is not None:
            scroller.ensureWidgetVisible(scroll_to, 0, 40)  # type: ignore[arg-type]
        else:
            scroller.verticalScrollBar().setValue(0)
        await settle()
        path = out / f"{name}.png"
        window.grab().save(str(path))
        shots.append(path.name)

    await until(lambda: window.current_page.busy_text() is None)  # saved profiles read
    await shot("1-welcome")
    window.go_next()
    page = window.current_page
    await until(lambda: window.context.state.connect.complete)
    await shot("2-connect")
    page.address_edited("me@acme.example")  # type: ignore[attr-defined]
    await shot("2-connect-bad-address")
    page.address_edited(window.context.demo.url)  # type: ignore[union-attr, attr-defined]
    page.discover_now()  # type: ignore[attr-defined]
    await until(lambda: window.context.state.connect.complete)

    window.go_next()
    page = window.current_page
    page.run_test()  # type: ignore[attr-defined]
    await until(lambda: window.next_button.isEnabled())
    await shot("3-application")
    await shot("3-application-test", scroll_to=page.summary)  # type: ignore[attr-defined]

    window.go_next()
    page = window.current_page
    page.use_pdf.click()  # type: ignore[attr-defined]
    page.fallback.click()  # type: ignore[attr-defined]
    await shot("4-options")
    await shot("4-options-benji-key", scroll_to=page.benji_check)  # type: ignore[attr-defined]
    page.check_benji()  # type: ignore[attr-defined]
    await until(lambda: page.benji_rows.isVisible())  # type: ignore[attr-defined]
    await shot("4-options-benji-checked", scroll_to=page.benji_note)  # type: ignore[attr-defined]
    dark(True)
    await shot("4-options-benji-checked-dark", scroll_to=page.benji_note)  # type: ignore[attr-defined]
    dark(False)
    page.build_link()  # type: ignore[attr-defined]
    await shot("4-options-benji-link-built", scroll_to=page.benji_note)  # type: ignore[attr-defined]

    window.go_next()
    page = window.current_page
    await until(lambda: "Filled in from" in page.preview_source.text())  # type: ignore[attr-defined]
    await shot("5-email-link")
    await shot("5-email-link-steps", scroll_to=page.quickbooks_note)  # type: ignore[attr-defined]
    await email_insert_states(window, sandbox, shot, dark)

    # The numbering mistake, caught: Halo's own numbers, a dry run, Benji's number check.
    page.halo_radio.click()  # type: ignore[attr-defined]
    window.go_next()
    page = window.current_page
    page.plan_button.click()  # type: ignore[attr-defined]
    box = page.benji_numbers  # type: ignore[attr-defined]
    await until(lambda: "Benji found" in box.headline.text())
    await shot("6-backfill-benji-wrong-numbering", scroll_to=box)
    dark(True)
    await shot("6-backfill-benji-wrong-numbering-dark", scroll_to=box)
    dark(False)
    window.go_back()
    page = window.current_page
    page.accounting_radio.click()  # type: ignore[attr-defined]

    window.go_next()
    page = window.current_page
    assert window.current_id is PageId.BACKFILL
    # small batches so the run spans long enough to be captured mid-way
    page.run_options = RunOptions(batch_size=20, concurrency=2)  # type: ignore[attr-defined]
    page.plan_button.click()  # type: ignore[attr-defined]
    state = window.context.state.backfill
    await until(lambda: state.phase is BackfillPhase.PLANNED)
    await until(lambda: "Benji found" in page.benji_numbers.headline.text())  # type: ignore[attr-defined]
    await shot("6-backfill-dry-run")
    await shot("6-backfill-benji-numbers", scroll_to=page.benji_numbers)  # type: ignore[attr-defined]
    await pilot(page, shot, dark)
    slow = sandbox.faults.add(delay=0.25, method="POST", path="/api/invoice", times=None)  # type: ignore[attr-defined]
    page.commit_button.click()  # type: ignore[attr-defined]
    page.question.defaultButton().click()  # type: ignore[attr-defined]  # "Add payment links"
    await until(lambda: state.total > 0 and state.done >= state.total * 0.4)
    await shot("6-backfill-running", scroll_to=page.progress)  # type: ignore[attr-defined]
    slow.times = slow.fired
    await until(lambda: state.phase is BackfillPhase.FINISHED, limit=120)
    await shot("6-backfill-finished")
    await shot("6-backfill-log", scroll_to=page.log)  # type: ignore[attr-defined]
    await until(lambda: page.learned_label.isVisible())  # type: ignore[attr-defined]
    await shot("6-backfill-learned", scroll_to=page.learned_label)  # type: ignore[attr-defined]
    dark(True)
    await shot("6-backfill-finished-dark")
    page.set_error(
        BannerMessage("Halo's rate limit was reached.", "Wait a few minutes and resume.")
    )
    await shot("6-backfill-error-banner-dark")
    page.set_error(None)
    dark(False)

    window.go_next()
    await shot("7-done")
    await client_button_states(window, shot, dark)
    window._force_close = True
    window.close()
    print("\n".join(shots))


async def pilot(page: object, shot: Callable[..., Any], dark: Callable[[bool], None]) -> None:
    """The pilot step: one invoice written, what changed, the Pay-button question (light and
    dark, and at a small size), then Yes so the bulk write may start."""
    from halo_paylink.core.presenters.pilot import PilotPhase

    panel = page.pilot_panel  # type: ignore[attr-defined]
    await until(lambda: panel.presenter.phase is PilotPhase.NEEDED)
    await shot("6-backfill-pilot-needed", scroll_to=panel.pilot_button)
    panel.pilot_button.click()
    await until(lambda: panel.presenter.phase is PilotPhase.ASKING)
    await shot("6-backfill-pilot-asking", scroll_to=panel.question_row)
    dark(True)
    await shot("6-backfill-pilot-asking-dark", scroll_to=panel.question_row)
    dark(False)
    window = page.window()  # type: ignore[attr-defined]
    window.resize(*SMALL_SIZE)
    await shot("6-backfill-pilot-asking-small", scroll_to=panel.question_row)
    window.resize(*SIZE)
    panel.yes_button.click()
    await until(lambda: panel.presenter.phase is PilotPhase.CONFIRMED)


async def email_insert_states(window: Any, sandbox: Any, shot: Shot, dark: Dark) -> None:
    """'Insert it for me': the preview, done with Undo, and not permitted (light and dark)."""
    section = window.current_page.insert_section
    section.opt_in.click()
    await shot("5-email-insert-opted-in", scroll_to=section.opt_in)
    section.preview_button.click()
    await until(section.preview_text.isVisible)
    await shot("5-email-insert-preview", scroll_to=section.save_button)
    dark(True)
    await shot("5-email-insert-preview-dark", scroll_to=section.save_button)
    dark(False)
    section.save_button.click()
    await until(section.undo_button.isVisible)
    await shot("5-email-insert-done", scroll_to=section.status)
    dark(True)
    await shot("5-email-insert-done-dark", scroll_to=section.status)
    dark(False)
    section.undo_button.click()
    await until(lambda: "Undone" in section.status.text())
    client_id = sandbox.config.client_id
    sandbox.set_allowed_scopes(client_id, ["read:invoices", "edit:invoices"])
    section.preview_button.click()
    await until(lambda: "(not permitted)" in section.status.text())
    await shot("5-email-insert-not-permitted", scroll_to=section.note_label)
    dark(True)
    await shot("5-email-insert-not-permitted-dark", scroll_to=section.note_label)
    dark(False)
    sandbox.set_allowed_scopes(client_id, ["read:invoices", "edit:invoices", "admin"])


async def client_button_states(window: Any, shot: Shot, dark: Dark) -> None:
    """The Done page's optional client button: its preview and once created (light, dark)."""
    section = window.current_page.button_section
    if not section.opt_in.isChecked():  # one opt-in for both steps: maybe given on page 5
        section.opt_in.click()
    section.preview_button.click()
    await until(section.save_button.isVisible)
    await shot("7-done-button-preview", scroll_to=section.save_button)
    section.save_button.click()
    await until(section.undo_button.isVisible)
    await shot("7-done-button-created", scroll_to=section.status)
    dark(True)
    await shot("7-done-button-created-dark", scroll_to=section.status)
    await shot("7-done-summary-dark")
    dark(False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--size", type=parse_size, help="window size, e.g. 900x650")
    parser.add_argument("--scheme", choices=("light", "dark"), default="light")
    parser.add_argument("--all", action="store_true", help="the normal size and every variant")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.all:
        return render_all(args.out)
    home = tempfile.mkdtemp(prefix="halo-paylink-shots-")
    os.environ["HALO_PAYLINK_HOME"] = home
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtCore import Qt

    from halo_paylink.sandbox import Sandbox, SandboxConfig
    from halo_paylink.ui import app as app_module
    from halo_paylink.ui.context import DemoInfo
    from halo_paylink.ui.theme import palette_for, readable_style

    qapp = app_module.make_application()
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    app_module.install_asyncgen_hooks(loop)
    config = SandboxConfig(invoices=600, seed=3, stamp_changes=True)  # as in demo mode
    sandbox = Sandbox(config)
    url = sandbox.start()
    demo = DemoInfo(url, config.tenant, config.client_id, config.client_secret)
    benji, demo = app_module.start_demo_benji(sandbox, demo)
    context, window = app_module.build_window(demo=demo, profile=None)
    light = qapp.palette()

    def dark(on: bool) -> None:
        """Stand in for a desktop in dark mode (the offscreen platform has no theme of its own):
        the app's own dark palette, as `ui.theme.SchemeFollower` applies it. A dark run stays
        dark."""
        on = on or args.scheme == "dark"
        if on:
            qapp.setStyle(readable_style("Fusion"))
        qapp.setPalette(palette_for(Qt.ColorScheme.Dark) if on else light)

    dark(False)
    screen = qapp.primaryScreen().availableGeometry()
    width, height = args.size or (screen.width(), screen.height())
    window.resize(width, height)
    window.show()

    async def run() -> None:
        try:
            await drive(window, sandbox, args.out, dark)
        finally:
            await context.aclose()

    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        benji.stop()
        sandbox.stop()
    print(f"Screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
