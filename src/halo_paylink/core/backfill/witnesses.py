"""What a run's reads show about the tenant, as they go: the server's page cap and the list
filters it honours (`ListingWitness`, from the pages), and whether a read of only the invoices
changed since the last completed run would have missed any (`ChangeWitness`, from the invoices
the read decides need the link). Each records its findings in the tenant's facts (`tenant`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from halo_paylink.core.backfill.tenant import FactId, TenantFacts, status_code
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, InvoicePage, to_decimal

#: A row changed this long before the asked `start_date` is evidence the change-date filter was
#: ignored (less could be Halo reading the date in its own time zone).
_DATE_TOLERANCE = dt.timedelta(days=1)


def _start_date(filters: Mapping[str, str]) -> dt.datetime | None:
    if filters.get("datesearch") != "last_modified":
        return None
    try:
        start = dt.datetime.fromisoformat(filters.get("start_date", ""))
    except ValueError:
        return None
    return start.replace(tzinfo=None) if start.tzinfo is None else start.astimezone(dt.UTC)


def _outside(fact: FactId, filters: Mapping[str, str], invoice: Invoice) -> bool:
    """Whether `invoice` is a row the filter behind `fact`, as sent in `filters`, keeps out."""
    raw = invoice.raw
    if fact is FactId.FILTER_POSTEDONLY:
        return raw.get("posted") is False
    if fact is FactId.FILTER_INCLUDECREDITS:
        total = to_decimal(raw.get("total"))
        return total is not None and total < 0
    if fact is FactId.FILTER_PAYMENTSTATUSES:
        code = status_code(invoice)
        wanted = {c.strip() for c in filters.get("paymentstatuses", "").split(",")}
        return code is not None and str(code) not in wanted
    start = _start_date(filters)
    changed = last_modified(invoice)
    if start is None or changed is None:
        return False
    return changed < start.replace(tzinfo=None) - _DATE_TOLERANCE


def last_modified(invoice: Invoice) -> dt.datetime | None:
    """When Halo last changed the invoice (naive; UTC when Halo gave a zone), or None when the
    record has no readable `last_modified`."""
    stamp = invoice.raw.get("last_modified")
    if not isinstance(stamp, str):
        return None
    try:
        changed = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return changed.astimezone(dt.UTC).replace(tzinfo=None) if changed.tzinfo else changed


def _filters_sent(filters: Mapping[str, str]) -> tuple[FactId, ...]:
    sent = []
    if filters.get("postedonly") == "true":
        sent.append(FactId.FILTER_POSTEDONLY)
    if filters.get("includecredits") == "false":
        sent.append(FactId.FILTER_INCLUDECREDITS)
    if filters.get("paymentstatuses"):
        sent.append(FactId.FILTER_PAYMENTSTATUSES)
    if _start_date(filters) is not None:
        sent.append(FactId.FILTER_DATESEARCH)
    return tuple(sent)


@dataclass
class ListingWitness:
    """What the pages of the reads of one run show about the server, from the rows that come
    back: its real page cap (rows per page received against asked) and, for each list filter
    sent, whether a row it keeps out came back anyway (the filter is ignored)."""

    asked: int
    cap: int | None = None
    full_pages: int = 0
    top_id: int | None = None  # the highest invoice id listed
    rows: dict[FactId, int] = field(default_factory=dict)
    outside: dict[FactId, int] = field(default_factory=dict)  # the first row against it

    def see(self, filters: Mapping[str, str] | None, page: InvoicePage) -> None:
        if page.page_size < self.asked:
            self.cap = min(self.cap or page.page_size, page.page_size)
        elif page.rows >= self.asked:
            self.full_pages += 1
        if page.invoices:
            top = max(invoice.id for invoice in page.invoices)
            self.top_id = top if self.top_id is None else max(self.top_id, top)
        for fact in _filters_sent(filters or {}):
            self.rows[fact] = self.rows.get(fact, 0) + page.rows
            if fact in self.outside:
                continue
            for invoice in page.invoices:
                if _outside(fact, filters or {}, invoice):
                    self.outside[fact] = invoice.id
                    break

    def record(self, tenant: TenantFacts, *, on: str) -> None:
        """Keep what the pages showed (each finding dated; new evidence replaces old)."""
        if self.cap is not None:
            how = f"asked for {self.asked} rows a page, Halo sent {self.cap}"
            tenant.measure(FactId.PAGE_CAP, self.cap, on=on, how=how)
        elif (
            self.full_pages
            and self.asked >= facts.REQUESTED_PAGE_SIZE
            and FactId.PAGE_CAP not in tenant.measured
        ):
            how = f"asked for {self.asked} rows a page and received {self.asked}"
            tenant.measure(FactId.PAGE_CAP, self.asked, on=on, how=how)
        for fact, rows in self.rows.items():
            against = self.outside.get(fact)
            if against is not None:
                how = f"invoice {against} came back although the filter keeps it out"
                tenant.measure(fact, False, on=on, how=how)
            elif rows:
                how = f"{rows:,} rows listed with it, none that it keeps out"
                tenant.measure(fact, True, on=on, how=how)


@dataclass
class ChangeWitness:
    """Whether a read of only the invoices changed since the last completed run would have found
    every invoice this read found needing the link.

    Reading only what changed (an incremental run, and a narrowed read's left-out statuses)
    rests on every change that can make an invoice need a link moving its `last_modified`
    (`facts.INCREMENTAL_RESTS_ON`). A read after a completed run with the same link settings
    puts that to the test: that run left no open invoice without the link, so each invoice
    needing it now was changed since, and an incremental read from `since` lists it only if its
    `last_modified` says so. One that does not is the fact shown false on this Halo.

    Evidence the other way is held to more: an invoice counts only when it already existed at
    that run (`known_up_to`: a new invoice's first `last_modified` says nothing about later
    changes) and its `last_modified` is later than `after`, a margin past the end of that run
    (so that run's own saves, and Halo writing its dates in another time zone, never count).

    Attributes:
        since: the date an incremental read would start at (`learning`'s margin included).
        after: the moment a change must follow to be evidence (naive, UTC).
        known_up_to: the highest invoice id the completed run saw.
        found: invoices that existed then, need the link now, and changed after `after`.
        missed: the first invoice needing the link whose `last_modified` is before `since` (or
            unreadable): (invoice id, its stamp or None).
    """

    since: dt.date
    after: dt.datetime
    known_up_to: int
    found: set[int] = field(default_factory=set)
    missed: tuple[int, str | None] | None = None

    def needs_link(self, invoice: Invoice) -> None:
        """The read decided `invoice` needs the link."""
        changed = last_modified(invoice)
        if changed is None or changed.date() < self.since:
            if self.missed is None:
                stamp = invoice.raw.get("last_modified")
                self.missed = (invoice.id, stamp if isinstance(stamp, str) else None)
        elif changed > self.after and invoice.id <= self.known_up_to:
            self.found.add(invoice.id)

    def record(self, tenant: TenantFacts, *, on: str) -> None:
        """Keep the evidence: one invoice missed measures the fact false (for good: reading only
        what changed would miss invoices on this Halo); `facts.MIN_CHANGE_SAMPLES` invoices
        found, each counted once however many reads saw it, and none ever missed, measure it
        true."""
        fact = FactId.CHANGES_MOVE_LAST_MODIFIED
        if self.missed is not None:
            invoice_id, stamp = self.missed
            changed = f"its last change ({stamp})" if stamp else "it has no last_modified, so it"
            tenant.measure(
                fact,
                False,
                on=on,
                how=f"invoice {invoice_id} needed the link, but {changed} is before "
                f"{self.since.isoformat()}: a read of only the changed invoices would have "
                "missed it",
            )
            tenant.change_evidence = set()
            return
        if tenant.value(fact) is not None or not self.found:
            return  # measured either way: false stays false, true needs no more
        tenant.change_evidence |= self.found
        count = len(tenant.change_evidence)
        if count >= facts.MIN_CHANGE_SAMPLES:
            tenant.measure(
                fact,
                True,
                on=on,
                how=f"{count:,} invoices older than the last completed run were found needing "
                "the link, each changed after that run had ended (a read of only the changed "
                "invoices would have found it)",
            )
            tenant.change_evidence = set()
