"""A rolling-window request budget shared by every task that talks to one Halo instance.

Hosted Halo allows 300 requests per rolling 5 minutes and answers 429 beyond that. Staying under
the budget is far cheaper than recovering from a 429, so every request first `acquire`s a slot here;
after a 429 anyway, `hold_off` makes every caller wait until Halo is ready again.

Waits are observable: `waiting` says until when (and why) a caller is held, and `on_wait`, when
set, is called as a wait starts, about once a second while it lasts (so a display can count
down), and with None when it ends. Every wait is an `await` of the injected sleep, so cancelling
the waiting task ends it at once; `interrupt` wakes every wait in progress at once, and a wait
whose owner asked to stop (`should_stop`) ends there (and never starts).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True)
class RateBudget:
    """At most `requests` requests in any rolling `window_seconds`."""

    requests: int
    window_seconds: float


#: (V) Hosted Halo's published budget.
HOSTED_BUDGET = RateBudget(facts.HOSTED_RATE_LIMIT_REQUESTS, facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS)
#: Rate-limit words that mean "no budget" (a self-hosted Halo whose operator set none).
NO_LIMIT_WORDS = frozenset({"unlimited", "none", "off", "0"})
#: The rate-limit word for hosted Halo's budget.
HOSTED_WORD = "hosted"
#: What to type, for error messages and help texts.
RATE_LIMIT_SYNTAX = (
    "REQUESTS/SECONDS, e.g. 300/300 for 300 requests per 5 minutes (the window may also be "
    "written 5m or 1h), 'hosted' for hosted Halo's budget, or 'unlimited'"
)

_REQUESTS = re.compile(r"\d+")
_WINDOW = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?", re.IGNORECASE)
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_rate_limit(spec: str) -> RateBudget | None:
    """Parse a rate-limit value: the one grammar of `--rate-limit`, of profiles and the sandbox.

    Accepted, case-insensitive, with spaces around each part ignored:

    - `REQUESTS/WINDOW`: REQUESTS a whole number, at least 1; WINDOW a decimal number above 0
      ("300", "2.5") in seconds, or followed by a unit: `s`/`sec`, `m`/`min` or `h` ("5m").
    - `hosted`: hosted Halo's published budget (`HOSTED_BUDGET`).
    - `unlimited`, `none`, `off` or `0`: no budget.

    Numbers are plain digits: no sign, exponent or digit separator.

    Returns:
        The budget, or None for no budget.

    Raises:
        ValueError: with a message that names the part that is wrong and says what to type.
    """
    text = (spec or "").strip()
    word = text.lower()
    if word in NO_LIMIT_WORDS:
        return None
    if word == HOSTED_WORD:
        return HOSTED_BUDGET
    parts = text.split("/")
    if len(parts) != 2:
        raise ValueError(f"Rate limit {spec!r} is not understood: write {RATE_LIMIT_SYNTAX}.")
    requests_text, window_text = parts[0].strip(), parts[1].strip()
    if not _REQUESTS.fullmatch(requests_text):
        raise ValueError(
            f"Rate limit {spec!r}: {requests_text!r} is not a whole number of requests; "
            "write REQUESTS/SECONDS, e.g. 300/300."
        )
    window = _WINDOW.fullmatch(window_text)
    if window is None:
        raise ValueError(
            f"Rate limit {spec!r}: {window_text!r} is not a number of seconds (or of minutes or "
            "hours, as in 5m or 1h); write REQUESTS/SECONDS, e.g. 300/300."
        )
    requests = int(requests_text)
    seconds = float(window.group(1)) * _UNIT_SECONDS[(window.group(2) or "").lower()]
    if requests < 1:
        raise ValueError(
            f"Rate limit {spec!r} must allow at least 1 request per window; write e.g. 300/300, "
            "or 'unlimited' for no limit."
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"Rate limit {spec!r} needs a positive window, longer than 0 seconds and finite; "
            "write e.g. 300/300."
        )
    return RateBudget(requests, seconds)


#: Seconds a client may spend, in total, holding off after Halo's 429s before it gives up with
#: RATE_LIMITED (a resumable outcome). Hosted Halo's window is 5 minutes: 15 minutes is three of
#: them, by which time a well-paced client is long through.
RATE_LIMIT_BUDGET_SECONDS = 15 * 60.0

#: How many requests ahead `RateLimiter.wait_ahead` plays out one by one.
MAX_AHEAD = 2_000

#: Why a caller waits: Halo answered 429 (and said, or we chose, how long to hold off).
HOLD_OFF_REASON = "Halo's rate limit"
#: Why a caller waits: the rolling-window budget is spent, so we pace ourselves before Halo must.
PACING_REASON = "Pacing under Halo's rate limit"


@dataclass(frozen=True)
class Wait:
    """A wait in progress.

    Attributes:
        seconds: how long is left, as of when this value was made.
        until: when it ends, on the limiter's (monotonic) clock.
        reason: why, in words fit for a status line (`HOLD_OFF_REASON`, `PACING_REASON`, or a
            backoff reason).
    """

    seconds: float
    until: float
    reason: str


#: Called with the current wait as it starts and while it lasts, and with None when it ends.
WaitCallback = Callable[[Wait | None], None]


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
        #: Total seconds of hold-off after 429s (wall time held, overlapping holds counted once).
        self.held_seconds = 0.0
        #: Set by the owner of a run to watch waits (see the module docstring); any loop callable.
        self.on_wait: WaitCallback | None = None
        #: Set by the owner of a run: a wait that lasts ends early (RATE_LIMITED) once it is True.
        self.should_stop: Callable[[], bool] | None = None
        #: How often `on_wait` hears of a wait that lasts (seconds).
        self.tick_seconds = 1.0
        #: Requests started through `acquire` (for estimates of the requests still to come).
        self.acquired = 0
        self._waits: dict[int, Wait] = {}
        self._wait_ids = 0
        self._wake: asyncio.Event | None = None  # set by `interrupt`, replaced once it fired
        self._waited_before = 0.0  # seconds some wait was in progress, up to `_waiting_since`
        self._waiting_since: float | None = None  # when the waits in progress began

    def __repr__(self) -> str:
        if self.max_requests is None:
            return "RateLimiter(unlimited)"
        return f"RateLimiter({self.max_requests}/{self.window_seconds:g}s)"

    @classmethod
    def hosted(cls, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> RateLimiter:
        """Hosted Halo's published budget (`HOSTED_BUDGET`, from facts.HOSTED_RATE_LIMIT_*)."""
        return cls.for_budget(HOSTED_BUDGET, clock=clock, sleep=sleep)

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
        """A limiter for a rate-limit value (see `parse_rate_limit` for the grammar).

        Raises:
            ValueError: with a message fit to show the user.
        """
        return cls.for_budget(parse_rate_limit(spec), clock=clock, sleep=sleep)

    @classmethod
    def for_budget(
        cls,
        budget: RateBudget | None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> RateLimiter:
        """A limiter for `budget`; None means no budget (see `unlimited`)."""
        if budget is None:
            return cls.unlimited(clock=clock, sleep=sleep)
        return cls(budget.requests, budget.window_seconds, clock=clock, sleep=sleep)

    def hold_off(self, seconds: float) -> float:
        """After a 429: nobody starts a request until `seconds` from now (never shortens a hold).

        Returns the seconds this added to the hold (0 when an existing hold already covers it);
        the total is kept in `held_seconds`.
        """
        extra = self.hold_extension(seconds)
        self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))
        self.held_seconds += extra
        return extra

    def hold_extension(self, seconds: float) -> float:
        """How many seconds `hold_off(seconds)` would add to the hold in force now."""
        now = self._clock()
        return max(0.0, now + max(0.0, seconds) - max(self._hold_until, now))

    @property
    def waiting(self) -> Wait | None:
        """The wait that ends last among those in progress (with `seconds` as of now), or None."""
        if not self._waits:
            return None
        latest = max(self._waits.values(), key=lambda w: w.until)
        return Wait(max(0.0, latest.until - self._clock()), latest.until, latest.reason)

    async def pause(self, seconds: float, reason: str, *, sleep: Sleep | None = None) -> None:
        """Wait `seconds` on the injected sleep (or `sleep`), visibly (see `waiting`, `on_wait`).

        Used for the limiter's own waits and for the client's backoff after failures. Only the
        calling task waits. Cancellation ends the wait at once, and so does `interrupt` once
        `should_stop` is True (a wait asked for after that never starts).

        Raises:
            HaloError(RATE_LIMITED): the owner asked to stop during (or before) the wait.
        """
        if seconds <= 0:
            return
        self._stop_if_asked(reason, seconds)
        sleep = sleep or self._sleep
        self._wait_ids += 1
        key = self._wait_ids
        until = self._clock() + seconds
        left = seconds
        watched = self.on_wait is not None or self.should_stop is not None
        try:
            while left > 0:
                self._waits[key] = Wait(left, until, reason)
                self._notify()
                # In ticks only when someone watches, so a display can count down.
                step = min(left, self.tick_seconds) if watched else left
                started = self._clock()
                woken = await self._sleep_or_wake(sleep, step)
                left -= max(0.0, self._clock() - started) if woken else step
                if left > 0:
                    self._stop_if_asked(reason, left)
        finally:
            self._waits.pop(key, None)
            self._notify()

    def interrupt(self) -> None:
        """Wake every wait in progress now (any loop callable on the limiter's loop).

        A woken wait ends with RATE_LIMITED when `should_stop` says so; otherwise it goes on
        waiting for the rest of its time. This is how Stop ends a long wait at once.
        """
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    async def _sleep_or_wake(self, sleep: Sleep, seconds: float) -> bool:
        """Sleep `seconds`; True when `interrupt` woke the sleep first."""
        if self._wake is None:
            self._wake = asyncio.Event()
        wake = self._wake
        sleeper = asyncio.ensure_future(sleep(seconds))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            # Both are settled before leaving; what they ended with is looked at below.
            await asyncio.gather(sleeper, waker, return_exceptions=True)
        slept = sleeper.done() and not sleeper.cancelled()
        if slept and (error := sleeper.exception()) is not None:
            raise error  # the sleep itself failed: not a wake-up, not a finished wait
        return wake.is_set() and not slept

    def _stop_if_asked(self, reason: str, left: float) -> None:
        if self.should_stop is not None and self.should_stop():
            raise HaloError(
                ErrorKind.RATE_LIMITED,
                f"Stopped while waiting ({reason}); {round(left)} s were left.",
            )

    def now(self) -> float:
        """The limiter's clock (monotonic seconds), for callers that measure against it."""
        return self._clock()

    @property
    def time_waited(self) -> float:
        """Seconds during which at least one caller was waiting, so far (overlaps counted once)."""
        if self._waiting_since is None:
            return self._waited_before
        return self._waited_before + max(0.0, self._clock() - self._waiting_since)

    def _notify(self) -> None:
        if self._waits and self._waiting_since is None:
            self._waiting_since = self._clock()
        elif not self._waits and self._waiting_since is not None:
            self._waited_before += max(0.0, self._clock() - self._waiting_since)
            self._waiting_since = None
        if self.on_wait is not None:
            self.on_wait(self.waiting)

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
                    self.acquired += 1
                    if self.max_requests is not None:
                        self._slots.append(slot)
                    return slot
                self.waited_seconds += wait
                held = self._hold_until > now
                await self.pause(wait, HOLD_OFF_REASON if held else PACING_REASON)

    def wait_ahead(self, requests: int) -> float:
        """Seconds of waiting (hold-off and pacing) before `requests` more requests can all start
        from now, if they were sent as fast as the budget allows; for estimates of time left.

        Counts the hold in force and the requests already in the window; ignores how long each
        request itself takes. Past `MAX_AHEAD` requests the rest are counted at the budget's
        steady pace.
        """
        if requests <= 0:
            return 0.0
        now = self._clock()
        start = max(now, self._hold_until)
        if self.max_requests is None:
            return start - now
        self._forget_old(now)
        m, w = self.max_requests, self.window_seconds
        times = sorted(slot.at for slot in self._slots)
        simulated = min(requests, MAX_AHEAD)
        for _ in range(simulated):
            at = start if len(times) < m else max(start, times[-m] + w)
            times.append(at)
        rest = requests - simulated
        return times[-1] - now + (rest / m) * w

    def done(self, slot: Slot) -> None:
        """Move a slot's time to now, when its response arrived.

        The server counts a request when it arrives, after we sent it; counting it from the
        response instead keeps us on the safe side of the server's window (otherwise a request sent
        exactly as a slot frees can arrive before the server's slot does, and get a 429).
        """
        slot.at = max(slot.at, self._clock())


