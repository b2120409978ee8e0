"""halo.ratelimit: rolling-window maths on a fake clock (no real waiting)."""

from __future__ import annotations

import asyncio

import pytest

from fakes import FakeClock
from halo_paylink.halo import facts
from halo_paylink.halo.ratelimit import RateLimiter


@pytest.mark.anyio
async def test_within_budget_no_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 10, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert clock.sleeps == []
    assert limiter.in_window() == 3


@pytest.mark.anyio
async def test_rolling_window_waits_for_oldest_start_to_expire() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(3, 10, clock=clock, sleep=clock.sleep)
    await limiter.acquire()  # t=0
    clock.now = 4.0
    await limiter.acquire()  # t=4
    clock.now = 6.0
    await limiter.acquire()  # t=6
    clock.now = 7.0
    await limiter.acquire()  # full: waits until t=10 (the t=0 start leaves the window)
    assert clock.sleeps == [pytest.approx(3.0)]
    assert clock.now == pytest.approx(10.0)
    await limiter.acquire()  # waits for the t=4 start: until 14
    assert clock.sleeps[-1] == pytest.approx(4.0)
    assert clock.now == pytest.approx(14.0)
    assert limiter.in_window() == 3  # starts at 6, 10, 14


@pytest.mark.anyio
async def test_concurrent_tasks_share_one_budget() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(2, 5, clock=clock, sleep=clock.sleep)
    starts: list[float] = []

    async def worker() -> None:
        await limiter.acquire()
        starts.append(clock.now)

    await asyncio.gather(*(worker() for _ in range(6)))
    assert sorted(starts) == [0, 0, 5, 5, 10, 10]
    # any 5-second window holds at most 2 starts
    for t in starts:
        assert sum(1 for s in starts if t <= s < t + 5) <= 2


@pytest.mark.anyio
async def test_hold_off_blocks_everyone_even_unlimited() -> None:
    clock = FakeClock(100.0)
    limiter = RateLimiter.unlimited(clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    limiter.hold_off(30)
    limiter.hold_off(5)  # never shortens an existing hold
    await limiter.acquire()
    assert clock.sleeps == [30]
    assert clock.now == 130
    await limiter.acquire()
    assert clock.sleeps == [30]


@pytest.mark.anyio
async def test_hold_off_then_window() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(1, 10, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    limiter.hold_off(3)
    await limiter.acquire()  # hold-off to t=3, then window to t=10
    assert clock.sleeps == [3, 7]


def test_hosted_and_unlimited_presets() -> None:
    hosted = RateLimiter.hosted()
    assert hosted.max_requests == facts.HOSTED_RATE_LIMIT_REQUESTS == 300
    assert hosted.window_seconds == facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS == 300
    assert RateLimiter.unlimited().max_requests is None


@pytest.mark.parametrize(
    ("spec", "requests", "seconds"),
    [
        ("300/300", 300, 300.0),
        (" 10 / 2.5 ", 10, 2.5),
        ("300/5m", 300, 300.0),
        ("100/1h", 100, 3600.0),
        ("60/60s", 60, 60.0),
        ("unlimited", None, 1.0),
        ("none", None, 1.0),
    ],
)
def test_parse(spec: str, requests: int | None, seconds: float) -> None:
    limiter = RateLimiter.parse(spec)
    assert limiter.max_requests == requests
    if requests is not None:
        assert limiter.window_seconds == seconds


@pytest.mark.parametrize("spec", ["", "300", "abc/def", "0/10", "10/0", "-1/5", "10/5x", "1/2/3"])
def test_parse_errors_are_clear(spec: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)rate limit"):
        RateLimiter.parse(spec)


@pytest.mark.anyio
async def test_done_counts_a_slot_from_its_response() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(1, 10, clock=clock, sleep=clock.sleep)
    slot = await limiter.acquire()  # sent at t=0
    clock.now = 2.0
    limiter.done(slot)  # answered at t=2: the server counted it somewhere in between
    await limiter.acquire()
    assert clock.sleeps == [10]  # free at t=12, not t=10
    assert clock.now == 12


@pytest.mark.anyio
async def test_unlimited_acquire_still_returns_a_slot() -> None:
    limiter = RateLimiter.unlimited()
    slot = await limiter.acquire()
    limiter.done(slot)
    assert limiter.in_window() == 0


@pytest.mark.anyio
async def test_wait_ahead_counts_the_window_the_hold_and_the_steady_pace() -> None:
    from halo_paylink.halo.ratelimit import MAX_AHEAD

    clock = FakeClock(0.0)
    limiter = RateLimiter(3, 10, clock=clock, sleep=clock.sleep)
    assert limiter.wait_ahead(3) == 0  # the window is empty: three start at once
    for _ in range(3):
        await limiter.acquire()
    assert limiter.wait_ahead(0) == 0
    assert limiter.wait_ahead(1) == pytest.approx(10)  # the first start leaves the window
    assert limiter.wait_ahead(3) == pytest.approx(10)
    assert limiter.wait_ahead(4) == pytest.approx(20)
    limiter.hold_off(30)
    assert limiter.wait_ahead(1) == pytest.approx(30)  # a 429's hold comes first
    far = limiter.wait_ahead(MAX_AHEAD + 300)
    assert far == pytest.approx(limiter.wait_ahead(MAX_AHEAD) + 1000)  # 300 more at 3 per 10 s
    assert RateLimiter.unlimited(clock=clock).wait_ahead(10**9) == 0


@pytest.mark.anyio
async def test_a_failing_sleep_is_raised_not_taken_for_a_finished_wait() -> None:
    async def broken_sleep(seconds: float) -> None:
        raise OSError("the clock's timer failed")

    limiter = RateLimiter.hosted(sleep=broken_sleep)
    with pytest.raises(OSError, match="timer failed"):
        await limiter.pause(30, "a test wait")
    assert limiter.waiting is None  # the wait is not left behind either
