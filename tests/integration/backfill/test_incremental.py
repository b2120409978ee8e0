"""Incremental runs over real HTTP: after a completed run, a later run reads only the invoices
changed since it started (where this Halo filters by change date), never at the price of an open
invoice, and reads everything again when the safety net says so."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from halo_paylink.core.backfill import RunOptions, RunOutcome, run_backfill
from halo_paylink.core.backfill.learning import incremental_blocked
from halo_paylink.core.backfill.tenant import (
    FactId,
    TenantFacts,
    load_tenant_facts,
    save_tenant_facts,
    tenant_file,
)
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, settings
from .test_narrowed_read import run as contract_run

pytestmark = pytest.mark.anyio


async def run(box: Sandbox, paths: AppPaths, **options: Any):  # type: ignore[no-untyped-def]
    """A run held to the contract, incremental unless told otherwise (not narrowed)."""
    settings = {"narrow": False, "incremental": True, "batch_size": 100, **options}
    return await contract_run(box, paths, **settings)


def note(result: Any, start: str) -> str:
    found = [w for w in result.warnings if w.startswith(start)]
    assert found, result.warnings
    return found[0]


async def test_a_second_run_reads_only_what_changed(make_sandbox, paths: AppPaths) -> None:
    box: Sandbox = make_sandbox(invoices=1500, seed=4, stamp_changes=True)
    first = await run(box, paths)
    assert first.outcome is RunOutcome.COMPLETED
    assert "no run has completed" in note(first, "Every posted invoice was read")
    tenant = load_tenant_facts(tenant_file(paths, box.url))
    assert tenant.last_complete_run and tenant.last_full_scan and tenant.runs_since_full == 0

    new = box.add_invoices(20, category=seedmod.UNPAID)
    paid = next(i for i, c in box.categories.items() if c == seedmod.PAID)
    box.set_payment(paid, False)  # an old paid invoice owes again: it changed
    second = await run(box, paths)
    assert second.outcome is RunOutcome.COMPLETED
    assert "rests on an unverified fact" in note(second, "Incremental run")
    assert second.counts.written == len(new) + 1
    # read: what changed since a day before the first run started, which includes the first
    # run's own saves, and not one invoice of the archive besides
    assert second.counts.seen == first.counts.written + len(new) + 1
    assert first.requests and second.requests and second.requests < first.requests / 2
    tenant = load_tenant_facts(tenant_file(paths, box.url))
    assert tenant.runs_since_full == 1 and tenant.value(FactId.FILTER_DATESEARCH) is True
    # the rows the incremental read listed are the latest evidence
    assert tenant.measured[FactId.FILTER_DATESEARCH].how.endswith("none that it keeps out")


async def test_a_build_that_ignores_the_change_date_is_read_whole(
    make_sandbox, paths: AppPaths
) -> None:
    box: Sandbox = make_sandbox(invoices=300, seed=5, stamp_changes=True, honours_new_filters=False)
    await run(box, paths)
    box.add_invoices(5)
    second = await run(box, paths)
    assert second.outcome is RunOutcome.COMPLETED and second.counts.written == 5
    assert "does not filter by change date" in note(second, "Every posted invoice was read")
    tenant = load_tenant_facts(tenant_file(paths, box.url))
    assert tenant.value(FactId.FILTER_DATESEARCH) is False and tenant.runs_since_full == 0


async def test_the_safety_net_reads_everything_after_n_runs(make_sandbox, paths: AppPaths) -> None:
    box: Sandbox = make_sandbox(invoices=200, seed=6, stamp_changes=True)
    await run(box, paths)
    path = tenant_file(paths, box.url)
    tenant = load_tenant_facts(path)
    save_tenant_facts(path, dataclasses.replace(tenant, runs_since_full=facts.FULL_READ_EVERY_RUNS))
    again = await run(box, paths)
    assert "runs in a row" in note(again, "Every posted invoice was read")
    assert load_tenant_facts(path).runs_since_full == 0  # a full read resets the count
    asked = await run(box, paths, full_read=True)
    assert "asked for a full read" in note(asked, "Every posted invoice was read")


async def test_an_unfinished_run_is_no_start_for_the_next(make_sandbox, paths: AppPaths) -> None:
    box: Sandbox = make_sandbox(invoices=200, seed=7, stamp_changes=True)
    box.faults.add(status=503, method="POST", path="/api/invoice", times=None)
    async with halo_client(box) as client:
        failed = await run_backfill(
            client, settings(), paths, options=RunOptions(incremental=True, batch_size=100)
        )
    assert failed.outcome is not RunOutcome.COMPLETED
    assert load_tenant_facts(tenant_file(paths, box.url)).last_complete_run is None


def test_when_an_incremental_read_may_do() -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert incremental_blocked(TenantFacts(), now) is not None
    recent = TenantFacts(last_full_scan="2026-05-20T10:00:00+00:00")
    recent.last_complete_run = "2026-05-30T10:00:00+00:00"
    assert incremental_blocked(recent, now) is None
    old = dataclasses.replace(recent, last_full_scan="2026-04-01T10:00:00+00:00")
    assert "30 days" in (incremental_blocked(old, now) or "")
    odd = dataclasses.replace(recent, last_complete_run="yesterday")
    assert "could not be read" in (incremental_blocked(odd, now) or "")
