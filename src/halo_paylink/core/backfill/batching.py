"""How many invoices go into one `POST /Invoice`.

Fewer, larger writes are what make a backfill fast under hosted Halo's request budget, but how
large a batch this Halo takes in good time is not known in advance. `BatchSizer` starts at
`facts.UPDATE_BATCH_SIZE`, doubles toward `facts.MAX_UPDATE_BATCH_SIZE` while full batches are
answered within `facts.QUICK_WRITE_SECONDS` without a retry, and halves on a timeout, a dropped
connection or a server error (answered after retries, or not at all). A size the admin fixes
(`RunOptions.batch_size`) never moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts

#: Failures that say "smaller, please": the request was too slow or Halo struggled with it.
TROUBLE = frozenset({ErrorKind.TIMEOUT, ErrorKind.NETWORK, ErrorKind.SERVER_ERROR})


@dataclass
class BatchSizer:
    """The size of the next batch; see the module docstring.

    Attributes:
        size: invoices in the next batch.
        floor, ceiling: the bounds `size` moves within.
        quick_seconds: an answer at or under this counts as quick.
    """

    size: int
    floor: int = 1
    ceiling: int = facts.MAX_UPDATE_BATCH_SIZE
    quick_seconds: float = facts.QUICK_WRITE_SECONDS

    @classmethod
    def for_options(cls, batch_size: int | None) -> BatchSizer:
        """Adaptive when `batch_size` is None, else fixed at it."""
        if batch_size is None:
            return cls(size=min(facts.UPDATE_BATCH_SIZE, facts.MAX_UPDATE_BATCH_SIZE))
        if batch_size < 1:
            raise ValueError("a batch holds at least one invoice")
        return cls(size=batch_size, floor=batch_size, ceiling=batch_size)

    @property
    def fixed(self) -> bool:
        return self.floor == self.ceiling

    def answered(self, items: int, seconds: float, *, retried: bool) -> None:
        """A batch of `items` was saved after `seconds`; `retried` when it needed a retry."""
        if retried:
            self.shrink()
        elif items >= self.size and seconds <= self.quick_seconds:
            self.size = min(self.ceiling, self.size * 2)

    def failed(self, error: HaloError) -> None:
        """A batch ended in `error`: shrink when the error says the batch was too much."""
        if error.kind in TROUBLE:
            self.shrink()

    def shrink(self) -> None:
        self.size = max(self.floor, self.size // 2)
