#!/usr/bin/env python3
"""Render the Backfill and Done pages in the states around waits, stops, confirmations and undo.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/backfill_state_screenshots.py OUT [--dark]

Demo mode on the built-in sandbox (loopback only), driven as an admin would: a dry run held by
Halo's rate limit (the wait line), Stop (a stopped dry run), the "Add payment links" question, a
stopped run (Resume), the finished run and the Done page, the Undo question and the page after
the undo. App folders go to a temporary directory; the images go to OUT, named `-light`/`-dark`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import SIZE, settle, until


async def drive(window: Any, sandbox: Any, out: Path, tag: str) -> None:
    from halo_paylink.core.backfill import RunOptions
    from halo_paylink.core.backfill.pilot import record_pay_button
    from halo_paylink.core.wizard import BackfillPhase, PageId
    from halo_paylink.storage.paths import AppPaths

    # As on a profile whose pilot showed the Pay button: the bulk write may start.
    record_pay_button(AppPaths.default(), sandbox.url, True, invoice="a pilot invoice")

    async def shot(name: str, widget: Any = None) -> None:
        await settle()
        (widget or window).grab().save(str(out / f"{name}-{tag}.png"))

    await until(lambda: window.current_page.busy_text() is None)
    while window.current_id is not PageId.BACKFILL:
        page = window.current_page
        if window.current_id is PageId.APPLICATION and not window.next_button.isEnabled():
            await until(page.test_button.isEnabled)
            page.test_button.click()
        await until(window.next_button.isEnabled)
        window.go_next()
    page = window.current_page
    page.run_options = RunOptions(batch_size=10, concurrency=1)
    state = window.context.state.backfill
    held = sandbox.faults.add(status=429, method="GET", path="/api/invoice", after=2, times=None)
    page.plan_button.click()
    await until(lambda: "resuming at" in page.status_label.text())
    await shot("b1-wait")
    page.cancel_button.click()
    await until(lambda: not state.active)
    await shot("b2-stopped-dry-run")
    held.times = held.fired
    page.plan_button.click()
    await until(lambda: state.phase is BackfillPhase.PLANNED)
    page.commit_button.click()
    await shot("b3-confirm-add", page.question)
    page.question.defaultButton().click()
    slow = sandbox.faults.add(delay=0.15, method="POST", path="/api/invoice", times=None)
    await until(lambda: slow.fired >= 2)
    page.cancel_button.click()
    await until(lambda: state.phase is BackfillPhase.CANCELLED and page.resume_box.isVisible())
    await shot("b4-stopped-run")
    slow.times = slow.fired
    page.resume_button.click()
    await until(lambda: state.phase is BackfillPhase.FINISHED, 60)
    await shot("b5-finished")
    window.go_next()
    await shot("b6-done")
    window.back_button.click()
    await settle()
    page.undo_button.click()
    await shot("b7-confirm-undo", page.question)
    page.question.defaultButton().click()
    await until(lambda: state.phase is BackfillPhase.UNDONE, 60)
    await shot("b8-after-undo")
    window._force_close = True
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dark", action="store_true", help="the app's dark palette")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HALO_PAYLINK_HOME"] = tempfile.mkdtemp(prefix="halo-paylink-shots-")
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtCore import Qt

    from halo_paylink.sandbox import Sandbox, SandboxConfig
    from halo_paylink.ui import app as app_module
    from halo_paylink.ui.context import DemoInfo
    from halo_paylink.ui.theme import palette_for

    qapp = app_module.make_application()
    if args.dark:
        qapp.setPalette(palette_for(Qt.ColorScheme.Dark))
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    app_module.install_asyncgen_hooks(loop)
    config = SandboxConfig(invoices=300, seed=3)
    sandbox = Sandbox(config)
    url = sandbox.start()
    demo = DemoInfo(url, config.tenant, config.client_id, config.client_secret)
    context, window = app_module.build_window(demo=demo, profile=None)
    window.resize(*SIZE)
    window.show()

    async def run() -> None:
        try:
            await drive(window, sandbox, args.out, "dark" if args.dark else "light")
        finally:
            await context.aclose()

    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        sandbox.stop()
    print(f"Screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