def choose_limiter(
    hosted: bool,
    override: str | None = None,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> RateLimiter:
    """The rate limiter for one Halo instance: the only place this is decided.

    An override (a profile's rate limit or `--rate-limit`, in `parse_rate_limit`'s grammar) wins.
    Without one, hosted Halo gets its published budget (`HOSTED_BUDGET`) and a self-hosted Halo
    none, since its limits are its operator's; either way a 429 still holds every caller off
    (`RateLimiter.hold_off`).

    Raises:
        ValueError: the override cannot be read (the message says what to type).
    """
    if override:
        return RateLimiter.parse(override, clock=clock, sleep=sleep)
    return RateLimiter.for_budget(HOSTED_BUDGET if hosted else None, clock=clock, sleep=sleep)


def _duration_words(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def check_rate_limit_budget(
    limiter: RateLimiter, needed: float, budget: float, said: str = ""
) -> None:
    """Raise RATE_LIMITED when holding off `needed` more seconds would pass `budget` in total.

    Args:
        limiter: the shared limiter, whose `held_seconds` counts every hold-off so far.
        needed: the wait a 429 asks for (Retry-After, unclamped) or our fallback wait.
        budget: total seconds of 429 hold-off a client may spend.
        said: what Halo said with the 429, already redacted.
    """
    extra = limiter.hold_extension(needed)
    if limiter.held_seconds + extra <= budget:
        return
    detail = (
        f"Halo asked to wait {_duration_words(needed)} more, beyond the "
        f"{_duration_words(budget)} this run may spend waiting for Halo's rate limit "
        f"({_duration_words(limiter.held_seconds)} spent)."
    )
    if said:
        detail = f"{detail} {said}"
    raise HaloError(ErrorKind.RATE_LIMITED, detail, status=429, retry_after=needed)
