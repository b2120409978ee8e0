"""One odd record costs only itself.

Recurring-invoice templates (ids <= 0, looking open) are skipped as `not_an_invoice` and never
POSTed; records that cannot be read safely (a non-integer id, NaN/Infinity/text amounts, custom
fields that are not a list, a missing `total` or `posted`, an object where a number or text
belongs) are skipped as `unreadable`. Either way the run completes, every real open invoice is
linked, and each odd record is named in the counts and in the CSV report.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from halo_paylink.core.backfill import (
    RunOptions,
    RunOutcome,
    SkipReason,
    plan_backfill,
    run_backfill,
)
from halo_paylink.domain import Numbering
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox import seed as seedmod
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, snapshot
from .conftest import settings as backfill_settings
from .contract import assert_all_linked, assert_contract, assert_counts_add_up

pytestmark = pytest.mark.anyio

OPTIONS = RunOptions(batch_size=10, concurrency=2, page_size=25, progress_interval=0.0)
NOT_AN_INVOICE = SkipReason.NOT_AN_INVOICE.value
UNREADABLE = SkipReason.UNREADABLE.value


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _settings():
    return backfill_settings(numbering=Numbering.HALO)


async def test_recurring_templates_are_skipped_and_never_posted(make_sandbox, paths) -> None:
    """100 templates with negative ids that look open: none is written, every open invoice is."""
    box: Sandbox = make_sandbox(invoices=300, seed=31, templates=100)
    before = snapshot(box)
    templates = {i for i in box.invoices if i < 0}
    assert len(templates) == 100
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(), paths, options=OPTIONS)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert_contract(box, result, paths, before)
    assert box.refused_posts() == {}
    assert not templates & set(box.post_counts())
    assert result.counts.skipped.get(NOT_AN_INVOICE) == 100
    rows = _csv_rows(result.report.csv)
    named = {int(r["invoice_id"]) for r in rows if r["reason"] == NOT_AN_INVOICE}
    assert named == templates


async def test_a_template_among_open_invoices_does_not_sink_its_batch(make_sandbox, paths) -> None:
    """One template between open invoices (same batch) costs only itself."""
    box: Sandbox = make_sandbox(invoices=40, seed=32)
    before = snapshot(box)
    box.add_record(0, seedmod.template_invoices(1)[-1] | {"id": 0}, seedmod.TEMPLATE)
    box.add_templates(3)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(), paths, options=OPTIONS)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert_contract(box, result, paths, before)
    assert result.counts.skipped.get(NOT_AN_INVOICE) == 4


async def test_odd_records_are_named_unreadable_and_the_run_completes(make_sandbox, paths) -> None:
    box: Sandbox = make_sandbox(invoices=120, seed=33, odd_records=True)
    before = {i: inv for i, inv in snapshot(box).items() if i >= seedmod.FIRST_INVOICE_ID}
    odd = box.odd_ids
    assert set(odd) == set(seedmod.ODD_KINDS)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(), paths, options=OPTIONS)
    assert result.outcome is RunOutcome.COMPLETED, f"{result.outcome.value}: {result.detail}"
    assert_contract(box, result, paths, before)
    assert result.counts.skipped.get(UNREADABLE) == len(seedmod.ODD_KINDS)
    assert not set(odd.values()) & set(box.post_counts()), "an odd record was written"
    rows = _csv_rows(result.report.csv)
    # The reason names the skip, then says what is wrong with the record.
    unreadable = [r for r in rows if r["reason"].split(":")[0] == UNREADABLE]
    assert all(r["reason"].startswith(f"{UNREADABLE}: ") for r in unreadable)
    assert len(unreadable) == len(seedmod.ODD_KINDS)
    with_integer_id = {
        str(key) for kind, key in odd.items() if kind not in seedmod.ODD_NON_INTEGER_IDS
    }
    assert with_integer_id <= {r["invoice_id"] for r in unreadable}


async def test_dry_run_names_odd_records_too(make_sandbox, paths) -> None:
    """The plan reads the same records: no internal error, each odd record named."""
    box: Sandbox = make_sandbox(invoices=60, seed=34, odd_records=True, templates=5)
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await plan_backfill(client, _settings(), paths=paths, options=OPTIONS)
    assert result.outcome is RunOutcome.PLANNED, f"{result.outcome.value}: {result.detail}"
    assert_counts_add_up(result)
    assert result.counts.skipped.get(UNREADABLE) == len(seedmod.ODD_KINDS)
    assert result.counts.skipped.get(NOT_AN_INVOICE) == 5
    assert snapshot(box) == before
    assert box.post_counts() == {} and box.refused_posts() == {}
    assert result.report is not None
    reasons = [r["reason"].split(":")[0] for r in _csv_rows(result.report.csv)]
    assert reasons.count(UNREADABLE) == len(seedmod.ODD_KINDS)
    assert reasons.count(NOT_AN_INVOICE) == 5


@settings(
    max_examples=12,
    deadline=None,
    # Each example is a whole backfill: no shrinking, so a failure is reported in seconds.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.sampled_from(seedmod.ODD_KINDS), min_size=1, max_size=8),
    templates=st.integers(0, 30),
    slots=st.lists(st.integers(0, 79), min_size=8, max_size=8, unique=True),
    batch_size=st.integers(1, 25),
)
def test_any_mix_of_odd_records_costs_only_themselves(
    paths: AppPaths, kinds: list[str], templates: int, slots: list[int], batch_size: int
) -> None:
    """Whatever odd records sit wherever among the invoices, and whatever the batch size: the run
    completes, every real open invoice is linked, each odd record is named, none is written."""

    async def scenario() -> None:
        with Sandbox(SandboxConfig(invoices=80, seed=35, templates=templates)) as box:
            before = snapshot(box)
            # Odd records take the places of seeded invoices (so they sit between real ones).
            odd_keys = []
            for kind, slot in zip(kinds, slots, strict=False):
                key = seedmod.FIRST_INVOICE_ID + slot
                with box.lock:
                    box.invoices.pop(key)
                    before.pop(key)
                box.add_record(key, seedmod.odd_record(kind, key, slot))
                odd_keys.append(key)
            options = RunOptions(
                batch_size=batch_size, concurrency=2, page_size=25, progress_interval=0.0
            )
            async with halo_client(box) as client:
                result = await run_backfill(client, _settings(), paths, options=options)
            assert result.outcome is RunOutcome.COMPLETED, (
                f"{result.outcome.value}: {result.detail}"
            )
            assert_contract(box, result, paths, before)
            assert result.counts.skipped.get(UNREADABLE, 0) == len(odd_keys)
            assert result.counts.skipped.get(NOT_AN_INVOICE, 0) == templates
            assert not set(odd_keys) & set(box.post_counts())
            assert_all_linked(box, before)

    asyncio.run(scenario())
