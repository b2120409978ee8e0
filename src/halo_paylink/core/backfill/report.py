"""Run reports: a CSV with one row per invoice and a JSON summary, in `AppPaths.reports_dir`.

Reports hold invoice ids, numbers, client names, outcomes and link values; never tokens or the
client secret (nothing secret reaches this module). Blocking file I/O: call from a worker thread
in the GUI.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from halo_paylink.core.backfill.journal import Header, Record
from halo_paylink.core.backfill.replay import JournalState, Replayer, ReportRow, replay
from halo_paylink.storage.atomic import (
    PRIVATE_FILE_MODE,
    chmod_quietly,
    ensure_private_dir,
    write_atomic,
)

CSV_COLUMNS = (
    "invoice_id",
    "invoice_number",
    "client",
    "outcome",
    "reason",
    "old_value",
    "new_value",
)


@dataclass(frozen=True)
class ReportFiles:
    csv: Path
    json: Path


_FORMULA_STARTS = frozenset("=+-@\t\r")


def _cell(value: Any) -> str:
    """Text for a CSV cell; a leading =, +, -, @ is defused so spreadsheets do not run it."""
    text = "" if value is None else str(value)
    if text and text[0] in _FORMULA_STARTS:
        return "'" + text
    return text


class CsvReport:
    """Writes report rows as they come (memory stays flat), into a temp file renamed on close."""

    def __init__(self, path: Path) -> None:
        ensure_private_dir(path.parent)
        self.path = path
        self._temp = path.with_name(f".{path.name}.tmp")
        fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        # UTF-8 with a BOM: Excel reads a CSV without one in the ANSI code page and garbles names.
        self._handle: IO[str] = os.fdopen(fd, "w", encoding="utf-8-sig", newline="")
        chmod_quietly(self._temp, PRIVATE_FILE_MODE)
        self._writer = csv.writer(self._handle)
        self._writer.writerow(CSV_COLUMNS)
        self.rows = 0

    def add(self, row: ReportRow) -> None:
        invoice_id, number, client, outcome, reason, old, new = row
        self._writer.writerow(
            (
                invoice_id,
                _cell(number),
                _cell(client),
                outcome,
                _cell(reason) if reason else "",
                _cell(old),
                _cell(new),
            )
        )
        self.rows += 1

    def add_rows(self, rows: Sequence[ReportRow]) -> None:
        """`add` for many rows at once (one call per journal record, not per invoice)."""
        cell, formula = _cell, _FORMULA_STARTS
        # The common case inline: a str that cannot start a formula is its own cell.
        self._writer.writerows(
            [
                (
                    invoice_id,
                    number
                    if type(number) is str and (not number or number[0] not in formula)
                    else cell(number),
                    client
                    if type(client) is str and (not client or client[0] not in formula)
                    else cell(client),
                    outcome,
                    cell(reason) if reason else "",
                    old if type(old) is str and (not old or old[0] not in formula) else cell(old),
                    new if type(new) is str and (not new or new[0] not in formula) else cell(new),
                )
                for invoice_id, number, client, outcome, reason, old, new in rows
            ]
        )
        self.rows += len(rows)

    def close(self) -> Path:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._temp, self.path)
        return self.path

    def discard(self) -> None:
        self._handle.close()
        self._temp.unlink(missing_ok=True)


def write_summary(path: Path, summary: dict[str, Any]) -> Path:
    write_atomic(path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return path


def report_paths(reports_dir: Path, run_id: str) -> ReportFiles:
    return ReportFiles(csv=reports_dir / f"{run_id}.csv", json=reports_dir / f"{run_id}.json")


def summary_for(state: JournalState, journal: Path, files: ReportFiles) -> dict[str, Any]:
    header = state.header
    return {
        "run_id": header.run_id,
        "kind": header.kind.value,
        "undo_of": header.undo_of,
        "profile": header.profile,
        "web_url": header.web_url,
        "target": header.target,
        "template": header.template,
        "numbering": header.numbering,
        "overwrite": header.overwrite,
        "started": header.started,
        "finished": state.finished,
        "attempts": state.attempts,
        "outcome": state.status.value,
        "detail": state.footer.detail if state.footer else "",
        "counts": state.counts.to_json(),
        "journal": str(journal),
        "csv": str(files.csv),
    }


def write_run_report(journal: Path, reports_dir: Path) -> tuple[ReportFiles, JournalState]:
    """Build the CSV and JSON report of a run from its journal (the single source of truth)."""
    header_state = None
    run_id = journal.name.removesuffix(".jsonl")
    files = report_paths(reports_dir, run_id)
    report = CsvReport(files.csv)
    try:
        header_state = replay(journal, on_rows=report.add_rows)
    except BaseException:
        report.discard()
        raise
    report.close()
    write_summary(files.json, summary_for(header_state, journal, files))
    return files, header_state


class LiveRunReport:
    """A new run's report, written while the run goes instead of by reading its journal back.

    Fed every record after the header, in journal order (the runner feeds what it has just
    appended), it writes the same CSV and JSON as `write_run_report` would from the finished
    journal: both go through `Replayer`. Blocking file I/O; the rows are buffered writes, so the
    runner feeds it on the loop thread and finishes it in a worker thread. If the journal could
    not be written completely, `discard` it and use `write_run_report` instead.
    """

    def __init__(self, header: Header, journal: Path, reports_dir: Path) -> None:
        self.journal = journal
        self.files = report_paths(reports_dir, journal.name.removesuffix(".jsonl"))
        self._csv = CsvReport(self.files.csv)
        # Only a resume needs the handled ids, and it reads them back from the journal.
        self._replayer = Replayer(header, on_rows=self._csv.add_rows, track_handled=False)

    def feed(self, records: Iterable[Record]) -> None:
        for record in records:
            self._replayer.feed(record)

    def finish(self) -> tuple[ReportFiles, JournalState]:
        """Close the CSV and write the JSON summary; the same result as `write_run_report`."""
        try:
            state = self._replayer.finish()
        except BaseException:
            self._csv.discard()
            raise
        self._csv.close()
        write_summary(self.files.json, summary_for(state, self.journal, self.files))
        return self.files, state

    def discard(self) -> None:
        self._csv.discard()
