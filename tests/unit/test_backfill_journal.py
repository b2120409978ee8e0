"""Journal durability rules, replay, and the progress throttle."""

from __future__ import annotations

from pathlib import Path

import pytest

from halo_paylink.core.backfill.journal import (
    Failure,
    Footer,
    Header,
    Intent,
    Intents,
    JournalError,
    JournalWriter,
    Outcomes,
    Resume,
    RunKind,
    Skip,
    Skips,
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
        Skips([Skip(id=1, reason="paid"), Skip(id=2, reason="conflict", old="o")]),
        Intents(
            1,
            [
                Intent(id=3, old="", new="n3"),
                Intent(id=4, old=None, new="n4"),
                Intent(id=5, old="prev", new="n5"),
            ],
        ),
        Outcomes(1, written=[3], failed=[Failure(5, "rejected")]),
        Intents(2, [Intent(id=6, old=None, new="n6")]),
        Outcomes(2, not_written=[Failure(6, "forbidden")]),
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
    assert state.last_batch == 2
    assert sorted(r.id for r in rows) == [1, 2, 3, 4, 5, 6]  # one row per invoice
    by_id = {r.id: r for r in rows}
    assert by_id[5].outcome == "failed" and by_id[5].reason == "rejected"
    assert by_id[5].old == "prev" and by_id[5].new == "n5"
    assert by_id[4].outcome == "unknown" and by_id[6].outcome == "not_written"
    assert by_id[2].outcome == "conflict" and by_id[2].old == "o"
    # Resume, then settle everything.
    write(
        path,
        Resume(at="t3"),
        Outcomes(0, written=[4], recovered=True),
        Intents(3, [Intent(id=6, old=None, new="n6")]),
        Outcomes(3, written=[6]),
        Footer("completed", "t4"),
    )
    rows = []
    state = replay(path, on_row=rows.append)
    assert state.status is RunOutcome.COMPLETED and state.attempts == 2
    assert state.counts.written == 3 and state.counts.unknown == state.counts.not_written == 0
    assert sorted(r.id for r in rows) == [1, 2, 3, 4, 5, 6]
    assert {r.id: r.reason for r in rows}[4] == "confirmed on resume"
    assert state.last_batch == 3


def test_torn_last_line_is_tolerated_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    write(path, HEADER, Intents(1, [Intent(id=3, old=None, new="n3")]))
    with open(path, "ab") as handle:
        handle.write(b'{"t":"outcomes","batch":1,"writ')  # killed mid-write
    assert [type(r) for r in read_records(path)] == [Header, Intents]
    assert replay(path).status is RunOutcome.INTERRUPTED
    assert set(replay(path).unknown) == {3}
    write(path, Resume(at="x"), Outcomes(1, written=[3]))
    assert [type(r) for r in read_records(path)] == [Header, Intents, Resume, Outcomes]


def test_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    write(path, HEADER)
    with open(path, "ab") as handle:
        handle.write(b"garbage\n")
    # A whole line that does not parse is damage (not a torn write): no appending, no reading on.
    with pytest.raises(JournalError):
        write(path, Skips([Skip(id=1, reason="paid")]))
    with open(path, "ab") as handle:
        handle.write(b'{"t":"skips","items":[[1,"paid"]]}\n')
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


def test_records_are_one_json_line_per_group(tmp_path: Path) -> None:
    import json

    path = tmp_path / "r1.jsonl"
    write(
        path,
        HEADER,
        Skips([Skip(1, "paid", "INV-1", "Ζήτα", "", None)]),
        Intents(4, [Intent(2, None, "https://x/2", "INV-2", "B"), Intent(3, "o", "n", "3", "C")]),
        Outcomes(4, written=[2], failed=[Failure(3, "rejected: no")]),
    )
    lines = path.read_text("utf-8").splitlines()
    assert "Ζήτα" in lines[1]  # readable, not \u-escaped
    assert [json.loads(line) for line in lines[1:]] == [
        {"t": "skips", "items": [[1, "paid", "INV-1", "Ζήτα", "", None, ""]]},
        {
            "t": "intents",
            "batch": 4,
            "items": [[2, None, "https://x/2", "INV-2", "B"], [3, "o", "n", "3", "C"]],
        },
        {"t": "outcomes", "batch": 4, "written": [2], "failed": [[3, "rejected: no"]]},
    ]
    records = list(read_records(path))
    assert records[2] == Intents(
        4, (Intent(2, None, "https://x/2", "INV-2", "B"), Intent(3, "o", "n", "3", "C"))
    )
    assert records[3] == Outcomes(4, written=(2,), failed=(Failure(3, "rejected: no"),))


@pytest.mark.parametrize(
    "line",
    [
        b'{"t":"skips","items":[[1]]}',  # too few columns
        b'{"t":"intents","batch":1,"items":[["x",null,"n","",""]]}',  # id not an integer
        b'{"t":"outcomes","batch":1,"failed":[[1]]}',
        b'{"t":"skip","id":1,"reason":"paid"}',  # the old per-invoice format
    ],
)
def test_malformed_records_are_journal_errors(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "r1.jsonl"
    write(path, HEADER)
    with open(path, "ab") as handle:
        handle.write(line + b"\n")
    with pytest.raises(JournalError):
        list(read_records(path))


def test_an_older_journal_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    path.write_text('{"t":"header","run_id":"r1","kind":"backfill","version":1}\n', "utf-8")
    with pytest.raises(JournalError, match="version"):
        list(read_records(path))
