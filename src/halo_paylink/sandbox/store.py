"""The sandbox's invoice store: the live records by store key, the seed category and the stamps
(`last_modified`, `last_synced`) of each, and the cached listings that every change of the store
throws away; and the public store lock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Mapping
from types import TracebackType
from typing import Any

from halo_paylink.sandbox.records import Invoice, is_open
from halo_paylink.sandbox.seed import SeedResult
from halo_paylink.sandbox.stamps import STAMP_FIELDS, Stamper, Stamps, utc_now


class InvoiceStore:
    """The live invoice records. Not thread-safe: used under the sandbox's state lock.

    Attributes:
        invoices: the records by store key. A record's key is its id, except for odd records
            whose id is not an integer (see `odd_ids`).
        categories: the seed category of each seeded record (see `seed.py`).
        odd_ids: the store key of each odd record by kind (see `seed.ODD_KINDS`).
        listings: listing results (store keys in order) cached by query; emptied by
            `mark_changed()`.
        version: how many times the store has been marked changed.
        stamps: the stamps of each record by store key. A record's own `last_modified` or
            `last_synced` field, when it has one, is served instead of its stamp; a record put
            straight into `invoices` is stamped when it is first served or filtered.
        stamp_version: how many times any stamp has changed (listings that filter or sort by a
            stamp are cached per stamp version).
        verbatim: keys of records served exactly as stored, without stamps (`add(stamped=False)`).
        moving: whether `touch` moves stamps (`SandboxConfig.stamp_changes`); when False every
            stamp stays as it was first given.
    """

    def __init__(self, seeded: SeedResult, now: Callable[[], dt.datetime] = utc_now) -> None:
        self.invoices: dict[int, Invoice] = seeded.invoices
        self.categories: dict[int, str] = seeded.categories
        self.odd_ids: dict[str, int] = {}
        self.listings: dict[Hashable, list[int]] = {}
        self.version = 0
        self.stamps: dict[int, Stamps] = dict(seeded.stamps)
        self.stamp_version = 0
        self.verbatim: set[int] = set()
        self.stamper = Stamper(now)
        self.moving = True
        for stamp in self.stamps.values():
            self.stamper.not_before(stamp.last_modified)

    def add(
        self,
        records: Mapping[int, Invoice],
        category: str,
        stamps: Mapping[int, Stamps] | None = None,
        *,
        stamped: bool = True,
    ) -> None:
        """Store new records (keys must be unused), keeping the store in key order, with the
        `stamps` given (each one stamped now when None), or served without any when not
        `stamped`."""
        clash = set(records) & set(self.invoices)
        if clash:
            raise ValueError(f"ids already in use: {sorted(clash)[:5]}")
        self.invoices.update(records)
        self.invoices = dict(sorted(self.invoices.items()))
        self.categories.update(dict.fromkeys(records, category))
        if not stamped:
            self.verbatim.update(records)
        elif stamps is not None:
            self.stamps.update(stamps)
            for stamp in stamps.values():
                self.stamper.not_before(stamp.last_modified)
        else:
            for key in records:
                self.stamps[key] = Stamps(self.stamper.next())
        self.stamp_version += 1
        self.mark_changed()

    # --- stamps --------------------------------------------------------------------------------

    def touch(self, key: int, *, push: bool) -> Stamps:
        """Stamp a change of record `key` now; `push`: the change went to the accounting tool
        too, which moves `last_synced` of a record that has been synced before. Moves nothing
        unless `moving`."""
        before = self.stamp(key)
        if not self.moving:
            return before or Stamps(self.stamper.next())
        now = self.stamper.next()
        synced = before.last_synced if before is not None else None
        stamp = Stamps(now, now if push and synced is not None else synced)
        self.stamps[key] = stamp
        self.verbatim.discard(key)
        self.stamp_version += 1
        return stamp

    def stamp(self, key: int) -> Stamps | None:
        """The stamps of record `key`; a record without any (put straight into `invoices`) is
        stamped now, unless it is served verbatim."""
        stamp = self.stamps.get(key)
        if stamp is None and key not in self.verbatim:
            stamp = self.stamps[key] = Stamps(self.stamper.next())
        return stamp

    def remove(self, key: int) -> None:
        """Delete record `key` (and its stamps), if stored."""
        self.invoices.pop(key, None)
        self.stamps.pop(key, None)
        self.verbatim.discard(key)

    def value(self, key: int, name: str) -> Any:
        """Field `name` of record `key` as served (its stamp when the record has no such field)."""
        record = self.invoices[key]
        if name in record or name not in STAMP_FIELDS:
            return record.get(name)
        stamp = self.stamp(key)
        return None if stamp is None else stamp.fields()[name]

    def served(self, key: int, *, lines: bool = True) -> Invoice:
        """Record `key` as an answer carries it: a new dict with its stamps (fields the record
        has itself win), without `lines` unless asked."""
        record = self.invoices[key]
        row = dict(record) if lines else {k: v for k, v in record.items() if k != "lines"}
        stamp = self.stamp(key)
        if stamp is not None:
            for name, value in stamp.fields().items():
                row.setdefault(name, value)
        return row

    def after_direct_edit(self) -> None:
        """Note edits made straight to `invoices` (which change no stamp): cached listings go,
        those that filter or sort by a stamp field too."""
        self.stamp_version += 1
        self.mark_changed()

    def stored(self, invoice_id: int) -> Invoice | None:
        """The invoice with this id, if one exists and really has it (an odd record stored under
        a key its id does not match cannot be addressed by id)."""
        invoice = self.invoices.get(invoice_id)
        if invoice is None or invoice.get("id") != invoice_id:
            return None
        return invoice

    def is_open_key(self, key: int) -> bool:
        invoice = self.invoices.get(key)
        return invoice is not None and is_open(key, invoice)

    def open_ids(self) -> set[int]:
        return {key for key, invoice in self.invoices.items() if is_open(key, invoice)}

    def mark_changed(self) -> None:
        """Note a change that may alter listings: cached listings are no longer served."""
        self.version += 1
        self.listings.clear()


class StoreLock:
    """The public lock: entering it takes the sandbox's state lock; leaving it marks the data
    changed, so listings cached before a direct edit are not served afterwards."""

    def __init__(self, inner: threading.RLock, on_exit: Callable[[], None]) -> None:
        self._inner = inner
        self._on_exit = on_exit

    def __enter__(self) -> StoreLock:
        self._inner.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._on_exit()
        finally:
            self._inner.release()
