"""The pilot step on the Backfill page: one invoice written before the first bulk write.

The admin picks an invoice (default: the first open one that needs a link), the pilot writes the
link to it and reads it back (`core.backfill.pilot`), and the step shows what changed: the field,
its value before and after, and whether Halo's `last_synced` moved (the accounting push). It links
to that invoice's customer-portal page and asks "Is the Pay button there?". Yes confirms the Halo
for bulk runs; no offers a custom field the portal shows (then a new pilot) or stopping. The pilot
can be undone on its own. The answer is kept in the tenant's facts, so a confirmed Halo skips the
step next time (unless the admin pilots again).

Nothing here imports Qt or the engine (`core.backfill`, which loads httpx) until a pilot starts,
so the window still starts without them. The widget (`ui.widgets.pilot_panel`) renders `view()`
and runs the coroutines below as its tasks, handing their results back here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from halo_paylink.errors import explain
from halo_paylink.halo import facts

if TYPE_CHECKING:
    from halo_paylink.core.backfill.model import (
        BackfillSettings,
        InvoiceSource,
        RunOptions,
        RunResult,
    )
    from halo_paylink.core.backfill.pilot import PilotGate, PilotReport
    from halo_paylink.core.backfill.progress import CancelToken
    from halo_paylink.core.wizard import LinkState
    from halo_paylink.storage.paths import AppPaths


class PilotPhase(enum.Enum):
    CHECKING = "checking"  # reading whether this Halo's pilot is confirmed
    NEEDED = "needed"  # no pilot answer yet: the bulk write waits for one
    RUNNING = "running"  # the pilot invoice is being written and read back
    ASKING = "asking"  # the pilot saved: is the Pay button there?
    CONFIRMED = "confirmed"  # the admin saw the Pay button: bulk runs may start
    NO_BUTTON = "no_button"  # the admin did not: a custom field, or stop
    UNDOING = "undoing"
    FAILED = "failed"  # the pilot did not save, or failed


_BUSY = frozenset({PilotPhase.CHECKING, PilotPhase.RUNNING, PilotPhase.UNDOING})


@dataclass(frozen=True)
class PilotRequest:
    """A pilot to run: `invoice_id` None means the first open invoice that needs a link."""

    invoice_id: int | None


@dataclass(frozen=True)
class PilotView:
    """Everything the pilot step shows.

    Attributes:
        status: one or two sentences on where the pilot stands.
        changes: what the pilot changed, one line each (empty before a pilot).
        portal_url: the pilot invoice's customer-portal page, or None.
        portal_note: why that address may not be exact (it rests on a model), or "".
        asking: show "Is the Pay button there?" with Yes / No.
        offer_custom_field: show the custom-field input (after "No").
        can_pilot / can_undo / can_pick: the buttons and the invoice input.
        pilot_label: the pilot button's text.
        error: a problem with the admin's input or the last step, or "".
        allows_bulk: a bulk write may start on this Halo.
    """

    status: str
    changes: tuple[str, ...] = ()
    portal_url: str | None = None
    portal_note: str = ""
    asking: bool = False
    offer_custom_field: bool = False
    can_pilot: bool = False
    can_undo: bool = False
    can_pick: bool = False
    pilot_label: str = "Pilo&t one invoice"
    error: str = ""
    allows_bulk: bool = False


def change_lines(report: PilotReport) -> tuple[str, ...]:
    """What the pilot changed, in words."""
    number = report.invoice_number or str(report.invoice_id)
    lines = [
        f"Invoice {number} (id {report.invoice_id}), field {report.field}:",
        f"before: {report.before or '(empty)'}",
        f"after: {report.after or '(empty)'}",
    ]
    moved = report.synced_moved
    if moved is None:
        lines.append("last_synced: Halo sent none (whether a save pushes to accounting is unknown)")
    elif moved:
        lines.append("last_synced moved: saving the link pushed the invoice to the accounting tool")
    else:
        lines.append("last_synced did not move: saving the link did not push it to accounting")
    return tuple(lines)


_STATUS = {
    PilotPhase.CHECKING: "Checking whether a pilot was confirmed on this Halo…",
    PilotPhase.NEEDED: (
        "Before the first bulk write, pilot one invoice: the link is written to it and read "
        "back, and you check its Pay button in Halo's customer portal."
    ),
    PilotPhase.RUNNING: "Writing the link to the pilot invoice and reading it back…",
    PilotPhase.ASKING: "Open the invoice in Halo's customer portal. Is the Pay button there?",
    PilotPhase.CONFIRMED: (
        "Pilot confirmed on this Halo: the portal shows the Pay button. You can add the "
        "payment links (or pilot again)."
    ),
    PilotPhase.NO_BUTTON: (
        "The portal did not show the Pay button, so no bulk write starts. Write the link to a "
        "custom field the portal shows and pilot again, or stop here (undo the pilot if you "
        "like)."
    ),
    PilotPhase.UNDOING: "Undoing the pilot…",
    PilotPhase.FAILED: "The pilot did not save the link.",
}


@dataclass
class PilotPresenter:
    """The pilot step's flow (GUI thread; no I/O here)."""

    web_url: str = ""
    phase: PilotPhase = PilotPhase.CHECKING
    report: PilotReport | None = None
    undone_run: str | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)
    before_undo: PilotPhase = PilotPhase.NEEDED

    def gate_loaded(self, gate: PilotGate) -> None:
        self.phase = PilotPhase(gate.value)  # the gate's states are phases of the step

    @property
    def busy(self) -> bool:
        return self.phase in _BUSY

    @property
    def allows_bulk(self) -> bool:
        return self.phase is PilotPhase.CONFIRMED

    def request(self, invoice_text: str) -> PilotRequest | None:
        """The pilot to run for what the admin typed (empty: the first open invoice), or None
        with `error` set."""
        if self.busy:
            return None
        text = invoice_text.strip()
        if text and not (text.isascii() and text.isdigit()):
            self.error = (
                f"The invoice id is a number (the id Halo shows), not {text!r}; leave it empty "
                "to pilot the first open invoice that needs a link."
            )
            return None
        self.error = ""
        return PilotRequest(int(text) if text else None)

    def started(self) -> None:
        self.phase, self.report, self.undone_run, self.error = PilotPhase.RUNNING, None, None, ""

    def finished(self, report: PilotReport) -> None:
        self.report = report
        if report.saved:
            self.phase = PilotPhase.ASKING
            return
        self.phase = PilotPhase.FAILED
        self.error = f"{report.result.outcome.value}: {report.result.detail}".strip(": ")

    def failed(self, error: BaseException) -> None:
        """A job raised `error`: the pilot itself (nothing to answer yet, or the question stays
        open), or its undo (back to where the undo started: an answer given stands)."""
        told = explain(error)
        if self.phase is PilotPhase.UNDOING:
            self.phase = self.before_undo
        else:
            self.phase = PilotPhase.FAILED if self.report is None else PilotPhase.ASKING
        self.error = " ".join(part for part in (told.headline, told.detail, told.next_step) if part)

    def answer(self, shown: bool) -> str | None:
        """The invoice the answer is about (for `record_answer`), or None when not asking."""
        if self.phase is not PilotPhase.ASKING or self.report is None:
            return None
        return self.report.invoice_number or str(self.report.invoice_id)

    def recorded(self, shown: bool) -> None:
        self.phase = PilotPhase.CONFIRMED if shown else PilotPhase.NO_BUTTON

    def custom_field(self, name: str) -> str | None:
        """The link field for a custom field called `name` (`custom:NAME`), or None with
        `error` set."""
        from halo_paylink.core.backfill.target import CUSTOM_PREFIX, parse_link_target

        spec = f"{CUSTOM_PREFIX}{name.strip()}"
        try:
            parse_link_target(spec)
        except ValueError as exc:
            self.error = f"{exc}."
            return None
        self.error = ""
        self.phase = PilotPhase.NEEDED
        self.notes.append(f"The link now goes to {spec}: pilot again to check the portal.")
        return spec

    def undo_request(self) -> str | None:
        """The pilot run to undo, or None."""
        if self.busy or self.report is None or self.undone_run is not None:
            return None
        return self.report.result.run_id or None

    def undo_started(self) -> None:
        self.before_undo = self.phase
        self.phase = PilotPhase.UNDOING

    def undone(self, result: RunResult) -> None:
        # after "Yes" or "No" the answer stands; a pilot undone before an answer is to be redone
        before = self.before_undo
        self.phase = PilotPhase.NEEDED if before is PilotPhase.ASKING else before
        if result.outcome.success:
            self.undone_run = result.run_id
            self.error = ""
        else:
            self.error = f"The undo ended {result.outcome.value}: {result.detail}"

    def view(self) -> PilotView:
        report = self.report
        changes = change_lines(report) if report is not None else ()
        if self.undone_run is not None:
            changes = (*changes, "The pilot was undone: the invoice holds its old value again.")
        portal = (
            facts.portal_invoice_url(self.web_url, report.invoice_id)
            if report is not None and report.saved and self.web_url and self.undone_run is None
            else None
        )
        status = " ".join([_STATUS[self.phase], *self.notes[-1:]])
        return PilotView(
            status=status,
            changes=changes,
            portal_url=portal,
            portal_note=facts.UNVERIFIED_NOTES["portal_invoice_url"] if portal else "",
            asking=self.phase is PilotPhase.ASKING,
            offer_custom_field=self.phase is PilotPhase.NO_BUTTON,
            can_pilot=not self.busy,
            can_undo=self.undo_request() is not None,
            can_pick=not self.busy,
            pilot_label="Pilo&t one invoice" if report is None else "Pilo&t again",
            error=self.error,
            allows_bulk=self.allows_bulk,
        )


