#!/usr/bin/env python3
"""GUI start-up: from launching the app to the first page painted, in a fresh process.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_startup.py [--runs 5]

Each run starts a new Python process that calls `halo_paylink.ui.app.run_app` (the same entry the
`halo-paylink` command uses); the first paint of the window prints a marker and closes the window,
so the process also exercises a clean quit. The figure is wall time from spawning the process to
the marker (interpreter start, imports, QApplication, stores, window, first paint). App folders go
to a temporary HALO_PAYLINK_HOME. Prints the median and the best run in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys
from PySide6.QtCore import QTimer
from halo_paylink.ui import shell

_paint = shell.WizardWindow.paintEvent

def paint(self, event):
    _paint(self, event)
    if not getattr(self, "_bench_painted", False):
        self._bench_painted = True
        print("FIRST-PAINT", flush=True)
        QTimer.singleShot(0, self.close)

shell.WizardWindow.paintEvent = paint
from halo_paylink.ui.app import run_app
sys.exit(run_app(demo=False, profile=None))
"""


def one_run(home: str) -> tuple[float, float]:
    env = dict(os.environ, HALO_PAYLINK_HOME=home)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    painted = None
    for line in proc.stdout:
        if line.strip() == "FIRST-PAINT":
            painted = time.perf_counter()
            break
    code = proc.wait(timeout=60)
    ended = time.perf_counter()
    if painted is None or code != 0:
        raise SystemExit(f"the app did not paint/quit cleanly (exit {code}): {proc.stderr.read()}")
    return (painted - start) * 1000, (ended - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="launch to first page painted")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    paints, totals = [], []
    with tempfile.TemporaryDirectory(prefix="halo-paylink-bench-") as home:
        one_run(home)  # warm the OS file cache once, like a second launch
        for _ in range(args.runs):
            paint, total = one_run(home)
            paints.append(paint)
            totals.append(total)
    print(
        f"first page painted: median {statistics.median(paints):.0f} ms, "
        f"best {min(paints):.0f} ms over {args.runs} runs "
        f"(launch to clean exit: median {statistics.median(totals):.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
