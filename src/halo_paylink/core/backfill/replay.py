"""Reading a journal back: the final per-invoice rows, the counts, and what resume must redo.

Streaming and bounded in memory: rows are handed to a callback as soon as they are final; only
writes still in doubt (a few batches at most) are held. Pure file reading, blocking: call it from
a worker thread in the GUI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from halo_paylink.core.backfill.journal import (
    Footer,
    Header,
    Intent,
    Intents,
    Oddities,
    Outcomes,
    Record,
    Resume,
    RunKind,
    Skips,
    read_records,
)
from halo_paylink.core.backfill.outcome import Counts, RunOutcome, make_counts
from halo_paylink.core.backfill.selection import IdSet, SkipReason
from halo_paylink.core.backfill.target import has_text


class ReportRow(NamedTuple):
    """One invoice in a report. `outcome`: written, overwritten, restored, failed, conflict,
    skipped, unknown, not_written; `reason`: why (a skip reason or Halo's refusal).

    A NamedTuple rather than a dataclass: one is made per invoice, and this is cheaper."""

    id: int | str  # str: a row without a usable invoice id, as Halo sent it
    number: str
    client: str
    outcome: str
    reason: str
    old: Any
    new: str | None


@dataclass
class JournalState:
    """Everything a journal says about its run (mutable while replaying; read-only after)."""

    header: Header
    counts: Counts = field(default_factory=Counts)
    status: RunOutcome = RunOutcome.INTERRUPTED
    footer: Footer | None = None
    finished: str | None = None
    handled: IdSet = field(default_factory=IdSet)
    odd_keys: set[str] = field(default_factory=set)  # listed rows without a usable id
    unknown: dict[int, Intent] = field(default_factory=dict)  # sent, result not recorded
    not_written: dict[int, Intent] = field(default_factory=dict)  # certainly not applied
    last_batch: int = 0
    attempts: int = 1
    written_changes: dict[int, tuple[Any, str | None]] | None = None  # id -> (old, new)


class Replayer:
    """Replays records one at a time (what `replay` does for a whole file).

    The runner feeds it every record it appends, so a run's report is written as the run goes,
    from exactly the records the journal holds, instead of by reading the journal back at the end.
    Not thread-safe: feed it from one thread.
    """

    def __init__(
        self,
        header: Header,
        *,
        on_row: Callable[[ReportRow], None] | None = None,
        on_rows: Callable[[list[ReportRow]], None] | None = None,
        collect_written: bool = False,
        track_handled: bool = True,
    ) -> None:
        """Rows go to `on_row` one by one, or to `on_rows` a record's worth at a time.
        `track_handled=False` leaves `state.handled` empty (only resume needs it)."""
        self.state = JournalState(header=header)
        self._handled: IdSet | None = self.state.handled if track_handled else None
        if collect_written:
            self.state.written_changes = {}
        self._undo = header.kind is RunKind.UNDO
        self._on_row = on_row
        self._on_rows = on_rows
        self._rows: list[ReportRow] | None = [] if on_row or on_rows else None
        self.written = self.overwritten = self.failed = self.conflicts = 0
        self.skipped: Counter[str] = Counter()

    def _flush(self) -> None:
        rows = self._rows
        if rows:
            self._rows = []
            if self._on_rows is not None:
                self._on_rows(rows)
            elif self._on_row is not None:
                for row in rows:
                    self._on_row(row)

    def feed(self, record: Record) -> None:
        """Apply one record that follows the header (rows go to `on_row` as they become final)."""
        state = self.state
        if isinstance(record, Skips):
            self._skips(record)
            self._flush()
        elif isinstance(record, Oddities):
            self._oddities(record)
            self._flush()
        elif isinstance(record, Intents):
            unknown, not_written = state.unknown, state.not_written
            for intent in record.items:
                if not_written:
                    not_written.pop(intent.id, None)
                unknown[intent.id] = intent
            if record.batch > state.last_batch:
                state.last_batch = record.batch
        elif isinstance(record, Outcomes):
            self._outcomes(record)
            self._flush()
        elif isinstance(record, Resume):
            state.attempts += 1
            state.status = RunOutcome.INTERRUPTED
            state.footer = None
        elif isinstance(record, Footer):
            state.footer = record
            state.finished = record.finished
            try:
                state.status = RunOutcome(record.outcome)
            except ValueError:
                state.status = RunOutcome.INTERNAL_ERROR

    def _skips(self, record: Skips) -> None:
        state = self.state
        unknown, not_written, handled = state.unknown, state.not_written, self._handled
        rows = self._rows
        conflict = SkipReason.CONFLICT.value
        for skip in record.items:
            if unknown:
                unknown.pop(skip.id, None)
            if not_written:
                not_written.pop(skip.id, None)
            if handled is not None:
                handled.add(skip.id)
            if skip.reason == conflict:
                self.conflicts += 1
                outcome = "conflict"
            else:
                self.skipped[skip.reason] += 1
                outcome = "skipped"
            if rows is not None:
                reason = f"{skip.reason}: {skip.detail}" if skip.detail else skip.reason
                rows.append(
                    ReportRow(
                        skip.id, skip.number, skip.client, outcome, reason, skip.old, skip.new
                    )
                )

    def _oddities(self, record: Oddities) -> None:
        keys, rows = self.state.odd_keys, self._rows
        unreadable = SkipReason.UNREADABLE.value
        for odd in record.items:
            if odd.key in keys:
                continue
            keys.add(odd.key)
            self.skipped[unreadable] += 1
            if rows is not None:
                rows.append(
                    ReportRow(
                        odd.key,
                        odd.number,
                        odd.client,
                        "skipped",
                        f"{unreadable}: {odd.detail}",
                        None,
                        None,
                    )
                )

    def _outcomes(self, record: Outcomes) -> None:
        state = self.state
        unknown, handled, rows = state.unknown, self._handled, self._rows
        changes = state.written_changes
        reason = "confirmed on resume" if record.recovered else ""
        for invoice_id in record.written:
            intent = unknown.pop(invoice_id, None)
            if handled is not None:
                handled.add(invoice_id)
            old, new = (intent.old, intent.new) if intent else (None, None)
            self.written += 1
            if self._undo:
                label = "restored"
            elif has_text(old):
                self.overwritten += 1
                label = "overwritten"
            else:
                label = "written"
            if changes is not None:
                changes[invoice_id] = (old, new)
            if rows is not None:
                number, client = (intent.number, intent.client) if intent else ("", "")
                rows.append(ReportRow(invoice_id, number, client, label, reason, old, new))
        for failure in record.failed:
            intent = unknown.pop(failure.id, None)
            if handled is not None:
                handled.add(failure.id)
            self.failed += 1
            if rows is not None:
                number, client = (intent.number, intent.client) if intent else ("", "")
                old, new = (intent.old, intent.new) if intent else (None, None)
                rows.append(
                    ReportRow(failure.id, number, client, "failed", failure.reason, old, new)
                )
        for failure in record.not_written:
            intent = unknown.pop(failure.id, None)
            if intent is not None:
                state.not_written[failure.id] = intent

    def finish(self) -> JournalState:
        """Emit the rows still in doubt and return the final state. Call once, at the end."""
        state = self.state
        rows = self._rows if self._rows is not None else []
        for intent in state.unknown.values():
            rows.append(
                ReportRow(
                    intent.id,
                    intent.number,
                    intent.client,
                    "unknown",
                    "sent; result not recorded (resume re-checks it)",
                    intent.old,
                    intent.new,
                )
            )
        for intent in state.not_written.values():
            rows.append(
                ReportRow(
                    intent.id,
                    intent.number,
                    intent.client,
                    "not_written",
                    "the run stopped before this was saved (resume retries it)",
                    intent.old,
                    intent.new,
                )
            )
        self._flush()
        state.counts = make_counts(
            written=self.written,
            overwritten=self.overwritten,
            failed=self.failed,
            conflicts=self.conflicts,
            skipped=self.skipped,
            unknown=len(state.unknown),
            not_written=len(state.not_written),
        )
        return state


def replay(
    path: Path,
    *,
    on_row: Callable[[ReportRow], None] | None = None,
    on_rows: Callable[[list[ReportRow]], None] | None = None,
    collect_written: bool = False,
) -> JournalState:
    """Replay a journal. `on_row` gets each invoice's final row once (or `on_rows` gets them a
    few at a time); `collect_written` keeps (old, new) of every written invoice (for undo).

    Raises:
        JournalError / OSError: as `read_records`.
    """
    records = read_records(path)
    header = next(records)
    assert isinstance(header, Header)
    replayer = Replayer(header, on_row=on_row, on_rows=on_rows, collect_written=collect_written)
    for record in records:
        replayer.feed(record)
    return replayer.finish()
