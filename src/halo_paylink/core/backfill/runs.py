"""Past runs, as their journals tell them (`halo-paylink runs`, resume's default choice).

Blocking file reads: call from a worker thread in the GUI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halo_paylink.core.backfill.journal import JOURNAL_SUFFIX, JournalError, RunKind, is_locked
from halo_paylink.core.backfill.outcome import Counts, RunOutcome
from halo_paylink.core.backfill.replay import replay
from halo_paylink.storage.paths import AppPaths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """One past run. `status` is INTERRUPTED when the process died before closing the journal."""

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

    @property
    def resumable(self) -> bool:
        return self.status.resumable and not self.running

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


def list_runs(paths: AppPaths) -> list[RunInfo]:
    """Every readable run, oldest first (run ids sort by start time). Damaged journals are logged
    and left out."""
    folder = paths.journals_dir
    if not folder.is_dir():
        return []
    runs: list[RunInfo] = []
    for path in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
        try:
            runs.append(read_run(path))
        except (JournalError, OSError) as exc:
            log.warning("skipping unreadable journal %s: %s", path.name, exc)
    runs.sort(key=lambda r: (r.started, r.run_id))
    return runs


def latest_resumable(paths: AppPaths) -> RunInfo | None:
    """The most recent run that did not complete (interrupted, cancelled or failed)."""
    candidates = [r for r in list_runs(paths) if r.resumable]
    return candidates[-1] if candidates else None
