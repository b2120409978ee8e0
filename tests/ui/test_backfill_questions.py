"""Page 6 asks before it changes Halo in bulk, names what Stop stops, and reads "Stopped" (not
an error) after a stop the admin asked for. Each question is answered both ways, by clicking
its buttons (the boxes open window-modally, without a nested event loop)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakes import answer_question
from halo_paylink.core.backfill import RunOptions
from halo_paylink.core.wizard import BackfillPhase, PageId
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox


def linked(sandbox: Sandbox) -> int:
    with sandbox.lock:
        return sum(1 for inv in sandbox.invoices.values() if inv.get(facts.DEFAULT_LINK_FIELD))


@pytest.fixture
def page(qtbot: Any, demo_window: Any, goto: Any, sandbox: Sandbox, confirm_pilot: Any) -> Any:
    confirm_pilot(sandbox)  # a pilot on this Halo was confirmed: bulk writes may start
    goto(demo_window, PageId.BACKFILL)
    page = demo_window.current_page
    page.run_options = RunOptions(batch_size=10, concurrency=1)
    return page


def planned(qtbot: Any, page: Any) -> Any:
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    return page


def finished(qtbot: Any, page: Any) -> Any:
    """A dry run, then "Add payment links" answered yes, to the end; the backfill state."""
    planned(qtbot, page)
    b = page.state.backfill
    page.commit_button.click()
    answer_question(page, "confirmJob", accept=True)
    qtbot.waitUntil(lambda: b.phase is BackfillPhase.FINISHED, timeout=30000)
    return b


def host(sandbox: Sandbox) -> str:
    return sandbox.url.split("//", 1)[1].split(":", 1)[0].split("/", 1)[0]


def test_add_payment_links_asks_first_and_no_changes_nothing(
    qtbot: Any, page: Any, sandbox: Sandbox
) -> None:
    planned(qtbot, page)
    b, before = page.state.backfill, linked(sandbox)
    page.commit_button.click()
    assert b.phase is BackfillPhase.PLANNED  # nothing started before the answer
    text = answer_question(page, "confirmJob", accept=False)
    assert text == f"Add a Pay link to {b.to_change} open invoices on {host(sandbox)}?"
    assert b.phase is BackfillPhase.PLANNED and page.commit_button.isEnabled()
    assert linked(sandbox) == before
    page.commit_button.click()
    answer_question(page, "confirmJob", accept=True)
    assert b.phase is BackfillPhase.RUNNING
    qtbot.waitUntil(lambda: b.phase is BackfillPhase.FINISHED, timeout=30000)
    assert linked(sandbox) == before + b.to_change


def test_undo_asks_first_then_shows_what_it_removed(
    qtbot: Any, page: Any, sandbox: Sandbox
) -> None:
    before = linked(sandbox)
    b = finished(qtbot, page)
    saved = b.links_saved
    assert saved > 0
    page.undo_button.click()
    text = answer_question(page, "confirmJob", accept=False)
    assert text == f"Remove the Pay link from {saved} invoices on {host(sandbox)}?"
    assert b.phase is BackfillPhase.FINISHED and linked(sandbox) == before + saved
    page.undo_button.click()
    answer_question(page, "confirmJob", accept=True)
    qtbot.waitUntil(lambda: b.phase is BackfillPhase.UNDONE, timeout=30000)
    assert linked(sandbox) == before
    assert "Link saved" not in page.counts_label.text()
    assert f"Pay link removed (previous value back): <b>{saved}</b>" in page.counts_label.text()
    assert page.rate_label.text() == ""


def test_closing_during_an_undo_says_links_are_being_removed(
    qtbot: Any, page: Any, demo_window: Any, sandbox: Sandbox
) -> None:
    b = finished(qtbot, page)
    slow = sandbox.faults.add(delay=0.1, method="POST", path="/api/invoice", times=None)
    page.undo_button.click()
    answer_question(page, "confirmJob", accept=True)
    qtbot.waitUntil(lambda: slow.fired >= 1, timeout=10000)
    demo_window.close()
    text = answer_question(demo_window, "confirmClose", accept=False)
    assert "Pay links are being removed" in text and "being added" not in text
    assert b.phase is BackfillPhase.UNDOING and demo_window.isVisible()
    slow.times = slow.fired
    qtbot.waitUntil(lambda: not b.active, timeout=30000)


def test_closing_during_a_dry_run_says_it_is_reading(
    qtbot: Any, page: Any, demo_window: Any, sandbox: Sandbox
) -> None:
    slow = sandbox.faults.add(delay=0.3, method="GET", path="/api/invoice", times=None)
    page.plan_button.click()
    qtbot.waitUntil(lambda: slow.fired >= 1, timeout=10000)
    demo_window.close()
    text = answer_question(demo_window, "confirmClose", accept=False)
    assert "dry run is reading" in text and "being added" not in text
    slow.times = slow.fired
    qtbot.waitUntil(lambda: not page.state.backfill.active, timeout=30000)


def test_stop_during_a_rate_limit_wait_reads_stopped_and_offers_the_dry_run_again(
    qtbot: Any, page: Any, sandbox: Sandbox
) -> None:
    """Halo answers 429 (a hold of 30 s or more): the page says until when, Stop ends the wait
    at once, and a stopped dry run is no error: it offers to run again, never to resume."""
    sandbox.faults.add(status=429, method="GET", path="/api/invoice", after=1, times=None)
    page.plan_button.click()
    qtbot.waitUntil(lambda: "resuming at" in page.status_label.text(), timeout=10000)
    assert "Halo's rate limit: resuming at " in page.status_label.text()
    page.cancel_button.click()
    assert page.window().busy.label.text() == "Stopping the dry run (nothing has been written)…"
    qtbot.waitUntil(lambda: not page.state.backfill.active, timeout=3000)
    assert page._error is None  # "Stopped", not an error banner
    assert page.status_label.text().startswith("Stopped: the dry run read ")
    assert page.plan_button.text() == "Run the &dry run again" and page.plan_button.isEnabled()
    assert not page.resume_box.isVisible()
    assert "RunOutcome" not in page.log.toPlainText()


def test_the_export_counts_the_links_saved_and_no_keyring_in_demo_mode(
    qtbot: Any, page: Any, demo_window: Any
) -> None:
    b = finished(qtbot, page)
    demo_window.next_button.click()
    done = demo_window.current_page
    data = json.loads(done.export_text())
    assert data["backfill"]["invoices_changed"] == b.links_saved == b.to_change
    assert b.done > b.links_saved  # the run looked at more than it changed
    assert data["api_application"]["secret_stored_in_keyring"] is False  # kept in memory
