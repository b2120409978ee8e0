"""Learning from the tenant during a run: which invoices to read before it, what it showed after.

When the first page shows a long list, `TenantLearning.narrow` may pick a narrower read (see
`census`): only the payment statuses not proven paid, unless the safety net says a full read is
due (`facts.FULL_READ_EVERY_DAYS`) or the admin asked for one. A short list is read whole. After the
run, `remember` keeps what was learned in the tenant's facts file: a consistent full read
relearns every code's meaning and names any code that was taken as paid while invoices with it
had something due.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from halo_paylink.core.backfill.census import (
    ListingScope,
    changed_listing,
    choose_scope,
    datesearch_answer,
)
from halo_paylink.core.backfill.model import InvoiceSource
from halo_paylink.core.backfill.tenant import (
    FactId,
    StatusLearner,
    TenantFacts,
    load_tenant_facts,
    save_tenant_facts,
    utc_today,
)
from halo_paylink.core.backfill.witnesses import ChangeWitness, ListingWitness
from halo_paylink.errors import HaloError
from halo_paylink.halo import facts

log = logging.getLogger(__name__)


def full_read_due(tenant: TenantFacts, now: dt.datetime) -> str | None:
    """Why this run must read every invoice although a narrower read would do (the safety net:
    `facts.FULL_READ_EVERY_DAYS` after the last full read, or after `facts.FULL_READ_EVERY_RUNS`
    completed runs that read only part of the list), or None."""
    since = tenant.last_full_scan or tenant.narrowed_since
    if since is None:
        return None
    then = _moment(since)
    if then is None:
        return "the date of the last full read could not be read"
    if now - then >= dt.timedelta(days=facts.FULL_READ_EVERY_DAYS):
        return f"the last full read was more than {facts.FULL_READ_EVERY_DAYS} days ago"
    if tenant.runs_since_full >= facts.FULL_READ_EVERY_RUNS:
        return f"{tenant.runs_since_full} runs in a row read only part of the list"
    return None


def _moment(text: str) -> dt.datetime | None:
    try:
        then = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return then if then.tzinfo is not None else then.replace(tzinfo=dt.UTC)


def incremental_since(tenant: TenantFacts) -> dt.date | None:
    """The date a read of the invoices changed since the last completed run starts at (a margin
    before it started), or None when no completed run is known."""
    then = _moment(tenant.last_complete_run or "")
    if then is None:
        return None
    return (then - dt.timedelta(days=facts.INCREMENTAL_MARGIN_DAYS)).date()


def incremental_blocked(
    tenant: TenantFacts, now: dt.datetime, link: str | None = None
) -> str | None:
    """Why this run must read every posted invoice rather than those changed since the last
    completed run, or None when an incremental read may do. `link`: this run's link settings
    (`tenant.link_settings`); other settings than the last completed run's need a full read."""
    if tenant.last_complete_run is None or (tenant.last_full_scan or tenant.narrowed_since) is None:
        return "no run has completed after a full (or narrowed) read on this Halo yet"
    if _moment(tenant.last_complete_run) is None:
        return "the date of the last completed run could not be read"
    if link is not None and tenant.last_complete_link != link:
        return "the link settings are not those of the last completed run"
    return full_read_due(tenant, now)


def change_witness(tenant: TenantFacts, link: str | None) -> ChangeWitness | None:
    """What a read with `link` settings can show about reading only what changed: None unless
    the last completed run is known whole (start, end, top id) and wrote the same link."""
    since, ended = incremental_since(tenant), _moment(tenant.last_complete_end or "")
    top = tenant.last_complete_top_id
    if since is None or ended is None or top is None or link != tenant.last_complete_link:
        return None
    ours = _moment(tenant.last_own_write or "")  # any run of ours that saved since, too
    latest = max(ended, ours) if ours is not None else ended
    margin = dt.timedelta(days=facts.INCREMENTAL_MARGIN_DAYS)
    return ChangeWitness(since, (latest + margin).astimezone(dt.UTC).replace(tzinfo=None), top)


#: The fact a read of only what changed rests on, measured by `ChangeWitness`.
_CHANGES = FactId.CHANGES_MOVE_LAST_MODIFIED


