"""Progress reporting and cancellation for a backfill run.

`Progress` is an immutable snapshot; the runner hands one to the caller's callback on the event
loop thread that runs the backfill (the GUI's qasync loop, or the CLI's asyncio loop), at most
about ten times a second, and always once at the end.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from halo_paylink.core.backfill.selection import SkipReason

if TYPE_CHECKING:
    from halo_paylink.halo.ratelimit import RateLimiter


class Phase(enum.Enum):
    READING = "reading"  # reading invoice pages (before any decision is known)
    PLANNING = "planning"  # dry run: reading and classifying
    WRITING = "writing"  # reading, classifying and writing
    VERIFYING = "verifying"  # resume: re-checking writes whose outcome was not recorded
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (Phase.DONE, Phase.CANCELLED, Phase.FAILED)


@dataclass(frozen=True)
class Progress:
    """One snapshot of a run.

    Attributes:
        phase: where the run is.
        done: invoices decided so far (written, skipped, conflicting or failed).
        total: invoices expected (Halo's record count), or None before the first page.
        written: invoices whose link was saved.
        skipped: per reason, invoices left alone (conflicts are counted in `conflicts`).
        conflicts: invoices holding a different link that were left alone.
        failed: invoices Halo refused.
        rate: invoices decided per second since the start.
        eta_seconds: estimated seconds left, or None when unknown.
        message: one line for a status bar.
        wait_seconds: while the run waits (Halo's rate limit, or a backoff after a failure), the
            seconds left as of this snapshot; None when it is not waiting.
        wait_reason: why it waits, e.g. "Halo's rate limit" (see `halo.ratelimit.Wait.reason`).
        wait_ends_at: when the wait ends, as a Unix time (for "resuming at 10:42"); None when
            not waiting or not known.
    """

    phase: Phase
    done: int = 0
    total: int | None = None
    written: int = 0
    skipped: Mapping[SkipReason, int] = field(default_factory=lambda: MappingProxyType({}))
    conflicts: int = 0
    failed: int = 0
    rate: float = 0.0
    eta_seconds: float | None = None
    message: str = ""
    wait_seconds: float | None = None
    wait_reason: str = ""
    wait_ends_at: float | None = None

    @property
    def wait_line(self) -> str:
        """E.g. "Halo's rate limit: resuming at 10:42 (in 4:12)" (local time); "" when the run is
        not waiting. Without `wait_ends_at`, only the countdown: "resuming in 4:12"."""
        if self.wait_seconds is None:
            return ""
        reason = self.wait_reason or "Waiting"
        left = format_wait(self.wait_seconds)
        if self.wait_ends_at is None or not math.isfinite(self.wait_ends_at):
            return f"{reason}: resuming in {left}"
        at = datetime.fromtimestamp(self.wait_ends_at)
        clock = f"{at:%H:%M:%S}" if self.wait_seconds < 60 else f"{at:%H:%M}"
        return f"{reason}: resuming at {clock} (in {left})"

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


def format_wait(seconds: float) -> str:
    """A countdown as m:ss (or h:mm:ss), rounded up so it never shows 0:00 while waiting."""
    total = max(0, math.ceil(seconds)) if math.isfinite(seconds) else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


ProgressCallback = Callable[[Progress], None]


class ProgressThrottle:
    """Forwards snapshots to a callback at most once per `interval` seconds.

    Phase changes and final snapshots always go through. Runs on the runner's loop thread.

    With the run's rate `limiter`, each snapshot forwarded says when a wait in progress ends
    (`Progress.wait_ends_at`, on `wall_clock`) and its time left counts the waits Halo's rate
    limit will still impose (`eta_with_waits`), so "about 1 s left" is never shown in front of a
    five-minute wait.
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._callback = callback
        self._interval = interval
        self._clock = clock
        self._limiter = limiter
        self._wall_clock = wall_clock
        self._last_time: float | None = None
        self._last_phase: Phase | None = None
        self._start: _Mark | None = None
        self.emitted = 0

    def emit(self, progress: Progress, *, force: bool = False) -> None:
        if self._callback is None:
            return
        if self._start is None and self._limiter is not None:
            self._start = _Mark.of(progress, self._limiter)
        now = self._clock()
        due = (
            force
            or progress.phase.final
            or progress.phase is not self._last_phase
            or self._last_time is None
            or now - self._last_time >= self._interval
        )
        if not due:
            return
        self._last_time = now
        self._last_phase = progress.phase
        self.emitted += 1
        self._callback(self._completed(progress))

    def _completed(self, progress: Progress) -> Progress:
        """`progress` with the wait's end and the time left the rate limit adds."""
        if progress.phase.final:
            return dataclasses.replace(progress, eta_seconds=None)
        ends_at = None
        if progress.wait_seconds is not None:
            ends_at = self._wall_clock() + progress.wait_seconds
        eta = progress.eta_seconds
        if self._limiter is not None and self._start is not None:
            eta = eta_with_waits(progress, self._start, self._limiter)
        return dataclasses.replace(progress, wait_ends_at=ends_at, eta_seconds=eta)


@dataclass(frozen=True)
class _Mark:
    """Where an attempt started: its counts, the limiter's requests and time spent waiting."""

    done: int
    requests: int
    waited: float
    at: float

    @classmethod
    def of(cls, progress: Progress, limiter: RateLimiter) -> _Mark:
        return cls(progress.done, limiter.acquired, limiter.time_waited, limiter.now())


def eta_with_waits(progress: Progress, start: _Mark, limiter: RateLimiter) -> float | None:
    """Seconds left: the invoices left at this attempt's working pace (time spent waiting left
    out), plus the waits the rate limit imposes on the requests still to send (at this attempt's
    requests per invoice), the wait in progress included. None when nothing is left or the pace
    is not known yet (nothing decided in this attempt)."""
    if progress.total is None:
        return None
    left = max(progress.total - progress.done, 0)
    decided = progress.done - start.done
    if not left or decided <= 0:
        return None
    elapsed = limiter.now() - start.at
    working = max(elapsed - (limiter.time_waited - start.waited), 1e-9)
    requests_per_invoice = max(limiter.acquired - start.requests, 0) / decided
    waits = limiter.wait_ahead(math.ceil(left * requests_per_invoice))
    return left * working / decided + waits


class CancelToken:
    """Asks a run to stop. `cancel()` may be called from the loop thread at any time.

    The run stops between batches: writes already sent finish and are journaled, nothing new is
    sent, and the journal is closed with a CANCELLED footer so `resume` can continue later.
    """

    def __init__(self) -> None:
        self._cancelled = False
        self._listeners: list[Callable[[], None]] = []

    def cancel(self) -> None:
        """Ask the run to stop; every listener hears of it at once (e.g. a rate-limit wait in
        progress is woken, `RateLimiter.interrupt`)."""
        self._cancelled = True
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the loop thread) when the run is asked to stop."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def cancelled(self) -> bool:
        return self._cancelled
