"""The three things a run can do over the one stream -> decide -> write pipeline of `Engine`.

- `BackfillMode(writes=False)`  a dry run: decide every invoice, send nothing, journal nothing.
- `BackfillMode(writes=True)`   a backfill: decide every invoice, write the links in batches.
- `UndoMode`                    restore what an earlier run replaced, where nobody changed it.
- `pilot_mode(...)`             a backfill of one chosen invoice (see `pilot`).

A mode says how each invoice is decided and what completion needs: a plan or a backfill must
have seen the whole listing consistent (see `listing.ListingAudit`); an undo must have looked at
every invoice it restores, which it can fetch one by one when the listing does not show them.
Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from halo_paylink.core.backfill.journal import RunKind
from halo_paylink.core.backfill.progress import Phase
from halo_paylink.core.backfill.selection import Decision, undo_decision
from halo_paylink.core.backfill.target import LinkTarget
from halo_paylink.halo.models import Invoice

Decider = Callable[[Invoice], Decision | None]


@dataclass(frozen=True)
class BackfillMode:
    """A backfill (`writes`: every WRITE decision goes into a journaled batch and is POSTed) or
    its dry run (not `writes`: every WRITE decision is counted and sampled, never sent)."""

    decide: Decider
    writes: bool
    kind: RunKind = RunKind.BACKFILL
    needs_whole_listing: bool = True
    expected: Mapping[int, Any] = field(default_factory=dict)
    #: With `expected` (a pilot): fetch those invoices one by one when that is cheaper than
    #: reading the list, as the first page's count tells.
    fetch_when_cheaper: bool = False

    @property
    def phase(self) -> Phase:
        return Phase.WRITING if self.writes else Phase.PLANNING


@dataclass(frozen=True)
class UndoMode:
    """Undo: `expected` maps each invoice the undone run wrote to (previous value, its link)."""

    target: LinkTarget
    expected: Mapping[int, tuple[Any, str | None]]
    kind: RunKind = RunKind.UNDO
    writes: bool = True
    needs_whole_listing: bool = False
    phase: Phase = Phase.WRITING
    fetch_when_cheaper: bool = True

    def decide(self, invoice: Invoice) -> Decision | None:
        change = self.expected.get(invoice.id)
        if change is None:
            return None  # not touched by the run being undone
        previous, written = change
        return undo_decision(invoice, target=self.target, previous=previous, written=written)


Mode = BackfillMode | UndoMode


def pilot_mode(decide: Decider, invoice_id: int) -> BackfillMode:
    """A backfill of invoice `invoice_id` alone: every other invoice is not decided at all."""

    def only_the_pilot(invoice: Invoice) -> Decision | None:
        return decide(invoice) if invoice.id == invoice_id else None

    return BackfillMode(
        only_the_pilot,
        writes=True,
        needs_whole_listing=False,
        expected={invoice_id: None},
        fetch_when_cheaper=True,
    )
