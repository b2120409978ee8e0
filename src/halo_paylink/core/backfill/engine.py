"""The backfill engine: one attempt of a run, streaming invoices, deciding, writing in batches.

`Engine` reads the invoice pages (one page ahead), decides each invoice (`selection`), writes
batches with bounded concurrency, bisects batches Halo rejects, and journals intents before each
POST and outcomes after it. It lives on the loop thread of the entry points in `runner` (which
build, drive and finish it); only journal fsyncs go to worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from halo_paylink.core.backfill.journal import (
    Failure,
    Intent,
    Intents,
    JournalWriter,
    Outcomes,
    Record,
    RunKind,
    Skip,
    Skips,
    encode_all,
)
from halo_paylink.core.backfill.model import InvoiceSource, PlannedChange, RunOptions
from halo_paylink.core.backfill.outcome import DEFINITELY_NOT_APPLIED, Counts, make_counts
from halo_paylink.core.backfill.progress import CancelToken, Phase, Progress, ProgressThrottle
from halo_paylink.core.backfill.replay import ReportRow
from halo_paylink.core.backfill.report import LiveRunReport
from halo_paylink.core.backfill.selection import Action, Decision, IdSet, SkipReason
from halo_paylink.core.backfill.target import FieldTarget, LinkTarget, has_text, normalize
from halo_paylink.halo.errors import ErrorKind, HaloError
from halo_paylink.halo.models import Invoice, InvoicePage

#: Kinds that mean "this invoice (or one in this batch) is bad": bisect, record, go on.
PER_INVOICE_REJECTIONS = frozenset({ErrorKind.REJECTED, ErrorKind.NOT_FOUND})


#: A write waiting in a batch is journaled as is (see `journal.Intent`).
_Item = Intent


Decider = Callable[[Invoice], Decision | None]


@dataclass
class Tally:
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


class Engine:
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
        self.tally = Tally()
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
                # An undo's total is the invoices it restores (set up front), not all of Halo's.
                if not self.expected and (self.total is None or page.record_count > self.total):
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
