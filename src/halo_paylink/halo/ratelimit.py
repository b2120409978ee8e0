"""A rolling-window request budget shared by every task that talks to one Halo instance.

Hosted Halo allows 300 requests per rolling 5 minutes and answers 429 beyond that. Staying under
the budget is far cheaper than recovering from a 429, so every request first `acquire`s a slot here;
after a 429 anyway, `hold_off` makes every caller wait until Halo is ready again.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from halo_paylink.halo import facts

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class Slot:
    """One request's place in the window; `at` is when it counts as made."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class RateLimiter:
    """At most `max_requests` starts in any `window_seconds`, on one asyncio loop.

    All methods run on the event loop that uses the limiter; waiters are served first come, first
    served (one lock), so a burst of tasks spreads out instead of stampeding. `clock` and `sleep`
    are injectable so tests run instantly on a fake clock.
    """

    def __init__(
        self,
        max_requests: int | None,
        window_seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_requests is not None and max_requests < 1:
            raise ValueError("A rate limit must allow at least 1 request per window.")
        if window_seconds <= 0 and max_requests is not None:
            raise ValueError("A rate-limit window must be longer than 0 seconds.")
        self.max_requests = max_requests
        self.window_seconds = float(window_seconds)
        self._clock = clock
        self._sleep = sleep
        self._slots: list[Slot] = []
        self._hold_until = 0.0
        self._lock: asyncio.Lock | None = None
        #: Total seconds callers were asked to wait (for benchmarks and progress displays).
        self.waited_seconds = 0.0

    def __repr__(self) -> str:
        if self.max_requests is None:
            return "RateLimiter(unlimited)"
        return f"RateLimiter({self.max_requests}/{self.window_seconds:g}s)"

    @classmethod
    def hosted(cls, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> RateLimiter:
        """Hosted Halo's published budget (facts.HOSTED_RATE_LIMIT_*)."""
        return cls(
            facts.HOSTED_RATE_LIMIT_REQUESTS,
            facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS,
            clock=clock,
            sleep=sleep,
        )

    @classmethod
    def unlimited(
        cls, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> RateLimiter:
        """No budget (self-hosted); still honours `hold_off` after a 429."""
        return cls(None, 1.0, clock=clock, sleep=sleep)

    @classmethod
    def parse(
        cls, spec: str, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> RateLimiter:
        """Parse "REQUESTS/SECONDS" ("300/300"; "300/5m" and "none"/"unlimited" also work).

        Raises:
            ValueError: with a message fit to show the user.
        """
        text = (spec or "").strip().lower()
        if text in ("none", "unlimited", "off", "0"):
            return cls.unlimited(clock=clock, sleep=sleep)
        match = _SPEC.match(text)
        if not match:
            raise ValueError(
                f"Rate limit {spec!r} is not understood: write REQUESTS/SECONDS, e.g. 300/300 "
                "for 300 requests per 5 minutes, or 'unlimited'."
            )
        requests, amount, unit = int(match.group(1)), float(match.group(2)), match.group(3)
        seconds = amount * _UNITS[unit.lower() if unit else None]
        if requests < 1:
            raise ValueError(f"Rate limit {spec!r} must allow at least 1 request.")
        if seconds <= 0:
            raise ValueError(f"Rate limit {spec!r} needs a window longer than 0 seconds.")
        return cls(requests, seconds, clock=clock, sleep=sleep)

    def hold_off(self, seconds: float) -> None:
        """After a 429: nobody starts a request until `seconds` from now (never shortens a hold)."""
        self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    def in_window(self) -> int:
        """How many requests the rolling window holds right now."""
        self._forget_old(self._clock())
        return len(self._slots)

    def _forget_old(self, now: float) -> None:
        horizon = now - self.window_seconds
        if self._slots and min(slot.at for slot in self._slots) <= horizon:
            self._slots = [slot for slot in self._slots if slot.at > horizon]

    def _wait_needed(self, now: float) -> float:
        if self._hold_until > now:
            return self._hold_until - now
        if self.max_requests is None:
            return 0.0
        self._forget_old(now)
        if len(self._slots) < self.max_requests:
            return 0.0
        return min(slot.at for slot in self._slots) + self.window_seconds - now

    async def acquire(self) -> Slot:
        """Wait for a slot in the rolling window (and for any hold-off), then take it.

        Returns the slot; pass it to `done` when the response arrived (optional but better).
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    slot = Slot(now)
                    if self.max_requests is not None:
                        self._slots.append(slot)
                    return slot
                self.waited_seconds += wait
                await self._sleep(wait)

    def done(self, slot: Slot) -> None:
        """Move a slot's time to now, when its response arrived.

        The server counts a request when it arrives, after we sent it; counting it from the
        response instead keeps us on the safe side of the server's window (otherwise a request sent
        exactly as a slot frees can arrive before the server's slot does, and get a 429).
        """
        slot.at = max(slot.at, self._clock())
