"""Backfill rules against the sandbox: selection reasons, conflicts, dry run, other fields."""

from __future__ import annotations

import json

import pytest

from halo_paylink.core.backfill import (
    RunOutcome,
    SkipReason,
    plan_backfill,
    run_backfill,
)
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod

from .conftest import LINK_FIELD, expected_link, halo_client, is_open, settings, snapshot

pytestmark = pytest.mark.anyio

CATEGORY_REASON = {
    seedmod.PAID: SkipReason.PAID,
    seedmod.CREDIT: SkipReason.CREDIT,
    seedmod.VOIDED: SkipReason.VOIDED,
    seedmod.DRAFT: SkipReason.DRAFT,
    seedmod.ZERO_DUE: SkipReason.ZERO_DUE,
    seedmod.NOT_SYNCED: SkipReason.NOT_SYNCED,
    seedmod.LINKED_BENJI: SkipReason.ALREADY_LINKED,
    seedmod.LINKED_OTHER: SkipReason.CONFLICT,
}


def _row_by_id(csv_path) -> dict[int, dict[str, str]]:
    import csv

    with open(csv_path, encoding="utf-8-sig") as handle:
        return {int(r["invoice_id"]): r for r in csv.DictReader(handle)}


async def test_every_reason_and_only_the_link_changes(make_sandbox, paths) -> None:
    box: Sandbox = make_sandbox(invoices=150, seed=3)
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(client, settings(), paths)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    after = snapshot(box)
    rows = _row_by_id(result.report.csv)
    assert set(rows) == set(before)  # one row per invoice
    seen_reasons = set()
    for invoice_id, old in before.items():
        new = after[invoice_id]
        category = box.categories[invoice_id]
        row = rows[invoice_id]
        if category in seedmod.OPEN_NEEDING_LINK:
            assert is_open(old)
            assert new[LINK_FIELD] == expected_link(old)
            assert row["outcome"] == "written"
            assert row["new_value"] == expected_link(old)
        else:
            reason = CATEGORY_REASON[category]
            seen_reasons.add(reason)
            assert new == old, f"{category} invoice {invoice_id} changed"
            assert row["reason"] == reason.value
        # Nothing but the link field differs.
        strip = {k: v for k, v in new.items() if k != LINK_FIELD}
        assert strip == {k: v for k, v in old.items() if k != LINK_FIELD}
    assert seen_reasons == set(CATEGORY_REASON.values())
    assert box.stats.written_more_than_once() == []
    written = sum(1 for c in box.categories.values() if c in seedmod.OPEN_NEEDING_LINK)
    assert result.counts.written == written == len(box.stats.invoices_written)
    assert result.counts.conflicts == sum(
        1 for c in box.categories.values() if c == seedmod.LINKED_OTHER
    )
    summary = json.loads(result.report.json.read_text())
    assert summary["counts"]["written"] == written
    assert summary["outcome"] == "completed"
    # A re-run writes nothing.
    posts = box.stats.invoice_posts
    async with halo_client(box) as client:
        again = await run_backfill(client, settings(), paths)
    assert again.outcome is RunOutcome.COMPLETED
    assert again.counts.written == 0
    assert box.stats.invoice_posts == posts
    assert again.counts.skipped[SkipReason.ALREADY_LINKED.value] == written + sum(
        1 for c in box.categories.values() if c == seedmod.LINKED_BENJI
    )
    assert [r.status for r in list_runs(paths)] == [RunOutcome.COMPLETED] * 2


async def test_dry_run_writes_nothing(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=120)
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await plan_backfill(client, settings(), paths=paths)
    assert result.outcome is RunOutcome.PLANNED
    assert snapshot(box) == before
    assert sum(box.stats.invoices_written.values()) == 0
    assert box.stats.invoice_posts == box.stats.validate_only  # only the validate-only probe
    plan = result.plan
    assert plan is not None
    needing = [i for i, c in box.categories.items() if c in seedmod.OPEN_NEEDING_LINK]
    assert plan.to_write == len(needing)
    assert len(plan.sample) == min(50, len(needing))
    assert all(change.new == expected_link(before[change.id]) for change in plan.sample)
    assert any("sync" in w for w in plan.warnings)
    assert any("generic_online_invoice_payment_url" in w for w in plan.warnings)  # unverified
    assert list_runs(paths) == []  # a plan is not a run


async def test_conflicts_are_left_alone_unless_overwrite(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=100, seed=5)
    others = [i for i, c in box.categories.items() if c == seedmod.LINKED_OTHER]
    assert others
    before = snapshot(box)
    async with halo_client(box) as client:
        first = await run_backfill(client, settings(), paths)
    assert first.counts.conflicts == len(others)
    assert all(snapshot(box)[i] == before[i] for i in others)
    async with halo_client(box) as client:
        second = await run_backfill(client, settings(overwrite=True), paths)
    assert second.counts.written == len(others) == second.counts.overwritten
    after = snapshot(box)
    assert all(after[i][LINK_FIELD] == expected_link(before[i]) for i in others)
    assert box.stats.written_more_than_once() == []


async def test_halo_numbering_and_custom_field_target(make_sandbox, paths) -> None:
    from halo_paylink.domain import Numbering

    box = make_sandbox(invoices=60, seed=7)
    before = snapshot(box)
    target = f"custom:{seedmod.PAYMENT_LINK_CUSTOM_FIELD}"
    async with halo_client(box) as client:
        result = await run_backfill(
            client, settings(numbering=Numbering.HALO, target=target), paths
        )
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    after = snapshot(box)
    # Halo numbering: not-yet-synced invoices are written too.
    assert result.counts.skipped.get(SkipReason.NOT_SYNCED.value, 0) == 0
    for invoice_id, inv in after.items():
        if invoice_id in box.stats.invoices_written:
            fields = {cf["name"]: cf["value"] for cf in inv["customfields"]}
            assert fields[seedmod.PAYMENT_LINK_CUSTOM_FIELD] == expected_link(
                before[invoice_id], Numbering.HALO
            )
            assert inv[LINK_FIELD] == before[invoice_id][LINK_FIELD]
    assert result.counts.written == len(box.stats.invoices_written) > 0
