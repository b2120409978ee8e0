"""Whether one read of Halo's invoice list adds up: the evidence behind "completed".

Halo's list is paged by offset, so rows that vanish (deleted, or paid under a payment-status
filter) or appear between two page reads shift the later rows across a page boundary, and a
reader that trusts the pages misses some. `ListingAudit` watches one read, page by page, and says
whether it can be shown consistent:

- `record_count` is the same on every page;
- each id is listed once;
- no page is empty, or shorter than the page size, before the end;
- the rows received are exactly the rows announced (not fewer, not more);
- without an announced count, a second read lists exactly the same rows.

A consistent read saw every row Halo listed at that time. Pure logic, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from halo_paylink.core.backfill.selection import IdSet
from halo_paylink.halo.models import InvoicePage

#: Problems kept for the log and the run's detail (the first few say enough).
_MAX_PROBLEMS = 5


@dataclass
class ListingAudit:
    """The evidence of one read of the invoice list (feed it every page, in order)."""

    announced: int | None = None  # record_count of the first page
    largest_announced: int = 0
    rows: int = 0  # every row received, readable or not
    pages: int = 0
    problems: list[str] = field(default_factory=list)
    previous: ListingAudit | None = field(default=None, repr=False)  # the read before this
    _ids: IdSet = field(default_factory=IdSet, repr=False)
    _id_sum: int = 0
    _id_xor: int = 0
    _distinct: int = 0
    _short_page: int | None = None  # a page shorter than its size, seen before the end
    _finished: bool = False

    def see(self, page: InvoicePage) -> None:
        """Check one page as it arrives."""
        self.pages += 1
        count = page.record_count
        if self.pages == 1:
            self.announced = count
        elif count != self.announced:
            self._problem(
                f"record_count changed from {self.announced} to {count} at page {page.page_no}"
            )
        if count is not None:
            self.largest_announced = max(self.largest_announced, count)
        if self._short_page is not None and page.rows:
            self._problem(f"page {self._short_page} was short although more rows followed")
            self._short_page = None
        rows = page.rows
        if rows < page.page_size:
            self._short_page = page.page_no
        if rows == 0 and count is not None and self.rows < count:
            self._problem(f"page {page.page_no} was empty after {self.rows} of {count} rows")
        self.rows += rows
        for invoice in page.invoices:
            if self._ids.add(invoice.id):
                self._distinct += 1
                self._id_sum += invoice.id
                self._id_xor ^= invoice.id
            else:
                self._problem(f"invoice {invoice.id} was listed twice")
        self._distinct += len(page.odd_rows)

    def finish(self) -> None:
        """Call once the reader has reached the end of the list."""
        self._finished = True
        if self.announced is None:
            # Without a count nothing shows a row went missing between two page reads: only a
            # second read that lists exactly the same rows is evidence.
            if self.previous is None or self._fingerprint() != self.previous._fingerprint():
                self._problem("Halo did not say how many invoices it lists (no record_count)")
        elif self.rows != self.announced:
            more_or_fewer = "more" if self.rows > self.announced else "fewer"
            self._problem(
                f"{self.rows} rows arrived, {more_or_fewer} than the {self.announced} announced"
            )

    @property
    def consistent(self) -> bool:
        """True when the whole list was read and every check held."""
        return self._finished and not self.problems

    @property
    def possibly_missed(self) -> int:
        """How many rows this read may have missed: at least 1 when it is not consistent."""
        if self.consistent:
            return 0
        return max(1, self.largest_announced - self._distinct)

    def _fingerprint(self) -> tuple[int, int, int, int]:
        return (self.rows, self._distinct, self._id_sum, self._id_xor)

    def disturbed(self, reason: str) -> None:
        """Evidence from outside the pages that this read missed something (e.g. a recount)."""
        self._problem(reason)

    def summary(self) -> str:
        return "; ".join(self.problems) or "consistent"

    def _problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == _MAX_PROBLEMS:
            self.problems.append("...")
