"""The fast decision path (`decider_for`, int/float amounts) decides exactly like the rules."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from halo_paylink.core.backfill.selection import SkipReason, decide, decider_for
from halo_paylink.core.backfill.target import CustomFieldTarget, FieldTarget
from halo_paylink.domain import Numbering
from halo_paylink.halo.models import Invoice

T = "https://www.benjipays.com/portal/x/pay/?InvoiceNumber=[Invoice No.]"
F = "generic_online_invoice_payment_url"
AMOUNTS: list[Any] = [
    None,
    0,
    0.0,
    -0.0,
    5,
    -5,
    12.5,
    "12.50",
    "0",
    "-3",
    "abc",
    True,
    Decimal("2"),
]


def _slow_reason(invoice: Invoice) -> SkipReason | None:
    """The open-invoice rules written with Decimals only (as they were before the fast path)."""
    from halo_paylink.core.backfill.selection import _flag
    from halo_paylink.halo.models import to_decimal

    if _flag(invoice.get("voided")):
        return SkipReason.VOIDED
    if invoice.get("total") is None:
        return SkipReason.UNREADABLE  # no total: nothing can be decided from it
    for name in ("total", "amountdue", "amount_remaining", "amountpaid"):
        value = invoice.get(name)
        if value is not None and to_decimal(value) is None:
            return SkipReason.UNREADABLE  # present but not a finite number
    if not _flag(invoice.get("posted")):
        return SkipReason.DRAFT
    total = invoice.total
    if total is not None and total < 0:
        return SkipReason.CREDIT
    if total is None or total == 0:
        return SkipReason.ZERO_DUE
    due = invoice.amount_due
    if due is None or due <= 0:
        paid = to_decimal(invoice.get("amountpaid"))
        return SkipReason.PAID if paid is not None and paid > 0 else SkipReason.ZERO_DUE
    return None


def test_fast_amounts_decide_like_decimals() -> None:
    target = FieldTarget()
    fast = decider_for(target=target, template=T, numbering=Numbering.ACCOUNTING)
    checked = 0
    for total, due, remaining, paid in itertools.product(
        AMOUNTS, AMOUNTS[:8], [None, 3], AMOUNTS[:6]
    ):
        data: dict[str, Any] = {
            "id": 7,
            "posted": True,
            "total": total,
            "amountdue": due,
            "amount_remaining": remaining,
            "amountpaid": paid,
            "thirdpartyinvoicenumber": "A 1/2",
            F: "",
        }
        invoice = Invoice.from_json(data)
        expected_reason = _slow_reason(invoice)
        got = fast(invoice)
        assert got == decide(invoice, target=target, template=T, numbering=Numbering.ACCOUNTING)
        if expected_reason is None:
            assert got.is_write and got.new == T.replace("[Invoice No.]", "A%201%2F2")
        else:
            assert got.reason is expected_reason and not got.is_write
        checked += 1
    assert checked == len(AMOUNTS) * 8 * 2 * 6


def test_decider_for_custom_field_and_link_states() -> None:
    target = CustomFieldTarget("CFPay")
    link = T.replace("[Invoice No.]", "A-1")
    base = {"id": 5, "posted": True, "total": 10, "amountdue": 10, "thirdpartyinvoicenumber": "A-1"}
    fast = decider_for(target=target, template=T, numbering=Numbering.ACCOUNTING, overwrite=True)
    for value, action, reason in [
        (None, "write", None),
        ("  ", "write", None),
        (link, "skip", SkipReason.ALREADY_LINKED),
        ("https://other", "write", SkipReason.CONFLICT),
    ]:
        invoice = Invoice.from_json({**base, "customfields": [{"name": "CFPay", "value": value}]})
        got = fast(invoice)
        assert got.action.value == action and got.reason is reason
        assert got.old == value
