"""The pilot step on the Backfill page, against the sandbox over HTTP: no bulk write before a
confirmed pilot; the pilot writes one invoice, shows the field and whether `last_synced` moved,
links to the invoice's customer-portal page, records the Pay-button answer, offers a custom
field after "No", and is undone on its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes import answer_question
from halo_paylink.core.backfill.pilot import PilotGate, pilot_gate
from halo_paylink.core.presenters.pilot import PilotPhase
from halo_paylink.core.wizard import BackfillPhase, PageId
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod
from halo_paylink.storage.paths import AppPaths
from halo_paylink.ui.app import start_demo_sandbox

FIELD = facts.DEFAULT_LINK_FIELD


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The demo mode's sandbox (`halo-paylink --demo`): a save moves `last_synced`."""
    box, _ = start_demo_sandbox()
    try:
        yield box
    finally:
        box.stop()


def links(sandbox: Sandbox) -> dict[int, str]:
    with sandbox.lock:
        return {i: str(inv[FIELD]) for i, inv in sandbox.invoices.items() if inv.get(FIELD)}


@pytest.fixture
def page(qtbot: Any, demo_window: Any, goto: Any) -> Any:
    goto(demo_window, PageId.BACKFILL)
    page = demo_window.current_page
    qtbot.waitUntil(lambda: page.pilot_panel.presenter.phase is PilotPhase.NEEDED, timeout=5000)
    return page


def pilot(qtbot: Any, panel: Any, invoice: str = "") -> None:
    panel.invoice_edit.setText(invoice)
    panel.pilot_button.click()
    qtbot.waitUntil(lambda: not panel.presenter.busy, timeout=20000)


def test_no_bulk_write_before_the_pilot_then_yes_lets_it_run(
    qtbot: Any, page: Any, sandbox: Sandbox
) -> None:
    panel = page.pilot_panel
    before = links(sandbox)
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    page.commit_button.click()  # refused: no pilot yet
    assert page.state.backfill.phase is BackfillPhase.PLANNED
    assert "Pilot one invoice" in panel.message.text() and links(sandbox) == before

    pilot(qtbot, panel)
    assert panel.presenter.phase is PilotPhase.ASKING, panel.message.text()
    (written,) = set(links(sandbox)) - set(before)  # one invoice, the first open one
    report = panel.presenter.report
    assert report.invoice_id == written and report.after == links(sandbox)[written]
    shown = panel.changes_box.toPlainText()
    assert FIELD in shown and "last_synced moved" in shown
    portal = sandbox.portal_url(written)
    assert portal in panel.portal_label.text() and panel.question_row.isVisible()
    page_html = httpx.get(portal).text  # what the admin opens: the Pay button is there
    assert "Pay now" in page_html

    panel.yes_button.click()
    qtbot.waitUntil(lambda: panel.presenter.phase is PilotPhase.CONFIRMED, timeout=5000)
    assert pilot_gate(AppPaths.default(), sandbox.url) is PilotGate.CONFIRMED
    page.commit_button.click()
    answer_question(page, "confirmJob", accept=True)  # "Add payment links" asks first
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.FINISHED, timeout=30000)
    assert len(links(sandbox)) > len(before) + 1


def test_a_picked_invoice_no_then_a_custom_field_and_undo(
    qtbot: Any, page: Any, sandbox: Sandbox
) -> None:
    panel = page.pilot_panel
    panel.invoice_edit.setText("INV-1")
    panel.pilot_button.click()
    before = links(sandbox)
    assert "is a number" in panel.message.text()
    assert panel.presenter.phase is PilotPhase.NEEDED
    wanted = min(i for i, c in sandbox.categories.items() if c in seedmod.OPEN_NEEDING_LINK)
    pilot(qtbot, panel, str(wanted))
    assert panel.presenter.report.invoice_id == wanted
    assert set(links(sandbox)) - set(before) == {wanted}

    panel.no_button.click()
    qtbot.waitUntil(lambda: panel.presenter.phase is PilotPhase.NO_BUTTON, timeout=5000)
    assert pilot_gate(AppPaths.default(), sandbox.url) is PilotGate.NO_BUTTON
    assert panel.field_row.isVisible() and not panel.question_row.isVisible()
    page.commit_button.click()  # still refused
    assert page.state.backfill.phase is not BackfillPhase.RUNNING

    panel.undo_button.click()
    qtbot.waitUntil(lambda: panel.presenter.undone_run is not None, timeout=20000)
    assert links(sandbox) == before and "undone" in panel.changes_box.toPlainText()

    panel.field_edit.setText("CFPayLink")
    panel.field_button.click()
    assert page.context.profile.link.link_field == "custom:CFPayLink"
    assert panel.presenter.phase is PilotPhase.NEEDED and panel.pilot_button.isEnabled()


def test_the_page_says_what_a_run_will_cost(qtbot: Any, page: Any, sandbox: Sandbox) -> None:
    label = page.estimate_label
    qtbot.waitUntil(lambda: label.isVisible() and "requests" in label.text(), timeout=10000)
    assert f"pages of {len(sandbox.invoices):,} invoices" in label.text()
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    planned = f"to write {page.state.backfill.to_change:,} (from the dry run)"
    qtbot.waitUntil(lambda: planned in label.text(), timeout=10000)


def test_the_page_shows_what_was_learned_about_this_halo(qtbot: Any, page: Any) -> None:
    label = page.learned_label
    qtbot.waitUntil(lambda: label.isVisible() and "What we learned" in label.text(), timeout=10000)
    assert "Payment status codes: not measured yet" in label.text()
    assert "(0 of " in label.text()  # nothing measured on a Halo never read
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    qtbot.waitUntil(lambda: "Payment status codes: not measured" not in label.text(), timeout=10000)
    assert "measured 20" in label.text()  # the dry run measured the codes, with the date
