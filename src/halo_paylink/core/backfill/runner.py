"""The backfill engine: stream invoices, decide, write in journaled batches, report.

Entry points (all coroutines, run on one asyncio loop, e.g. the GUI's qasync loop or the CLI's
`asyncio.run`; progress callbacks run on that same loop thread):

- `plan_backfill`   dry run: the full plan, zero writes.
- `run_backfill`    a new run (journal + report).
- `resume_run`      continue an interrupted, cancelled or failed run (backfill or undo).
- `undo_run`        restore the previous values a run replaced, where nobody changed them since.

How a run stays trustworthy:
- every invoice is classified client-side (`selection.decide`), whatever the server filter did;
- only `id` and the link are sent (`LinkTarget.build_update`);
- intents are fsynced to the journal before each POST and outcomes after it, so a crash leaves
  at most a few batches "unknown", which resume re-reads from Halo before deciding again;
- the already-has-this-link rule makes any re-run a no-op for finished invoices;
- a batch Halo rejects is bisected so that one bad invoice never sinks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from halo_paylink.core.backfill.journal import (
    Failure,
    Footer,
    Header,
    Intent,
    Intents,
    JournalError,
    JournalWriter,
    Outcomes,
    Record,
    Resume,
    RunKind,
    Skip,
    Skips,
    encode_all,
    journal_path,
    utc_now,
)
from halo_paylink.core.backfill.outcome import (
    DEFINITELY_NOT_APPLIED,
    Counts,
    RunOutcome,
    make_counts,
    outcome_for_error,
)
from halo_paylink.core.backfill.progress import (
    CancelToken,
    Phase,
    Progress,
    ProgressCallback,
    ProgressThrottle,
)
from halo_paylink.core.backfill.replay import JournalState, ReportRow, replay
from halo_paylink.core.backfill.report import (
    CsvReport,
    LiveRunReport,
    ReportFiles,
    report_paths,
    write_run_report,
    write_summary,
)
from halo_paylink.core.backfill.selection import (
    Action,
    Decision,
    IdSet,
    SkipReason,
    decider_for,
    undo_decision,
)
from halo_paylink.core.backfill.target import (
    FieldTarget,
    LinkTarget,
    has_text,
    normalize,
    parse_link_target,
)
from halo_paylink.core.links import template_errors
from halo_paylink.halo import facts
from halo_paylink.halo.errors import ErrorKind, HaloError
from halo_paylink.halo.models import Invoice, InvoicePage
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import Numbering

log = logging.getLogger(__name__)

#: Kinds that mean "this invoice (or one in this batch) is bad": bisect, record, go on.
PER_INVOICE_REJECTIONS = frozenset({ErrorKind.REJECTED, ErrorKind.NOT_FOUND})

WARN_RESYNC = (
    "Saving an invoice may make Halo sync it to your accounting tool again (unverified): "
    "check one invoice in the accounting tool after the first batches."
)
WARN_EDIT_POSTED = (
    "Halo refuses edits to posted invoices on this instance ('Do not allow editing of posted "
    "invoices'); every open invoice is posted, so nothing can be written until it is turned off."
)
WARN_UNKNOWN_NUMBER = (
    "Benji Pays shows a generic payment form for an invoice number it cannot find, unless "
    "'Do not allow payment to be made if the invoice is not found' is enabled in Benji Pays."
)


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

    async def update_invoices(self, changes: Any) -> list[Mapping[str, Any]]: ...

    async def validate_invoice_edit(self, invoice_id: int) -> None: ...


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
        server_filter: also ask Halo for unpaid invoices only (advisory; off by default because
            Halo's part-paid status code is unverified and such invoices could be left out).
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
    """Tuning; defaults suit hosted Halo. `batch_size` invoices per POST, `concurrency` POSTs in
    flight, `sample_size` planned changes kept for display."""

    batch_size: int = facts.UPDATE_BATCH_SIZE
    concurrency: int = 4
    page_size: int = facts.REQUESTED_PAGE_SIZE
    sample_size: int = 50
    progress_interval: float = 0.1
    check_edit_permission: bool = True  # dry run: ask Halo to validate one edit (no save)


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


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable and unique: UTC time to the millisecond plus 4 random hex digits."""
    moment = now or dt.datetime.now(dt.UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{moment.microsecond // 1000:03d}{secrets.token_hex(2)}"


#: A write waiting in a batch is journaled as is (see `journal.Intent`).
_Item = Intent


Decider = Callable[[Invoice], Decision | None]


def _requests(client: Any) -> int | None:
    stats = getattr(client, "stats", None)
    value = getattr(stats, "requests", None)
    return value if isinstance(value, int) else None


@dataclass
class _Tally:
    written: int = 0
    overwritten: int = 0
    failed: int = 0
    conflicts: int = 0
    unknown: int = 0
    not_written: int = 0
    skipped: Counter[SkipReason] = field(default_factory=Counter)

    def counts(self) -> Counts:
        return make_counts(
            written=self.written,
            overwritten=self.overwritten,
            failed=self.failed,
            conflicts=self.conflicts,
            skipped={r.value: n for r, n in self.skipped.items()},
            unknown=self.unknown,
            not_written=self.not_written,
        )

    @property
    def done(self) -> int:
        return (
            self.written
            + self.failed
            + self.conflicts
            + sum(self.skipped.values())
            + self.unknown
            + self.not_written
        )


class _Engine:
    """One attempt of a run. Lives on the loop thread; journal fsyncs go to worker threads."""

    def __init__(
        self,
        client: InvoiceSource,
        *,
        target: LinkTarget,
        decider: Decider,
        journal: JournalWriter | None,
        options: RunOptions,
        progress: ProgressThrottle,
        cancel: CancelToken,
        phase: Phase,
        clock: Callable[[], float],
        kind: RunKind = RunKind.BACKFILL,
        on_row: Callable[[ReportRow], None] | None = None,
    ) -> None:
        self.client = client
        self.target = target
        self.decider = decider
        self.journal = journal
        self.options = options
        self.throttle = progress
        self.cancel = cancel
        self.phase = phase
        self.clock = clock
        self.kind = kind
        self.on_row = on_row  # dry run: rows go straight to the plan report
        self.tally = _Tally()
        self.handled = IdSet()
        self.unknown: dict[int, Intent] = {}  # from an earlier attempt: re-check before deciding
        self.batch_no = 0
        self.total: int | None = None
        self.failure: HaloError | None = None
        self.started = clock()
        self.message = ""
        self.sample: list[PlannedChange] = []
        self.conflict_sample: list[PlannedChange] = []
        # Waiting for the next journal append (with the next batch's intents, or per page):
        self._skips: list[Skip] = []
        self._settled: list[int] = []  # unknown writes of an earlier attempt that did land
        self._settled_failed: list[Failure] = []  # ... whose invoice no longer exists
        self.expected: Mapping[int, object] = {}  # undo: every invoice the run must look at
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max(1, options.concurrency))
        self.live: LiveRunReport | None = None  # fed every record this attempt appends

    # --- progress -------------------------------------------------------------------------
    def snapshot(self, phase: Phase | None = None) -> Progress:
        done = self.tally.done
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = done / elapsed
        eta = None
        if self.total is not None and rate > 0:
            eta = max(self.total - done, 0) / rate
        return Progress(
            phase=phase or self.phase,
            done=done,
            total=self.total,
            written=self.tally.written,
            skipped=MappingProxyType(dict(self.tally.skipped)),
            conflicts=self.tally.conflicts,
            failed=self.tally.failed,
            rate=rate,
            eta_seconds=eta,
            message=self.message,
        )

    def emit(self, phase: Phase | None = None, *, force: bool = False) -> None:
        self.throttle.emit(self.snapshot(phase), force=force)

    # --- journal --------------------------------------------------------------------------
    async def _append(self, records: list[Record], *, sync: bool) -> None:
        """Append to the journal; with `sync`, return only once the records are on disk.

        The records are encoded and handed to the OS right here (a write to the page cache takes
        microseconds); only the fsync goes to a worker thread. A worker thread per append would
        cost a thread hand-off, and the GIL hand-backs, per batch, several times over.
        """
        if self.journal is not None and records:
            self.journal.write(encode_all(records))
            if self.live is not None:
                self.live.feed(records)
            if sync:
                await asyncio.to_thread(self.journal.sync)

    def _take_pending(self) -> list[Record]:
        """The records for everything decided but not journaled yet (skips, settled writes)."""
        records: list[Record] = []
        if self._skips:
            records.append(Skips(self._skips))
            self._skips = []
        if self._settled or self._settled_failed:
            records.append(
                Outcomes(0, written=self._settled, failed=self._settled_failed, recovered=True)
            )
            self._settled, self._settled_failed = [], []
        return records

    async def _flush_skips(self) -> None:
        await self._append(self._take_pending(), sync=False)

    @property
    def stopping(self) -> bool:
        return self.failure is not None or self.cancel.cancelled

    # --- deciding -------------------------------------------------------------------------
    def _skip(self, invoice: Invoice, decision: Decision) -> None:
        reason = decision.reason or SkipReason.ZERO_DUE
        if reason is SkipReason.CONFLICT:
            self.tally.conflicts += 1
            if len(self.conflict_sample) < self.options.sample_size:
                self.conflict_sample.append(
                    PlannedChange(
                        invoice.id,
                        invoice.invoice_number,
                        invoice.client_name,
                        decision.old,
                        decision.new,
                        True,
                    )
                )
        else:
            self.tally.skipped[reason] += 1
        record = Skip(
            invoice.id,
            reason.value,
            invoice.invoice_number,
            invoice.client_name,
            decision.old,
            decision.new,
        )
        self._skips.append(record)
        if self.on_row is not None:
            outcome = "conflict" if reason is SkipReason.CONFLICT else "skipped"
            self.on_row(
                ReportRow(
                    record.id,
                    record.number,
                    record.client,
                    outcome,
                    record.reason,
                    record.old,
                    record.new,
                )
            )

    def consider(self, invoice: Invoice, batch: list[_Item]) -> None:
        """Decide one invoice; writes go into `batch`. Each invoice is decided once per run."""
        invoice_id = invoice.id
        if invoice_id in self.handled:
            return
        if self.unknown:
            earlier = self.unknown.pop(invoice_id, None)
            if earlier is not None and self.target.read(invoice) == earlier.new:
                # An earlier attempt's write did land: record it, do not write again.
                self.handled.add(invoice_id)
                self.tally.written += 1
                if has_text(earlier.old) and self.kind is RunKind.BACKFILL:
                    self.tally.overwritten += 1
                self._settled.append(invoice_id)
                return
        decision = self.decider(invoice)
        if decision is None:
            return
        self.handled.add(invoice_id)
        if decision.action is Action.SKIP:
            self._skip(invoice, decision)
            return
        item = _Item(
            invoice_id, decision.old, decision.new, invoice.invoice_number, invoice.client_name
        )
        if self.journal is None:  # dry run
            self.tally.written += 1
            if has_text(decision.old):
                self.tally.overwritten += 1
            if len(self.sample) < self.options.sample_size:
                self.sample.append(
                    PlannedChange(
                        item.id,
                        item.number,
                        item.client,
                        item.old,
                        item.new,
                        has_text(decision.old),
                    )
                )
            if self.on_row is not None:
                self.on_row(
                    ReportRow(
                        item.id,
                        item.number,
                        item.client,
                        "would_write",
                        "overwrite" if item.old else "",
                        item.old,
                        item.new,
                    )
                )
            return
        batch.append(item)

    # --- writing --------------------------------------------------------------------------
    async def submit(self, batch: list[_Item]) -> None:
        """Send a batch when a slot is free (this is the back-pressure that keeps memory flat)."""
        await self._slots.acquire()
        if self.stopping:
            self._slots.release()
            return
        self.batch_no += 1
        task = asyncio.create_task(self._write_batch(self.batch_no, batch))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def drain(self) -> None:
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def _write_batch(self, batch_no: int, items: list[_Item]) -> None:
        try:
            # Whatever was decided so far rides along; the fsync makes the batch's intents
            # durable before the POST leaves.
            records = self._take_pending()
            records.append(Intents(batch_no, items))
            await self._append(records, sync=True)
            self.tally.unknown += len(items)
            settled: set[int] = set()
            try:
                await self._send(batch_no, items, settled)
            except HaloError as error:
                await self._stop_batch(batch_no, items, error, settled)
            self.emit()
        finally:
            self._slots.release()

    async def _send(self, batch_no: int, items: list[_Item], settled: set[int]) -> None:
        """POST the batch; on a per-invoice rejection, bisect until each bad invoice is alone.

        Ids whose outcome was journaled are added to `settled`.
        """
        if self.failure is not None:
            raise self.failure  # another batch hit a run-level failure: do not send more
        build = self.target.build_update
        changes = [build(i.id, i.new) for i in items]
        try:
            saved = await self.client.update_invoices(changes)
        except HaloError as error:
            if error.kind not in PER_INVOICE_REJECTIONS:
                raise
            if len(items) == 1:
                await self._record(batch_no, failed=items, reason=_reason(error))
                settled.add(items[0].id)
                return
            middle = len(items) // 2
            await self._send(batch_no, items[:middle], settled)
            await self._send(batch_no, items[middle:], settled)
            return
        ok, ignored = self._check_saved(items, saved)
        await self._record(
            batch_no,
            written=ok,
            failed=ignored,
            reason="Halo answered without saving the link (field ignored?)",
        )
        settled.update(i.id for i in items)

    def _check_saved(self, items: list[_Item], saved: Any) -> tuple[list[_Item], list[_Item]]:
        """Split into saved / ignored using Halo's answer, when the answer shows the target.

        The answer's shape is unverified: an invoice missing from it, or an answer without the
        target field, counts as saved (Halo said 2xx).
        """
        returned: dict[int, Mapping[str, Any]] = {}
        if isinstance(saved, list):
            for obj in saved:
                # type() first: Halo's answer is plain dicts; the ABC check is the slow path.
                if type(obj) is dict or isinstance(obj, Mapping):
                    invoice_id = obj.get("id")
                    if isinstance(invoice_id, int):
                        returned[int(invoice_id)] = obj
        if not returned:
            return list(items), []
        target = self.target
        field = target.field if isinstance(target, FieldTarget) else None
        ok: list[_Item] = []
        ignored: list[_Item] = []
        for item in items:
            answer = returned.get(item.id)
            if answer is None:
                ok.append(item)
            elif field is not None:
                # The same test as below, on the dict itself (no Invoice per row).
                if field in answer and normalize(answer[field]) != normalize(item.new):
                    ignored.append(item)
                else:
                    ok.append(item)
            else:
                invoice = Invoice(item.id, answer)
                if _shows_target(target, invoice) and target.read(invoice) != normalize(item.new):
                    ignored.append(item)
                else:
                    ok.append(item)
        return ok, ignored

    async def _record(
        self,
        batch_no: int,
        *,
        written: list[_Item] | tuple[()] = (),
        failed: list[_Item] | tuple[()] = (),
        not_written: list[_Item] | tuple[()] = (),
        reason: str = "",
    ) -> None:
        """Journal and count what became of (part of) a batch; `reason` is for failed and
        not_written."""
        count = len(written) + len(failed) + len(not_written)
        if not count:
            return
        # Flushed to the OS at once (a killed process loses nothing), but not fsynced: if a power
        # cut lost it, the intents would read as "unknown" and resume would re-check the invoices
        # against Halo. Only intents must be on disk before the write leaves.
        await self._append(
            [
                Outcomes(
                    batch_no,
                    written=[i.id for i in written],
                    failed=[Failure(i.id, reason) for i in failed],
                    not_written=[Failure(i.id, reason) for i in not_written],
                )
            ],
            sync=False,
        )
        tally = self.tally
        tally.unknown -= count
        tally.written += len(written)
        if written and self.kind is RunKind.BACKFILL:
            tally.overwritten += sum(1 for i in written if has_text(i.old))
        tally.failed += len(failed)
        tally.not_written += len(not_written)

    async def _stop_batch(
        self, batch_no: int, items: list[_Item], error: HaloError, settled: set[int]
    ) -> None:
        """A run-level failure: stop sending. Record the batch's writes that did not happen.

        Items bisection already recorded (`settled`: written or failed) keep their outcome.
        """
        if self.failure is None:
            self.failure = error
            self.message = error.headline
        if error.kind in DEFINITELY_NOT_APPLIED:
            pending = [i for i in items if i.id not in settled]
            await self._record(batch_no, not_written=pending, reason=error.kind.code)
        # Otherwise the write may have been applied: the intents stay "unknown" for resume.

    # --- the stream -----------------------------------------------------------------------
    async def run(self, filters: Mapping[str, str] | None) -> None:
        """Read every page, decide every invoice, write batches; stops early on cancel/failure."""
        try:
            await self._run(filters)
        except asyncio.CancelledError:
            # Our task was cancelled: stop our batch tasks too (their writes stay "unknown").
            for task in list(self._in_flight):
                task.cancel()
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
            raise

    async def _run(self, filters: Mapping[str, str] | None) -> None:
        batch: list[_Item] = []
        self.emit(force=True)
        pages = self._prefetched(filters)
        try:
            consider, batch_size = self.consider, self.options.batch_size
            async for page in pages:
                if self.total is None or page.record_count > self.total:
                    self.total = page.record_count
                if self.stopping:
                    break
                for invoice in page.invoices:
                    consider(invoice, batch)
                    if len(batch) >= batch_size:
                        await self.submit(batch)
                        batch = []
                        # Only an await can stop the run, so this is the only place to look.
                        if self.stopping:
                            break
                if not self._in_flight or len(self._skips) > 1000:
                    await self._flush_skips()
                self.emit()
                if self.stopping:
                    break
        except HaloError as error:
            if self.failure is None:
                self.failure = error
                self.message = error.headline
        finally:
            await pages.aclose()  # stops the read-ahead task when we leave early
        if batch and not self.stopping:
            await self.submit(batch)
        await self.drain()
        leftovers = self.leftovers()
        if not self.stopping and leftovers:
            await self._verify_leftovers(leftovers)
        await self._flush_skips()

    async def _prefetched(
        self, filters: Mapping[str, str] | None
    ) -> AsyncGenerator[InvoicePage, None]:
        """The invoice pages, read one page ahead in a task of their own, so that reading the
        next page overlaps with deciding and writing this one. At most two pages wait in memory.
        """
        queue: asyncio.Queue[InvoicePage | BaseException | None] = asyncio.Queue(maxsize=1)

        async def reader() -> None:
            try:
                async for page in self.client.invoice_pages(
                    filters=filters, page_size=self.options.page_size
                ):
                    await queue.put(page)
                await queue.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer, which raises it
                await queue.put(exc)

        task = asyncio.create_task(reader())
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def leftovers(self) -> list[int]:
        """Invoices the stream did not show but that must be looked at (GET one by one)."""
        extra = [i for i in self.expected if i not in self.handled] if self.expected else []
        return [*self.unknown, *extra]

    async def _verify_leftovers(self, invoice_ids: list[int]) -> None:
        """Writes of an earlier attempt (or undo candidates) the stream did not show: GET each."""
        self.phase = Phase.VERIFYING
        self.message = "Re-checking unfinished writes"
        batch: list[_Item] = []
        for invoice_id in invoice_ids:
            if self.stopping:
                break
            if invoice_id in self.handled:
                continue
            try:
                invoice = await self.client.get_invoice(invoice_id)
            except HaloError as error:
                if error.kind is ErrorKind.NOT_FOUND:
                    self.handled.add(invoice_id)
                    intent = self.unknown.pop(invoice_id, None)
                    if intent is not None:
                        self.tally.failed += 1
                        self._settled_failed.append(
                            Failure(invoice_id, "not_found: the invoice no longer exists")
                        )
                    else:
                        self.tally.skipped[SkipReason.NOT_FOUND] += 1
                        self._skips.append(Skip(invoice_id, SkipReason.NOT_FOUND.value))
                    continue
                self.failure = error
                self.message = error.headline
                break
            self.consider(invoice, batch)
            if len(batch) >= self.options.batch_size:
                await self.submit(batch)
                batch = []
            self.emit()
        if batch and not self.stopping:
            await self.submit(batch)
        await self.drain()


def _reason(error: HaloError) -> str:
    detail = error.detail.strip().replace("\n", " ")
    if len(detail) > 300:
        detail = detail[:297] + "..."
    return f"{error.kind.code}: {detail}" if detail else error.kind.code


def _shows_target(target: LinkTarget, invoice: Invoice) -> bool:
    spec = target.spec
    if spec.startswith("custom:"):
        return any(
            isinstance(c, Mapping) and c.get("name") == spec[len("custom:") :]
            for c in invoice.get("customfields") or ()
        )
    return spec in invoice.raw


# --- public entry points ---------------------------------------------------------------------


def _filters(settings_filter: bool) -> Mapping[str, str] | None:
    return dict(facts.UNPAID_INVOICE_FILTER) if settings_filter else None


def _web_url(client: Any) -> str:
    endpoints = getattr(client, "endpoints", None)
    return str(getattr(endpoints, "web_url", "") or "")


def _final_phase(outcome: RunOutcome) -> Phase:
    if outcome in (RunOutcome.COMPLETED, RunOutcome.PLANNED, RunOutcome.COMPLETED_WITH_FAILURES):
        return Phase.DONE
    if outcome is RunOutcome.CANCELLED:
        return Phase.CANCELLED
    return Phase.FAILED


def _attempt_outcome(engine: _Engine, crash: BaseException | None) -> tuple[RunOutcome, str]:
    if crash is not None:
        if isinstance(crash, OSError | JournalError):
            return RunOutcome.LOCAL_ERROR, f"Local file problem: {type(crash).__name__}: {crash}"
        return RunOutcome.INTERNAL_ERROR, f"Internal error: {type(crash).__name__}"
    if engine.failure is not None:
        return outcome_for_error(engine.failure), engine.failure.summary
    if engine.cancel.cancelled:
        return RunOutcome.CANCELLED, "Cancelled; resume to continue."
    return RunOutcome.COMPLETED, ""


async def plan_backfill(
    client: InvoiceSource,
    settings: BackfillSettings,
    *,
    paths: AppPaths | None = None,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunResult:
    """Dry run: read and classify every invoice, write nothing to Halo.

    With `paths`, the plan is also saved as a report (`plan-<id>.csv/.json`). When
    `options.check_edit_permission`, one edit is validated with Halo's validate-only flag (no
    save) to warn when editing posted invoices is forbidden.

    Raises:
        BackfillError: the template or target is unusable.
    """
    settings.check()
    options = options or RunOptions()
    cancel = cancel or CancelToken()
    throttle = ProgressThrottle(on_progress, interval=options.progress_interval, clock=clock)
    plan_id = f"plan-{new_run_id()}"
    csv_report: CsvReport | None = None
    files: ReportFiles | None = None
    if paths is not None:
        await asyncio.to_thread(paths.ensure)
        files = report_paths(paths.reports_dir, plan_id)
        csv_report = await asyncio.to_thread(CsvReport, files.csv)
    target = settings.link_target()

    decider = decider_for(
        target=target,
        template=settings.template,
        numbering=settings.numbering,
        overwrite=settings.overwrite,
    )
    engine = _Engine(
        client,
        target=target,
        decider=decider,
        journal=None,
        options=options,
        progress=throttle,
        cancel=cancel,
        phase=Phase.PLANNING,
        clock=clock,
        on_row=csv_report.add if csv_report else None,
    )
    crash: BaseException | None = None
    try:
        await engine.run(_filters(settings.server_filter))
    except Exception as exc:  # reported as a named outcome, never swallowed silently
        log.exception("dry run failed")
        crash = exc
    finally:
        if csv_report is not None:
            await asyncio.to_thread(csv_report.close)
    outcome, detail = _attempt_outcome(engine, crash)
    if outcome is RunOutcome.COMPLETED:
        outcome = RunOutcome.PLANNED
    warnings: list[str] = []
    if engine.tally.written:
        warnings.append(WARN_RESYNC)
        if options.check_edit_permission and engine.sample and outcome is RunOutcome.PLANNED:
            try:
                await client.validate_invoice_edit(engine.sample[0].id)
            except HaloError as error:
                if error.kind is ErrorKind.EDIT_POSTED_FORBIDDEN:
                    warnings.append(WARN_EDIT_POSTED)
                else:
                    warnings.append(f"An edit check failed: {error.summary}")
    warnings.append(WARN_UNKNOWN_NUMBER)
    if settings.server_filter:
        warnings.append(
            "Halo's unpaid filter is on: part-paid invoices could be left out if Halo codes "
            "them differently (unverified)."
        )
    counts = engine.tally.counts()
    plan = Plan(
        counts=counts,
        to_write=engine.tally.written,
        sample=tuple(engine.sample),
        conflict_sample=tuple(engine.conflict_sample),
        warnings=tuple(warnings),
        total=engine.total,
    )
    if files is not None:
        summary = {
            "run_id": plan_id,
            "kind": "plan",
            "web_url": _web_url(client),
            "target": settings.target,
            "template": settings.template,
            "numbering": settings.numbering.value,
            "overwrite": settings.overwrite,
            "outcome": outcome.value,
            "detail": detail,
            "counts": counts.to_json(),
            "to_write": plan.to_write,
            "warnings": list(warnings),
            "csv": str(files.csv),
        }
        await asyncio.to_thread(write_summary, files.json, summary)
    engine.emit(_final_phase(outcome), force=True)
    return RunResult(
        outcome=outcome,
        counts=counts,
        report=files,
        plan=plan,
        error=engine.failure,
        detail=detail,
        requests=_requests(client),
        warnings=tuple(warnings),
    )


async def _execute(
    engine: _Engine,
    *,
    journal: JournalWriter,
    run_id: str,
    paths: AppPaths,
    filters: Mapping[str, str] | None,
    client: InvoiceSource,
    prior_failed: int = 0,
) -> RunResult:
    """Run one attempt to its end, close the journal with a footer, write the report.

    The report comes from `engine.live` when set and the journal was written without a hitch,
    else it is built by reading the journal back.
    """
    crash: BaseException | None = None
    live = engine.live
    try:
        await engine.run(filters)
    except asyncio.CancelledError:
        # The task itself was cancelled (e.g. the window closed): close the journal consistently
        # (in-flight writes stay "unknown" for resume), then let the cancellation through.
        with contextlib.suppress(Exception):
            journal.append([Footer(RunOutcome.CANCELLED.value, utc_now(), "task cancelled")])
        journal.close()
        if live is not None:
            with contextlib.suppress(Exception):
                live.discard()
        raise
    except Exception as exc:
        log.exception("backfill attempt failed")
        crash = exc
    outcome, detail = _attempt_outcome(engine, crash)
    if outcome is RunOutcome.COMPLETED and (engine.tally.failed or prior_failed):
        outcome = RunOutcome.COMPLETED_WITH_FAILURES
        detail = "Halo refused some invoices; see the report."
    footer = Footer(outcome.value, utc_now(), detail)
    live_ok = live is not None and crash is None
    try:
        await asyncio.to_thread(journal.append, [footer], sync=True)
    except OSError as exc:
        outcome, detail = RunOutcome.LOCAL_ERROR, f"Could not finish the journal: {exc}"
        live_ok = False
    finally:
        await asyncio.to_thread(journal.close)
    files: ReportFiles | None = None
    counts = engine.tally.counts()
    try:
        if live is not None and live_ok:
            live.feed([footer])
            files, state = await asyncio.to_thread(live.finish)
        else:
            if live is not None:
                await asyncio.to_thread(live.discard)
            files, state = await asyncio.to_thread(
                write_run_report, journal.path, paths.reports_dir
            )
        counts = state.counts
    except (OSError, JournalError) as exc:
        log.warning("report not written: %s", exc)
        detail = f"{detail} (report not written: {exc})".strip()
    engine.emit(_final_phase(outcome), force=True)
    return RunResult(
        outcome=outcome,
        counts=counts,
        run_id=run_id,
        journal=journal.path,
        report=files,
        error=engine.failure,
        detail=detail,
        requests=_requests(client),
    )


async def run_backfill(
    client: InvoiceSource,
    settings: BackfillSettings,
    paths: AppPaths,
    *,
    profile: str | None = None,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunResult:
    """Start a new backfill run: journal in `paths.journals_dir`, report in `paths.reports_dir`.

    Never raises for Halo failures: they end the run with a named `RunOutcome` (resumable).

    Raises:
        BackfillError: the template or target is unusable.
    """
    settings.check()
    options = options or RunOptions()
    await asyncio.to_thread(paths.ensure)
    run_id = new_run_id()
    path = journal_path(paths.journals_dir, run_id)
    header = Header(
        run_id=run_id,
        kind=RunKind.BACKFILL,
        started=utc_now(),
        web_url=_web_url(client),
        target=settings.link_target().spec,
        template=settings.template.strip(),
        numbering=settings.numbering.value,
        overwrite=settings.overwrite,
        profile=profile,
        server_filter=settings.server_filter,
    )
    journal = await asyncio.to_thread(JournalWriter, path, create=True)
    await asyncio.to_thread(journal.append, [header], sync=True)
    engine = _backfill_engine(client, header, journal, options, on_progress, cancel, clock)
    try:
        # The report is written as the run goes (see LiveRunReport); if it cannot even be
        # opened, it is built from the journal at the end as usual.
        engine.live = await asyncio.to_thread(LiveRunReport, header, path, paths.reports_dir)
    except OSError as exc:
        log.warning("live report not opened: %s", exc)
    return await _execute(
        engine,
        journal=journal,
        run_id=run_id,
        paths=paths,
        filters=_filters(header.server_filter),
        client=client,
    )


def _backfill_engine(
    client: InvoiceSource,
    header: Header,
    journal: JournalWriter,
    options: RunOptions,
    on_progress: ProgressCallback | None,
    cancel: CancelToken | None,
    clock: Callable[[], float],
) -> _Engine:
    target = parse_link_target(header.target)
    numbering = Numbering(header.numbering)

    decider = decider_for(
        target=target, template=header.template, numbering=numbering, overwrite=header.overwrite
    )
    return _Engine(
        client,
        target=target,
        decider=decider,
        journal=journal,
        options=options,
        progress=ProgressThrottle(on_progress, interval=options.progress_interval, clock=clock),
        cancel=cancel or CancelToken(),
        phase=Phase.WRITING,
        clock=clock,
    )


def _undo_engine(
    client: InvoiceSource,
    header: Header,
    changes: Mapping[int, tuple[Any, str | None]],
    journal: JournalWriter,
    options: RunOptions,
    on_progress: ProgressCallback | None,
    cancel: CancelToken | None,
    clock: Callable[[], float],
) -> _Engine:
    target = parse_link_target(header.target)

    def decider(invoice: Invoice) -> Decision | None:
        change = changes.get(invoice.id)
        if change is None:
            return None  # not touched by the run being undone
        previous, written = change
        return undo_decision(invoice, target=target, previous=previous, written=written)

    engine = _Engine(
        client,
        target=target,
        decider=decider,
        journal=journal,
        options=options,
        progress=ProgressThrottle(on_progress, interval=options.progress_interval, clock=clock),
        cancel=cancel or CancelToken(),
        phase=Phase.WRITING,
        clock=clock,
        kind=RunKind.UNDO,
    )
    engine.expected = changes
    return engine


def _changes_to_undo(original: Path) -> dict[int, tuple[Any, str | None]]:
    """(old, new) of every write of a run, including writes whose result is unknown."""
    state = replay(original, collect_written=True)
    if state.header.kind is not RunKind.BACKFILL:
        raise BackfillError(f"{state.header.run_id} is an undo run; it cannot be undone")
    changes = dict(state.written_changes or {})
    for intent in state.unknown.values():
        changes.setdefault(intent.id, (intent.old, intent.new))
    return changes


def _check_same_halo(client: InvoiceSource, header: Header) -> None:
    ours, theirs = _web_url(client).rstrip("/").lower(), header.web_url.rstrip("/").lower()
    if ours and theirs and ours != theirs:
        raise BackfillError(
            f"Run {header.run_id} was made against {header.web_url}, not {_web_url(client)}."
        )


async def undo_run(
    client: InvoiceSource,
    paths: AppPaths,
    run_id: str,
    *,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunResult:
    """Restore each invoice's previous value from run `run_id`'s journal, only where the link is
    still the one that run wrote (else skipped as `changed_since`). The undo is a journaled run
    of its own (kind "undo"), resumable like any other.

    Raises:
        BackfillError: no such run, an undo of an undo, or a different Halo.
    """
    options = options or RunOptions()
    await asyncio.to_thread(paths.ensure)
    original = journal_path(paths.journals_dir, run_id)
    if not original.exists():
        raise BackfillError(f"No run {run_id} in {paths.journals_dir}")
    try:
        changes = await asyncio.to_thread(_changes_to_undo, original)
        orig_header = replay(original).header
    except JournalError as exc:
        raise BackfillError(f"Run {run_id} cannot be read: {exc}") from exc
    _check_same_halo(client, orig_header)
    undo_id = new_run_id()
    header = Header(
        run_id=undo_id,
        kind=RunKind.UNDO,
        started=utc_now(),
        web_url=orig_header.web_url or _web_url(client),
        target=orig_header.target,
        template=orig_header.template,
        numbering=orig_header.numbering,
        overwrite=False,
        profile=orig_header.profile,
        server_filter=False,
        undo_of=run_id,
    )
    path = journal_path(paths.journals_dir, undo_id)
    journal = await asyncio.to_thread(JournalWriter, path, create=True)
    await asyncio.to_thread(journal.append, [header], sync=True)
    engine = _undo_engine(client, header, changes, journal, options, on_progress, cancel, clock)
    # Undo reads every invoice (no filter): restored invoices may have been paid since.
    return await _execute(
        engine, journal=journal, run_id=undo_id, paths=paths, filters=None, client=client
    )


async def resume_run(
    client: InvoiceSource,
    paths: AppPaths,
    run_id: str | None = None,
    *,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunResult:
    """Continue run `run_id` (default: the latest resumable one) where its journal ends.

    Writes whose result was never recorded are settled first by what Halo now holds (a write that
    landed is recorded, not repeated); then the selection runs again, skipping every invoice the
    journal already settled.

    Raises:
        BackfillError: nothing to resume, the run already completed, or a different Halo.
    """
    from halo_paylink.core.backfill.runs import latest_resumable

    options = options or RunOptions()
    await asyncio.to_thread(paths.ensure)
    if run_id is None:
        info = await asyncio.to_thread(latest_resumable, paths)
        if info is None:
            raise BackfillError("There is no interrupted run to resume.")
        run_id = info.run_id
    path = journal_path(paths.journals_dir, run_id)
    if not path.exists():
        raise BackfillError(f"No run {run_id} in {paths.journals_dir}")
    try:
        state: JournalState = await asyncio.to_thread(replay, path)
    except JournalError as exc:
        raise BackfillError(f"Run {run_id} cannot be read: {exc}") from exc
    if not state.status.resumable:
        raise BackfillError(f"Run {run_id} already finished ({state.status.value}).")
    header = state.header
    _check_same_halo(client, header)
    try:
        journal = await asyncio.to_thread(JournalWriter, path, create=False)
    except JournalError as exc:
        raise BackfillError(str(exc)) from exc
    await asyncio.to_thread(journal.append, [Resume(at=utc_now())], sync=True)
    if header.kind is RunKind.UNDO:
        assert header.undo_of is not None
        changes = await asyncio.to_thread(
            _changes_to_undo, journal_path(paths.journals_dir, header.undo_of)
        )
        engine = _undo_engine(client, header, changes, journal, options, on_progress, cancel, clock)
        filters = None
    else:
        engine = _backfill_engine(client, header, journal, options, on_progress, cancel, clock)
        filters = _filters(header.server_filter)
    engine.handled = state.handled
    engine.unknown = dict(state.unknown)
    engine.batch_no = state.last_batch
    prior = state.counts
    engine.tally.written = prior.written
    engine.tally.overwritten = prior.overwritten
    engine.tally.failed = prior.failed
    engine.tally.conflicts = prior.conflicts
    engine.tally.skipped.update({SkipReason(k): n for k, n in prior.skipped.items()})
    return await _execute(
        engine,
        journal=journal,
        run_id=run_id,
        paths=paths,
        filters=filters,
        client=client,
        prior_failed=prior.failed,
    )