def rests_on(tenant: TenantFacts) -> str:
    """What an incremental read rests on, in words: the measurement on this Halo when there is
    one, else the model (`facts.INCREMENTAL_RESTS_ON`)."""
    found = tenant.measured.get(_CHANGES)
    if found is not None and found.value is True:
        return f"This rests on a fact measured on this Halo on {found.on}: {found.how}."
    return f"This rests on an unverified fact: {facts.INCREMENTAL_RESTS_ON}."


def narrow_wanted(tenant: TenantFacts, asked: bool | None) -> bool:
    """Whether a long list may be narrowed: as asked, else unless this Halo was seen to leave a
    change that makes an invoice need the link out of its `last_modified` (the narrowed read's
    second net, its read of the left-out statuses' changed invoices, would then be blind)."""
    return asked if asked is not None else tenant.value(_CHANGES) is not False


def incremental_wanted(tenant: TenantFacts, asked: bool | None) -> bool:
    """Whether to read only what changed since the last completed run: as asked, else once this
    Halo has shown that a read of only the changed invoices misses nothing."""
    return asked if asked is not None else tenant.value(_CHANGES) is True


class TenantLearning:
    """One run's use of the tenant's facts. Construct, `await load()`, hand `choose_scope` and
    `learner` to the engine, then `await remember(...)` once the attempt is over.

    Attributes:
        tenant: the facts (empty until loaded; an unreadable file means nothing learned yet).
        learner: replaced by the engine at each read of the list; the last one is the evidence.
        scope: the narrower read, when `narrow` chose one.
        notes: what the admin should know about the read, for the run's warnings.
    """

    def __init__(
        self,
        client: InvoiceSource,
        path: Path | None,
        *,
        full_read: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
        page_size: int = facts.REQUESTED_PAGE_SIZE,
        link: str | None = None,
        started: str | None = None,
    ) -> None:
        self.client = client
        self.path = path
        self.full_read = full_read
        #: this run's link settings (`tenant.link_settings`), or None when it writes no link
        self.link = link
        #: the wall clock (UTC; tests pass their own, shared with a sandbox's)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.now = self.clock()
        self.tenant = TenantFacts()
        self.learner = StatusLearner()
        #: what the run's pages show about the server (fed by the engine)
        self.witness = ListingWitness(asked=page_size)
        self.scope: ListingScope | None = None
        self.notes: list[str] = []
        #: when this run started (ISO, UTC; a resumed run's first attempt): the next
        #: incremental run reads the changes since.
        self.started = started or self.now.isoformat(timespec="seconds")
        #: the date this attempt's incremental read starts at, when it reads only what changed.
        self.changed_since: str | None = None
        #: whether a read of only what changed would have found what this read finds (fed by
        #: the engine); None when there is no completed run with these link settings to judge by.
        self.changes: ChangeWitness | None = None

    @property
    def today(self) -> str:
        return utc_today(self.now)

    async def load(self) -> None:
        if self.path is not None:
            self.tenant = await asyncio.to_thread(load_tenant_facts, self.path)
        self.changes = change_witness(self.tenant, self.link)

    def wants_narrow(self, asked: bool | None) -> bool:
        return narrow_wanted(self.tenant, asked)

    def wants_incremental(self, asked: bool | None) -> bool:
        return incremental_wanted(self.tenant, asked)

    async def narrow(self) -> ListingScope | None:
        """For a long list: the narrower read that misses nothing, or None to read it whole
        (a full read is due or asked for, or the census does not allow leaving any out)."""
        due = "the admin asked for a full read" if self.full_read else None
        due = due or full_read_due(self.tenant, self.now)
        if due is not None:
            self.notes.append(f"Every invoice was read: {due}.")
            return None
        scope = await choose_scope(self.client, self.tenant, today=self.today)
        if not scope.narrowed:
            return None
        self.scope = scope
        self.notes.append(
            f"Read narrowed: {scope.reason}. This rests on an unverified fact: "
            f"{facts.NARROWED_READ_RESTS_ON}."
        )
        return scope

    async def incremental(self) -> Mapping[str, str] | None:
        """The listing of the invoices changed since the last completed run (with a margin),
        or None to read every posted invoice: no completed run after a full read yet, a full
        read due (`facts.FULL_READ_EVERY_DAYS` / `FULL_READ_EVERY_RUNS`) or asked for, or a
        build that does not filter by change date (asked once, then remembered)."""
        blocked = "the admin asked for a full read" if self.full_read else None
        blocked = blocked or incremental_blocked(self.tenant, self.now, self.link)
        if blocked is None and not await self._honours_datesearch():
            blocked = "this Halo does not filter by change date"
        if blocked is not None:
            self.notes.append(f"Every posted invoice was read (not only the changed): {blocked}.")
            return None
        last = self.tenant.last_complete_run
        full = self.tenant.last_full_scan or self.tenant.narrowed_since
        assert last is not None and full is not None
        start = incremental_since(self.tenant)
        assert start is not None
        since = start.isoformat()
        self.changed_since = since
        self.changes = None  # a read of only what changed is no evidence about it
        self.notes.append(
            f"Incremental run: only the invoices changed since {since} are read (the last "
            f"completed run started {last[:16]}; the last full or narrowed read was on "
            f"{full[:10]}, and every posted invoice is read again after "
            f"{facts.FULL_READ_EVERY_RUNS} runs that read only part of the list or "
            f"{facts.FULL_READ_EVERY_DAYS} "
            "days). " + rests_on(self.tenant)
        )
        return changed_listing(since)

    async def _honours_datesearch(self) -> bool:
        """Whether this Halo filters by change date: remembered once seen, else asked (one
        request; a Halo failure here means a full read, whose own failure is then named)."""
        known = self.tenant.measured.get(FactId.FILTER_DATESEARCH)
        if known is not None and known.value is True:
            return True
        try:
            answer = await datesearch_answer(self.client, self.today)
        except HaloError as error:
            log.info("change-date filter not checked: %s", error.summary)
            return False
        if answer is None:
            return False
        self.tenant.measure(
            FactId.FILTER_DATESEARCH,
            answer == 0,
            on=self.today,
            how=f"asked for the invoices changed after tomorrow: Halo listed {answer:,}",
        )
        return answer == 0

    async def remember(
        self, learner: StatusLearner | None, *, read_whole_list: bool, completed: bool = False
    ) -> None:
        """Keep what the attempt showed. `read_whole_list`: the attempt read every posted
        invoice and the read was shown consistent, so the codes' tallies are the whole truth
        (an incremental read never is). `completed`: the attempt ended completed, so the next
        incremental run may read only what changed since it started."""
        tenant = self.tenant
        self.witness.record(tenant, on=self.today)
        self._judge_changes()
        read_whole_list = read_whole_list and self.changed_since is None
        if completed:
            tenant.last_complete_run = self.started
            tenant.last_complete_end = self.clock().isoformat(timespec="seconds")
            tenant.runs_since_full = 0 if read_whole_list else tenant.runs_since_full + 1
            tenant.last_complete_link = self.link
            tops = [t for t in (tenant.last_complete_top_id, self.witness.top_id) if t is not None]
            tenant.last_complete_top_id = max(tops, default=None)
        if learner is not None and read_whole_list:
            before = tenant.proven_paid_codes()
            tenant.learn_codes(learner, self.today)
            for code in sorted(before):
                tally = tenant.codes.get(code)
                if tally is not None and tally.paid < tally.seen:
                    due = tally.seen - tally.paid
                    self.notes.append(
                        f"Payment status {code} was taken as paid, but {due} invoice"
                        f"{'s' if due != 1 else ''} with it had something due: this full read "
                        "looked at them, and later reads no longer leave status "
                        f"{code} unread."
                    )
            tenant.last_full_scan = self.now.isoformat(timespec="seconds")
            tenant.narrowed_since = None
        elif self.scope is not None and self.scope.narrowed:
            if tenant.narrowed_since is None:
                tenant.narrowed_since = self.now.isoformat(timespec="seconds")
            if learner is not None:
                for code in sorted(tenant.check_codes(learner)):
                    self.notes.append(
                        f"Payment status {code} was taken as paid, but invoices with it that "
                        "changed since had something due: they were read, and later reads no "
                        f"longer leave status {code} unread."
                    )
        if self.path is None:
            return
        try:
            await asyncio.to_thread(self._save, completed)
        except OSError as exc:  # only an optimisation is lost: the next run learns again
            log.warning("tenant facts not saved to %s: %s", self.path, exc)

    def _save(self, completed: bool) -> None:
        """Save the facts, keeping what other runs wrote to the file since it was loaded (a dry
        run takes no lock: an undo may have forgotten the last completed run meanwhile)."""
        assert self.path is not None
        self.tenant.keep_what_others_wrote(load_tenant_facts(self.path), completed=completed)
        save_tenant_facts(self.path, self.tenant)

    def _judge_changes(self) -> None:
        """Keep what this read showed about reading only what changed; name a miss."""
        changes = self.changes
        if changes is None:
            return
        was = self.tenant.value(_CHANGES)
        changes.record(self.tenant, on=self.today)
        if changes.missed is not None and was is not False:
            invoice_id, _ = changes.missed
            self.notes.append(
                f"Invoice {invoice_id} needed the link although Halo shows no change to it "
                "since the last completed run: on this Halo a read of only the changed "
                "invoices could miss some, so runs read every invoice from now on unless "
                "asked otherwise."
            )
        elif was is not True and self.tenant.value(_CHANGES) is True:
            self.notes.append(
                "This Halo has shown that a read of only the changed invoices misses nothing: "
                "later runs read only what changed since the last completed run (every posted "
                f"invoice is still read after {facts.FULL_READ_EVERY_RUNS} runs that read only "
                f"part of the list, or {facts.FULL_READ_EVERY_DAYS} days)."
            )


