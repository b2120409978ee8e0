"""Which invoices get a link: the open-invoice rules and the per-invoice decision.

Pure logic, no I/O. Halo's server-side unpaid filter is advisory only: every invoice read is
classified here again, so a loose (or ignored) filter can never cause a wrong write.

Open, for this product: posted, not voided, not a credit (total > 0), and amount due > 0.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, cast

from halo_paylink.core.backfill.target import (
    CustomFieldTarget,
    FieldTarget,
    LinkTarget,
    has_text,
    normalize,
)
from halo_paylink.core.links import fill_link, invoice_number_for, number_field
from halo_paylink.domain import Numbering
from halo_paylink.halo.models import Invoice, to_decimal


class SkipReason(enum.Enum):
    """Why an invoice is left alone. Values are stable: they appear in journals and reports."""

    NOT_AN_INVOICE = "not_an_invoice"  # id <= 0: a recurring-invoice template or system row
    UNREADABLE = "unreadable"  # a record we cannot read safely (odd id, amount, custom fields)
    VOIDED = "voided"
    DRAFT = "draft"  # not posted
    CREDIT = "credit"  # total < 0 (a credit note)
    PAID = "paid"  # fully paid: nothing due and something was paid
    ZERO_DUE = "zero_due"  # zero total, or nothing due and nothing paid (or unknowable)
    NOT_SYNCED = "not_synced"  # accounting numbering chosen, no third-party number yet
    ALREADY_LINKED = "already_linked"  # the target already holds exactly this link
    CONFLICT = "conflict"  # the target holds a different link and overwrite is off
    # Undo only:
    CHANGED_SINCE = "changed_since"  # the link is no longer the one the run wrote
    ALREADY_RESTORED = "already_restored"  # the invoice already holds its previous value
    NOT_FOUND = "not_found"  # the invoice no longer exists

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SkipReason.NOT_AN_INVOICE: "not an invoice (recurring template)",
    SkipReason.UNREADABLE: "unreadable record",
    SkipReason.VOIDED: "voided",
    SkipReason.DRAFT: "draft (not posted)",
    SkipReason.CREDIT: "credit note",
    SkipReason.PAID: "paid",
    SkipReason.ZERO_DUE: "nothing due",
    SkipReason.NOT_SYNCED: "not yet synced to the accounting tool",
    SkipReason.ALREADY_LINKED: "already has this link",
    SkipReason.CONFLICT: "has a different link",
    SkipReason.CHANGED_SINCE: "changed since the run",
    SkipReason.ALREADY_RESTORED: "already holds its previous value",
    SkipReason.NOT_FOUND: "no longer exists",
}


def skip_label(value: str) -> str:
    """The words for a skip reason's value as counts hold it (`Counts.skipped`); the value as it
    is when it names no `SkipReason` (a journal written by another version)."""
    try:
        return SkipReason(value).label
    except ValueError:
        return value


class Action(enum.Enum):
    WRITE = "write"
    SKIP = "skip"


@dataclass(frozen=True)
class Decision:
    """What to do with one invoice.

    Attributes:
        action: WRITE or SKIP.
        reason: why it is skipped; for a WRITE, CONFLICT when it overwrites a different link.
        old: the target's current value, exactly as Halo sent it ("" and None kept apart).
        new: the link it should hold (None when no link can be built).
        detail: for an unreadable record, what is wrong with it (shown in the report).
    """

    action: Action
    reason: SkipReason | None
    old: Any
    new: str | None
    detail: str = ""  # for UNREADABLE: what is wrong with the record

    @property
    def is_write(self) -> bool:
        return self.action is Action.WRITE


def _flag(value: Any) -> bool:
    """Halo sends booleans as true/false, 0/1 or strings; absent means False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y"}
    return False


def _amount(value: object) -> float | Decimal | None:
    """`to_decimal(value)` for comparing with zero: a finite int or float is compared as it is
    (its sign and zero-ness are those of `Decimal(str(value))`), without building a Decimal."""
    if type(value) is int:  # not isinstance: a bool is not an amount
        return value
    if type(value) is float and math.isfinite(value):
        return value
    return to_decimal(value)


#: Money fields an open-invoice decision reads; `total` must be present, the others may be absent.
_AMOUNT_FIELDS = ("total", "amountdue", "amount_remaining", "amountpaid")
_FLAG_TYPES = (bool, int, str)


def _unreadable_amount(value: Any) -> bool:
    """True for a value that is present but not a finite number (NaN, Infinity, "abc", {})."""
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return False
    if value is None:
        return False
    return kind is bool or to_decimal(value) is None


def unreadable_reason(invoice: Invoice, numbering: Numbering) -> str | None:
    """Why a record cannot be decided safely, or None when it can.

    A record Halo sends in an odd shape costs only itself: it is skipped as `UNREADABLE`, never
    written, and named in the counts and the report.
    """
    raw = invoice.raw
    if raw.get("total") is None:
        return "it has no total"
    if "posted" not in raw:
        return "it does not say whether it is posted"
    for name in _AMOUNT_FIELDS:
        value = raw.get(name)
        if _unreadable_amount(value):
            return f"{name} is {shown_value(value)}, not a number"
    for name in ("posted", "voided"):
        value = raw.get(name)
        if value is not None and not isinstance(value, _FLAG_TYPES):
            return f"{name} is {shown_value(value)}, not true or false"
    custom = raw.get("customfields")
    if custom is not None and type(custom) is not list:
        return f"customfields is {shown_value(custom)}, not a list"
    # Both numbers, whichever the link uses: a number in an odd shape is an odd record.
    for name in {number_field(numbering), number_field(Numbering.ACCOUNTING)}:
        number = raw.get(name)
        if number is not None and type(number) not in (str, int):
            return f"{name} is {shown_value(number)}, not a number or text"
    return None


