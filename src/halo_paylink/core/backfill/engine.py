"""The backfill engine: one attempt of a run, streaming invoices, deciding, writing in batches.

`Engine` reads the invoice pages (one page ahead), decides each invoice through its mode
(`modes`: plan, write or undo), writes batches with bounded concurrency, bisects batches Halo
rejects, and journals intents before each POST and outcomes after it. It lives on the loop thread
of the entry points in `runner` (which build, drive and finish it); only journal fsyncs go to
worker threads.

What it guarantees, and `runner` relies on to say "completed":
- every invoice seen is in exactly one bucket (written, conflict, failed, skipped for a reason,
  or unfinished: unknown / not written); `accounted` checks it;
- nothing raised is dropped: a page read, a batch write, a bisection or a journal append that
  fails ends the attempt with `failure` (a Halo error) or `crash` (anything else), and the
  invoices it concerns stay unfinished, so the run is resumable;
- the listing proves itself (`listing.ListingAudit`): a read that does not add up is repeated,
  at most `facts.MAX_LISTING_PASSES` times, and otherwise leaves `incomplete` set;
- a batch is POSTed only with a `DurableIntents` in hand, which only `_make_durable` makes,
  after the batch's intents are fsynced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from halo_paylink.core.backfill.batching import BatchSizer
from halo_paylink.core.backfill.census import ListingScope, recheck, recount
from halo_paylink.core.backfill.journal import (
    Failure,
    Intent,
    Intents,
    Oddities,
    Oddity,
    Outcomes,
    Record,
    RunKind,
    Skip,
    Skips,
    encode_all,
)
from halo_paylink.core.backfill.listing import ListingAudit
from halo_paylink.core.backfill.model import InvoiceSource, PlannedChange, RunOptions
from halo_paylink.core.backfill.modes import Mode
from halo_paylink.core.backfill.outcome import DEFINITELY_NOT_APPLIED, Counts, make_counts
from halo_paylink.core.backfill.progress import CancelToken, Phase, Progress, ProgressThrottle
from halo_paylink.core.backfill.replay import JournalState, ReportRow
from halo_paylink.core.backfill.report import LiveRunReport
from halo_paylink.core.backfill.selection import (
    Action,
    Decision,
    IdSet,
    SkipReason,
    shown_value,
)
from halo_paylink.core.backfill.target import FieldTarget, LinkTarget, has_text, normalize
from halo_paylink.core.backfill.tenant import StatusLearner
from halo_paylink.core.backfill.witnesses import ChangeWitness, ListingWitness
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, InvoicePage
from halo_paylink.halo.ratelimit import RateLimiter

log = logging.getLogger(__name__)

#: Kinds that mean "this invoice (or one in this batch) is bad": bisect, record, go on.
PER_INVOICE_REJECTIONS = frozenset({ErrorKind.REJECTED, ErrorKind.NOT_FOUND})


#: A write waiting in a batch is journaled as is (see `journal.Intent`).
_Item = Intent


class JournalSink(Protocol):
    """What the engine needs of `journal.JournalWriter`: a plain write, then a blocking fsync."""

    def write(self, payload: bytes) -> None: ...

    def sync(self) -> None: ...


@dataclass(frozen=True)
class DurableIntents:
    """Proof that a batch's intents are on disk. `Engine._send` needs one to POST the batch;
    only `Engine._make_durable` makes one, after the fsync has returned."""

    batch: int
    items: tuple[_Item, ...]


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
    """One attempt of a run. Lives on the loop thread; journal fsyncs go to worker threads.

    `journal` is required when the mode writes and must be None for a plan. `prior` is the
    journal's state when the attempt resumes a run: what it settled is not decided again, and
    its unfinished writes are re-checked against Halo before anything else is decided.
    """

    def __init__(
        self,
        client: InvoiceSource,
        *,
        target: LinkTarget,
        mode: Mode,
        journal: JournalSink | None,
        options: RunOptions,
        progress: ProgressThrottle,
        cancel: CancelToken,
        clock: Callable[[], float],
        prior: JournalState | None = None,
        on_row: Callable[[ReportRow], None] | None = None,
        narrow: Callable[[], Awaitable[ListingScope | None]] | None = None,
        learner: StatusLearner | None = None,
        witness: ListingWitness | None = None,
        changes: ChangeWitness | None = None,
    ) -> None:
        if (journal is None) == mode.writes:
            raise ValueError("a writing mode needs a journal; a plan must not have one")
        self.client = client
        self.target = target
        self.mode = mode
        self.decider = mode.decide
        self.kind = mode.kind
        self.journal = journal
        self.options = options
        self.throttle = progress
        self.cancel = cancel
        self.phase = mode.phase
        self.clock = clock
        self.on_row = on_row  # dry run: rows go straight to the plan report
        # Asked once, when the first page shows a long list: a narrower read, or None.
        self.narrow = narrow
        self.scope: ListingScope | None = None
        self._narrowed = False  # the current read was cut short for the narrower one
        self.learner = learner  # tallies payment status codes against amounts
        self.witness = witness  # what the pages show about the server (page cap, filters)
        self.changes = changes  # whether each invoice needing the link had changed lately
        self.tally = Tally()
        self.handled = IdSet()
        self.odd_keys: set[str] = set()  # listed rows without a usable id, counted once
        self.unknown: dict[int, Intent] = {}  # from an earlier attempt: re-check before deciding
        self.retry: dict[int, Intent] = {}  # an earlier attempt's writes that were not sent
        self.batch_no = 0
        self.expected: Mapping[int, object] = mode.expected  # undo: invoices to look at
        self.total: int | None = len(self.expected) if self.expected else None
        self.failure: HaloError | None = None
        self.crash: BaseException | None = None  # anything else that stopped the attempt
        self.listing: ListingAudit | None = None  # the last read of the listing
        self.incomplete: ListingAudit | None = None  # set when no read could be shown consistent
        self.started = clock()
        self.message = ""
        self.sample: list[PlannedChange] = []
        self.conflict_sample: list[PlannedChange] = []
        # Waiting for the next journal append (with the next batch's intents, or per page):
        self._skips: list[Skip] = []
        self._odd: list[Oddity] = []
        self._odd_seen: Counter[str] = Counter()  # odd rows per key in this read of the list
        self._settled: list[int] = []  # unknown writes of an earlier attempt that did land
        self._settled_failed: list[Failure] = []  # ... whose invoice no longer exists
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max(1, options.concurrency))
        self.sizer = BatchSizer.for_options(options.batch_size)
        self.live: LiveRunReport | None = None  # fed every record this attempt appends
        if prior is not None:
            self._resume_from(prior)
        self._done_before = self.tally.done  # settled by earlier attempts of this run

    def _resume_from(self, prior: JournalState) -> None:
        """Take over what the journal settled: those invoices are not decided again."""
        self.handled = prior.handled
        self.odd_keys = set(prior.odd_keys)
        self.unknown = dict(prior.unknown)
        self.retry = dict(prior.not_written)
        self.batch_no = prior.last_batch
        counts = prior.counts
        tally = self.tally
        tally.written = counts.written
        tally.overwritten = counts.overwritten
        tally.failed = counts.failed
        tally.conflicts = counts.conflicts
        tally.skipped.update({SkipReason(k): n for k, n in counts.skipped.items()})

    # --- progress -------------------------------------------------------------------------
    def snapshot(self, phase: Phase | None = None) -> Progress:
        done = self.tally.done
        elapsed = max(self.clock() - self.started, 1e-9)
        # This attempt's pace: what earlier attempts settled (a resume) took no time now.
        rate = max(done - self._done_before, 0) / elapsed
        eta = None
        left = max(self.total - done, 0) if self.total is not None else None
        if left and rate > 0:
            eta = left / rate
        wait = getattr(getattr(self.client, "limiter", None), "waiting", None)
        return Progress(
            phase=phase or self.phase,
            wait_seconds=wait.seconds if wait is not None else None,
            wait_reason=wait.reason if wait is not None else "",
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

    # --- the evidence -----------------------------------------------------------------------
    @property
    def accounted(self) -> bool:
        """Every invoice seen is in exactly one bucket: the counts add up to what was seen."""
        return self.tally.done == len(self.handled) + len(self.odd_keys)

    @property
    def unfinished(self) -> int:
        """Invoices whose write is not settled: sent with no known result, or not sent."""
        pending_retry = sum(1 for i in self.retry if i not in self.handled)
        return self.tally.unknown + self.tally.not_written + len(self.unknown) + pending_retry

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

    async def _make_durable(self, batch_no: int, items: list[_Item]) -> DurableIntents:
        """Journal a batch's intents (with whatever was decided so far) and fsync them."""
        records = self._take_pending()
        records.append(Intents(batch_no, items))
        await self._append(records, sync=True)
        return DurableIntents(batch_no, tuple(items))

    def _take_pending(self) -> list[Record]:
        """The records for everything decided but not journaled yet (skips, settled writes)."""
        records: list[Record] = []
        if self._skips:
            records.append(Skips(self._skips))
            self._skips = []
        if self._odd:
            records.append(Oddities(self._odd))
            self._odd = []
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
        return self.failure is not None or self.crash is not None or self.cancel.cancelled

    def _crashed(self, exc: BaseException, what: str) -> None:
        """Something other than Halo failed: stop the attempt and keep the first cause."""
        log.error("backfill: %s failed: %s", what, type(exc).__name__, exc_info=exc)
        if self.crash is None:
            self.crash = exc
            self.message = f"Stopped: {what} failed ({type(exc).__name__})"

    def _failed(self, error: HaloError) -> None:
        if self.failure is None:
            self.failure = error
            self.message = error.headline

    # --- deciding -------------------------------------------------------------------------
    def _skip(self, invoice: Invoice, decision: Decision) -> None:
        reason = decision.reason or SkipReason.ZERO_DUE
        if reason is SkipReason.CONFLICT:
            self.tally.conflicts += 1
            if len(self.conflict_sample) < self.options.sample_size:
                self.conflict_sample.append(
                    PlannedChange(
                        invoice.id,
                        _text(invoice.invoice_number),
                        _text(invoice.client_name),
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
            _text(invoice.invoice_number),
            _text(invoice.client_name),
            decision.old,
            decision.new,
            decision.detail,
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
                    f"{record.reason}: {record.detail}" if record.detail else record.reason,
                    record.old,
                    record.new,
                )
            )

    def consider_odd_row(self, row: Any) -> None:
        """A listed row without a usable invoice id: named as unreadable, counted once."""
        fields = row if isinstance(row, Mapping) else {}
        raw_id = fields.get("id") if fields else None
        number = _text(fields.get("invoicenumber")) if fields else ""
        base = f"id={shown_value(raw_id)} number={number}" if fields else f"row={shown_value(row)}"
        # Rows alike in id and number are told apart by their place among their likes in this
        # read of the list (the same place on a resume), so each is counted once, none merged.
        self._odd_seen[base] += 1
        key = base if self._odd_seen[base] == 1 else f"{base} #{self._odd_seen[base]}"
        if key in self.odd_keys:
            return
        self.odd_keys.add(key)
        self.tally.skipped[SkipReason.UNREADABLE] += 1
        detail = (
            f"its id is {shown_value(raw_id)}, not a whole number"
            if fields
            else "it is not an invoice object"
        )
        odd = Oddity(key, number, _text(fields.get("client_name")) if fields else "", detail)
        self._odd.append(odd)
        if self.on_row is not None:
            self.on_row(
                ReportRow(
                    odd.key,
                    odd.number,
                    odd.client,
                    "skipped",
                    f"{SkipReason.UNREADABLE.value}: {detail}",
                    None,
                    None,
                )
            )

    def _decide(self, invoice: Invoice) -> Decision | None:
        """The mode's decision; a record that makes it raise costs only itself (unreadable)."""
        try:
            return self.decider(invoice)
        except Exception as exc:  # an odd record: named, never fatal
            log.info("invoice %s is unreadable: %s: %s", invoice.id, type(exc).__name__, exc)
            return Decision(
                Action.SKIP,
                SkipReason.UNREADABLE,
                None,
                None,
                detail=f"it could not be read ({type(exc).__name__})",
            )

    def consider(self, invoice: Invoice, batch: list[_Item]) -> None:
        """Decide one invoice; writes go into `batch`. Each invoice is decided once per run."""
        invoice_id = invoice.id
        if self.learner is not None:  # every row read, settled or not: the codes' evidence
            self.learner.observe(invoice)
        if invoice_id in self.handled:
            return
        if self.unknown:
            earlier = self.unknown.pop(invoice_id, None)
            if earlier is not None and _reads(self.target, invoice) == earlier.new:
                # An earlier attempt's write did land: record it, do not write again.
                self.handled.add(invoice_id)
                self.tally.written += 1
                if has_text(earlier.old) and self.kind is RunKind.BACKFILL:
                    self.tally.overwritten += 1
                self._settled.append(invoice_id)
                return
        decision = self._decide(invoice)
        if decision is None:
            return
        self.handled.add(invoice_id)
        if decision.action is Action.SKIP:
            self._skip(invoice, decision)
            return
        if self.changes is not None:
            self.changes.needs_link(invoice)
        item = _Item(
            invoice_id,
            decision.old,
            decision.new,
            _text(invoice.invoice_number),
            _text(invoice.client_name),
        )
        if not self.mode.writes:
            self._plan(item, decision)
            return
        batch.append(item)

    def _plan(self, item: _Item, decision: Decision) -> None:
        self.tally.written += 1
        if has_text(decision.old):
            self.tally.overwritten += 1
        if len(self.sample) < self.options.sample_size:
            self.sample.append(
                PlannedChange(
                    item.id, item.number, item.client, item.old, item.new, has_text(decision.old)
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

    # --- writing --------------------------------------------------------------------------
    async def submit(self, batch: list[_Item], *, last: bool = True) -> bool:
        """Send a batch when a slot is free (this is the back-pressure that keeps memory flat);
        True when it was taken (sent, or journaled as not written).

        A batch that is not the `last` of its stream is held back (False) when the batch size
        grew while it waited for a slot: the caller fills it further. When the attempt is
        stopping, the batch is not sent: it is journaled as not written, so its invoices stay
        unfinished (counted, reported, retried on resume)."""
        if not batch:
            return True
        await self._slots.acquire()
        if self.stopping:
            self._slots.release()
            await self._abandon(batch)
            return True
        if not last and len(batch) < self.sizer.size:
            self._slots.release()
            return False
        self.batch_no += 1
        task = asyncio.create_task(self._write_batch(self.batch_no, batch))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return True

    async def _abandon(self, batch: list[_Item]) -> None:
        """Decided writes the attempt stops before sending: Halo certainly did not apply them."""
        self.batch_no += 1
        self.tally.not_written += len(batch)
        reason = "the run stopped before this was sent"
        try:
            await self._append(
                [
                    *self._take_pending(),
                    Intents(self.batch_no, batch),
                    Outcomes(self.batch_no, not_written=[Failure(i.id, reason) for i in batch]),
                ],
                sync=False,
            )
        except Exception as exc:  # the journal failed: nothing was sent, resume decides again
            self._crashed(exc, "the journal")

    async def drain(self) -> None:
        """Wait for every batch in flight; a batch task that raised is a crash, never dropped."""
        while self._in_flight:
            done, _ = await asyncio.wait(list(self._in_flight))
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    self._crashed(task.exception() or RuntimeError(), "a batch write")

    async def _write_batch(self, batch_no: int, items: list[_Item]) -> None:
        try:
            try:
                durable = await self._make_durable(batch_no, items)
            except Exception as exc:
                # The intents may not be on disk, so nothing is sent: Halo has not applied it.
                self.tally.not_written += len(items)
                self._crashed(exc, "the journal")
                return
            self.tally.unknown += len(items)
            settled: set[int] = set()
            try:
                await self._send(durable, list(items), settled)
            except HaloError as error:
                await self._stop_batch(batch_no, items, error, settled)
            except Exception as exc:
                # Whatever was not recorded stays "unknown" for resume to re-check.
                self._crashed(exc, "a batch write")
            self.emit()
        except Exception as exc:  # e.g. the journal failed while recording a stop
            self._crashed(exc, "a batch write")
        finally:
            self._slots.release()

    async def _send(self, durable: DurableIntents, items: list[_Item], settled: set[int]) -> None:
        """POST the batch; on a per-invoice rejection, bisect until each bad invoice is alone.

        Ids whose outcome was journaled are added to `settled`.
        """
        if self.failure is not None:
            raise self.failure  # another batch hit a run-level failure: do not send more
        if self.crash is not None:  # another batch crashed: do not send more
            await self._record(durable.batch, not_written=items, reason="the run stopped")
            settled.update(i.id for i in items)
            return
        batch_no = durable.batch
        build = self.target.build_update
        changes = [build(i.id, i.new) for i in items]
        retries_before = _retries(self.client)
        started = self.clock()
        try:
            saved = await self.client.update_invoices(changes)
        except HaloError as error:
            if error.kind not in PER_INVOICE_REJECTIONS:
                self.sizer.failed(error)
                raise
            if len(items) == 1:
                await self._record(batch_no, failed=items, reason=_reason(error))
                settled.add(items[0].id)
                return
            middle = len(items) // 2
            await self._send(durable, items[:middle], settled)
            await self._send(durable, items[middle:], settled)
            return
        self.sizer.answered(
            len(items), self.clock() - started, retried=_retries(self.client) > retries_before
        )
        ok, ignored, unconfirmed = self._check_saved(items, saved)
        await self._record(
            batch_no,
            written=ok,
            failed=ignored,
            reason="Halo answered without saving the link (field ignored?)",
        )
        self._unconfirmed(unconfirmed)
        settled.update(i.id for i in items)

    def _check_saved(
        self, items: list[_Item], saved: Any
    ) -> tuple[list[_Item], list[_Item], list[_Item]]:
        """Split into saved / ignored / unconfirmed by Halo's answer.

        A save is confirmed by what Halo returned for that invoice, never by the status alone:
        an invoice missing from the answer (Halo may return one object for a whole batch) is
        unconfirmed, and is read again before it counts (see `_unconfirmed`). An answer that
        shows the invoice but not the target field counts as saved.
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
            return [], [], list(items)
        target = self.target
        field = target.field if isinstance(target, FieldTarget) else None
        ok: list[_Item] = []
        ignored: list[_Item] = []
        unconfirmed: list[_Item] = []
        for item in items:
            answer = returned.get(item.id)
            if answer is None:
                unconfirmed.append(item)
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
        return ok, ignored, unconfirmed

    def _unconfirmed(self, items: list[_Item]) -> None:
        """Writes Halo answered 2xx for without showing them: not counted yet. They are settled
        like an earlier attempt's unknown writes: the next time the invoice is read (a read of
        the list, or one by one at the end), the link it holds decides whether the write
        landed or is made again. Until then the run cannot be complete."""
        if not items:
            return
        self.tally.unknown -= len(items)
        for item in items:
            self.handled.discard(item.id)
            self.unknown[item.id] = item

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
        self._failed(error)
        if error.kind in DEFINITELY_NOT_APPLIED and not error.maybe_applied:
            pending = [i for i in items if i.id not in settled]
            await self._record(batch_no, not_written=pending, reason=error.kind.code)
        # Otherwise the write may have been applied: the intents stay "unknown" for resume.

    # --- the stream -----------------------------------------------------------------------
    async def run(self, filters: Mapping[str, str] | None) -> None:
        """Read every page, decide every invoice, write batches; stops early on cancel/failure.

        Never raises but for the task's own cancellation: what stopped the attempt is in
        `failure` (Halo) or `crash` (anything else)."""
        found = getattr(self.client, "limiter", None)
        limiter = found if isinstance(found, RateLimiter) else None
        if limiter is not None:
            # Show Halo's rate-limit waits live, and let Stop end a long wait within a second.
            limiter.on_wait = lambda wait: self.emit(force=True)
            limiter.should_stop = lambda: self.cancel.cancelled
        try:
            await self._run(filters)
        except asyncio.CancelledError:
            # Our task was cancelled: stop our batch tasks too (their writes stay "unknown").
            for task in list(self._in_flight):
                task.cancel()
            if self._in_flight:
                await asyncio.wait(list(self._in_flight))
            raise
        except Exception as exc:
            self._crashed(exc, "the run")
            with contextlib.suppress(Exception):
                await self.drain()
        finally:
            if limiter is not None:
                limiter.on_wait = None
                limiter.should_stop = None

    async def _run(self, filters: Mapping[str, str] | None) -> None:
        self.emit(force=True)
        passes = facts.MAX_LISTING_PASSES if self.mode.needs_whole_listing else 1
        for number in range(1, passes + 1):
            audit = ListingAudit(previous=self.listing)
            self.listing = audit
            if self.learner is not None:
                self.learner = StatusLearner()  # only one whole read is evidence, never a sum
            await self._read_listing(filters, audit)
            if self._narrowed and self.scope is not None:
                # The first page showed a long list and a narrower read that misses nothing:
                # read that instead (this does not count as a read of the list that failed).
                self._narrowed = False
                filters = self.scope.filters
                audit = ListingAudit()
                self.listing = audit
                if self.learner is not None:
                    self.learner = StatusLearner()
                await self._read_listing(filters, audit)
            await self._read_changed(audit)
            if audit.consistent and not self.stopping and not await self._recheck(audit):
                break  # Halo failed while counting again: the failure ends the attempt
            if self.stopping or audit.consistent or not self.mode.needs_whole_listing:
                break
            log.info("backfill: invoice list read %d did not add up: %s", number, audit.summary())
            if number < passes:
                self.message = (
                    "Halo's invoice list changed while it was read; reading it again "
                    f"({number + 1} of {passes})"
                )
                self.emit(force=True)
        await self.drain()
        await self._confirm_by_reading_again(filters)
        leftovers = self.leftovers()
        if not self.stopping and leftovers:
            await self._verify_leftovers(leftovers)
        await self._flush_skips()
        listing = self.listing
        if (
            not self.stopping
            and self.mode.needs_whole_listing
            and listing is not None
            and not listing.consistent
        ):
            self.incomplete = listing

    def _fetching_is_cheaper(self, announced: int | None, page_size: int) -> bool:
        """For a mode that looks at a known few invoices (a pilot, an undo): whether fetching
        the ones not seen yet costs fewer requests than reading the rest of the list."""
        if not self.mode.fetch_when_cheaper or not self.expected or announced is None:
            return False
        pages_left = -(-announced // max(1, page_size)) - 1
        unseen = sum(1 for i in self.expected if i not in self.handled)
        return unseen < pages_left

    async def _narrow_read(self) -> bool:
        """Ask, once, for a narrower read of a long list; True when the current read should
        give way to it. A Halo failure while counting ends the attempt like any other."""
        narrow, self.narrow = self.narrow, None
        assert narrow is not None
        self.message = "Counting Halo's invoices by payment status"
        self.emit(force=True)
        scope = await narrow()  # a HaloError reaches _read_listing's handler
        self.message = ""
        if scope is None:
            return False
        self.scope = scope
        self._narrowed = True
        return True

    async def _read_changed(self, audit: ListingAudit) -> None:
        """A narrowed read also reads the left-out codes' invoices changed since their proof:
        an old invoice that owes again under a code proven paid has changed. A read of them
        that does not add up makes the whole read not count."""
        scope = self.scope
        if scope is None or scope.changed is None or self.stopping or not audit.consistent:
            return
        changed = ListingAudit()
        changes, self.changes = self.changes, None  # listed for having changed: no evidence
        try:
            await self._read_listing(scope.changed, changed)
        finally:
            self.changes = changes
        if not changed.consistent and not self.stopping:
            audit.disturbed(
                f"the invoices changed since the proof did not add up: {changed.summary()}"
            )

    async def _recheck(self, audit: ListingAudit) -> bool:
        """A read narrowed to some payment statuses is only evidence when the counts taken
        after it still agree (see census.recheck); a disagreement marks the read inconsistent.
        False when Halo failed while counting."""
        scope = self.scope
        if scope is None or scope.read_codes is None:
            return True
        try:
            after = await recount(self.client, scope)
        except HaloError as error:
            self._failed(error)
            return False
        reason = recheck(scope, after, audit.rows)
        if reason is not None:
            audit.disturbed(reason)
        return True

    async def _read_listing(self, filters: Mapping[str, str] | None, audit: ListingAudit) -> None:
        """One read of the whole listing: decide every invoice not settled yet, write batches."""
        batch: list[_Item] = []
        self._odd_seen.clear()
        pages = self._prefetched(filters)
        try:
            async for page in pages:
                audit.see(page)
                if self.witness is not None:
                    self.witness.see(filters, page)
                # An undo's total is the invoices it restores (set up front), not all of Halo's.
                announced = page.record_count
                if not self.expected and announced is not None:
                    self.total = max(self.total or 0, announced)
                if self.stopping or await self._gives_way(audit, announced):
                    break
                batch = await self._take_page(page, batch)
                if self.stopping:
                    break
                if audit.pages == 1 and self._fetching_is_cheaper(announced, page.page_size):
                    break  # the few invoices still to look at are fetched one by one instead
            else:
                audit.finish()
        except HaloError as error:
            self._failed(error)
        finally:
            await pages.aclose()  # stops the read-ahead task when we leave early
        await self.submit(batch)  # sent, or journaled as not written when stopping

    async def _confirm_by_reading_again(self, filters: Mapping[str, str] | None) -> None:
        """Saves Halo did not show in its answers are read back: by one more read of the list
        when they outnumber its pages, else one by one (`leftovers`)."""
        listing = self.listing
        if self.stopping or not self.mode.needs_whole_listing or listing is None:
            return
        unconfirmed = sum(1 for i in self.unknown if i not in self.handled)
        if unconfirmed <= max(1, listing.pages):
            return
        self.message = "Reading the list again to confirm the saves"
        self.emit(force=True)
        audit = ListingAudit()
        learner, self.learner = self.learner, None  # the codes were learned from the first read
        try:
            await self._read_listing(filters, audit)
            await self.drain()
        finally:
            self.learner = learner
            self.message = ""
        if audit.consistent:
            self.listing = audit

    async def _gives_way(self, audit: ListingAudit, announced: int | None) -> bool:
        """After the first page of a long list: whether this read gives way to a narrower one."""
        return (
            self.narrow is not None
            and audit.pages == 1
            and announced is not None
            and announced >= facts.NARROW_FROM_INVOICES
            and await self._narrow_read()
        )

    async def _take_page(self, page: InvoicePage, batch: list[_Item]) -> list[_Item]:
        """Decide one page's rows, sending full batches; returns the batch being filled."""
        consider, sizer = self.consider, self.sizer
        for row in page.odd_rows:
            self.consider_odd_row(row)
        for invoice in page.invoices:
            consider(invoice, batch)
            if len(batch) >= sizer.size and await self.submit(batch, last=False):
                batch = []
                # Only an await can stop the run, so this is the only place to look.
                if self.stopping:
                    break
        if not self._in_flight or len(self._skips) + len(self._odd) > 1000:
            await self._flush_skips()
        self.emit()
        return batch

    async def _prefetched(
        self, filters: Mapping[str, str] | None
    ) -> AsyncGenerator[InvoicePage, None]:
        """The invoice pages, read one page ahead in a task of their own, so that reading the
        next page overlaps with deciding and writing this one. At most two pages wait here
        (besides the few the client has in flight).

        The read-ahead starts once the second page is asked for: a read that stops after the
        first page (it gives way to a narrower read, or fetching the few invoices left is
        cheaper) costs no page more. `HaloClient.invoice_pages` reads further pages ahead of
        its own, several at once, each time the next page is asked for; leaving early closes
        it, which cancels the pages it still has in flight.
        """
        queue: asyncio.Queue[InvoicePage | BaseException | None] = asyncio.Queue(maxsize=1)
        second_asked = asyncio.Event()

        async def reader() -> None:
            pages = self.client.invoice_pages(filters=filters, page_size=self.options.page_size)
            try:
                async for page in pages:
                    await queue.put(page)
                    await second_asked.wait()
                await queue.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer, which raises it
                await queue.put(exc)
            finally:
                close = getattr(pages, "aclose", None)
                if close is not None:
                    await close()

        task = asyncio.create_task(reader())
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
                second_asked.set()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def leftovers(self) -> list[int]:
        """Invoices the stream did not show but that must be looked at (GET one by one): an
        earlier attempt's unsettled writes, and an undo's invoices."""
        extra = [i for i in self.expected if i not in self.handled] if self.expected else []
        retry = [i for i in self.retry if i not in self.handled]
        return list(dict.fromkeys([*self.unknown, *retry, *extra]))

    async def _verify_leftovers(self, invoice_ids: list[int]) -> None:
        """Invoices the stream did not show that must be settled (see `leftovers`): GET each."""
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
                    self._gone(invoice_id)
                    continue
                self._failed(error)
                break
            self.consider(invoice, batch)
            if len(batch) >= self.sizer.size and await self.submit(batch, last=False):
                batch = []
            self.emit()
        await self.submit(batch)
        await self.drain()

    def _gone(self, invoice_id: int) -> None:
        """A leftover invoice Halo no longer has."""
        self.handled.add(invoice_id)
        self.retry.pop(invoice_id, None)
        if self.unknown.pop(invoice_id, None) is not None:
            self.tally.failed += 1
            self._settled_failed.append(
                Failure(invoice_id, "not_found: the invoice no longer exists")
            )
        else:
            self.tally.skipped[SkipReason.NOT_FOUND] += 1
            self._skips.append(Skip(invoice_id, SkipReason.NOT_FOUND.value))


def _retries(client: InvoiceSource) -> int:
    """Retries after a 5xx or a transport failure the client has made so far (0 for a fake)."""
    value = getattr(getattr(client, "stats", None), "retries_other", 0)
    return value if isinstance(value, int) else 0


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


def _reads(target: LinkTarget, invoice: Invoice) -> str | None:
    try:
        return target.read(invoice)
    except Exception:  # an odd record: it is decided (as unreadable) instead
        return None


def _text(value: Any) -> str:
    """Halo text for journals and reports: always a str, whatever the record held."""
    return value if type(value) is str else str(value)
