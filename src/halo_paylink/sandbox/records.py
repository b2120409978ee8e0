"""What the sandbox makes of one stored invoice record: whether it is well formed, whether it is
an open invoice (the ground truth a backfill is checked against), and a copy of it paid in full.

Records are JSON-shaped dicts of any shape: odd records are malformed on purpose, so every
reading here checks types before it trusts a value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

#: A stored invoice record (any JSON values; see the module docstring).
Invoice = dict[str, Any]

#: Invoice fields whose changes cannot affect which invoices a listing returns or their order, so
#: writing them keeps cached listings valid (the backfill writes only these).
UNINDEXED_FIELDS = frozenset(
    {"generic_online_invoice_payment_url", "xero_online_invoice_payment_url", "customfields"}
)


def finite_number(value: object) -> TypeGuard[float]:
    """A JSON number that is neither a boolean nor NaN/Infinity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def readable(invoice_id: int, invoice: Mapping[str, Any]) -> bool:
    """True when a stored record is a well-formed invoice: its id is this integer key, its amounts
    are finite numbers, `posted` and `total` are present, `customfields` is a list and the
    numbers it is linked by are text (or absent). The sandbox's own notion, for ground truth."""
    raw_id = invoice.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id != invoice_id:
        return False
    if not isinstance(invoice.get("posted"), bool) or not finite_number(invoice.get("total")):
        return False
    for name in ("amountpaid", "amountdue", "amount_remaining"):
        value = invoice.get(name)
        if value is not None and not finite_number(value):
            return False
    if not isinstance(invoice.get("customfields", []), list | type(None)):
        return False
    return all(
        invoice.get(name) is None or isinstance(invoice.get(name), str)
        for name in ("thirdpartyinvoicenumber", "invoicenumber")
    )


def is_open(invoice_id: int, invoice: Mapping[str, Any]) -> bool:
    """The project's open invoice: id > 0, readable, posted, not voided, total > 0 and something
    due (amountdue, else amount_remaining, else total - amountpaid)."""
    if invoice_id <= 0 or not readable(invoice_id, invoice):
        return False
    if invoice.get("posted") is not True or invoice.get("voided") is True:
        return False
    total = float(invoice["total"])
    if total <= 0:
        return False
    for name in ("amountdue", "amount_remaining"):
        if invoice.get(name) is not None:
            return float(invoice[name]) > 0
    return total - float(invoice.get("amountpaid") or 0) > 0


def paid_in_full(invoice: Mapping[str, Any], code: int) -> Invoice:
    """A copy of `invoice` paid in full, with the paid `paymentstatus` `code` (the stored dict is
    replaced, never changed in place, so a page being sent keeps what it was built from)."""
    paid = dict(invoice)
    total = invoice.get("total")
    if finite_number(total):
        paid["amountpaid"] = total
    paid["amountdue"] = 0.0
    paid["amount_remaining"] = 0.0
    paid["paymentstatus"] = code
    return paid


def with_payment(invoice: Mapping[str, Any], amount: float, code: int) -> Invoice:
    """A copy of `invoice` with `amount` paid (at most its total) and `paymentstatus` `code`;
    the amounts due follow. A record without a finite total gets only the code."""
    paid = dict(invoice)
    total = invoice.get("total")
    if finite_number(total):
        amount = round(min(max(amount, 0.0), float(total)), 2)
        due = round(float(total) - amount, 2)
        paid.update(amountpaid=amount, amountdue=due, amount_remaining=due)
    paid["paymentstatus"] = code
    return paid