def settings_for(link: LinkState, link_field: str | None) -> BackfillSettings:
    """The settings a run from the window uses (the link as set up, the profile's field)."""
    from halo_paylink.core.backfill.model import BackfillSettings

    return BackfillSettings(
        template=link.template,
        numbering=link.numbering,
        target=facts.DEFAULT_LINK_FIELD if link_field is None else link_field,
    )


async def run_pilot_job(
    request: PilotRequest,
    client: InvoiceSource,
    paths: AppPaths,
    *,
    link: LinkState,
    link_field: str | None,
    profile: str | None,
    cancel: CancelToken,
) -> PilotReport:
    """Run the pilot (on the loop that awaits this)."""
    from halo_paylink.core.backfill.model import RunOptions
    from halo_paylink.core.backfill.pilot import run_pilot

    return await run_pilot(
        client,
        settings_for(link, link_field),
        paths,
        invoice_id=request.invoice_id,
        profile=profile,
        options=RunOptions(concurrency=1),
        cancel=cancel,
    )


async def undo_pilot_job(
    run_id: str, client: InvoiceSource, paths: AppPaths, *, cancel: CancelToken
) -> RunResult:
    from halo_paylink.core.backfill import undo_run

    return await undo_run(client, paths, run_id, cancel=cancel)


