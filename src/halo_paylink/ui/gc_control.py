"""Run Python's cyclic garbage collector on the GUI thread only.

Python collects cycles on whichever thread happens to allocate; with the demo sandbox's server
threads and the executor threads (keyring, file I/O) in the same process, that can be a non-GUI
thread, which then destroys a Qt object (a timer, a widget) from the wrong thread: a Qt warning at
best, a crash at worst. As qutebrowser does, we switch automatic collection off and collect from a
GUI-thread timer instead, generation by generation, using the interpreter's own thresholds.

Once start-up is over (modules, the window, and in demo mode the sandbox's seeded invoices),
`settle()` moves every surviving object to the permanent generation: a later full collection then
skips them, which keeps it far below a frame (measured: a 90-120 ms stall with 40,000 demo
invoices in the heap, none after settling).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGarbageCollector(QObject):
    """While alive and started, cycles are collected on the GUI thread only.

    Create it on the GUI thread; `stop()` (or destroying its parent) restores automatic collection.
    """

    INTERVAL_MS = 1000

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def settle(self) -> None:
        """Collect once, then freeze what survives (long-lived start-up data). GUI thread."""
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect each generation whose allocation count passed its threshold; GUI thread."""
        count0, count1, count2 = gc.get_count()
        collected = 0
        if count0 > self._thresholds[0]:
            collected += gc.collect(0)
            if count1 > self._thresholds[1]:
                collected += gc.collect(1)
                if count2 > self._thresholds[2]:
                    collected += gc.collect(2)
        return collected
