"""The Backfill page's Benji number check, without widgets.

After a dry run, `BenjiNumbersPresenter.dry_run_finished` says whether to ask Benji about the
numbers the planned links carry (only with a Benji API key, and only when the dry run would write
links); the page runs `core.benji_checks.check_plan_numbers` as a task and reports back. The view
shows "Benji found 48 of 50", the advice, and, when too few were found, a confirmation the admin
must tick before "Add payment links" is enabled again (`blocks_commit`). Switching the numbering
on the Email page lifts the block as well (the check was about the other numbering). One thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from halo_paylink.benji import facts as benji_facts
from halo_paylink.core.benji_checks import BenjiState, NumberCheck
from halo_paylink.core.wizard import WizardState
from halo_paylink.errors import explain

if TYPE_CHECKING:
    from halo_paylink.core.backfill import RunResult

CHECKING = "Asking Benji Pays whether it knows the invoice numbers…"
CONFIRM = "I have checked: these invoice numbers are right, add the links anyway"


@dataclass(frozen=True)
class NumbersRequest:
    """What the page's task asks Benji about."""

    links: tuple[str | None, ...]
    template: str
    to_write: int


@dataclass(frozen=True)
class BenjiNumbersView:
    """What the number-check box shows.

    Attributes:
        visible: there is something to say (a key was given and a dry run finished or runs).
        headline: "Benji found 48 of 50." or the reading/failure line.
        advice: what to do next.
        missing: the first numbers Benji did not know, in words ("" when none).
        confirm_visible / confirmed: the confirmation that lifts a block.
        blocks: "Add payment links" must stay disabled.
        note: what the result rests on.
    """

    visible: bool
    headline: str
    advice: str
    missing: str
    confirm_visible: bool
    confirmed: bool
    blocks: bool
    note: str


class BenjiNumbersPresenter:
    """The number check's logic over `WizardState.benji`."""

    def __init__(self, state: WizardState) -> None:
        self.state = state
        self._busy = False

    @property
    def benji(self) -> BenjiState:
        return self.state.benji

    def dry_run_started(self) -> None:
        """A new dry run: the last check (and its confirmation) no longer applies."""
        self.benji.numbers = None
        self.benji.numbers_error = None
        self.benji.confirmed = False

    def dry_run_finished(self, result: RunResult) -> NumbersRequest | None:
        """The request for the check, or None (no key, no plan, nothing to write, running)."""
        plan = result.plan
        if self._busy or not self.benji.key or plan is None or plan.to_write == 0:
            return None
        self._busy = True
        return NumbersRequest(
            tuple(change.new for change in plan.sample), self.state.link.template, plan.to_write
        )

    def check_finished(self, check: NumberCheck) -> None:
        self.benji.numbers = check
        self.benji.numbers_error = None

    def check_failed(self, error: BaseException) -> None:
        explained = explain(error)
        self.benji.numbers_error = f"{explained.headline} {explained.next_step}".strip()

    def check_ended(self) -> None:
        self._busy = False

    def confirm(self, on: bool) -> None:
        self.benji.confirmed = on

    @property
    def blocks_commit(self) -> bool:
        return self.benji.blocks_run(self.state.link.numbering)

    def view(self) -> BenjiNumbersView:
        check = self.benji.numbers
        hidden = BenjiNumbersView(False, "", "", "", False, False, False, "")
        if self._busy:
            return BenjiNumbersView(True, CHECKING, "", "", False, False, False, "")
        if self.benji.numbers_error:
            return BenjiNumbersView(
                True,
                "The invoice numbers could not be checked with Benji Pays.",
                self.benji.numbers_error,
                "",
                False,
                False,
                False,
                "",
            )
        if check is None:
            return hidden
        current = check.numbering is self.state.link.numbering
        advice = check.advice
        if not current:
            advice = "The numbering was changed since: run the dry run again to check it."
        missing = f"Not found: {', '.join(check.missing)}" if check.missing else ""
        return BenjiNumbersView(
            visible=True,
            headline=check.headline,
            advice=advice,
            missing=missing,
            confirm_visible=check.blocks and current,
            confirmed=self.benji.confirmed,
            blocks=self.blocks_commit,
            note=benji_facts.LOOKUP_NOTE,
        )
