"""When each invoice last changed and last went to the accounting tool: `last_modified` and
`last_synced`, as ISO date-times in UTC without an offset (the way Halo sends its dates, e.g.
"2025-06-30T09:15:00.000").

The store keeps these stamps beside the records rather than in them, so a record as stored holds
only what was seeded or sent, and every answer that serves a record adds its stamps. A `Stamper`
hands out the stamps for changes: each one later than any before it, whatever the clock says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

#: The stamp fields, as every served invoice carries them.
LAST_MODIFIED = "last_modified"
LAST_SYNCED = "last_synced"
STAMP_FIELDS = (LAST_MODIFIED, LAST_SYNCED)


@dataclass(frozen=True)
class Stamps:
    """One invoice's stamps. `last_synced` is None for an invoice never sent to the accounting
    tool (a draft, one not synced yet, a recurring-invoice template)."""

    last_modified: str
    last_synced: str | None = None

    def fields(self) -> dict[str, str | None]:
        return {LAST_MODIFIED: self.last_modified, LAST_SYNCED: self.last_synced}


def format_stamp(moment: dt.datetime) -> str:
    """`moment` in UTC, without an offset, to the millisecond (a naive `moment` is UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


def parse_instant(value: object) -> dt.datetime | None:
    """A date or date-time in ISO form as a naive UTC datetime (a date alone is its midnight,
    text without an offset is UTC); None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Stamper:
    """Hands out the stamp of each change: the clock's time, or a millisecond after the previous
    stamp when the clock has not moved past it (so a change always moves the stamp forward).

    Not thread-safe: used under the sandbox's state lock.
    """

    def __init__(self, now: Callable[[], dt.datetime] = utc_now) -> None:
        self._now = now
        self._last: dt.datetime | None = None

    def not_before(self, stamp: str | None) -> None:
        """Make every later stamp come after `stamp` (a stamp already handed out or seeded)."""
        moment = parse_instant(stamp)
        if moment is not None and (self._last is None or moment > self._last):
            self._last = moment

    def next(self) -> str:
        moment = self._now()
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if self._last is not None and moment <= self._last:
            moment = self._last + dt.timedelta(milliseconds=1)
        self._last = moment
        return format_stamp(moment)
