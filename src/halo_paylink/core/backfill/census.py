"""Which invoices a run must read: a census of Halo's invoice list by payment status.

On a tenant with years of history nearly every invoice is long paid, and reading them all is what
a run's request budget goes on. A census asks Halo for counts only (one row per request): the list
under the filters that are safe by definition (`facts.SAFE_LISTING_FILTERS`: posted invoices, no
credits; an open invoice is always both), then the same list for each candidate `paymentstatus`
code. When the per-code counts add up to the whole, no invoice carries a code outside the
candidates, and a code can be left out of the read when it is proven paid on this tenant
(`tenant`: every sampled invoice with it fully paid). When the counts do not add up, or Halo
ignores the status filter, the run reads the whole safe list: never a cheaper read that might
miss an open invoice.

The census is taken again after the read (`recheck`): a code that appeared, counts that no longer
add up, or more invoices in the codes read than the read saw mean the list changed under the run,
which then cannot say it is complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from halo_paylink.core.backfill.model import InvoiceSource
from halo_paylink.core.backfill.tenant import StatusLearner, TenantFacts
from halo_paylink.halo import facts
from halo_paylink.halo.models import InvoicePage


@dataclass(frozen=True)
class Census:
    """Counts of the safe list, whole and per `paymentstatus` code.

    Attributes:
        total: `record_count` of the whole safe list, or None when Halo did not say.
        by_code: `record_count` of the safe list for each candidate code asked about.
        requests: how many requests the census cost.
    """

    total: int | None
    by_code: Mapping[int, int]
    requests: int

    @property
    def honoured(self) -> bool:
        """Whether Halo filtered by code: a build that ignores the filter answers the whole
        list's count for every code, so two codes (or one, with others) each holding it all
        give it away."""
        if self.total is None:
            return False
        full = [code for code, n in self.by_code.items() if n == self.total]
        return self.total == 0 or len(full) <= 1

    @property
    def adds_up(self) -> bool:
        """The per-code counts add up to the whole: no invoice has a code outside them."""
        return self.total is not None and self.honoured and sum(self.by_code.values()) == self.total

    def present(self) -> dict[int, int]:
        """The codes that have invoices, with their counts."""
        return {code: n for code, n in sorted(self.by_code.items()) if n > 0}


async def first_page(
    source: InvoiceSource, filters: Mapping[str, str], page_size: int
) -> InvoicePage | None:
    """The listing's first page, and no more (the page stream is closed at once)."""
    pages = source.invoice_pages(filters=filters, page_size=page_size)
    try:
        return await anext(pages, None)
    finally:
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()


async def count_invoices(source: InvoiceSource, filters: Mapping[str, str]) -> int | None:
    """`record_count` of a listing, for the price of a one-row page."""
    page = await first_page(source, filters, 1)
    return 0 if page is None else page.record_count


def with_codes(codes: Iterable[int]) -> dict[str, str]:
    """The safe filters, narrowed to the given `paymentstatus` codes."""
    return {**facts.SAFE_LISTING_FILTERS, "paymentstatuses": ",".join(str(c) for c in codes)}


async def take_census(
    source: InvoiceSource, codes: Iterable[int], *, total: int | None = None
) -> Census:
    """Count the safe list for each of `codes` (one request each) and, unless `total` is given
    (counted just before), as a whole (one more)."""
    wanted = sorted(set(codes))
    spent = 0
    if total is None:
        total = await count_invoices(source, facts.SAFE_LISTING_FILTERS)
        spent = 1
    by_code: dict[int, int] = {}
    for code in wanted:
        counted = await count_invoices(source, with_codes([code]))
        spent += 1
        if counted is None:  # no record_count: the census cannot add up
            return Census(None, by_code, spent)
        by_code[code] = counted
    return Census(total, by_code, spent)


async def sample_code(source: InvoiceSource, code: int, learner: StatusLearner) -> int:
    """Read the first page (newest first) of the invoices with `code` into `learner`; returns
    the rows read. One request."""
    page = await first_page(source, with_codes([code]), facts.REQUESTED_PAGE_SIZE)
    if page is None:
        return 0
    learner.observe_all(page.invoices)
    return page.rows


@dataclass(frozen=True)
class ListingScope:
    """What a run reads, and why.

    Attributes:
        filters: the listing's filters.
        read_codes: the codes the listing reads, or None for every code (the whole safe list).
        left_out: proven-paid codes not read, with how many invoices each held at the census.
        census: the census the scope rests on, or None when none was taken.
        reason: in words, for the window, the CLI and the report.
        changed: the second listing a narrowed read needs: the left-out codes' invoices changed
            since their proof (an old invoice that owes again has changed), or None.
    """

    filters: Mapping[str, str]
    read_codes: frozenset[int] | None = None
    left_out: Mapping[int, int] = field(default_factory=dict)
    census: Census | None = None
    reason: str = "every posted invoice is read"
    changed: Mapping[str, str] | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.left_out)

    @property
    def skipped(self) -> int:
        """Invoices the scope leaves unread (all in proven-paid codes)."""
        return sum(self.left_out.values())


def whole_list(reason: str, census: Census | None = None) -> ListingScope:
    return ListingScope(dict(facts.SAFE_LISTING_FILTERS), census=census, reason=reason)


def changed_since(codes: Iterable[int], since: str) -> dict[str, str]:
    """The listing of the invoices with `codes` changed since `since` (an ISO date)."""
    return {**with_codes(sorted(codes)), "datesearch": "last_modified", "start_date": since}


