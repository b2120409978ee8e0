"""Past runs, as their journals tell them (`halo-paylink runs`, resume's default choice).

Blocking file reads: call from a worker thread in the GUI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halo_paylink.core.backfill.journal import (
    JOURNAL_SUFFIX,
    Header,
    JournalError,
    RunKind,
    is_locked,
    is_run_id,
    read_header,
)
from halo_paylink.core.backfill.outcome import Counts, RunOutcome
from halo_paylink.core.backfill.replay import replay
from halo_paylink.core.backfill.report import report_paths
from halo_paylink.storage.paths import AppPaths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """One past run. `status` is INTERRUPTED when the process died before closing the journal.

    A damaged journal (`damage` set) is listed too, with status LOCAL_ERROR, no counts, and
    `damage` saying where it is damaged and what can still be done; it is not resumable.
    """

    run_id: str
    kind: RunKind
    started: str
    finished: str | None
    status: RunOutcome
    counts: Counts
    web_url: str
    profile: str | None
    target: str
    undo_of: str | None
    attempts: int
    path: Path
    running: bool = False  # another process holds the journal right now
    damage: str = ""  # why the journal cannot be read, and the way forward; "" when readable
    report: Path | None = None  # the run's CSV report, when there is one

    @property
    def damaged(self) -> bool:
        return bool(self.damage)

    @property
    def resumable(self) -> bool:
        return self.status.resumable and not self.running and not self.damaged

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind.value,
            "started": self.started,
            "finished": self.finished,
            "status": self.status.value,
            "resumable": self.resumable,
            "counts": self.counts.to_json(),
            "web_url": self.web_url,
            "profile": self.profile,
            "target": self.target,
            "undo_of": self.undo_of,
            "attempts": self.attempts,
            "running": self.running,
            "journal": str(self.path),
            "damaged": self.damaged,
            "damage": self.damage or None,
            "report": str(self.report) if self.report else None,
        }


def read_run(path: Path) -> RunInfo:
    """Raises JournalError / OSError when the journal cannot be read."""
    state = replay(path)
    header = state.header
    return RunInfo(
        run_id=header.run_id,
        kind=header.kind,
        started=header.started,
        finished=state.finished if state.footer else None,
        status=state.status,
        counts=state.counts,
        web_url=header.web_url,
        profile=header.profile,
        target=header.target,
        undo_of=header.undo_of,
        attempts=state.attempts,
        path=path,
        running=is_locked(path),
    )


def _started_from_id(run_id: str) -> str:
    """The start time a run id encodes (UTC, ISO), for a journal whose header is lost."""
    date, time_, rest = run_id.split("-")
    return (
        f"{date[:4]}-{date[4:6]}-{date[6:]}T{time_[:2]}:{time_[2:4]}:{time_[4:]}.{rest[:3]}+00:00"
    )


def damaged_run(path: Path, reports_dir: Path, error: Exception) -> RunInfo:
    """A `RunInfo` for a journal that cannot be replayed: what is known, and the way forward."""
    run_id = path.stem
    header: Header | None = None
    try:
        header = read_header(path)
    except (JournalError, OSError):
        header = None
    report = report_paths(reports_dir, run_id).csv
    has_report = report.is_file()
    line = getattr(error, "line", None)
    where = f"journal damaged at line {line}" if line else f"journal unreadable ({error})"
    forward = (
        f"the report at {report} still lists what was written"
        if has_report
        else "no report was written; the links this run set can be seen on the invoices in Halo"
    )
    damage = (
        f"{where}; this run cannot be resumed or undone, and {forward}. Start a new backfill to "
        "finish the work: invoices that already have the link are left as they are."
    )
    return RunInfo(
        run_id=run_id,
        kind=header.kind if header else RunKind.BACKFILL,
        started=header.started if header else _started_from_id(run_id),
        finished=None,
        status=RunOutcome.LOCAL_ERROR,
        counts=Counts(),
        web_url=header.web_url if header else "",
        profile=header.profile if header else None,
        target=header.target if header else "",
        undo_of=header.undo_of if header else None,
        attempts=0,
        path=path,
        running=is_locked(path),
        damage=damage,
        report=report if has_report else None,
    )


def list_runs(paths: AppPaths) -> list[RunInfo]:
    """Every run, oldest first (run ids sort by start time). A damaged journal is listed as
    damaged (see `RunInfo.damage`); files whose name is not a run id are not runs and are left
    out."""
    folder = paths.journals_dir
    if not folder.is_dir():
        return []
    runs: list[RunInfo] = []
    for path in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
        if not is_run_id(path.stem):
            continue
        try:
            runs.append(read_run(path))
        except (JournalError, OSError) as exc:
            log.info("damaged journal %s: %s", path.name, exc)  # shown in the listing
            runs.append(damaged_run(path, paths.reports_dir, exc))
    runs.sort(key=lambda r: (r.started, r.run_id))
    return runs


def latest_resumable(paths: AppPaths) -> RunInfo | None:
    """The most recent run that did not complete (interrupted, cancelled or failed)."""
    candidates = [r for r in list_runs(paths) if r.resumable]
    return candidates[-1] if candidates else None
