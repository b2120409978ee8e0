"""Failures mid-run: each ends in a named outcome, the journal stays consistent, resume finishes
with every open invoice written exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from halo_paylink.core.backfill import (
    CancelToken,
    Phase,
    Progress,
    RunOptions,
    RunOutcome,
    resume_run,
    run_backfill,
    undo_run,
)
from halo_paylink.core.backfill.journal import journal_path
from halo_paylink.core.backfill.runs import latest_resumable, list_runs
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod

from .conftest import LINK_FIELD, expected_link, halo_client, settings, snapshot

pytestmark = pytest.mark.anyio

SMALL = RunOptions(batch_size=10, concurrency=2, page_size=25, progress_interval=0.0)


class VirtualClock:
    """Long waits pass in virtual time; a little real time passes too (the sandbox's window is
    real), at most 0.05 s per sleep (a watched wait sleeps in one-second ticks)."""

    def __init__(self) -> None:
        self.time = 0.0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += max(seconds, 0.0)
        await asyncio.sleep(min(max(seconds, 0.0), 0.05))


def needing(box: Sandbox) -> set[int]:
    return {i for i, c in box.categories.items() if c in seedmod.OPEN_NEEDING_LINK}


def assert_all_written_once(box: Sandbox, before: dict[int, dict[str, Any]]) -> None:
    after = snapshot(box)
    wanted = needing(box)
    assert set(box.stats.invoices_written) == wanted, "missed or extra invoices"
    assert box.stats.written_more_than_once() == []
    for i in wanted:
        assert after[i][LINK_FIELD] == expected_link(before[i])


async def test_rejected_invoice_is_isolated_by_bisection(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=80, seed=2)
    victim = sorted(needing(box))[-4]  # listed on the first page (newest first)

    class DeletingClient(HaloClient):
        """Deletes one invoice after it was listed, before the first write (Halo answers 404)."""

        async def update_invoices(self, changes: Any) -> Any:
            with box.lock:
                box.invoices.pop(victim, None)
            return await super().update_invoices(changes)

    before = snapshot(box)
    async with halo_client(box, client_cls=DeletingClient) as client:
        result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.COMPLETED_WITH_FAILURES
    assert result.counts.failed == 1
    assert set(box.stats.invoices_written) == needing(box) - {victim}
    assert box.stats.written_more_than_once() == []
    after = snapshot(box)
    for i in needing(box) - {victim}:
        assert after[i][LINK_FIELD] == expected_link(before[i])
    rows = result.report.csv.read_text(encoding="utf-8")
    assert f"{victim},INV-{victim:06d}" in rows and "not_found" in rows


async def test_rate_limit_storm_is_absorbed(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, rate_limit=(6, 0.5), send_retry_after=True)
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert box.stats.rate_limited > 0  # the storm happened and was handled
    assert_all_written_once(box, before)


async def test_rate_limit_without_retry_after(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, rate_limit=(6, 0.2), send_retry_after=False)
    before = snapshot(box)
    clock = VirtualClock()
    limiter = RateLimiter(None, 1.0, clock=clock.now, sleep=clock.sleep)
    async with halo_client(box, limiter=limiter) as client:
        result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert box.stats.rate_limited > 0
    assert clock.time >= 30.0  # it waited the fallback, not a quick retry loop
    assert_all_written_once(box, before)


async def test_token_expiry_mid_run_is_transparent(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60)
    before = snapshot(box)
    expired = False

    def on_progress(progress: Progress) -> None:
        nonlocal expired
        if progress.written and not expired:
            expired = True
            box.expire_tokens()  # the next request gets 401; the client refreshes once

    async with halo_client(box) as client:
        result = await run_backfill(
            client, settings(), paths, options=SMALL, on_progress=on_progress
        )
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert expired and box.stats.tokens_issued >= 2
    assert_all_written_once(box, before)


async def test_forbidden_mid_run_then_resume(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=100, seed=4)
    before = snapshot(box)
    fault = box.faults.add(status=403, method="POST", path="/api/invoice", after=2, times=None)
    async with halo_client(box) as client:
        result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.PERMISSION_DENIED
    assert fault.fired >= 1
    written_first = set(box.stats.invoices_written)
    assert 0 < len(written_first) < len(needing(box))
    assert result.counts.not_written > 0 and result.counts.unknown == 0
    assert latest_resumable(paths).run_id == result.run_id
    box.faults.clear()
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, options=SMALL)
    assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
    assert resumed.run_id == result.run_id
    assert resumed.counts.written == len(needing(box))
    assert resumed.counts.not_written == 0
    assert_all_written_once(box, before)


async def test_secret_revoked_mid_run_then_resume_with_a_new_secret(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=100, seed=12)
    before = snapshot(box)
    old_secret = box.config.client_secret
    revoked = False

    def on_progress(progress: Progress) -> None:
        nonlocal revoked
        if progress.written and not revoked:
            revoked = True
            box.revoke(box.config.client_id)  # tokens die; new token requests: invalid_client

    async with halo_client(box) as client:
        result = await run_backfill(
            client, settings(), paths, options=SMALL, on_progress=on_progress
        )
    assert revoked
    assert result.outcome is RunOutcome.AUTH_FAILED, result.detail
    assert result.outcome.resumable
    assert old_secret not in result.detail
    written_first = set(box.stats.invoices_written)
    assert 0 < len(written_first) < len(needing(box))
    # the admin generates a new secret on the same application and resumes
    new_secret = "regenerated-secret-after-revoke"
    box.add_application(box.config.client_id, new_secret)
    box.config.client_secret = new_secret
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, options=SMALL)
    assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
    assert resumed.run_id == result.run_id
    assert_all_written_once(box, before)
    journal = journal_path(paths.journals_dir, result.run_id).read_text(encoding="utf-8")
    assert old_secret not in journal and new_secret not in journal


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"status": 503, "times": None}, RunOutcome.SERVER_ERROR),
        ({"malformed": True, "times": None}, RunOutcome.MALFORMED_RESPONSE),
        ({"drop": True, "times": None}, RunOutcome.NETWORK_ERROR),
        ({"status": 429, "times": None}, RunOutcome.RATE_LIMITED),  # no Retry-After
    ],
)
async def test_named_failures_then_resume(make_sandbox, paths, fault, outcome) -> None:
    box = make_sandbox(invoices=70, seed=6)
    before = snapshot(box)
    box.faults.add(method="POST", path="/api/invoice", after=2, **fault)
    clock = VirtualClock()  # the 30 s waits after a 429 without Retry-After pass instantly
    limiter = RateLimiter(None, 1.0, clock=clock.now, sleep=clock.sleep)
    async with halo_client(box, limiter=limiter) as client:
        client.max_retries = 2
        result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is outcome, result.detail
    assert result.error is not None
    assert result.outcome.resumable
    box.faults.clear()
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, result.run_id, options=SMALL)
    assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
    assert resumed.counts.unknown == 0 and resumed.counts.not_written == 0
    assert_all_written_once(box, before)


async def test_edit_posted_forbidden_is_named_and_resumable(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=50, forbid_editing_posted=True)
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.EDIT_POSTED_FORBIDDEN
    assert snapshot(box) == before
    box.config.forbid_editing_posted = False
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, options=SMALL)
    assert resumed.outcome is RunOutcome.COMPLETED
    assert_all_written_once(box, before)


async def test_cancel_then_resume(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=120, seed=8)
    before = snapshot(box)
    cancel = CancelToken()
    phases: list[Phase] = []

    def on_progress(progress: Progress) -> None:
        phases.append(progress.phase)
        if progress.written >= 10:
            cancel.cancel()

    async with halo_client(box) as client:
        result = await run_backfill(
            client, settings(), paths, options=SMALL, on_progress=on_progress, cancel=cancel
        )
    assert result.outcome is RunOutcome.CANCELLED
    assert phases[-1] is Phase.CANCELLED
    assert 10 <= len(box.stats.invoices_written) < len(needing(box))
    assert result.counts.unknown == 0  # stopped between batches: nothing in doubt
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, options=SMALL)
    assert resumed.outcome is RunOutcome.COMPLETED
    assert_all_written_once(box, before)
    assert [r.status for r in list_runs(paths)] == [RunOutcome.COMPLETED]


async def test_task_cancel_leaves_journal_resumable(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=90, seed=9)
    before = snapshot(box)
    box.faults.add(delay=0.3, method="POST", path="/api/invoice", times=None)
    async with halo_client(box) as client:
        first_write = asyncio.Event()

        def on_progress(progress: Progress) -> None:
            if progress.written:
                first_write.set()

        task = asyncio.create_task(
            run_backfill(client, settings(), paths, options=SMALL, on_progress=on_progress)
        )
        await asyncio.wait_for(first_write.wait(), timeout=30)
        task.cancel()  # while later batches are in flight (each POST takes 0.3 s)
        with pytest.raises(asyncio.CancelledError):
            await task
    box.faults.clear()
    run = list_runs(paths)[0]
    assert run.status is RunOutcome.CANCELLED
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, options=SMALL)
    assert resumed.outcome is RunOutcome.COMPLETED
    assert_all_written_once(box, before)


async def test_undo_restores_exactly_and_skips_changed(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=90, seed=10)
    before = snapshot(box)
    async with halo_client(box) as client:
        run = await run_backfill(client, settings(overwrite=True), paths, options=SMALL)
    assert run.outcome is RunOutcome.COMPLETED
    touched = sorted(box.stats.invoices_written)
    changed = touched[0]
    with box.lock:
        box.invoices[changed][LINK_FIELD] = "https://pay.example.com/edited-by-hand"
    seen = []
    async with halo_client(box) as client:
        undo = await undo_run(client, paths, run.run_id, options=SMALL, on_progress=seen.append)
    assert undo.outcome is RunOutcome.COMPLETED, undo.detail
    assert undo.counts.written == len(touched) - 1
    # progress counts the invoices to restore, so a finished undo reads 100%
    assert seen[-1].total == len(touched)
    assert seen[-1].done == len(touched)
    assert undo.counts.skipped == {"changed_since": 1}
    after = snapshot(box)
    for invoice_id, invoice in before.items():
        if invoice_id == changed:
            assert after[invoice_id][LINK_FIELD] == "https://pay.example.com/edited-by-hand"
        else:
            assert after[invoice_id] == invoice
    kinds = [r.kind.value for r in list_runs(paths)]
    assert kinds == ["backfill", "undo"]
    assert journal_path(paths.journals_dir, undo.run_id).exists()
