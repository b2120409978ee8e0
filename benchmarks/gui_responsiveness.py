#!/usr/bin/env python3
"""GUI responsiveness during a backfill: does the window's event loop ever stall?

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py [--invoices 20000]

The window runs in demo mode on the sandbox (loopback) and is driven to the Backfill page; a
10 ms QTimer records the gap between its ticks while the dry run and then the real backfill of a
few thousand invoices run on the same (qasync) loop, with the page's progress bar, counters and
log updating. A stall shows up as a long gap. Prints max / p99 / median gap in ms for each phase
(target: max < 50 ms). App folders go to a temporary HALO_PAYLINK_HOME.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable


def gaps_report(name: str, gaps: list[float], seconds: float, invoices: int) -> str:
    ordered = sorted(gaps)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (
        f"{name}: {invoices} invoices in {seconds:.1f} s; 10 ms timer gaps over {len(gaps)} "
        f"ticks: max {max(gaps):.1f} ms, p99 {p99:.1f} ms, median {statistics.median(gaps):.1f} ms"
    )


async def until(condition: Callable[[], bool], limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description="timer gaps during a demo backfill")
    parser.add_argument("--invoices", type=int, default=20000)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HALO_PAYLINK_HOME"] = tempfile.mkdtemp(prefix="halo-paylink-bench-")

    from PySide6.QtCore import QTimer

    from halo_paylink.core.wizard import BackfillPhase, PageId
    from halo_paylink.sandbox import Sandbox, SandboxConfig
    from halo_paylink.ui import app as app_module
    from halo_paylink.ui.context import DemoInfo

    qapp = app_module.make_application()
    with app_module.gui_loop(qapp) as (loop, collector):  # the same loop and GC as the app
        # Self-hosted mode: no hosted-Halo request budget on the client, so a large run measures the
        # GUI under full load instead of waiting out Halo's 300-requests-per-5-minutes window.
        config = SandboxConfig(invoices=args.invoices, seed=11, hosted=False)
        sandbox = Sandbox(config)
        url = sandbox.start()
        demo = DemoInfo(url, config.tenant, config.client_id, config.client_secret)
        context, window = app_module.build_window(demo=demo, profile=None)
        collector.settle()  # as run_app does once start-up data exists
        window.show()

        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        lines: list[str] = []

        async def measure(name: str, start: Callable[[], None], done: Callable[[], bool]) -> None:
            ticks.clear()
            began = time.perf_counter()
            timer.start()
            start()
            await until(done)
            timer.stop()
            gaps = [(b - a) * 1000 for a, b in itertools.pairwise(ticks)]
            lines.append(gaps_report(name, gaps, time.perf_counter() - began, args.invoices))

        async def drive() -> None:
            try:
                for _ in range(10):
                    if window.current_id is PageId.BACKFILL:
                        break
                    if (
                        window.current_id is PageId.APPLICATION
                        and not window.next_button.isEnabled()
                    ):
                        window.current_page.run_test()
                    await until(window.next_button.isEnabled, limit=60)
                    window.go_next()
                page = window.current_page
                state = context.state.backfill
                await measure(
                    "dry run", page.start_plan, lambda: state.phase is BackfillPhase.PLANNED
                )
                await measure(
                    "backfill", page.start_run, lambda: state.phase is BackfillPhase.FINISHED
                )
                window._force_close = True
                window.close()
            finally:
                await context.aclose()

        try:
            with loop:  # type: ignore[attr-defined]
                loop.run_until_complete(drive())
        finally:
            sandbox.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
