"""Payment status codes the sandbox is told to use, over real HTTP: every record carries the code
of what its amounts say in that numbering, and nothing carries a default code it was not given,
so no client can rest on the defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.sandbox import Sandbox, SandboxConfig, StatusCodes, parse_status_codes
from halo_paylink.sandbox.seed import FIRST_INVOICE_ID, NOT_SYNCED, PAID, UNPAID, ZERO_DUE

from ..sandbox_http import authorised_client
from ..sandbox_process import TIMEOUT, read_line, start
from .listing_http import count, rows, signed_in

DEFAULT_CODES = frozenset({-1, 0, 1, 2})


def code_of(box: Sandbox, invoice_id: int) -> Any:
    with box.lock:
        return box.invoices[invoice_id]["paymentstatus"]


def expected_meaning(row: dict[str, Any]) -> set[str]:
    """The meanings a seeded invoice's amounts allow in the seed's model."""
    if row["total"] == 0:
        return {"paid"}  # nothing to pay
    if row["total"] < 0 or row["voided"] or not row["posted"]:
        return {"unpaid"}  # credits, voided invoices and drafts are never paid
    if row["amountdue"] == 0:
        return {"paid"}
    if row["amountpaid"] > 0:
        return {"part"}
    return {"unpaid", "unsynced"}


codes_strategy = st.lists(st.integers(-6, 12), min_size=4, max_size=4, unique=True).map(
    lambda values: StatusCodes(*values)
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(codes=codes_strategy)
def test_every_record_carries_the_code_of_its_amounts(codes: StatusCodes) -> None:
    config = SandboxConfig(invoices=160, seed=3, status_codes=codes, templates=2)
    with Sandbox(config) as box, authorised_client(box) as http:
        box.add_odd_records()
        listed = [row for row in rows(http) if isinstance(row.get("total"), int | float)]
        assert len(listed) > 160
        for row in listed:
            meaning = codes.meaning(row["paymentstatus"])
            assert meaning is not None, row
            if isinstance(row["id"], int) and row["id"] >= FIRST_INVOICE_ID:
                assert meaning in expected_meaning(row), row
            else:  # templates and odd records look open and unpaid
                assert meaning == "unpaid", row
        # The filter finds each code's invoices, and no default code it was not given.
        used = {row["paymentstatus"] for row in listed}
        assert used <= {codes.unpaid, codes.unsynced, codes.part, codes.paid}
        for code in (DEFAULT_CODES - used) | {99}:
            assert count(http, paymentstatuses=code) == 0
        for code in used:
            assert count(http, paymentstatuses=code) == sum(
                1 for row in rows(http) if row.get("paymentstatus") == code
            )


def test_every_meaning_is_present_with_enough_invoices() -> None:
    codes = StatusCodes(unpaid=3, unsynced=5, part=0, paid=7)
    with Sandbox(SandboxConfig(invoices=400, seed=9, status_codes=codes)) as box:
        with box.lock:
            used = {inv["paymentstatus"] for inv in box.invoices.values()}
            unpaid = [
                inv for i, inv in box.invoices.items() if box.categories[i] in (UNPAID, NOT_SYNCED)
            ]
            zero_due = [inv for i, inv in box.invoices.items() if box.categories[i] == ZERO_DUE]
        assert used == {3, 5, 0, 7}
        assert {inv["paymentstatus"] for inv in unpaid} == {3, 5}
        assert {inv["paymentstatus"] for inv in zero_due} == {7}


def test_payments_the_sandbox_makes_use_the_codes_in_force() -> None:
    codes = StatusCodes(unpaid=10, unsynced=11, part=12, paid=13)
    with Sandbox(SandboxConfig(invoices=120, seed=4, status_codes=codes)) as box:
        with authorised_client(box) as http:
            # A listing fault's payments, an invoice created by a POST, new invoices, templates.
            open_before = box.open_invoice_ids()
            box.shift_rows(after_page=1, rows=3, mode="pay")
            first = http.get(
                "/api/Invoice", params={"pageinate": "true", "page_size": 50, "page_no": 1}
            ).json()["invoices"]
            paid_by_fault = sorted(open_before - box.open_invoice_ids())
            assert len(paid_by_fault) == 3
            assert set(paid_by_fault) <= {row["id"] for row in first}
            assert {code_of(box, i) for i in paid_by_fault} == {13}
            created = http.post(
                "/api/Invoice", json=[{"generic_online_invoice_payment_url": "https://x.test"}]
            ).json()[0]
            assert created["paymentstatus"] == 10
        template = box.add_templates(1)[0]
        assert code_of(box, template) == 10
        new = box.add_invoices(2, category=PAID) + box.add_invoices(1)
        assert [code_of(box, i) for i in new] in ([13, 13, 10], [13, 13, 11])


def test_parse_status_codes_reads_pairs_and_keeps_the_rest() -> None:
    assert parse_status_codes("paid=7, unpaid=3") == StatusCodes(unpaid=3, paid=7)
    assert parse_status_codes("PAID=-9") == StatusCodes(paid=-9)
    assert parse_status_codes(StatusCodes(unpaid=4, part=8).spec()) == StatusCodes(unpaid=4, part=8)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "give MEANING=CODE pairs"),
        ("paid", "'paid' is not MEANING=CODE"),
        ("paid=seven", "'seven' is not a whole number"),
        ("owed=3", "'owed' is not a payment status meaning"),
        ("paid=3,paid=4", "'paid' is given twice"),
        ("paid=0", "unpaid and paid cannot share the status code 0"),
    ],
)
def test_bad_status_codes_are_refused_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_status_codes(spec)


def test_status_codes_must_be_whole_and_distinct() -> None:
    with pytest.raises(ValueError, match="part and paid cannot share"):
        StatusCodes(part=2)
    with pytest.raises(ValueError, match="must be a whole number"):
        StatusCodes(paid=True)


def test_the_command_takes_status_codes(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--json", "--invoices", "60", "--status-codes", "paid=7,unpaid=3")
    processes.append(proc)
    info = json.loads(read_line(proc))
    with signed_in(info["url"], info["client_id"], info["client_secret"]) as http:
        used = {row["paymentstatus"] for row in rows(http)}
    assert 7 in used and 3 in used and not used & {0, 2}
    proc.terminate()
    proc.communicate(timeout=TIMEOUT)


def test_the_command_refuses_bad_status_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "halo_paylink", "sandbox", "--status-codes", "part=2"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 2
    assert "part and paid cannot share the status code 2" in done.stderr
