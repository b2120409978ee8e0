"""The live run report equals the report read back from the journal; the split journal write."""

from __future__ import annotations

from pathlib import Path

from halo_paylink.core.backfill.journal import (
    Failure,
    Footer,
    Header,
    Intent,
    Intents,
    JournalWriter,
    Outcomes,
    Record,
    RunKind,
    Skip,
    Skips,
    encode_all,
    read_records,
)
from halo_paylink.core.backfill.report import LiveRunReport, write_run_report


def _header(run_id: str) -> Header:
    return Header(
        run_id=run_id,
        kind=RunKind.BACKFILL,
        started="2024-01-01T00:00:00.000+00:00",
        web_url="https://x.example",
        target="generic_online_invoice_payment_url",
        template="https://pay.example/[Invoice No.]",
        numbering="accounting",
        overwrite=False,
    )


def test_live_report_matches_read_back_report(tmp_path: Path) -> None:
    run_id = "20240101-000000-000abcd"
    journal_path = tmp_path / "runs" / f"{run_id}.jsonl"
    header = _header(run_id)
    records: list[Record] = [
        Skips([Skip(id=1, reason="paid", number="1", client="A")]),
        Intents(
            1,
            [
                Intent(id=2, old="", new="https://pay.example/2", number="2", client="B"),
                Intent(id=3, old="x", new="https://pay.example/3", number="3", client="=C"),
                Intent(id=4, old=None, new="https://pay.example/4", number="4", client="D"),
            ],
        ),
        Outcomes(1, written=[2], failed=[Failure(3, "rejected: no")]),
        Skips([Skip(id=5, reason="conflict", number="5", client="E", old="y", new="z")]),
        Footer("completed_with_failures", "2024-01-01T00:00:01.000+00:00", "d"),
    ]
    with JournalWriter(journal_path, create=True) as journal:
        journal.append([header])
        live = LiveRunReport(header, journal_path, tmp_path / "live")
        for record in records:
            journal.append([record], sync=isinstance(record, Intents))
            live.feed([record])
    live_files, live_state = live.finish()
    back_files, back_state = write_run_report(journal_path, tmp_path / "back")
    assert live_files.csv.read_text("utf-8") == back_files.csv.read_text("utf-8")
    assert live_state.counts == back_state.counts
    assert live_state.counts.written == 1 and live_state.counts.failed == 1
    assert live_state.counts.unknown == 1  # invoice 4: sent, no outcome
    assert live_files.json.read_text("utf-8").replace(
        str(live_files.csv), "CSV"
    ) == back_files.json.read_text("utf-8").replace(str(back_files.csv), "CSV")


def test_write_then_sync_keeps_order_and_close_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    header = _header("r")
    journal = JournalWriter(path, create=True)
    journal.append([header])
    journal.write(b"")  # nothing to write: a no-op
    journal.write(encode_all([Skips([Skip(id=7, reason="paid")])]))
    journal.sync()
    journal.close()
    journal.close()
    journal.sync()  # after close: nothing to do, no error
    assert [type(r).__name__ for r in read_records(path)] == ["Header", "Skips"]
