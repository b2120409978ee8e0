"""core.presenters.admin_step without Qt: phases, states for the Done page, not permitted."""

from __future__ import annotations

from halo_paylink.core.admin_steps import StepState
from halo_paylink.core.presenters.admin_step import (
    TEMPLATE_WORDS,
    AdminStepPresenter,
    Phase,
    done_rows,
    still_to_do,
)
from halo_paylink.core.wizard import WizardState
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo.models import HaloEndpoints

ENDPOINTS = HaloEndpoints("https://a.halopsa.com", "https://a/auth", "https://a/api", "a", True)


def ready_state() -> WizardState:
    state = WizardState()
    state.connect.address_edited("https://a.halopsa.com", None)
    key = state.connect.discovery_started()
    state.connect.discovery_finished(key, ENDPOINTS)
    state.link.template = "https://www.benjipays.com/portal/a/pay/?InvoiceNumber=[Invoice No.]"
    state.link.generated = "x"
    return state


def presenter(state: WizardState) -> AdminStepPresenter:
    return AdminStepPresenter(state, state.admin.template, TEMPLATE_WORDS)


def test_nothing_happens_without_the_opt_in() -> None:
    state = ready_state()
    step = presenter(state)
    assert not step.view().can_preview and not step.start_planning()
    step.set_opted_in(True)
    assert step.view().can_preview and step.start_planning()
    assert step.view().busy == TEMPLATE_WORDS.planning and not step.view().can_preview


def test_preview_save_undo() -> None:
    state = ready_state()
    step = presenter(state)
    step.set_opted_in(True)
    assert not step.start_saving()  # never without a preview
    step.start_planning()
    step.planned("the diff", changed=True)
    view = step.view()
    assert view.preview == "the diff" and view.can_save and view.can_cancel
    assert step.start_saving()
    step.saved(confirmed=True, detail="'Invoice Email Subject' (#-12)")
    assert state.admin.template.state is StepState.DONE and step.view().can_undo
    assert step.start_undoing()
    step.undone(confirmed=True)
    assert state.admin.template.state is StepState.UNDONE and step.phase is Phase.UNDONE
    step.leave()
    assert state.admin.template.state is StepState.SKIPPED


def test_not_permitted_and_other_failures() -> None:
    state = ready_state()
    step = presenter(state)
    step.set_opted_in(True)
    step.start_planning()
    step.failed(HaloError(ErrorKind.UNAUTHORIZED, "", status=401))
    view = step.view()
    assert step.phase is Phase.NOT_PERMITTED and "tick 'admin'" in view.fix
    assert state.admin.template.state is StepState.NOT_PERMITTED
    step.leave()  # a refusal stays a refusal
    assert state.admin.template.state is StepState.NOT_PERMITTED
    rows = dict(done_rows(state))
    assert rows["Pay link in the email template"].startswith("not permitted")
    assert "paste the link" in still_to_do(state)

    other = presenter(ready_state())
    other.set_opted_in(True)
    other.start_planning()
    other.planned("diff", changed=True)
    other.start_saving()
    other.failed(HaloError(ErrorKind.SERVER_ERROR, "boom", status=500))
    assert other.phase is Phase.PREVIEW and other.view().status.text  # try again from the preview


def test_unconfirmed_read_back_is_not_done() -> None:
    state = ready_state()
    step = presenter(state)
    step.set_opted_in(True)
    step.start_planning()
    step.planned("diff", changed=True)
    step.start_saving()
    step.saved(confirmed=False, detail="")
    assert state.admin.template.state is not StepState.DONE and step.phase is Phase.FAILED
