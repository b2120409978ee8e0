"""How many requests a run will need, and how long a hosted request budget makes it take, before
it starts.

A run reads Halo's invoice list page by page and writes in batches: its requests are the pages
(`record_count` of the first page, over the page size, or the page cap measured on this tenant),
the batches (one per `facts.MAX_UPDATE_BATCH_SIZE` invoices to write, plus the first, smaller
one), and signing in. The invoices to write are known after a dry run; before one, the last full
read's count of invoices with something due stands in (see `tenant`), else every invoice listed
is counted as one that might be written (an upper bound). Where this Halo showed that a run
may read less (`fewer_pages`), the pages of the whole list are an upper bound, and said to be.
Under a budget of N requests per
window, every N requests past the first N wait one window. Pure but `estimate_run`, which asks
Halo for the count (one request, one row).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from halo_paylink.core.backfill.census import count_invoices
from halo_paylink.core.backfill.learning import (
    full_read_due,
    incremental_blocked,
    incremental_wanted,
    narrow_wanted,
)
from halo_paylink.core.backfill.model import InvoiceSource, RunOptions
from halo_paylink.core.backfill.tenant import FactId, TenantFacts
from halo_paylink.core.numbers import format_count, plural
from halo_paylink.halo import facts


@dataclass(frozen=True)
class RunEstimate:
    """A run's cost before it starts.

    Attributes:
        invoices: how many invoices the run's list holds, or None when Halo did not say.
        to_write: how many it is expected to write (see `basis`).
        pages / batches / sign_in: the requests of each kind.
        basis: in words, where `to_write` comes from.
        max_requests / window_seconds: the request budget, or None for no limit.
    """

    invoices: int | None
    to_write: int
    pages: int
    batches: int
    sign_in: int
    basis: str
    max_requests: int | None = None
    window_seconds: float = 0.0
    #: why the run may read fewer pages than the whole list (see `fewer_pages`), or ""
    fewer: str = ""

    @property
    def requests(self) -> int:
        return self.pages + self.batches + self.sign_in

    @property
    def seconds(self) -> float | None:
        """The least time the budget allows for the requests; None without a budget."""
        if self.max_requests is None:
            return None
        waits = max(0, math.ceil(self.requests / self.max_requests) - 1)
        return waits * self.window_seconds

    def text(self) -> str:
        """One line for the CLI and the window."""
        if self.invoices is None:
            return "Halo did not say how many invoices it has, so the run's cost is not known."
        about = "at most" if self.fewer else "about"
        head = (
            f"This run needs {about} {plural(self.requests, 'request')}: "
            f"{plural(self.pages, 'page')} of {plural(self.invoices, 'invoice')}, "
            f"{plural(self.batches, 'batch', 'batches')} to write {format_count(self.to_write)} "
            f"({self.basis}), sign-in."
        )
        if self.fewer:
            head = f"{head} Fewer pages if {self.fewer}."
        seconds = self.seconds
        if seconds is None or self.max_requests is None:
            return f"{head} No request budget is set."
        budget = f"{plural(self.max_requests, 'request')} per {_duration(self.window_seconds)}"
        if seconds == 0:
            return f"{head} That fits within the budget of {budget}."
        return f"{head} Under the budget of {budget} that takes at least {_duration(seconds)}."


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def batches_for(to_write: int) -> int:
    """The batches that write `to_write` invoices: the first at `facts.UPDATE_BATCH_SIZE`, the
    rest at up to `facts.MAX_UPDATE_BATCH_SIZE` (as `batching.BatchSizer` grows them)."""
    if to_write <= 0:
        return 0
    rest = max(0, to_write - facts.UPDATE_BATCH_SIZE)
    return 1 + math.ceil(rest / facts.MAX_UPDATE_BATCH_SIZE)


def expected_writes(invoices: int, tenant: TenantFacts | None) -> tuple[int, str]:
    """(how many invoices a run may write, where that comes from) without a dry run."""
    if tenant is not None and tenant.codes:
        due = sum(t.unpaid + t.part_paid for t in tenant.codes.values())
        return min(due, invoices), f"with something due at the last full read, {tenant.codes_on}"
    return invoices, "at most: every invoice listed, as no dry run or full read said more"


def fewer_pages(
    invoices: int,
    tenant: TenantFacts | None,
    options: RunOptions | None = None,
    now: dt.datetime | None = None,
    *,
    dry_run: bool = False,
) -> str:
    """Why a run over `invoices` with `options` may read fewer pages than the whole list, from
    what this Halo showed earlier runs, or "" (the whole list is read: asked for, due, or
    nothing shown yet). A dry run never reads only what changed."""
    options = options or RunOptions()
    if tenant is None or options.full_read:
        return ""
    moment = now or dt.datetime.now(dt.UTC)
    if full_read_due(tenant, moment) is not None:
        return ""
    if (
        incremental_wanted(tenant, options.incremental)
        and not dry_run
        and tenant.value(FactId.FILTER_DATESEARCH) is not False
        and incremental_blocked(tenant, moment) is None
    ):
        return "only the invoices changed since the last completed run are read"
    if narrow_wanted(tenant, options.narrow) and invoices >= facts.NARROW_FROM_INVOICES:
        proven = sorted(tenant.proven_paid_codes())
        if proven:
            codes = ", ".join(map(str, proven))
            return f"the invoices with payment status {codes}, proven paid here, are left unread"
    return ""


def estimate(
    invoices: int | None,
    *,
    to_write: int | None = None,
    tenant: TenantFacts | None = None,
    page_size: int = facts.REQUESTED_PAGE_SIZE,
    max_requests: int | None = None,
    window_seconds: float = 0.0,
    sign_in: int = 1,
    options: RunOptions | None = None,
    dry_run: bool = False,
) -> RunEstimate:
    """The cost of a run over a list of `invoices` (see the module docstring). `to_write`: the
    dry run's count, when there was one."""
    cap = tenant.value(FactId.PAGE_CAP) if tenant is not None else None
    size = min(page_size, cap) if type(cap) is int and cap > 0 else page_size
    listed = invoices or 0
    # one page more when the list ends on a full page (it is confirmed by an empty one)
    pages = listed // size + 1
    if to_write is None:
        to_write, basis = expected_writes(listed, tenant)
    else:
        basis = "from the dry run"
    return RunEstimate(
        invoices=invoices,
        to_write=to_write,
        pages=pages,
        batches=batches_for(to_write),
        sign_in=sign_in,
        basis=basis,
        max_requests=max_requests,
        window_seconds=window_seconds,
        fewer=fewer_pages(listed, tenant, options, dry_run=dry_run),
    )


async def estimate_run(
    client: InvoiceSource,
    *,
    to_write: int | None = None,
    tenant: TenantFacts | None = None,
    page_size: int = facts.REQUESTED_PAGE_SIZE,
    options: RunOptions | None = None,
    dry_run: bool = False,
) -> RunEstimate:
    """Ask Halo how many invoices the run's list holds (one request) and estimate the run under
    the client's request budget (its `limiter`, when it has one).

    Raises:
        HaloError: as for any read.
    """
    invoices = await count_invoices(client, {})
    limiter = getattr(client, "limiter", None)
    max_requests = getattr(limiter, "max_requests", None)
    window = getattr(limiter, "window_seconds", 0.0)
    return estimate(
        invoices,
        to_write=to_write,
        tenant=tenant,
        page_size=page_size,
        max_requests=max_requests if type(max_requests) is int else None,
        window_seconds=float(window) if isinstance(window, int | float) else 0.0,
        options=options,
        dry_run=dry_run,
    )
