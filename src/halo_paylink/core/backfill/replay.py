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
from typing import Any

from halo_paylink.core.backfill.journal import (
    Footer,
    Header,
    Intent,
    Outcome,
    OutcomeStatus,
    Record,
    Resume,
    RunKind,
    Skip,
    read_records,
)
from halo_paylink.core.backfill.outcome import Counts, RunOutcome, make_counts
from halo_paylink.core.backfill.selection import IdSet, SkipReason
from halo_paylink.core.backfill.target import has_text


@dataclass(frozen=True)
class ReportRow:
    """One invoice in a report. `outcome`: written, overwritten, restored, failed, conflict,
    skipped, unknown, not_written; `reason`: why (a skip reason or Halo's refusal)."""

    id: int
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
        collect_written: bool = False,
    ) -> None:
        self.state = JournalState(header=header)
        if collect_written:
            self.state.written_changes = {}
        self._undo = header.kind is RunKind.UNDO
        self._on_row = on_row
        self.written = self.overwritten = self.failed = self.conflicts = 0
        self.skipped: Counter[str] = Counter()

    def _emit(self, row: ReportRow) -> None:
        if self._on_row is not None:
            self._on_row(row)

    def feed(self, record: Record) -> None:
        """Apply one record that follows the header."""
        state = self.state
        if isinstance(record, Skip):
            state.unknown.pop(record.id, None)
            state.not_written.pop(record.id, None)
            state.handled.add(record.id)
            if record.reason == SkipReason.CONFLICT.value:
                self.conflicts += 1
                outcome = "conflict"
            else:
                self.skipped[record.reason] += 1
                outcome = "skipped"
            self._emit(
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
        elif isinstance(record, Intent):
            state.not_written.pop(record.id, None)
            state.unknown[record.id] = record
            state.last_batch = max(state.last_batch, record.batch)
        elif isinstance(record, Outcome):
            intent = state.unknown.pop(record.id, None)
            if record.status is OutcomeStatus.NOT_WRITTEN:
                if intent is not None:
                    state.not_written[record.id] = intent
                return
            state.handled.add(record.id)
            number, client = (intent.number, intent.client) if intent else ("", "")
            old, new = (intent.old, intent.new) if intent else (None, None)
            if record.status is OutcomeStatus.WRITTEN:
                self.written += 1
                if self._undo:
                    label = "restored"
                elif has_text(old):
                    self.overwritten += 1
                    label = "overwritten"
                else:
                    label = "written"
                if state.written_changes is not None:
                    state.written_changes[record.id] = (old, new)
                reason = "confirmed on resume" if record.recovered else ""
            else:
                self.failed += 1
                label = "failed"
                reason = record.reason
            self._emit(ReportRow(record.id, number, client, label, reason, old, new))
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

    def finish(self) -> JournalState:
        """Emit the rows still in doubt and return the final state. Call once, at the end."""
        state = self.state
        for intent in state.unknown.values():
            self._emit(
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
            self._emit(
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
    collect_written: bool = False,
) -> JournalState:
    """Replay a journal. `on_row` gets each invoice's final row once; `collect_written` keeps
    (old, new) of every written invoice (for undo).

    Raises:
        JournalError / OSError: as `read_records`.
    """
    records = read_records(path)
    header = next(records)
    assert isinstance(header, Header)
    replayer = Replayer(header, on_row=on_row, collect_written=collect_written)
    for record in records:
        replayer.feed(record)
    return replayer.finish()
