"""The controls a test uses to play the tenant instead of editing `box.invoices` by hand:
payments, edits, new invoices and codes that change meaning; each seen over real HTTP."""

from __future__ import annotations

import pytest

from halo_paylink.sandbox import Sandbox, SandboxConfig, StatusCodes
from halo_paylink.sandbox.seed import PAID, PART_PAID, UNPAID

from ..sandbox_http import authorised_client
from .listing_http import SAFE, count, rows

CODES = StatusCodes(unpaid=3, unsynced=-1, part=0, paid=7)


def make(**config: object) -> Sandbox:
    return Sandbox(SandboxConfig(invoices=150, seed=14, status_codes=CODES, **config))  # type: ignore[arg-type]


def one_of(box: Sandbox, category: str) -> int:
    return next(i for i, c in sorted(box.categories.items()) if c == category)


def test_set_payment_sets_amounts_and_the_code_of_what_they_say() -> None:
    with make(stamp_changes=True) as box, authorised_client(box) as http:
        invoice_id = one_of(box, UNPAID)
        total = box.invoice(invoice_id)["total"]
        assert invoice_id not in {row["id"] for row in rows(http, paymentstatuses=7, **SAFE)}
        quarter = round(total / 4, 2)
        part = box.set_payment(invoice_id, paid=quarter)
        assert part["paymentstatus"] == 0 and part["amountpaid"] == quarter
        assert part["amountdue"] == part["amount_remaining"] == round(total - quarter, 2)
        assert invoice_id in box.open_invoice_ids()
        full = box.set_payment(invoice_id)
        assert (full["paymentstatus"], full["amountdue"], full["amountpaid"]) == (7, 0, total)
        assert invoice_id not in box.open_invoice_ids()
        assert full["last_modified"] > part["last_modified"]
        # The listing filtered by code sees it at once (no listing cached before is served).
        paid_now = {row["id"] for row in rows(http, paymentstatuses=7, **SAFE)}
        assert invoice_id in paid_now
        unpaid = box.set_payment(invoice_id, paid=False)
        assert (unpaid["paymentstatus"], unpaid["amountdue"]) == (3, total)
        odd = box.set_payment(invoice_id, paid=True, code=42)  # a code with no meaning here
        assert odd["paymentstatus"] == 42 and count(http, paymentstatuses=42) == 1
        assert box.set_payment(invoice_id, paid=10 * total)["amountpaid"] == total


def test_edit_invoice_sets_fields_as_given() -> None:
    with make() as box, authorised_client(box) as http:
        invoice_id = one_of(box, UNPAID)
        box.edit_invoice(invoice_id, voided=True)
        assert invoice_id not in box.open_invoice_ids()
        assert http.get(f"/api/Invoice/{invoice_id}").json()["voided"] is True
        with pytest.raises(KeyError):
            box.edit_invoice(999999, voided=True)
        with pytest.raises(KeyError):
            box.set_payment(999999)


def test_add_invoices_raises_new_ones_above_every_id() -> None:
    with make(stamp_changes=True, templates=2) as box, authorised_client(box) as http:
        newest_before = max(row["last_modified"] for row in rows(http))
        new = box.add_invoices(4, category=UNPAID)
        part = box.add_invoices(1, category=PART_PAID)
        assert new == list(range(1151, 1155)) and part == [1155]
        assert set(new) | set(part) <= box.open_invoice_ids()
        listed = rows(http, order="id", orderdesc="true")
        assert [row["id"] for row in listed[:5]] == [1155, 1154, 1153, 1152, 1151]
        for row in listed[:5]:
            assert row["last_modified"] > newest_before
            assert row["last_synced"] == row["last_modified"]  # raised and synced now
            assert row["paymentstatus"] in (3, -1, 0)
            assert row["invoice_date"][:10] == row["last_modified"][:10]
        with pytest.raises(ValueError, match="unknown invoice category"):
            box.add_invoices(1, category="overdue")


def test_codes_can_change_meaning_mid_life() -> None:
    with make(stamp_changes=True) as box, authorised_client(box) as http:
        paid_before = count(http, paymentstatuses=7)
        # From now on 7 means part-paid and 5 means paid; the invoices keep their codes.
        later = StatusCodes(unpaid=3, unsynced=-1, part=7, paid=5)
        assert box.set_status_codes(later) == CODES
        assert count(http, paymentstatuses=7) == paid_before
        invoice_id = one_of(box, UNPAID)
        half = box.set_payment(invoice_id, paid=box.invoice(invoice_id)["total"] / 2)
        assert half["paymentstatus"] == 7 and half["amountdue"] > 0
        assert box.add_invoices(1, category=PAID) and count(http, paymentstatuses=5) == 1
        # A migration rewrites every invoice's code to the new one of the same meaning.
        box.set_status_codes(StatusCodes(unpaid=30, unsynced=-10, part=0, paid=70), recode=True)
        codes = {row["paymentstatus"] for row in rows(http)}
        assert codes <= {30, -10, 0, 70} and 70 in codes and 30 in codes
        assert box.invoice(invoice_id)["paymentstatus"] == 0  # it was part-paid (7)
        with pytest.raises(ValueError):
            box.set_status_codes({"paid": 1})  # type: ignore[arg-type]


def test_hand_edits_under_the_lock_still_work() -> None:
    with make(stamp_changes=True) as box, authorised_client(box) as http:
        invoice_id = one_of(box, PAID)
        before = box.invoice(invoice_id)
        with box.lock:
            box.invoices[invoice_id].update(amountpaid=0, amountdue=10.0, paymentstatus=3)
            box.invoices[5000] = {**box.invoices[invoice_id], "id": 5000}
        assert invoice_id in {row["id"] for row in rows(http, paymentstatuses=3)}
        assert box.invoice(invoice_id)["last_modified"] == before["last_modified"]
        added = http.get("/api/Invoice/5000").json()
        assert added["last_modified"] > before["last_modified"]  # stamped when first served
        assert http.get("/api/Invoice/5000").json()["last_modified"] == added["last_modified"]
