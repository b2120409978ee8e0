"""The contract every backfill run is held to, whatever Halo's listing did ("completed is a
promise"), as assertions over the sandbox's ground truth."""

from __future__ import annotations

from typing import Any

from halo_paylink.core.backfill import RunOutcome
from halo_paylink.core.backfill.model import RunResult
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.domain import Numbering
from halo_paylink.sandbox import Sandbox
from halo_paylink.storage.paths import AppPaths

from .conftest import LINK_FIELD, expected_link, snapshot


def wanted_open(box: Sandbox, *, server_filter: bool = False) -> set[int]:
    """Open invoices a run must leave linked: every open one, with the server-side filter too
    (it asks only for posted, non-credit invoices, which every open invoice is)."""
    del server_filter  # the same promise either way
    return box.open_invoice_ids()


def assert_counts_add_up(result: RunResult) -> None:
    c = result.counts
    assert c.seen == (
        c.written + c.failed + c.conflicts + c.skipped_total + c.unknown + c.not_written
    ), c.to_json()


def assert_no_duplicate_or_forbidden_writes(box: Sandbox) -> None:
    twice = {i: n for i, n in box.post_counts().items() if n > 1}
    assert twice == {}, f"invoices written more than once: {twice}"
    assert box.refused_posts() == {}, f"ids <= 0 were POSTed: {box.refused_posts()}"


def assert_all_linked(
    box: Sandbox,
    before: dict[int, dict[str, Any]],
    *,
    server_filter: bool = False,
    numbering: Numbering = Numbering.HALO,
) -> None:
    """Every open invoice now carries a link; those that had none carry the expected one."""
    after = snapshot(box)
    missing = []
    for i in sorted(wanted_open(box, server_filter=server_filter)):
        link = after[i].get(LINK_FIELD)
        old = before[i].get(LINK_FIELD) if i in before else ""
        lost = not link if old else link != expected_link(before[i], numbering)
        if lost:
            missing.append(i)
    assert missing == [], f"{len(missing)} open invoices left without their link: {missing[:20]}"


def assert_failed_only_where_deleted(box: Sandbox, result: RunResult) -> None:
    """Halo refuses (404) a write to an invoice deleted after it was listed: a named failure,
    allowed only for invoices Halo no longer has."""
    import csv

    assert result.report is not None
    with open(result.report.csv, encoding="utf-8-sig", newline="") as handle:
        failed = [int(r["invoice_id"]) for r in csv.DictReader(handle) if r["outcome"] == "failed"]
    assert failed, "completed_with_failures without a failed invoice in the report"
    with box.lock:
        still_there = [i for i in failed if i in box.invoices]
    assert still_there == [], f"Halo refused invoices it still has: {still_there}"


def assert_contract(
    box: Sandbox,
    result: RunResult,
    paths: AppPaths,
    before: dict[int, dict[str, Any]],
    *,
    server_filter: bool = False,
) -> None:
    """The run ended `completed` with every open invoice linked, or `incomplete` (exit 6) and
    resumable; never a duplicate write, never a write to an id <= 0, and the counts add up."""
    assert_counts_add_up(result)
    assert_no_duplicate_or_forbidden_writes(box)
    done = (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES)
    assert result.outcome in (*done, RunOutcome.INCOMPLETE), (
        f"{result.outcome.value}: {result.detail}"
    )
    if result.outcome is RunOutcome.COMPLETED_WITH_FAILURES:
        assert_failed_only_where_deleted(box, result)
    if result.outcome in done:
        c = result.counts
        assert c.unknown == 0 and c.not_written == 0, c.to_json()
        assert_all_linked(box, before, server_filter=server_filter)
    else:
        assert result.outcome.exit_code == 6
        runs = {r.run_id: r for r in list_runs(paths)}
        assert result.run_id in runs
        assert runs[result.run_id].status is RunOutcome.INCOMPLETE
        assert runs[result.run_id].resumable
