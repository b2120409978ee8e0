"""Page 6: dry run, progress during the commit step, cancel and resume, undo, the report, and
closing the window mid-run (asks, then stops cleanly)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from fakes import answer_question
from halo_paylink.core.numbers import plural
from halo_paylink.core.presenters.backfill import CountLine
from halo_paylink.core.wizard import BackfillPhase, PageId
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A bigger sandbox than the default, so a run spans several batches."""
    with Sandbox(SandboxConfig(invoices=400, seed=7)) as box:
        yield box


def linked(sandbox: Sandbox) -> int:
    with sandbox.lock:
        return sum(1 for inv in sandbox.invoices.values() if inv.get(facts.DEFAULT_LINK_FIELD))


@pytest.fixture
def backfill_window(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Sandbox, confirm_pilot: Any
) -> Any:
    from halo_paylink.core.backfill import RunOptions

    confirm_pilot(sandbox)

    goto(demo_window, PageId.BACKFILL)
    # small batches, one at a time: a run spans many requests, so progress has many steps
    demo_window.current_page.run_options = RunOptions(batch_size=10, concurrency=1)
    return demo_window


def plan(qtbot: Any, window: Any) -> Any:
    page = window.current_page
    assert page.plan_button.isEnabled() and not page.commit_button.isEnabled()
    assert not window.next_button.isEnabled()
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    return page


def add_links(window: Any) -> None:
    """Click "Add payment links" and say yes to its question."""
    window.current_page.commit_button.click()
    answer_question(window.current_page, "confirmJob", accept=True)


def test_dry_run_counts_table_and_nothing_written(
    qtbot: Any, backfill_window: Any, sandbox: Sandbox
) -> None:
    before = linked(sandbox)
    page = plan(qtbot, backfill_window)
    b = page.state.backfill
    assert b.to_change > 0
    assert linked(sandbox) == before  # a dry run writes nothing
    assert page.commit_button.isEnabled()
    assert (
        page.commit_button.text() == f"&Add payment links to {plural(b.to_change, 'open invoice')}"
    )
    assert CountLine("Would get a link", b.to_change) in page.presenter.count_lines()
    assert f"Would get a link: <b>{b.to_change:,}</b>" in page.counts_label.text()
    assert page.table.rowCount() == min(50, b.to_change)
    assert page.table.item(0, 3).text().startswith("https://www.benjipays.com/")
    assert "Dry run finished" in page.log.toPlainText()
    assert not backfill_window.next_button.isEnabled()


def test_commit_shows_progress_then_undo_restores(
    qtbot: Any, backfill_window: Any, sandbox: Sandbox
) -> None:
    page = plan(qtbot, backfill_window)
    to_change = page.state.backfill.to_change
    before = linked(sandbox)
    sandbox.faults.add(delay=0.03, method="POST", path="/api/invoice", times=None)
    values: list[int] = []
    page.progress.valueChanged.connect(values.append)
    add_links(backfill_window)
    assert page.state.backfill.phase is BackfillPhase.RUNNING
    assert not backfill_window.back_button.isEnabled()  # Back disabled while running
    assert backfill_window.busy.label.text() == "Adding payment links…"
    assert page.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: " left" in page.rate_label.text(), timeout=10000)
    assert "invoices/s" in page.rate_label.text()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.FINISHED, timeout=30000)
    assert len(set(values)) >= 3, values  # several inline updates, not just the end
    assert values == sorted(values)
    assert page.progress.value() == page.progress.maximum()
    assert linked(sandbox) == before + to_change
    assert not page.estimate_label.isVisible()  # no run ahead to put a cost on
    assert backfill_window.next_button.isEnabled()
    assert backfill_window.back_button.isEnabled()
    assert page.undo_button.isEnabled()
    assert "Finished:" in page.log.toPlainText()

    page.undo_button.click()
    answer_question(page, "confirmJob", accept=True)
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.UNDONE, timeout=30000)
    assert linked(sandbox) == before


