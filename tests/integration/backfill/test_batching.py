"""Batch sizes over real HTTP: a run's writes grow toward 100 invoices per POST while the sandbox
answers quickly, and a fixed `batch_size` is kept exactly."""

from __future__ import annotations

import math

import pytest

from halo_paylink.core.backfill import RunOptions, RunOutcome, run_backfill
from halo_paylink.domain import Numbering
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox.server import INVOICE_POST
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, settings

pytestmark = pytest.mark.anyio


def posts(box: Sandbox) -> int:
    with box.stats.lock:
        return sum(n for (_, kind, _), n in box.stats.by_kind.items() if kind == INVOICE_POST)


def adaptive_posts(written: int) -> int:
    """50 first, then 100 per POST (one batch in flight, so each answer comes before the next)."""
    return 0 if written == 0 else 1 + math.ceil(max(0, written - 50) / 100)


@pytest.mark.parametrize("concurrency", [1])
async def test_batches_grow_to_one_hundred(make_sandbox, paths: AppPaths, concurrency: int) -> None:
    box = make_sandbox(invoices=1200)
    async with halo_client(box) as client:
        result = await run_backfill(
            client, settings(), paths, options=RunOptions(concurrency=concurrency)
        )
    assert result.outcome is RunOutcome.COMPLETED
    written = result.counts.written
    assert written > 300  # enough to see the growth
    assert posts(box) == adaptive_posts(written)
    assert set(box.post_counts().values()) == {1}  # every invoice saved exactly once


async def test_a_fixed_batch_size_is_kept(make_sandbox, paths: AppPaths) -> None:
    box = make_sandbox(invoices=300)
    async with halo_client(box) as client:
        result = await run_backfill(
            client, settings(), paths, options=RunOptions(batch_size=40, concurrency=1)
        )
    assert result.outcome is RunOutcome.COMPLETED
    assert posts(box) == math.ceil(result.counts.written / 40)


async def test_a_batch_answered_with_one_object_is_confirmed_by_reading_back(
    make_sandbox, paths: AppPaths
) -> None:
    """Halo answering a batch POST with one object (the 2026 API description's answer): the
    run still counts no save Halo did not show, reads the rest back, and completes."""
    from halo_paylink.sandbox import seed as seedmod

    from .conftest import snapshot
    from .contract import assert_contract

    box: Sandbox = make_sandbox(invoices=600, seed=3, update_answer="one")
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(
            client,
            settings(numbering=Numbering.HALO),
            paths,
            options=RunOptions(batch_size=100, concurrency=1),
        )
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert_contract(box, result, paths, before)
    wanted = sum(1 for c in box.categories.values() if c in seedmod.OPEN_NEEDING_LINK)
    assert result.counts.written >= wanted - result.counts.conflicts
    assert posts(box) >= 2  # many items a POST, each POST answered with one object
    assert max(box.post_counts().values()) == 1  # nothing written twice to confirm it


async def test_the_sandbox_answers_a_batch_with_one_object(make_sandbox) -> None:
    box: Sandbox = make_sandbox(invoices=20, update_answer="one")
    ids = sorted(box.open_invoice_ids())[:3]
    async with halo_client(box) as client:
        answer = await client.update_invoices(
            [{"id": i, "generic_online_invoice_payment_url": f"https://x.example/{i}"} for i in ids]
        )
    assert [a["id"] for a in answer] == [ids[-1]]  # one object: the last invoice as saved
    assert set(box.post_counts()) == set(ids)  # all three saved, one shown
