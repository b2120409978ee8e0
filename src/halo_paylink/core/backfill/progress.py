"""Progress reporting and cancellation for a backfill run.

`Progress` is an immutable snapshot; the runner hands one to the caller's callback on the event
loop thread that runs the backfill (the GUI's qasync loop, or the CLI's asyncio loop), at most
about ten times a second, and always once at the end.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from halo_paylink.core.backfill.selection import SkipReason


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

    @property
    def wait_line(self) -> str:
        """E.g. "Halo's rate limit: resuming in 4:12"; "" when the run is not waiting."""
        if self.wait_seconds is None:
            return ""
        return f"{self.wait_reason or 'Waiting'}: resuming in {format_wait(self.wait_seconds)}"

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
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self._interval = interval
        self._clock = clock
        self._last_time: float | None = None
        self._last_phase: Phase | None = None
        self.emitted = 0

    def emit(self, progress: Progress, *, force: bool = False) -> None:
        if self._callback is None:
            return
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
        self._callback(progress)


class CancelToken:
    """Asks a run to stop. `cancel()` may be called from the loop thread at any time.

    The run stops between batches: writes already sent finish and are journaled, nothing new is
    sent, and the journal is closed with a CANCELLED footer so `resume` can continue later.
    """

    def __init__(self) -> None:
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled
