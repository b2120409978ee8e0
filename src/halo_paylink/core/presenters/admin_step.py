"""One optional step done for the admin (the email template, the client button), without widgets.

The pattern is the same for both: the admin opts in, asks for the change, sees the preview, saves
(or cancels), sees it confirmed by a read-back, and may undo. `AdminStepPresenter` keeps the
phase, records the outcome in `state.admin` (done, skipped, not permitted, undone) and answers
with an `AdminStepView`. The I/O (reading, saving, undoing in Halo) stays with the page, which
tells the presenter when each job starts and how it ended. One thread (the GUI's, or a test's).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from halo_paylink.core.admin_steps import AdminStep, NotPermitted, StepState, not_permitted
from halo_paylink.core.presenters.benji_options import benji_settings_passed
from halo_paylink.core.presenters.field_note import FieldNote
from halo_paylink.core.wizard import WizardState
from halo_paylink.errors import HaloError, explain
from halo_paylink.halo import facts


class Phase(enum.Enum):
    IDLE = "idle"
    PLANNING = "planning"
    PREVIEW = "preview"  # the change is shown, waiting for Save or Cancel
    SAVING = "saving"
    DONE = "done"
    UNDOING = "undoing"
    UNDONE = "undone"
    NOT_PERMITTED = "not_permitted"
    FAILED = "failed"


_BUSY = (Phase.PLANNING, Phase.SAVING, Phase.UNDOING)


@dataclass(frozen=True)
class StepWords:
    """What one step is called on its page.

    Attributes:
        step: what Halo must allow, as a verb phrase ("edit the email template").
        planning, saving, undoing: the busy lines.
        done: the line once saved and read back.
        undone: the line once undone and read back.
        unconfirmed: the line when the read-back differs.
        nothing: the line when there is nothing to change.
    """

    step: str
    planning: str
    saving: str
    undoing: str
    done: str
    undone: str
    unconfirmed: str
    nothing: str


TEMPLATE_WORDS = StepWords(
    step="edit the email template",
    planning="Reading the email template from Halo…",
    saving="Backing up and saving the email template…",
    undoing="Putting the email template back…",
    done="Done: the Pay link is in the template, and Halo read it back as sent.",
    undone="Undone: the template is back exactly as it was.",
    unconfirmed="Halo accepted the change, but reading the template back shows something else: "
    "look at it in Halo.",
    nothing="The template already holds this Pay link: nothing to change.",
)

BUTTON_WORDS = StepWords(
    step="add the client button",
    planning="Reading Halo's custom buttons…",
    saving="Creating the client button…",
    undoing="Removing the client button…",
    done="Done: the button is on every client record, and Halo read it back as sent.",
    undone="Removed: the button is gone from Halo.",
    unconfirmed="Halo answered, but reading the buttons back shows something else: look at "
    "Configuration > Custom Buttons in Halo.",
    nothing="Halo already has this client button: nothing to create.",
)


@dataclass(frozen=True)
class AdminStepView:
    """Everything the step's section shows.

    Attributes:
        opted_in: the opt-in box is ticked.
        can_preview: "Show the change" may be clicked.
        preview: the change to show ("" hides the preview panel).
        can_save, can_cancel: the preview's buttons.
        can_undo: the Undo button (after a confirmed save).
        status: the line under the section.
        busy: the busy line while a job runs, else None.
        fix: what to add in Halo when not permitted ("" otherwise).
        note: the unverified fact the step rests on.
    """

    opted_in: bool
    can_preview: bool
    preview: str
    can_save: bool
    can_cancel: bool
    can_undo: bool
    status: FieldNote
    busy: str | None
    fix: str
    note: str


class AdminStepPresenter:
    """The phases of one optional step (see the module docstring)."""

    def __init__(self, state: WizardState, step: AdminStep, words: StepWords) -> None:
        self._state = state
        self._step = step
        self.words = words
        self.phase = Phase.IDLE
        self._preview = ""
        self._status = FieldNote()
        self._refusal: NotPermitted | None = None

    @property
    def step(self) -> AdminStep:
        return self._step

    @property
    def busy(self) -> bool:
        return self.phase in _BUSY

    # -- input ----------------------------------------------------------------------------------
    def set_opted_in(self, on: bool) -> None:
        self._state.admin.opted_in = on

    def ready(self) -> bool:
        """Whether the step can be asked for: opted in, Halo found, the link usable, idle."""
        s = self._state
        idle = self.phase not in (*_BUSY, Phase.PREVIEW)
        return s.admin.opted_in and s.connect.complete and s.link.complete and idle

    def start_planning(self) -> bool:
        """Whether to read Halo and plan now (then it counts as planning)."""
        if not self.ready():
            return False
        self.phase = Phase.PLANNING
        self._preview, self._status = "", FieldNote()
        return True

    def planned(self, preview: str, *, changed: bool) -> None:
        """The plan is read: show it, or say there is nothing to do."""
        self._preview = preview
        if changed:
            self.phase = Phase.PREVIEW
        else:
            self.phase = Phase.DONE if self._step.state is StepState.DONE else Phase.IDLE
            self._status = FieldNote.ok(self.words.nothing)

    def start_saving(self) -> bool:
        if self.phase is not Phase.PREVIEW:
            return False
        self.phase = Phase.SAVING
        return True

    def cancel_preview(self) -> None:
        if self.phase is Phase.PREVIEW:
            self.phase, self._preview = Phase.IDLE, ""
            self._status = FieldNote.note("Nothing was changed in Halo.")

    def saved(self, *, confirmed: bool, detail: str) -> None:
        self._preview = ""
        if confirmed:
            self.phase = Phase.DONE
            self._step.state, self._step.detail = StepState.DONE, detail
            self._status = FieldNote.ok(self.words.done)
        else:
            self.phase = Phase.FAILED
            self._status = FieldNote.error(self.words.unconfirmed)

    def found_earlier(self, detail: str) -> None:
        """A record on disk shows this step was done in an earlier session (undo possible)."""
        if self.phase is Phase.IDLE and self._step.state is StepState.NOT_STARTED:
            self.phase = Phase.DONE
            self._step.state, self._step.detail = StepState.DONE, detail
            self._status = FieldNote.ok(self.words.done)

    def start_undoing(self) -> bool:
        if self.phase is not Phase.DONE:
            return False
        self.phase = Phase.UNDOING
        return True

    def undone(self, *, confirmed: bool) -> None:
        if confirmed:
            self.phase = Phase.UNDONE
            self._step.state, self._step.detail = StepState.UNDONE, ""
            self._status = FieldNote.ok(self.words.undone)
        else:
            self.phase = Phase.FAILED
            self._status = FieldNote.error(self.words.unconfirmed)

    def failed(self, error: BaseException) -> None:
        """A job failed: a refusal for want of a right is NOT_PERMITTED, anything else FAILED.

        A failed plan or save leaves Halo as it was (the preview stays for another try)."""
        refusal = not_permitted(error, self.words.step) if isinstance(error, HaloError) else None
        self._preview = self._preview if self.phase is Phase.SAVING else ""
        if refusal is not None:
            self.phase, self._refusal = Phase.NOT_PERMITTED, refusal
            self._step.state, self._step.detail = StepState.NOT_PERMITTED, refusal.detail
            self._status = FieldNote.error(f"{refusal.message} (not permitted)")
            return
        was_saving = self.phase is Phase.SAVING
        self.phase = Phase.PREVIEW if was_saving and self._preview else Phase.FAILED
        explained = explain(error)
        text = " ".join(p for p in (explained.headline, explained.next_step) if p)
        self._status = FieldNote.error(text)

    def cancelled(self) -> None:
        """The job was cancelled (page left, window closing)."""
        if self.busy:
            self.phase = (
                Phase.PREVIEW if self.phase is Phase.SAVING and self._preview else Phase.IDLE
            )

    def leave(self) -> None:
        """The admin moves on: a step not done (nor refused) counts as skipped."""
        if self._step.state in (StepState.NOT_STARTED, StepState.UNDONE) and not self.busy:
            self._step.state = StepState.SKIPPED

    # -- output ---------------------------------------------------------------------------------
    def view(self) -> AdminStepView:
        refused = self.phase is Phase.NOT_PERMITTED and self._refusal is not None
        busy = {
            Phase.PLANNING: self.words.planning,
            Phase.SAVING: self.words.saving,
            Phase.UNDOING: self.words.undoing,
        }.get(self.phase)
        return AdminStepView(
            opted_in=self._state.admin.opted_in,
            can_preview=self.ready() and self.phase is not Phase.DONE,
            preview=self._preview,
            can_save=self.phase is Phase.PREVIEW,
            can_cancel=self.phase is Phase.PREVIEW,
            can_undo=self.phase is Phase.DONE,
            status=self._status,
            busy=busy,
            fix=self._refusal.fix if refused and self._refusal else "",
            note=facts.UNVERIFIED_NOTES["template_scope"],
        )


#: What the Done page says of each state of an optional step.
_STATE_WORDS: dict[StepState, str] = {
    StepState.NOT_STARTED: "not done (copy and paste by hand)",
    StepState.SKIPPED: "skipped (copy and paste by hand)",
    StepState.DONE: "done",
    StepState.NOT_PERMITTED: "not permitted",
    StepState.UNDONE: "undone (copy and paste by hand)",
}


def done_rows(state: WizardState) -> list[tuple[str, str]]:
    """The Done page's rows for the optional steps: (label, state in words)."""
    admin = state.admin
    rows = []
    for label, step in (
        ("Pay link in the email template", admin.template.settled()),
        ("Client button", admin.button),  # on the Done page itself: not settled yet
    ):
        words = _STATE_WORDS[step.state]
        if step.state is StepState.DONE and step.detail:
            words = f"done: {step.detail}"
        elif step.state is StepState.NOT_PERMITTED:
            words = f"not permitted (allow '{facts.TEMPLATE_SCOPE}' to let the assistant do it)"
        rows.append((label, words))
    return rows


def still_to_do(state: WizardState) -> str:
    """What the admin still has to do by hand, for the Done page."""
    left = [] if benji_settings_passed(state) else ["set the options in Benji Pays"]
    if state.admin.template.state is not StepState.DONE:
        left.append("paste the link into Halo's invoice email template")
    if not left:
        return (
            "Nothing is left to do by hand: Benji's settings passed and the link is in the "
            "template."
        )
    return "Still to do outside this assistant, if you haven't yet: " + " and ".join(left) + "."
