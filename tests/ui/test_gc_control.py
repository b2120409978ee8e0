"""The GUI-thread garbage collector: automatic collection off while it runs, cycles still freed."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

from halo_paylink.ui.gc_control import GuiThreadGarbageCollector


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle only the cyclic collector can free


def test_cycles_made_on_another_thread_are_freed_on_the_gui_thread(qtbot: Any) -> None:
    enabled_before = gc.isenabled()  # the UI tests' own collector may already have it off
    collector = GuiThreadGarbageCollector()
    collector.start()
    try:
        assert not gc.isenabled()
        refs: list[weakref.ref[Node]] = []
        freed_on: list[str] = []

        def churn() -> None:
            for _ in range(5000):  # far past generation 0's threshold
                node = Node()
                weakref.finalize(node, lambda: freed_on.append(threading.current_thread().name))
                refs.append(weakref.ref(node))

        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert freed_on == []  # nothing was collected on the worker thread
        assert collector.collect_due() > 0
        assert set(freed_on) == {threading.current_thread().name}
    finally:
        collector.stop()
    assert gc.isenabled() is enabled_before


def test_settle_freezes_start_up_survivors_and_stop_releases_them(qtbot: Any) -> None:
    collector = GuiThreadGarbageCollector()
    collector.start()
    try:
        long_lived = [Node() for _ in range(100)]
        collector.settle()
        assert gc.get_freeze_count() >= len(long_lived)
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0
