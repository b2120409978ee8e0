"""The pilot step's presenter, without Qt: what it shows before, during and after a pilot, the
Pay-button answer, the custom-field offer after "No", and undoing the pilot alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.backfill.model import Counts, RunResult
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.pilot import PilotGate, PilotReport
from halo_paylink.core.presenters.pilot import PilotPhase, PilotPresenter, change_lines

WEB = "https://acme.halopsa.com"


def report(
    *,
    outcome: RunOutcome = RunOutcome.COMPLETED,
    after: str | None = "https://pay/7",
    synced: tuple[str | None, str | None] = ("2026-01-01", "2026-12-01"),
) -> PilotReport:
    return PilotReport(
        result=RunResult(outcome, Counts(), run_id="run-1", detail="why"),
        invoice_id=7,
        invoice_number="INV-7",
        field="generic_online_invoice_payment_url",
        before=None,
        after=after,
        synced_before=synced[0],
        synced_after=synced[1],
    )


def asking() -> PilotPresenter:
    p = PilotPresenter(web_url=WEB)
    p.gate_loaded(PilotGate.NEEDED)
    assert p.request("") is not None
    p.started()
    p.finished(report())
    return p


def test_the_gate_decides_whether_a_bulk_write_may_start() -> None:
    p = PilotPresenter(web_url=WEB)
    assert not p.view().allows_bulk and p.view().status.startswith("Checking")
    for gate, allows in [(PilotGate.NEEDED, False), (PilotGate.NO_BUTTON, False)]:
        p.gate_loaded(gate)
        assert p.view().allows_bulk is allows
    p.gate_loaded(PilotGate.CONFIRMED)
    assert p.view().allows_bulk and "confirmed" in p.view().status


def test_a_saved_pilot_shows_the_change_the_portal_link_and_asks() -> None:
    view = asking().view()
    assert view.asking and not view.allows_bulk and view.can_undo
    assert view.portal_url == f"{WEB}/portal/invoice/7" and "model" in view.portal_note
    assert "generic_online_invoice_payment_url" in view.changes[0]
    assert view.changes[1] == "before: (empty)" and view.changes[2] == "after: https://pay/7"
    assert "last_synced moved" in view.changes[3]
    assert view.pilot_label == "Pilo&t again"


def test_last_synced_unmoved_or_missing_is_said_so() -> None:
    assert "did not move" in change_lines(report(synced=("a", "a")))[-1]
    assert "unknown" in change_lines(report(synced=("a", None)))[-1]


def test_yes_confirms_and_no_offers_the_custom_field() -> None:
    p = asking()
    assert p.answer(True) == "INV-7"
    p.recorded(True)
    assert p.view().allows_bulk and not p.view().asking
    p = asking()
    p.recorded(False)
    view = p.view()
    assert not view.allows_bulk and view.offer_custom_field and "custom field" in view.status
    assert p.custom_field("  ") is None and "custom field's name" in p.view().error
    assert p.custom_field("CFPayLink") == "custom:CFPayLink"
    assert p.phase is PilotPhase.NEEDED and "pilot again" in p.view().status


def test_undo_alone_before_an_answer_asks_for_a_new_pilot() -> None:
    p = asking()
    assert p.undo_request() == "run-1"
    p.undo_started()
    assert p.busy and not p.view().can_pilot
    p.undone(RunResult(RunOutcome.COMPLETED, Counts(), run_id="undo-1"))
    view = p.view()
    assert p.phase is PilotPhase.NEEDED and view.portal_url is None and not view.can_undo
    assert "undone" in view.changes[-1]


def test_a_failed_undo_keeps_the_pilot_undoable() -> None:
    p = asking()
    p.recorded(False)
    p.undo_started()
    p.undone(RunResult(RunOutcome.INCOMPLETE, Counts(), detail="Halo went away"))
    assert p.phase is PilotPhase.NO_BUTTON and p.view().can_undo
    assert "Halo went away" in p.view().error


def test_an_undo_that_raises_leaves_the_answer_standing_and_names_the_folder() -> None:
    from halo_paylink.errors import ErrorKind, LocalError

    p = asking()
    p.recorded(True)
    p.undo_started()
    p.failed(LocalError(ErrorKind.FOLDER_NOT_WRITABLE, "/home/a/.local/state/tenants/x.json"))
    assert p.phase is PilotPhase.CONFIRMED and p.allows_bulk
    assert "tenants/x.json" in p.view().error and p.view().can_undo


def test_a_pilot_that_did_not_save_is_a_failure_with_the_reason() -> None:
    p = PilotPresenter(web_url=WEB)
    p.started()
    p.finished(report(outcome=RunOutcome.INCOMPLETE, after=None))
    view = p.view()
    assert p.phase is PilotPhase.FAILED and not view.asking and view.portal_url is None
    assert "why" in view.error and view.can_pilot


def test_an_error_is_explained() -> None:
    p = PilotPresenter(web_url=WEB)
    p.started()
    p.failed(RuntimeError("boom"))
    assert p.phase is PilotPhase.FAILED and "boom" not in p.view().status
    assert p.view().error


@given(st.text(max_size=30) | st.sampled_from(["²", "٣", " 12 ", "0"]))
def test_any_invoice_text_is_a_number_or_a_message(text: str) -> None:
    p = PilotPresenter(web_url=WEB)
    p.gate_loaded(PilotGate.NEEDED)
    request = p.request(text)
    stripped = text.strip()
    if not stripped:
        assert request is not None and request.invoice_id is None
    elif stripped.isascii() and stripped.isdigit():
        assert request is not None and request.invoice_id == int(stripped)
    else:
        assert request is None and "is a number" in p.view().error