def test_cancel_then_resume_finishes_the_run(
    qtbot: Any, backfill_window: Any, sandbox: Sandbox
) -> None:
    page = plan(qtbot, backfill_window)
    to_change = page.state.backfill.to_change
    before = linked(sandbox)
    slow = sandbox.faults.add(delay=0.1, method="POST", path="/api/invoice", times=None)
    add_links(backfill_window)
    qtbot.waitUntil(lambda: slow.fired >= 1, timeout=10000)
    page.cancel_button.click()
    assert page.state.backfill.phase is BackfillPhase.CANCELLING
    assert not page.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.CANCELLED, timeout=20000)
    written = linked(sandbox) - before
    assert 0 <= written < to_change
    assert page.resume_box.isVisible() and page.resume_button.isEnabled()
    assert not backfill_window.next_button.isEnabled()
    slow.times = slow.fired  # no more slowness
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.FINISHED, timeout=30000)
    assert linked(sandbox) == before + to_change
    assert not page.resume_box.isVisible()


def test_a_listing_that_keeps_changing_is_shown_incomplete_then_resumed(
    qtbot: Any, backfill_window: Any, sandbox: Sandbox
) -> None:
    """Not "Finished": the page names what is left, offers Resume, and Resume completes it."""
    page = plan(qtbot, backfill_window)
    to_change, before = page.state.backfill.to_change, linked(sandbox)
    sandbox.shift_rows(after_page=2, rows=1, passes=None)  # every read of the list shifts
    add_links(backfill_window)
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.FAILED, timeout=30000)
    b = page.state.backfill
    assert b.incomplete
    assert "may be missing" in (b.error or "")
    assert page._error is not None and "Not every open invoice" in page._error.headline
    assert "Resume a little later" in page.status_label.text()
    assert page.resume_box.isVisible() and page.resume_button.isEnabled()
    assert not backfill_window.next_button.isEnabled()  # not done: the Done page must wait
    sandbox.clear_listing_faults()
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.FINISHED, timeout=30000)
    assert not page.state.backfill.incomplete
    assert linked(sandbox) == before + to_change  # the shift deleted only invoices not open


def test_report_save_csv(
    qtbot: Any, backfill_window: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    page = plan(qtbot, backfill_window)
    add_links(backfill_window)
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.FINISHED, timeout=30000)
    assert page.save_csv_button.isEnabled() and page.open_folder_button.isEnabled()
    target = tmp_path / "copy.csv"
    page.ask_save_path = lambda suggested: str(target)
    page.save_csv_button.click()
    qtbot.waitUntil(target.exists, timeout=5000)
    assert target.read_bytes() == Path(page.state.backfill.report_path).read_bytes()


def test_closing_mid_run_asks_then_stops_cleanly(
    qtbot: Any, backfill_window: Any, sandbox: Sandbox
) -> None:
    page = plan(qtbot, backfill_window)
    slow = sandbox.faults.add(delay=0.1, method="POST", path="/api/invoice", times=None)
    add_links(backfill_window)
    qtbot.waitUntil(lambda: slow.fired >= 1, timeout=10000)
    backfill_window.close()
    box = backfill_window.findChild(QMessageBox, "confirmClose")
    assert box is not None and box.isVisible()
    assert backfill_window.isVisible()
    # "Keep running" leaves everything as it was
    keep = next(b for b in box.buttons() if "Keep" in b.text())
    keep.click()
    assert backfill_window.isVisible()
    assert page.state.backfill.phase is BackfillPhase.RUNNING
    backfill_window.close()
    box = backfill_window.findChild(QMessageBox, "confirmClose")
    stop = next(b for b in box.buttons() if "Stop" in b.text())
    with qtbot.waitSignal(backfill_window.closed, timeout=20000):
        stop.click()
    assert not backfill_window.isVisible()
    assert page.state.backfill.phase is BackfillPhase.CANCELLED
    assert page._handle is None

    from halo_paylink.core.backfill import latest_resumable

    resumable = latest_resumable(backfill_window.context.paths)
    assert resumable is not None and resumable.status.value == "cancelled"
