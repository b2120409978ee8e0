"""The sandbox's invoice store: the live records by store key, the seed category of each, and the
cached listings that every change of the store throws away; and the public store lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from types import TracebackType

from halo_paylink.sandbox.records import Invoice, is_open
from halo_paylink.sandbox.seed import SeedResult


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
    """

    def __init__(self, seeded: SeedResult) -> None:
        self.invoices: dict[int, Invoice] = seeded.invoices
        self.categories: dict[int, str] = seeded.categories
        self.odd_ids: dict[str, int] = {}
        self.listings: dict[Hashable, list[int]] = {}
        self.version = 0

    def add(self, records: Mapping[int, Invoice], category: str) -> None:
        """Store new records (keys must be unused), keeping the store in key order."""
        clash = set(records) & set(self.invoices)
        if clash:
            raise ValueError(f"ids already in use: {sorted(clash)[:5]}")
        self.invoices.update(records)
        self.invoices = dict(sorted(self.invoices.items()))
        self.categories.update(dict.fromkeys(records, category))
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