def target_spec(link_field: str | None) -> str:
    """The link target a profile's `link_field` names (the default field when unset), as the
    pilot's answer is kept for it; an unusable name falls back to the default field, which the
    run itself then refuses with its own message."""
    from halo_paylink.core.backfill.target import parse_link_target
    from halo_paylink.halo import facts

    try:
        return parse_link_target(link_field or facts.DEFAULT_LINK_FIELD).spec
    except ValueError:
        return facts.DEFAULT_LINK_FIELD


def load_gate(paths: AppPaths, web_url: str, target: str) -> PilotGate:
    """Where the pilot of links in `target` stands. Blocking (file I/O): call it off the GUI
    thread."""
    from halo_paylink.core.backfill.pilot import pilot_gate

    return pilot_gate(paths, web_url, target)


def record_answer(paths: AppPaths, web_url: str, shown: bool, invoice: str, target: str) -> None:
    """Keep the admin's Pay-button answer about links in `target`. Blocking (file I/O)."""
    from halo_paylink.core.backfill.pilot import record_pay_button

    record_pay_button(paths, web_url, shown, invoice=invoice, target=target)


async def estimate_for(
    client: InvoiceSource,
    paths: AppPaths,
    web_url: str,
    *,
    to_write: int | None = None,
    options: RunOptions | None = None,
) -> str:
    """The line that says what a run with `options` will cost before it starts (see
    core.backfill.estimate), from Halo's count, the dry run's `to_write` and what this Halo
    taught earlier runs."""
    import asyncio

    from halo_paylink.core.backfill.estimate import estimate_run
    from halo_paylink.core.backfill.tenant import load_tenant_facts, tenant_file

    tenant = await asyncio.to_thread(load_tenant_facts, tenant_file(paths, web_url))
    return (await estimate_run(client, to_write=to_write, tenant=tenant, options=options)).text()


LEARNED_TITLE = "What we learned about your Halo"


def learned_summary(paths: AppPaths, web_url: str) -> str:
    """The Backfill page's "What we learned about your Halo": one line per fact, each saying
    whether it was measured here (when, how) or still rests on the model. Blocking (file I/O):
    call it off the GUI thread."""
    from halo_paylink.core.backfill.learned import learned_lines
    from halo_paylink.core.backfill.tenant import load_tenant_facts, tenant_file

    lines = learned_lines(load_tenant_facts(tenant_file(paths, web_url)))
    measured = sum(line.measured for line in lines)
    head = f"{LEARNED_TITLE} ({measured} of {len(lines)} measured here; the rest is a model):"
    return "\n".join([head, *(f"• {line.topic}: {line.finding} ({line.source})" for line in lines)])
