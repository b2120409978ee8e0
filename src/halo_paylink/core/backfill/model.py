"""The backfill's public value types: settings, options, plans, results, and the client protocol.

Frozen dataclasses, the `InvoiceSource` protocol, `BackfillError` and `new_run_id`; no I/O and no
loop of their own, so any thread may build and read them (in practice the loop thread that runs
the entry points in `runner`). `engine` and `runner` both build on them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from halo_paylink.core.backfill.outcome import Counts, RunOutcome
from halo_paylink.core.backfill.report import ReportFiles
from halo_paylink.core.backfill.target import LinkTarget, parse_link_target
from halo_paylink.core.links import template_errors
from halo_paylink.domain import Numbering
from halo_paylink.errors import HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, InvoicePage


class InvoiceSource(Protocol):
    """What the engine needs from `halo.client.HaloClient` (tests may pass a fake)."""

    def invoice_pages(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int = ...,
        start_page: int = ...,
    ) -> AsyncIterator[InvoicePage]: ...

    async def get_invoice(self, invoice_id: int) -> Invoice: ...

    async def update_invoices(
        self, changes: Sequence[Mapping[str, Any]]
    ) -> list[Mapping[str, Any]]: ...

    async def validate_invoice_edit(self, invoice_id: int) -> None: ...


def web_url_of(client: InvoiceSource) -> str:
    """The Halo web address a client talks to; empty for a fake without endpoints."""
    endpoints = getattr(client, "endpoints", None)
    return str(getattr(endpoints, "web_url", "") or "")


def requests_of(client: InvoiceSource) -> int | None:
    """How many requests a client has sent so far; None when it does not count them."""
    value = getattr(getattr(client, "stats", None), "requests", None)
    return value if isinstance(value, int) else None


class BackfillError(Exception):
    """The run cannot start (bad settings, no such run, run not resumable, wrong Halo)."""


@dataclass(frozen=True)
class BackfillSettings:
    """What a backfill does. Built from a profile's `LinkSettings` plus CLI/GUI overrides.

    Attributes:
        template: the Benji pay-now link with `[Invoice No.]`.
        numbering: which invoice number fills the placeholder.
        target: `generic_online_invoice_payment_url` (default), another field, or `custom:NAME`.
        overwrite: replace a different existing link (off: report it as a conflict).
        server_filter: ask Halo for posted, non-credit invoices only
            (`facts.SAFE_LISTING_FILTERS`; never by payment status code, which differ per
            tenant, so no open invoice can be left out).
    """

    template: str
    numbering: Numbering = Numbering.ACCOUNTING
    target: str = facts.DEFAULT_LINK_FIELD
    overwrite: bool = False
    server_filter: bool = False

    def link_target(self) -> LinkTarget:
        return parse_link_target(self.target)

    def check(self) -> None:
        """Raises BackfillError when the template or target is unusable."""
        errors = template_errors(self.template)
        if errors:
            raise BackfillError("; ".join(p.message for p in errors))
        try:
            self.link_target()
        except ValueError as exc:
            raise BackfillError(str(exc)) from None


@dataclass(frozen=True)
class RunOptions:
    """Tuning; defaults suit hosted Halo. `batch_size` invoices per POST (None: adaptive, see
    `batching.BatchSizer`), `concurrency` POSTs in flight, `sample_size` planned changes kept for
    display."""

    batch_size: int | None = None
    concurrency: int = 4
    page_size: int = facts.REQUESTED_PAGE_SIZE
    sample_size: int = 50
    progress_interval: float = 0.1
    check_edit_permission: bool = True  # dry run: ask Halo to validate one edit (no save)
    full_read: bool = False  # read every posted invoice, even where a narrower read would do
    #: Leave statuses proven paid unread on a long list but for their invoices changed since
    #: the proof (see census). None: as this Halo has shown (on unless it was seen to leave a
    #: change out of `last_modified`; see learning.TenantLearning.wants_narrow).
    narrow: bool | None = None
    #: After a completed run, read only the invoices changed since it started (see
    #: learning.TenantLearning.incremental). None: once this Halo has shown that such a read
    #: misses nothing (`facts.INCREMENTAL_RESTS_ON`, measured by tenant.ChangeWitness).
    incremental: bool | None = None


@dataclass(frozen=True)
class PlannedChange:
    id: int
    number: str
    client: str
    old: Any
    new: str | None
    overwrite: bool = False


@dataclass(frozen=True)
class Plan:
    """A dry run's result: counts per reason, the first changes, and warnings."""

    counts: Counts
    to_write: int
    sample: tuple[PlannedChange, ...]
    conflict_sample: tuple[PlannedChange, ...]
    warnings: tuple[str, ...]
    total: int | None


@dataclass(frozen=True)
class RunResult:
    """How a run ended.

    Attributes:
        outcome: the named outcome (`outcome.success` / `outcome.exit_code`).
        counts: for a real run, the whole run's counts from the journal (all attempts).
        run_id / journal: None for a dry run.
        report: CSV + JSON files (a dry run writes a plan report too).
        plan: the plan, for a dry run.
        error: the Halo failure that stopped the run, if any.
        detail: one line for the user.
        requests: HTTP requests this attempt made (when the client counts them).
        warnings: things the user should know (see `Plan.warnings`).
        sent: a dry run's account, in words, of exactly what it sent to Halo besides reads
            (the validate-only check, if any) and what a re-read showed; "" for other runs.
    """

    outcome: RunOutcome
    counts: Counts
    run_id: str | None = None
    journal: Path | None = None
    report: ReportFiles | None = None
    plan: Plan | None = None
    error: HaloError | None = None
    detail: str = ""
    requests: int | None = None
    warnings: tuple[str, ...] = ()
    sent: str = ""


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable and unique: UTC time to the millisecond plus 4 random hex digits."""
    moment = now or dt.datetime.now(dt.UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{moment.microsecond // 1000:03d}{secrets.token_hex(2)}"
