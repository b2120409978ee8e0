"""Listing faults in force: how they disturb each page of the paginated invoice listing, the way
a busy Halo does between page reads (see `state.ListingFault` for the kinds), and the listing
passes they count in.
"""

from __future__ import annotations

from halo_paylink.sandbox.records import paid_in_full
from halo_paylink.sandbox.state import ListingFault
from halo_paylink.sandbox.store import InvoiceStore

SHIFT_MODES = ("delete", "pay")


def check_listing_fault(fault: ListingFault) -> ListingFault:
    """`fault`, when its numbers make sense (ValueError otherwise)."""
    if fault.after_page < 1:
        raise ValueError("page numbers start at 1")
    if fault.rows < 1:
        raise ValueError("rows must be at least 1")
    if fault.passes is not None and fault.passes < 1:
        raise ValueError("passes must be at least 1 (or None for every pass)")
    return fault


class ListingDisturbances:
    """The listing faults in force, and the listing passes read so far.

    Not thread-safe: used under the sandbox's state lock, once per page served.

    Attributes:
        faults: the listing faults in force, in the order they were added.
        pass_no: how many listing passes have started.
    """

    def __init__(self) -> None:
        self.faults: list[ListingFault] = []
        self.pass_no = 0

    def disturbed(
        self, ids: list[int], page_no: int, page_size: int
    ) -> tuple[list[int], int, bool]:
        """The rows a page is cut from, the `record_count` to announce, and whether this page is
        answered blank, under the listing faults in force (it also keeps track of passes)."""
        current = self._start(page_no)
        rows = ids
        count = len(ids)
        blank = False
        for fault in self.faults:
            if fault.kind == "repeat":
                rows, count = _repeated(fault, rows, count, page_no, page_size, current)
            elif fault.kind == "empty_page" and page_no == fault.after_page and fault.fire(current):
                blank = True
        for fault in self.faults:
            if (
                fault.kind == "record_count"
                and page_no >= fault.after_page
                and (fault.active_in(current) or fault.fire(current))
            ):
                lie = fault.record_count if fault.record_count is not None else count + fault.delta
                count = max(0, lie)
        return rows, count, blank

    def _start(self, page_no: int) -> int:
        """Count the read of page `page_no` into its pass (a read of page 1 starts a new pass);
        the pass number. The other pages of a pass may come in any order: a reader that asks
        for several pages at once cannot say which of them the server serves first."""
        if page_no == 1:
            self.pass_no += 1
        return self.pass_no

    def shift_after(
        self, store: InvoiceStore, ids: list[int], page_no: int, page_size: int, paid_code: int
    ) -> None:
        """Apply the shift faults due after serving page `page_no` of the listing `ids` (paying
        with the `paymentstatus` `paid_code`)."""
        changed = False
        for fault in self.faults:
            if fault.kind != "shift" or page_no != fault.after_page:
                continue
            if not fault.fire(self.pass_no):
                continue
            before = ids[: min(page_no * page_size, len(ids))]
            changed = _shift(fault, store, before, paid_code) or changed
        if changed:
            store.mark_changed()


def _repeated(
    fault: ListingFault,
    rows: list[int],
    count: int,
    page_no: int,
    page_size: int,
    current: int,
) -> tuple[list[int], int]:
    """The rows and count with a repeat fault's repeats in them (on pages after its page, in the
    pass it fired in); reading its own page fires it."""
    if page_no == fault.after_page:
        fault.fire(current)
        return rows, count
    if page_no < fault.after_page or not fault.active_in(current):
        return rows, count
    boundary = fault.after_page * page_size
    again = rows[max(0, boundary - fault.rows) : boundary]
    if fault.mode == "displace":
        return rows[:boundary] + again + rows[boundary + len(again) :], count
    return rows[:boundary] + again + rows[boundary:], count + len(again)


def _shift(fault: ListingFault, store: InvoiceStore, before: list[int], paid_code: int) -> bool:
    """Delete or pay `fault.rows` of the rows `before` the next page, the last ones first and the
    preferred kind first (not open ones to delete, open ones to pay); True when any was. A
    payment is a change of the invoice: its `last_modified` moves."""
    wanted_open = fault.mode == "pay"
    preferred = [k for k in reversed(before) if store.is_open_key(k) == wanted_open]
    others = [k for k in reversed(before) if store.is_open_key(k) != wanted_open]
    chosen = (preferred + others)[: fault.rows]
    for key in chosen:
        if fault.mode == "delete":
            store.remove(key)
        else:
            store.invoices[key] = paid_in_full(store.invoices[key], paid_code)
            store.touch(key, push=False)
    return bool(chosen)
