"""A run's waits on Halo's rate limit, on a virtual clock: shown with the time they end, counted
in the time left before they start, and ended at once by Stop.

`PacedHalo` is an in-memory Halo whose every request takes a slot of a real `RateLimiter`, as
`HaloClient` does, so a small budget (3 requests per 5 minutes) makes a run wait five minutes
after three pages. The clock is virtual (`fakes.VirtualClock`): a wait lasts until the test moves
time on, so "how long did Stop take" is measured in virtual seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from fakes import VirtualClock
from halo_paylink.core.backfill import runner
from halo_paylink.core.backfill.model import BackfillSettings, RunOptions, RunResult
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.progress import CancelToken, Progress
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.halo.models import Invoice, InvoicePage
from halo_paylink.halo.ratelimit import PACING_REASON, RateLimiter
from halo_paylink.storage.paths import AppPaths
from unit.test_backfill_completion import T, invoice

OPTIONS = RunOptions(batch_size=10, concurrency=2, page_size=10, progress_interval=0)


class PacedHalo:
    """An in-memory Halo (an `InvoiceSource`) paced by `limiter`: one slot per request."""

    def __init__(self, count: int, limiter: RateLimiter) -> None:
        self.rows = {i: invoice(i) for i in range(1, count + 1)}
        self.limiter = limiter
        self.endpoints = None

    async def _request(self) -> None:
        self.limiter.done(await self.limiter.acquire())

    async def invoice_pages(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int = 100,
        start_page: int = 1,
    ) -> AsyncIterator[InvoicePage]:
        from halo_paylink.halo.client import HaloClient

        ids = sorted(self.rows, reverse=True)
        page_no = start_page
        while True:
            await self._request()
            chunk = [dict(self.rows[i]) for i in ids[(page_no - 1) * page_size :][:page_size]]
            parsed, odd, count = HaloClient._parse_envelope(
                {"record_count": len(ids), "invoices": chunk}
            )
            yield InvoicePage(page_no, page_size, count, parsed, odd)
            if len(chunk) < page_size:
                return
            page_no += 1

    async def get_invoice(self, invoice_id: int) -> Invoice:
        await self._request()
        return Invoice(invoice_id, dict(self.rows[invoice_id]))

    async def update_invoices(self, changes: Any) -> list[Mapping[str, Any]]:
        await self._request()
        for change in changes:
            self.rows[change["id"]].update(change)
        return [dict(self.rows[int(c["id"])]) for c in changes]

    async def validate_invoice_edit(self, invoice_id: int) -> None:
        return None


async def settle(until: Callable[[], bool] = lambda: False, rounds: int = 2000) -> None:
    """Let every task run until `until()` or the loop has nothing left to do on this clock.

    File writes go to worker threads, so a round yields to the loop for a moment of real time;
    no assertion depends on how long that takes."""
    for _ in range(rounds):
        if until():
            return
        await asyncio.sleep(0.001)


async def stop_during_the_wait(
    start: Callable[[CancelToken, list[Progress], VirtualClock, PacedHalo], Any],
) -> tuple[RunResult, list[Progress], float]:
    """Start a run on a 3-per-5-minutes budget, press Stop 10 s into its first long wait, and
    give it virtual time in tenths of a second until it ends. Returns the result, the progress
    it reported and the virtual seconds from Stop to the end."""
    clock = VirtualClock()
    limiter = RateLimiter(3, 300, clock=clock, sleep=clock.sleep)
    halo = PacedHalo(100, limiter)
    cancel = CancelToken()
    seen: list[Progress] = []
    task = asyncio.ensure_future(start(cancel, seen, clock, halo))
    await settle(lambda: limiter.waiting is not None and limiter.waiting.seconds > 60)
    wait = limiter.waiting
    assert wait is not None and wait.reason == PACING_REASON
    clock.advance(10)
    await settle(rounds=20)
    stopped = clock.now
    cancel.cancel()
    await settle(task.done, rounds=200)
    while not task.done():
        clock.advance(0.1)
        await settle(task.done, rounds=50)
    return task.result(), seen, clock.now - stopped


def dry_run(cancel: CancelToken, seen: list[Progress], clock: VirtualClock, halo: PacedHalo) -> Any:
    return runner.plan_backfill(
        halo,
        BackfillSettings(T),
        options=OPTIONS,
        on_progress=seen.append,
        cancel=cancel,
        clock=clock,
    )


def test_stop_during_a_five_minute_wait_ends_a_dry_run_at_once() -> None:
    result, seen, took = asyncio.run(stop_during_the_wait(dry_run))
    assert took < 0.5, f"Stop took {took:.1f} virtual seconds"
    assert result.outcome is RunOutcome.CANCELLED
    assert result.detail == runner.PLAN_STOPPED_DETAIL  # a dry run is run again, not resumed
    assert seen[-1].eta_seconds is None  # nothing is "left" once it has stopped


def test_stop_during_a_five_minute_wait_ends_a_run_at_once_and_it_resumes(
    tmp_path: Path,
) -> None:
    paths = AppPaths.under(tmp_path / "home")

    def start(cancel: CancelToken, seen: list[Progress], clock: VirtualClock, halo: PacedHalo):
        return runner.run_backfill(
            halo,
            BackfillSettings(T),
            paths,
            options=OPTIONS,
            on_progress=seen.append,
            cancel=cancel,
            clock=clock,
        )

    result, _, took = asyncio.run(stop_during_the_wait(start))
    assert took < 0.5, f"Stop took {took:.1f} virtual seconds"
    assert result.outcome is RunOutcome.CANCELLED
    assert result.detail == runner.STOPPED_DETAIL
    assert [r.resumable for r in list_runs(paths)] == [True]


def test_the_wait_is_shown_with_its_end_and_counted_in_the_time_left() -> None:
    _, seen, _ = asyncio.run(stop_during_the_wait(dry_run))
    waiting = [p for p in seen if p.wait_seconds is not None]
    assert waiting
    before = [p for p in seen[: seen.index(waiting[0])] if p.total and p.done]
    # 20 of 100 read and the third page asked for: 8 more requests at 3 per 5 minutes, so about
    # 15 minutes left (20 minutes by this pace's count of requests per invoice), never
    # "about 0 s" (the pages took no time at all).
    first = before[-1]
    assert first.done == 20 and first.eta_seconds is not None
    assert 800 <= first.eta_seconds <= 1300, first.eta_seconds
    shown = waiting[0]
    assert shown.wait_ends_at is not None and shown.eta_seconds is not None
    assert shown.eta_seconds >= shown.wait_seconds  # the wait in progress is in the time left
    assert "resuming at " in shown.wait_line and "(in 5:00)" in shown.wait_line


@pytest.mark.anyio
async def test_a_stop_asked_before_a_wait_starts_means_no_wait() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(1, 300, clock=clock, sleep=clock.sleep)
    limiter.should_stop = lambda: True
    task = asyncio.ensure_future(limiter.pause(300, PACING_REASON))
    for _ in range(20):
        await asyncio.sleep(0)
    assert task.done(), "a wait started although the run was asked to stop"
    with pytest.raises(Exception, match="Stopped while waiting"):
        task.result()
    assert clock.sleeping == 0


@pytest.mark.anyio
async def test_interrupt_without_a_stop_lets_the_wait_go_on() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(1, 300, clock=clock, sleep=clock.sleep)
    limiter.should_stop = lambda: False
    task = asyncio.ensure_future(limiter.pause(5, PACING_REASON))
    await asyncio.sleep(0)
    limiter.interrupt()
    await asyncio.sleep(0)
    assert not task.done()
    while not task.done() and clock.now < 1100:
        clock.advance(1)
        for _ in range(20):
            await asyncio.sleep(0)
    assert task.done() and task.exception() is None
    assert clock.now == 1005  # the whole wait, no more and no less


def test_the_cli_progress_line_says_until_when_it_waits_and_the_time_left() -> None:
    import io
    from datetime import datetime

    from halo_paylink.cli.backfill import ProgressBar
    from halo_paylink.core.backfill.progress import Phase
    from halo_paylink.core.numbers import format_count
    from halo_paylink.halo.ratelimit import HOLD_OFF_REASON

    stream = io.StringIO()
    ends = 1_800_000_000.0
    ProgressBar(stream)(
        Progress(
            phase=Phase.PLANNING,
            done=28_500,
            total=40_000,
            eta_seconds=360.0,
            wait_seconds=238,
            wait_reason=HOLD_OFF_REASON,
            wait_ends_at=ends,
        )
    )
    line = stream.getvalue()
    assert f"Halo's rate limit: resuming at {datetime.fromtimestamp(ends):%H:%M} (in 3:58)" in line
    assert "6 min 00 s left" in line
    assert f"{format_count(28_500)}/{format_count(40_000)}" in line  # grouped one way