def plan_scope(
    census: Census, proven_paid: frozenset[int], *, since: str | None = None
) -> ListingScope:
    """The cheapest read that cannot miss an open invoice, given a census, the codes proven
    paid on this tenant, and since when they are proven (`since`, an ISO date): the codes
    left out are read for the invoices changed since then. Without `since` nothing is left
    out."""
    if census.total is None:
        return whole_list("Halo did not say how many invoices it has", census)
    if not census.honoured:
        return whole_list("this Halo does not filter by payment status", census)
    if not census.adds_up:
        return whole_list("some invoices carry a payment status not checked yet", census)
    present = census.present()
    left_out = {code: n for code, n in present.items() if code in proven_paid}
    read = frozenset(code for code in present if code not in proven_paid)
    if not left_out or not read or since is None:
        return whole_list("no payment status is proven paid on this Halo yet", census)
    skipped = sum(left_out.values())
    codes = ", ".join(str(c) for c in sorted(left_out))
    return ListingScope(
        with_codes(sorted(read)),
        read_codes=read,
        left_out=left_out,
        census=census,
        reason=(
            f"{skipped:,} invoices with payment status {codes} are left unread but for those "
            f"changed since {since}: every invoice sampled with it on this Halo was fully paid"
        ),
        changed=changed_since(left_out, since),
    )


async def recount(source: InvoiceSource, scope: ListingScope) -> Census:
    """The counts `recheck` needs once a narrowed read is done: the whole safe list and each
    code left out (1 + len(left_out) requests)."""
    total = await count_invoices(source, facts.SAFE_LISTING_FILTERS)
    by_code: dict[int, int] = {}
    for code in sorted(scope.left_out):
        counted = await count_invoices(source, with_codes([code]))
        if counted is None:
            return Census(None, by_code, len(by_code) + 2)
        by_code[code] = counted
    return Census(total, by_code, len(by_code) + 1)


def recheck(scope: ListingScope, after: Census, rows_read: int) -> str | None:
    """Why a narrowed read can no longer be shown to cover every open invoice, or None.

    `after` is `recount`'s census, taken once the read is done; `rows_read` is how many rows the
    read of the list saw. Every invoice not in a code left out is one the read had to see: more of
    them than it saw means some arrived (new, moved from a paid code, or with a new code) after
    their place in the list was read.
    """
    if scope.read_codes is None:
        return None  # the whole safe list was read: its own audit is the evidence
    if after.total is None:
        return "Halo did not say how many invoices it has when they were counted again"
    left = sorted(c for c, n in scope.left_out.items() if after.by_code.get(c, 0) < n)
    if left:
        return f"invoices left payment status {', '.join(map(str, left))} during the run"
    others = after.total - sum(after.by_code.get(c, 0) for c in scope.left_out)
    if others > rows_read:
        return (
            f"{others - rows_read} invoice{'s' if others - rows_read != 1 else ''} appeared in "
            "the payment statuses read, after their part of the list was read"
        )
    return None


async def choose_scope(source: InvoiceSource, tenant: TenantFacts, *, today: str) -> ListingScope:
    """The read for a run: the whole safe list, or, on a large list whose census adds up, the
    codes not proven paid. Codes with many invoices and no proof yet are sampled (one page
    each, newest first) and the tenant's facts learn from the sample; a proven code is
    spot-checked the same way on every run, and loses its proof when a sampled invoice with it
    has something due.

    Costs one request on a list under `facts.NARROW_FROM_INVOICES`; else one per candidate
    code, plus one per code sampled.
    """
    total = await count_invoices(source, facts.SAFE_LISTING_FILTERS)
    if total is None:
        return whole_list("Halo did not say how many invoices it has")
    if total < facts.NARROW_FROM_INVOICES:
        return whole_list("every posted invoice is read (the list is short)")
    codes = {*facts.CANDIDATE_PAYMENT_STATUSES, *tenant.codes}
    census = await take_census(source, codes, total=total)
    if not census.adds_up:
        return plan_scope(census, frozenset())
    proven = tenant.proven_paid_codes()
    for code, count in census.present().items():
        known = tenant.codes.get(code)
        if code in tenant.contradicted or (known and known.paid < known.seen):
            continue  # known to hold invoices with something due: read either way
        if code not in proven and count < facts.SAMPLE_FROM_INVOICES:
            continue  # few enough to read: no proof needed
        learner = StatusLearner()
        await sample_code(source, code, learner)
        if code in proven:
            tenant.check_codes(learner)  # a spot check of the newest: a contradiction reads it
        else:
            tenant.learn_sample(code, learner, on=today)
    proven = tenant.proven_paid_codes()
    since = tenant.codes_on
    if proven and since is not None and not await _honours_datesearch(source, proven, today):
        return whole_list("this Halo does not filter by change date", census)
    return plan_scope(census, proven, since=since)


async def _honours_datesearch(source: InvoiceSource, codes: Iterable[int], today: str) -> bool:
    """Whether Halo filters by change date: nothing can have changed after tomorrow, so a
    build that honours the filter answers 0 there (one request)."""
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    return await count_invoices(source, changed_since(codes, tomorrow)) == 0


def changed_listing(since: str) -> dict[str, str]:
    """The safe list's invoices changed since `since` (an ISO date), whatever their status."""
    return {**facts.SAFE_LISTING_FILTERS, "datesearch": "last_modified", "start_date": since}


async def datesearch_answer(source: InvoiceSource, today: str) -> int | None:
    """How many invoices Halo lists as changed after tomorrow (one request): 0 from a build that
    filters by change date; the whole list's count from one that ignores the filter."""
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    return await count_invoices(source, changed_listing(tomorrow))