def shown_value(value: Any) -> str:
    """A value from a Halo record as a report names it: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def closed_reason(invoice: Invoice) -> SkipReason | None:
    """Why the invoice is not open, or None when it is open."""
    raw = invoice.raw
    if _flag(raw.get("voided")):
        return SkipReason.VOIDED
    if not _flag(raw.get("posted")):
        return SkipReason.DRAFT
    total = _amount(raw.get("total"))  # = invoice.total
    if total is not None and total < 0:
        return SkipReason.CREDIT
    if total is None or total == 0:
        return SkipReason.ZERO_DUE  # nothing was ever owed (or the total is unreadable)
    # = invoice.amount_due: amountdue, else amount_remaining, else total - amountpaid
    due = _amount(raw.get("amountdue"))
    if due is None:
        due = _amount(raw.get("amount_remaining"))
        if due is None:
            due = invoice.amount_due
    if due is None or due <= 0:
        paid = _amount(raw.get("amountpaid"))
        return SkipReason.PAID if paid is not None and paid > 0 else SkipReason.ZERO_DUE
    return None


def decide(
    invoice: Invoice,
    *,
    target: LinkTarget,
    template: str,
    numbering: Numbering,
    overwrite: bool = False,
) -> Decision:
    """Classify one invoice for a backfill (the rules, in order: open, synced, link state)."""
    return _decide(target, template, numbering, overwrite, invoice)


def decider_for(
    *,
    target: LinkTarget,
    template: str,
    numbering: Numbering,
    overwrite: bool = False,
) -> Callable[[Invoice], Decision]:
    """`decide` with the settings bound once: the same decisions, for many invoices."""
    return partial(_decide, target, template, numbering, overwrite)


def _decide(
    target: LinkTarget, template: str, numbering: Numbering, overwrite: bool, invoice: Invoice
) -> Decision:
    # Both built-in targets read `normalize(raw)`; anything else is asked.
    kind = type(target)
    if kind is FieldTarget:
        old = invoice.raw.get(cast(FieldTarget, target).field)  # = target.raw(invoice)
        current = normalize(old)
    elif kind is CustomFieldTarget:
        old = target.raw(invoice)
        current = normalize(old)
    else:
        old = target.raw(invoice)
        current = target.read(invoice)
    if invoice.id <= 0:
        return Decision(Action.SKIP, SkipReason.NOT_AN_INVOICE, old, None)
    odd = unreadable_reason(invoice, numbering)
    if odd is not None:
        return Decision(Action.SKIP, SkipReason.UNREADABLE, old, None, detail=odd)
    reason = closed_reason(invoice)
    if reason is not None:
        return Decision(Action.SKIP, reason, old, None)
    number = invoice_number_for(invoice, numbering)
    if number is None:
        return Decision(Action.SKIP, SkipReason.NOT_SYNCED, old, None)
    new = fill_link(template, number)  # = link_for_invoice (the number is known)
    if current == new:
        return Decision(Action.SKIP, SkipReason.ALREADY_LINKED, old, new)
    if current is not None:
        if overwrite:
            return Decision(Action.WRITE, SkipReason.CONFLICT, old, new)
        return Decision(Action.SKIP, SkipReason.CONFLICT, old, new)
    return Decision(Action.WRITE, None, old, new)


def undo_decision(
    invoice: Invoice, *, target: LinkTarget, previous: Any, written: str | None
) -> Decision:
    """Restore `previous` only where the target still holds what the run `written`."""
    current = target.read(invoice)
    raw = target.raw(invoice)
    if current is not None and current == written:
        return Decision(Action.WRITE, None, raw, previous)
    if raw == previous or (current is None and not has_text(previous)):
        return Decision(Action.SKIP, SkipReason.ALREADY_RESTORED, raw, previous)
    return Decision(Action.SKIP, SkipReason.CHANGED_SINCE, raw, previous)


class IdSet:
    """A compact set of invoice ids (a growable bitmap; a plain set for odd ids).

    Used to remember which invoices a run has handled without memory growing like a dict of
    objects: 1,000,000 sequential ids cost 125 KB.
    """

    _BITMAP_LIMIT = 1 << 27  # ids beyond ~134 million go to the fallback set

    def __init__(self) -> None:
        self._bits = bytearray()
        self._other: set[int] = set()
        self._count = 0

    def add(self, invoice_id: int) -> bool:
        """Add; True when it was not there before."""
        if 0 <= invoice_id < self._BITMAP_LIMIT:
            byte = invoice_id >> 3
            bits = self._bits
            if byte >= len(bits):
                bits.extend(bytes(max(byte + 1 - len(bits), len(bits) // 2)))
            mask = 1 << (invoice_id & 7)
            if bits[byte] & mask:
                return False
            bits[byte] |= mask
        else:
            if invoice_id in self._other:
                return False
            self._other.add(invoice_id)
        self._count += 1
        return True

    def discard(self, invoice_id: int) -> None:
        if 0 <= invoice_id < self._BITMAP_LIMIT:
            byte, bit = divmod(invoice_id, 8)
            if byte < len(self._bits) and self._bits[byte] & (1 << bit):
                self._bits[byte] &= ~(1 << bit) & 0xFF
                self._count -= 1
        elif invoice_id in self._other:
            self._other.remove(invoice_id)
            self._count -= 1

    def __contains__(self, invoice_id: object) -> bool:
        if not isinstance(invoice_id, int):
            return False
        if 0 <= invoice_id < self._BITMAP_LIMIT:
            byte = invoice_id >> 3
            return byte < len(self._bits) and bool(self._bits[byte] >> (invoice_id & 7) & 1)
        return invoice_id in self._other

    def __len__(self) -> int:
        return self._count
