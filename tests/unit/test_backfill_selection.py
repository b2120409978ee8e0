"""Selection rules, link targets and the id set (pure logic)."""

from __future__ import annotations

from typing import Any

import pytest

from halo_paylink.core.backfill.selection import (
    Action,
    IdSet,
    SkipReason,
    decide,
    undo_decision,
)
from halo_paylink.core.backfill.target import (
    CustomFieldTarget,
    FieldTarget,
    parse_link_target,
)
from halo_paylink.domain import Numbering
from halo_paylink.halo.models import Invoice

T = "https://www.benjipays.com/portal/x/pay/?InvoiceNumber=[Invoice No.]"
F = "generic_online_invoice_payment_url"


def inv(**over: Any) -> Invoice:
    data = {
        "id": 5,
        "posted": True,
        "voided": False,
        "total": 100.0,
        "amountpaid": 0,
        "amountdue": 100.0,
        "thirdpartyinvoicenumber": "A-1",
        F: "",
    }
    data.update(over)
    return Invoice.from_json(data)


def d(invoice: Invoice, **kw: Any):
    return decide(
        invoice,
        target=FieldTarget(),
        template=T,
        numbering=kw.pop("numbering", Numbering.ACCOUNTING),
        **kw,
    )


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"voided": True}, SkipReason.VOIDED),
        ({"posted": False}, SkipReason.DRAFT),
        ({"posted": "false"}, SkipReason.DRAFT),
        ({}, None),
        ({"total": -5, "amountdue": -5}, SkipReason.CREDIT),
        ({"total": 0, "amountdue": 0}, SkipReason.ZERO_DUE),
        ({"amountdue": 0, "amountpaid": 100}, SkipReason.PAID),
        ({"amountdue": None, "amount_remaining": None, "amountpaid": 100}, SkipReason.PAID),
        ({"amountdue": None, "amount_remaining": "12.5", "amountpaid": 87.5}, None),
        ({"thirdpartyinvoicenumber": None}, SkipReason.NOT_SYNCED),
        ({F: T.replace("[Invoice No.]", "A-1")}, SkipReason.ALREADY_LINKED),
        ({F: "https://other.example/pay"}, SkipReason.CONFLICT),
        ({"posted": 1, "voided": 0}, None),
    ],
)
def test_reasons(over: dict[str, Any], reason: SkipReason | None) -> None:
    decision = d(inv(**over))
    assert decision.reason is reason
    assert decision.action is (Action.WRITE if reason is None else Action.SKIP)


def test_write_has_filled_link_and_raw_old() -> None:
    decision = d(inv())
    assert decision.new == T.replace("[Invoice No.]", "A-1")
    assert decision.old == ""  # kept exactly, for undo


def test_conflict_overwrite_and_halo_numbering() -> None:
    other = inv(**{F: "https://other.example/pay"})
    overwrite = d(other, overwrite=True)
    assert overwrite.action is Action.WRITE and overwrite.reason is SkipReason.CONFLICT
    assert d(inv(thirdpartyinvoicenumber=None), numbering=Numbering.HALO).new == T.replace(
        "[Invoice No.]", "5"
    )


def test_targets() -> None:
    assert parse_link_target(None) == FieldTarget()
    assert parse_link_target("custom:CFPay") == CustomFieldTarget("CFPay")
    assert parse_link_target("xero_online_invoice_payment_url").spec == (
        "xero_online_invoice_payment_url"
    )
    for bad in ("custom:", "total", "lines", "id", "a b"):
        with pytest.raises(ValueError):
            parse_link_target(bad)
    custom = CustomFieldTarget("CFPay")
    invoice = inv(customfields=[{"name": "CFPay", "value": "x"}, {"name": "Other", "value": 1}])
    assert custom.read(invoice) == "x"
    assert custom.build_update(5, "y") == {
        "id": 5,
        "customfields": [{"name": "CFPay", "value": "y"}],
    }
    assert FieldTarget().build_update(5, "y") == {"id": 5, F: "y"}


def test_undo_decision() -> None:
    target = FieldTarget()
    ours = "https://www.benjipays.com/x"
    assert undo_decision(inv(**{F: ours}), target=target, previous="", written=ours).new == ""
    assert undo_decision(inv(**{F: "z"}), target=target, previous="", written=ours).reason is (
        SkipReason.CHANGED_SINCE
    )
    assert undo_decision(inv(**{F: None}), target=target, previous="", written=ours).reason is (
        SkipReason.ALREADY_RESTORED
    )


def test_idset() -> None:
    ids = IdSet()
    assert ids.add(3) and not ids.add(3)
    assert ids.add(10**12) and 10**12 in ids
    assert ids.add(-1) and -1 in ids
    assert 4 not in ids and "3" not in ids
    for i in range(1000, 5000):
        ids.add(i)
    assert len(ids) == 3 + 4000
    ids.discard(3)
    ids.discard(3)
    assert 3 not in ids and len(ids) == 2 + 4000
