"""Journal durability rules, replay, and the progress throttle."""

from __future__ import annotations

from pathlib import Path

import pytest

from halo_paylink.core.backfill.journal import (
    Footer,
    Header,
    Intent,
    JournalError,
    JournalWriter,
    Outcome,
    OutcomeStatus,
    Resume,
    RunKind,
    Skip,
    read_records,
)
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.progress import Phase, Progress, ProgressThrottle
from halo_paylink.core.backfill.replay import replay

HEADER = Header(
    run_id="r1",
    kind=RunKind.BACKFILL,
    started="t",
    web_url="http://127.0.0.1:1",
    target="generic_online_invoice_payment_url",
    template="https://x/[Invoice No.]",
    numbering="accounting",
    overwrite=False,
)


def write(path: Path, *records) -> None:
    with JournalWriter(path, create=not path.exists()) as journal:
        journal.append(records)


def test_round_trip_and_states(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    write(
        path,
        HEADER,
        Skip(id=1, reason="paid"),
        Skip(id=2, reason="conflict", old="o"),
        Intent(id=3, batch=1, old="", new="n3"),
        Intent(id=4, batch=1, old=None, new="n4"),
        Intent(id=5, batch=1, old="prev", new="n5"),
        Outcome(id=3, batch=1, status=OutcomeStatus.WRITTEN),
        Outcome(id=5, batch=1, status=OutcomeStatus.FAILED, reason="rejected"),
        Intent(id=6, batch=2, old=None, new="n6"),
        Outcome(id=6, batch=2, status=OutcomeStatus.NOT_WRITTEN, reason="forbidden"),
        Footer(outcome="permission_denied", finished="t2"),
    )
    rows = []
    state = replay(path, on_row=rows.append, collect_written=True)
    assert state.status is RunOutcome.PERMISSION_DENIED
    assert state.counts.written == 1 and state.counts.failed == 1
    assert state.counts.conflicts == 1 and dict(state.counts.skipped) == {"paid": 1}
    assert set(state.unknown) == {4} and set(state.not_written) == {6}
    assert state.counts.seen == 6
    assert {1, 2, 3, 5} <= {i for i in range(10) if i in state.handled}
    assert 4 not in state.handled and 6 not in state.handled
    assert state.written_changes == {3: ("", "n3")}
    assert sorted(r.id for r in rows) == [1, 2, 3, 4, 5, 6]  # one row per invoice
    # Resume, then settle everything.
    write(
        path,
        Resume(at="t3"),
        Outcome(id=4, batch=1, status=OutcomeStatus.WRITTEN, recovered=True),
        Intent(id=6, batch=3, old=None, new="n6"),
        Outcome(id=6, batch=3, status=OutcomeStatus.WRITTEN),
        Footer("completed", "t4"),
    )
    rows = []
    state = replay(path, on_row=rows.append)
    assert state.status is RunOutcome.COMPLETED and state.attempts == 2
    assert state.counts.written == 3 and state.counts.unknown == state.counts.not_written == 0
    assert sorted(r.id for r in rows) == [1, 2, 3, 4, 5, 6]


def test_torn_last_line_is_tolerated_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    write(path, HEADER, Intent(id=3, batch=1, old=None, new="n3"))
    with open(path, "ab") as handle:
        handle.write(b'{"t":"outcome","id":3,"bat')  # killed mid-write
    assert [type(r) for r in read_records(path)] == [Header, Intent]
    assert replay(path).status is RunOutcome.INTERRUPTED
    write(path, Resume(at="x"), Outcome(id=3, batch=1, status=OutcomeStatus.WRITTEN))
    assert [type(r) for r in read_records(path)] == [Header, Intent, Resume, Outcome]


def test_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    write(path, HEADER)
    with open(path, "ab") as handle:
        handle.write(b"garbage\n")
    # A whole line that does not parse is damage (not a torn write): no appending, no reading on.
    with pytest.raises(JournalError):
        write(path, Skip(id=1, reason="paid"))
    with open(path, "ab") as handle:
        handle.write(b'{"t":"skip","id":1,"reason":"paid"}\n')
    with pytest.raises(JournalError):
        list(read_records(path))


def test_journal_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    write(path, HEADER)
    assert path.stat().st_mode & 0o077 == 0


def test_throttle() -> None:
    now = [0.0]
    seen: list[Progress] = []
    throttle = ProgressThrottle(seen.append, interval=0.1, clock=lambda: now[0])
    for i in range(100):
        now[0] = i * 0.01  # 1 s of updates every 10 ms
        throttle.emit(Progress(Phase.WRITING, done=i))
    assert 9 <= len(seen) <= 11
    throttle.emit(Progress(Phase.DONE, done=100))
    assert seen[-1].phase is Phase.DONE  # the final one always goes through


def test_a_journal_in_use_cannot_be_opened_twice(tmp_path: Path) -> None:
    from halo_paylink.core.backfill.journal import is_locked

    path = tmp_path / "r1.jsonl"
    write(path, HEADER)
    with JournalWriter(path, create=False):
        assert is_locked(path)
        with pytest.raises(JournalError, match="in progress"):
            JournalWriter(path, create=False)
    assert not is_locked(path)
