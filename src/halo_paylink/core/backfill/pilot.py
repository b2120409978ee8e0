"""The pilot: one invoice written before the first bulk write on a profile, and what it showed.

Several facts a backfill rests on cannot be known until Halo has saved one link: which field the
customer portal shows as the Pay button, and whether a link save pushes the invoice to the
accounting tool (Halo's `last_synced` moves). The pilot writes the link to one open invoice (the
admin's pick, or the newest the backfill would write), reads the invoice back, and reports what
changed. The admin then opens that invoice in Halo's customer portal and says whether the Pay
button is there; `record_pay_button` keeps the answer in the tenant's facts, and a profile whose
answer is yes skips the pilot from then on (unless asked for).

A pilot is an ordinary journaled run of one invoice, so `undo_run(report.result.run_id)` undoes it
on its own, and `runs` lists it.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from halo_paylink.core.backfill.lock import exclusive_run
from halo_paylink.core.backfill.model import (
    BackfillError,
    BackfillSettings,
    InvoiceSource,
    RunOptions,
    RunResult,
    web_url_of,
)
from halo_paylink.core.backfill.modes import pilot_mode
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.progress import CancelToken, ProgressCallback, ProgressThrottle
from halo_paylink.core.backfill.selection import Action, decider_for
from halo_paylink.core.backfill.target import LinkTarget
from halo_paylink.core.backfill.tenant import (
    FactId,
    TenantFacts,
    load_tenant_facts,
    save_tenant_facts,
    tenant_file,
    utc_today,
)
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice
from halo_paylink.storage.paths import AppPaths

#: The invoice field that says when Halo last pushed the invoice to the accounting tool.
LAST_SYNCED_FIELD = "last_synced"


@dataclass(frozen=True)
class PilotReport:
    """What the pilot did and showed.

    Attributes:
        result: the one-invoice run (its `run_id` undoes it with `undo_run`).
        invoice_id / invoice_number: the pilot invoice.
        field: where the link went (the target's spec, e.g. the invoice field's name).
        before / after: the target's value before the write and as Halo returned it after.
        synced_before / synced_after: `last_synced` before and after; None when Halo sent none.
    """

    result: RunResult
    invoice_id: int
    invoice_number: str
    field: str
    before: str | None
    after: str | None
    synced_before: str | None
    synced_after: str | None

    @property
    def saved(self) -> bool:
        return self.result.outcome is RunOutcome.COMPLETED and self.after is not None

    @property
    def synced_moved(self) -> bool | None:
        """Whether the save pushed the invoice to the accounting tool; None when unknown."""
        if self.synced_after is None:
            return None
        return self.synced_after != self.synced_before

    @property
    def portal_hint(self) -> str:
        return (
            f"Open invoice {self.invoice_number or self.invoice_id} in Halo's customer portal "
            "and look for the Pay button."
        )


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


async def pick_pilot(
    client: InvoiceSource, settings: BackfillSettings, target: LinkTarget
) -> Invoice | None:
    """The newest invoice the backfill would write (reads pages until it finds one)."""
    decide = decider_for(
        target=target,
        template=settings.template,
        numbering=settings.numbering,
        overwrite=settings.overwrite,
    )
    pages = client.invoice_pages()
    try:
        async for page in pages:
            for invoice in page.invoices:
                if decide(invoice).action is Action.WRITE:
                    return invoice
    finally:
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()
    return None


@exclusive_run("backfill")  # local pre-flight + one run per Halo (see `lock`)
async def run_pilot(
    client: InvoiceSource,
    settings: BackfillSettings,
    paths: AppPaths,
    *,
    invoice_id: int | None = None,
    profile: str | None = None,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PilotReport:
    """Write the link to one invoice (`invoice_id`, or the newest the backfill would write),
    read it back, and learn whether the save moved `last_synced`.

    Raises:
        BackfillError: the settings are unusable, there is no invoice to pilot, or the chosen
            invoice would not get a link (with the reason).
        HaloError: Halo failed while the pilot invoice was found or read back.
    """
    from halo_paylink.core.backfill.engine import Engine
    from halo_paylink.core.backfill.runner import execute_attempt, open_backfill_journal

    settings.check()
    options = options or RunOptions()
    target = settings.link_target()
    if invoice_id is None:
        chosen = await pick_pilot(client, settings, target)
        if chosen is None:
            raise BackfillError("No open invoice needs a link, so there is nothing to pilot.")
        invoice_id = chosen.id
    try:
        before = await client.get_invoice(invoice_id)
    except HaloError as error:
        if error.kind is ErrorKind.NOT_FOUND:
            raise BackfillError(f"Halo has no invoice {invoice_id}.") from None
        raise
    decider = decider_for(
        target=target,
        template=settings.template,
        numbering=settings.numbering,
        overwrite=settings.overwrite,
    )
    decision = decider(before)
    if decision.action is not Action.WRITE:
        reason = decision.reason.label if decision.reason else "it needs no change"
        raise BackfillError(f"Invoice {invoice_id} would not get a link: {reason}.")
    header, journal = await open_backfill_journal(
        client, settings, paths, profile=profile, pilot=True
    )
    run_id = header.run_id
    engine = Engine(
        client,
        target=target,
        mode=pilot_mode(decider, invoice_id),
        journal=journal,
        options=options,
        progress=ProgressThrottle(on_progress, interval=options.progress_interval, clock=clock),
        cancel=cancel or CancelToken(),
        clock=clock,
    )
    result = await execute_attempt(
        engine, journal=journal, run_id=run_id, paths=paths, filters=None, client=client
    )
    after = await client.get_invoice(invoice_id)
    report = PilotReport(
        result=result,
        invoice_id=invoice_id,
        invoice_number=str(before.invoice_number or ""),
        field=target.spec,
        before=_text(target.raw(before)),
        after=_text(target.raw(after)),
        synced_before=_text(before.raw.get(LAST_SYNCED_FIELD)),
        synced_after=_text(after.raw.get(LAST_SYNCED_FIELD)),
    )
    await _remember_pilot(paths, web_url_of(client), report)
    return report


async def _remember_pilot(paths: AppPaths, web_url: str, report: PilotReport) -> None:
    moved = report.synced_moved
    if not report.saved or moved is None:
        return
    path = tenant_file(paths, web_url)
    tenant = await asyncio.to_thread(load_tenant_facts, path)
    tenant.measure(
        FactId.SAVE_MOVES_LAST_SYNCED,
        moved,
        on=utc_today(),
        how=f"the pilot saved a link on invoice {report.invoice_number or report.invoice_id}",
    )
    await asyncio.to_thread(save_tenant_facts, path, tenant)


def record_pay_button(
    paths: AppPaths,
    web_url: str,
    shown: bool,
    *,
    invoice: str,
    target: str = facts.DEFAULT_LINK_FIELD,
) -> TenantFacts:
    """Keep the admin's answer: did the portal show the Pay button on the pilot invoice, whose
    link went to `target` (a `LinkTarget.spec`)? Blocking (file I/O)."""
    path = tenant_file(paths, web_url)
    tenant = load_tenant_facts(path)
    tenant.measure(
        FactId.PAY_BUTTON_SHOWN,
        shown,
        on=utc_today(),
        how=f"the admin looked at invoice {invoice} in Halo's customer portal, with the link "
        f"in {target}",
    )
    tenant.pay_button_target = target
    save_tenant_facts(path, tenant)
    return tenant


def pay_button_answer(tenant: TenantFacts, target: str) -> bool | None:
    """The admin's Pay-button answer for links in `target`, or None when there is none (an
    answer about another field says nothing about this one)."""
    answer = tenant.value(FactId.PAY_BUTTON_SHOWN)
    if not isinstance(answer, bool):
        return None
    asked = tenant.pay_button_target or facts.DEFAULT_LINK_FIELD  # older files: the default
    return answer if asked == target else None


class PilotGate(enum.Enum):
    """Whether a bulk write may start on this Halo, as far as the pilot goes."""

    CONFIRMED = "confirmed"  # the admin saw the Pay button on a pilot invoice
    NEEDED = "needed"  # no pilot answer yet: pilot one invoice first
    NO_BUTTON = "no_button"  # the admin did not see the Pay button: change the target or stop

    @property
    def allows_bulk(self) -> bool:
        return self is PilotGate.CONFIRMED


def pilot_gate(paths: AppPaths, web_url: str, target: str = facts.DEFAULT_LINK_FIELD) -> PilotGate:
    """Where this Halo stands with the pilot for links in `target` (the admin's last Pay-button
    answer about that field). Blocking."""
    answer = pay_button_answer(load_tenant_facts(tenant_file(paths, web_url)), target)
    if answer is True:
        return PilotGate.CONFIRMED
    return PilotGate.NO_BUTTON if answer is False else PilotGate.NEEDED
