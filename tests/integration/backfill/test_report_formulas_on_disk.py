"""The run report's CSV, read back from disk after a real run: Halo text that a spreadsheet would
run as a formula (=, +, -, @, tab, CR first) is defused in the file, both in a run's report
(rows written a journal record at a time) and in a plan's (rows written one by one)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from halo_paylink.core.backfill import RunOptions, RunOutcome, plan_backfill, run_backfill
from halo_paylink.sandbox import seed as seedmod

from .conftest import halo_client, settings

pytestmark = pytest.mark.anyio

OPTIONS = RunOptions(batch_size=10, concurrency=2, page_size=25, progress_interval=0.0)
HOSTILE = ['=HYPERLINK("https://evil.example","pay")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def plant(box, count: int) -> dict[int, str]:
    """Give `count` invoices (some to write, some skipped) a hostile client name and number."""
    planted: dict[int, str] = {}
    writable = [i for i, c in box.categories.items() if c in seedmod.OPEN_NEEDING_LINK]
    skipped = [i for i, c in box.categories.items() if c not in seedmod.OPEN_NEEDING_LINK]
    chosen = writable[: count // 2] + skipped[: count - count // 2]
    with box.lock:
        for n, invoice_id in enumerate(chosen):
            text = HOSTILE[n % len(HOSTILE)]
            box.invoices[invoice_id]["client_name"] = text
            box.invoices[invoice_id]["invoicenumber"] = text
            planted[invoice_id] = text
    return planted


def assert_defused(rows: list[dict[str, str]], planted: dict[int, str]) -> None:
    by_id = {int(row["invoice_id"]): row for row in rows}
    assert set(planted) <= set(by_id)
    for invoice_id, text in planted.items():
        assert by_id[invoice_id]["client"] == "'" + text
        assert by_id[invoice_id]["invoice_number"] == "'" + text
    for row in rows:
        for column in ("invoice_number", "client", "reason", "old_value", "new_value"):
            value = row[column]
            assert not (value and value[0] in "=+-@\t\r"), (column, value)


async def test_run_report_on_disk_is_defused(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=31)
    planted = plant(box, 12)
    async with halo_client(box) as client:
        result = await run_backfill(client, settings(), paths, options=OPTIONS)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert result.report is not None
    assert_defused(read_csv(result.report.csv), planted)


async def test_plan_report_on_disk_is_defused(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=32)
    planted = plant(box, 12)
    async with halo_client(box) as client:
        result = await plan_backfill(client, settings(), paths=paths, options=OPTIONS)
    assert result.outcome is RunOutcome.PLANNED, result.detail
    assert result.report is not None
    assert_defused(read_csv(result.report.csv), planted)
