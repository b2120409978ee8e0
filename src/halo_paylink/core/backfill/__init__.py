"""Backfill: put the Benji Pays link on every open Halo invoice, safely (no Qt).

Public API (see `runner` for the entry points' contracts, `model` for the value types):
`BackfillSettings`, `RunOptions`, `plan_backfill`, `run_backfill`, `resume_run`, `undo_run`,
`RunResult`, `RunOutcome`, `Counts`, `Plan`, `Progress`, `Phase`, `CancelToken`, `SkipReason`,
`LinkTarget` / `parse_link_target`, `list_runs` / `latest_resumable`.
"""

from halo_paylink.core.backfill.model import (
    BackfillError,
    BackfillSettings,
    Plan,
    PlannedChange,
    RunOptions,
    RunResult,
)
from halo_paylink.core.backfill.outcome import Counts, RunOutcome
from halo_paylink.core.backfill.progress import CancelToken, Phase, Progress
from halo_paylink.core.backfill.runner import plan_backfill, resume_run, run_backfill, undo_run
from halo_paylink.core.backfill.runs import RunInfo, latest_resumable, list_runs
from halo_paylink.core.backfill.selection import SkipReason
from halo_paylink.core.backfill.target import LinkTarget, parse_link_target

__all__ = [
    "BackfillError",
    "BackfillSettings",
    "CancelToken",
    "Counts",
    "LinkTarget",
    "Phase",
    "Plan",
    "PlannedChange",
    "Progress",
    "RunInfo",
    "RunOptions",
    "RunOutcome",
    "RunResult",
    "SkipReason",
    "latest_resumable",
    "list_runs",
    "parse_link_target",
    "plan_backfill",
    "resume_run",
    "run_backfill",
    "undo_run",
]