#: What a dry run says it sent when it sent nothing but reads.
READ_ONLY_DRY_RUN = "The dry run only read invoices: it sent nothing else to Halo."


@dataclass(frozen=True)
class EditCheck:
    """The dry run's validate-only check of one edit, and what it showed.

    Attributes:
        sent: in words, exactly what the dry run sent besides reads, and what a re-read showed.
        error: Halo's refusal of the check (e.g. posted invoices may not be edited), or None.
        unchanged: whether the invoice read the same before and after; None when not known.
    """

    sent: str
    error: HaloError | None = None
    unchanged: bool | None = None


async def check_edit_without_saving(
    client: InvoiceSource, invoice_id: int, number: str, path: Path | None, *, today: str
) -> EditCheck:
    """Ask Halo to validate an edit of one invoice without saving it (`_validateonly`), reading
    the invoice before and after: the same record both times is the evidence that the check
    saved nothing, remembered as a tenant fact. Once a check was seen to change an invoice, it
    is not sent again (the dry run then only reads). Raises nothing for Halo failures."""
    tenant = await asyncio.to_thread(load_tenant_facts, path) if path is not None else None
    if tenant is not None and tenant.value(FactId.VALIDATE_ONLY_SAVES_NOTHING) is False:
        return EditCheck(
            f"{READ_ONLY_DRY_RUN} (An earlier validate-only check changed an invoice, so "
            "the dry run no longer sends one.)"
        )
    sent = (
        f"The dry run changed nothing on purpose: it read the invoices and sent one "
        f"validate-only edit of invoice {number} (Halo checks the edit without saving it)"
    )
    try:
        before = await client.get_invoice(invoice_id)
        error: HaloError | None = None
        try:
            await client.validate_invoice_edit(invoice_id)
        except HaloError as refused:
            error = refused
        after = await client.get_invoice(invoice_id)
    except HaloError as failed:
        return EditCheck(f"{sent}; it could not be read again ({failed.summary}).")
    unchanged = before.raw == after.raw
    if unchanged:
        sent += "; read again afterwards, it was unchanged."
    else:
        sent += (
            "; read again afterwards, it had CHANGED: this Halo may save validate-only edits, "
            "so later dry runs send none."
        )
    if tenant is not None and path is not None:
        tenant.measure(
            FactId.VALIDATE_ONLY_SAVES_NOTHING,
            unchanged,
            on=today,
            how=f"invoice {number} read before and after a validate-only edit: "
            + ("the same" if unchanged else "changed"),
        )
        try:
            await asyncio.to_thread(save_tenant_facts, path, tenant)
        except OSError as exc:
            log.warning("tenant facts not saved to %s: %s", path, exc)
    return EditCheck(sent, error, unchanged)
