"""The sandbox's listing faults, odd records and ground truth, over real HTTP.

These hold the sandbox itself to its word, so the backfill tests built on it mean something.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox import seed as seedmod

from .sandbox_http import authorised_client

N = 95
SIZE = 10
UNPAID = {"paymentstatuses": "0,-1", "includeinvoices": "true", "includecredits": "false"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=N, seed=5)) as sb:
        yield sb


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with authorised_client(sandbox) as client:
        yield client


def page(http: httpx.Client, page_no: int, size: int = SIZE, **params: Any) -> dict[str, Any]:
    response = http.get(
        "/api/Invoice",
        params={"pageinate": "true", "page_size": size, "page_no": page_no, **params},
    )
    assert response.status_code == 200, response.text
    return response.json()


def naive_pass(http: httpx.Client, size: int = SIZE, **params: Any) -> list[Any]:
    """Reads pages until one is empty or `record_count` rows were seen (trusting the server)."""
    ids: list[Any] = []
    page_no = 1
    while True:
        body = page(http, page_no, size, **params)
        ids.extend(row["id"] for row in body["invoices"])
        if not body["invoices"] or len(ids) >= body["record_count"]:
            return ids
        page_no += 1


def listed(sandbox: Sandbox, **filters: Any) -> list[int]:
    with sandbox.lock:
        if filters:
            return sorted(
                i
                for i, inv in sandbox.invoices.items()
                if inv["paymentstatus"] in (0, -1) and inv["total"] >= 0
            )
        return sorted(sandbox.invoices)


def test_undisturbed_pass_reads_every_row_once(http: httpx.Client, sandbox: Sandbox) -> None:
    assert naive_pass(http) == listed(sandbox)


def test_deleted_rows_shift_later_rows_back_past_a_naive_reader(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    before = listed(sandbox)
    sandbox.shift_rows(after_page=2, rows=3, mode="delete")
    seen = naive_pass(http)
    after = listed(sandbox)
    assert len(after) == N - 3
    missed = set(after) - set(seen)
    # the three rows that moved back from page 3 into page 2's range were never served
    assert missed == set(before[2 * SIZE : 2 * SIZE + 3])
    deleted = set(before) - set(after)
    assert deleted <= set(before[: 2 * SIZE])
    # rows that are not open invoices go first
    assert not deleted & sandbox.open_invoice_ids()
    # spent after one pass: the next pass reads every remaining row
    assert naive_pass(http) == after


def test_paid_rows_drop_out_of_the_filtered_listing(http: httpx.Client, sandbox: Sandbox) -> None:
    open_before = sandbox.open_invoice_ids()
    before = listed(sandbox, unpaid=True)
    sandbox.shift_rows(after_page=1, rows=2, mode="pay")
    seen = naive_pass(http, **UNPAID)
    after = listed(sandbox, unpaid=True)
    paid = set(before) - set(after)
    assert len(paid) == 2 and paid <= set(before[:SIZE]) and paid <= open_before
    assert sandbox.open_invoice_ids() == open_before - paid
    assert set(after) - set(seen) == set(before[SIZE : SIZE + 2])
    with sandbox.lock:
        assert all(sandbox.invoices[i]["amountdue"] == 0 for i in paid)


def test_shift_every_pass_keeps_disturbing(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.shift_rows(after_page=1, rows=1, passes=None)
    for _ in range(3):
        seen = naive_pass(http)
        assert set(listed(sandbox)) - set(seen)
    sandbox.clear_listing_faults()
    assert naive_pass(http) == listed(sandbox)
    assert sandbox.listing_passes == 4


def test_repeated_rows_are_counted_in_record_count(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.repeat_rows(after_page=3, rows=2)
    first = page(http, 1)
    assert first["record_count"] == N
    page(http, 2)
    third = page(http, 3)
    fourth = page(http, 4)
    assert fourth["record_count"] == N + 2
    assert [r["id"] for r in fourth["invoices"][:2]] == [r["id"] for r in third["invoices"][-2:]]
    # the rest of the pass is consistent with the announced count
    rows = first["invoices"] + page(http, 2)["invoices"] + third["invoices"] + fourth["invoices"]
    assert len(rows) == 4 * SIZE


def test_repeated_rows_in_a_whole_pass(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.repeat_rows(after_page=2, rows=1)
    seen = naive_pass(http)
    assert len(seen) == N + 1 and len(set(seen)) == N
    assert naive_pass(http) == listed(sandbox)  # spent


def test_displacing_repeat_hides_the_rows_it_displaces(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    all_ids = listed(sandbox)
    sandbox.repeat_rows(after_page=2, rows=2, displace=True)
    seen = naive_pass(http)
    assert len(seen) == N  # record_count is the real count and counts the repeats
    assert seen[2 * SIZE : 2 * SIZE + 2] == all_ids[2 * SIZE - 2 : 2 * SIZE]
    assert set(all_ids) - set(seen) == set(all_ids[2 * SIZE : 2 * SIZE + 2])
    assert naive_pass(http) == all_ids  # spent


@pytest.mark.parametrize("announced", [50, 140])
def test_lying_record_count(http: httpx.Client, sandbox: Sandbox, announced: int) -> None:
    sandbox.lie_record_count(record_count=announced)
    bodies = [page(http, n) for n in range(1, math.ceil(N / SIZE) + 2)]
    assert {b["record_count"] for b in bodies} == {announced}
    assert sum(len(b["invoices"]) for b in bodies) == N  # the rows themselves are all there
    assert page(http, 1)["record_count"] == N  # a new pass: spent


def test_record_count_changing_mid_pass(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.lie_record_count(delta=-7, after_page=3)
    counts = [page(http, n)["record_count"] for n in range(1, 6)]
    assert counts == [N, N, N - 7, N - 7, N - 7]


def test_empty_page_once(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.empty_page(page=3)
    page(http, 1)
    page(http, 2)
    blank = page(http, 3)
    assert blank["invoices"] == [] and blank["record_count"] == N
    again = page(http, 3)  # the same page read again, in the same pass
    assert len(again["invoices"]) == SIZE


def test_page_cap_is_silent_and_the_echo_is_not_evidence(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.set_page_cap(20, echo="requested")
    body = page(http, 2, size=100)
    assert body["page_size"] == 100
    assert len(body["invoices"]) == 20
    assert body["invoices"][0]["id"] == seedmod.FIRST_INVOICE_ID + 20
    sandbox.set_page_cap(20, echo="none")
    assert "page_size" not in page(http, 1, size=100)
    sandbox.set_page_cap(20, echo="served")
    assert page(http, 1, size=100)["page_size"] == 20


def test_ground_truth_open_invoices_follow_the_seed(sandbox: Sandbox) -> None:
    open_categories = {
        seedmod.UNPAID,
        seedmod.PART_PAID,
        seedmod.NOT_SYNCED,
        seedmod.LINKED_BENJI,
        seedmod.LINKED_OTHER,
    }
    expected = {i for i, c in sandbox.categories.items() if c in open_categories}
    assert sandbox.open_invoice_ids() == expected


def test_templates_and_odd_records_are_listed_but_never_open() -> None:
    config = SandboxConfig(invoices=30, seed=3, templates=12, odd_records=True)
    with Sandbox(config) as box, authorised_client(box) as http:
        seeded_open = {i for i in box.open_invoice_ids() if i >= seedmod.FIRST_INVOICE_ID}
        assert box.open_invoice_ids() == seeded_open
        rows = []
        page_no = 1
        while body := page(http, page_no, size=100)["invoices"]:
            rows.extend(body)
            page_no += 1
        ids = [row["id"] for row in rows]
        assert ids[:12] == list(range(-12, 0))
        assert all(row["posted"] and row["amountdue"] > 0 for row in rows[:12])
        odd = {kind: rows[12 + n] for n, kind in enumerate(seedmod.ODD_KINDS)}
        assert odd["id_string"]["id"] == "abc"
        assert odd["id_float"]["id"] == 1.5
        assert odd["id_null"]["id"] is None
        assert odd["total_nan"]["total"] == "NaN"
        assert odd["amountdue_infinity"]["amountdue"] == "Infinity"
        assert odd["customfields_number"]["customfields"] == 7
        assert "total" not in odd["total_missing"] and "posted" not in odd["posted_missing"]
        assert isinstance(odd["thirdparty_object"]["thirdpartyinvoicenumber"], dict)
        # an odd record stored under a key its id does not match cannot be read by that key
        key = box.odd_ids["id_string"]
        assert http.get(f"/api/Invoice/{key}").status_code == 404
        assert len(rows) == 30 + 12 + len(seedmod.ODD_KINDS)


@pytest.mark.parametrize("bad_id", [-1, 0, -12])
def test_update_of_an_id_at_or_below_zero_is_refused_and_recorded(bad_id: int) -> None:
    with Sandbox(SandboxConfig(invoices=5, templates=12)) as box, authorised_client(box) as http:
        before = box.post_counts()
        link = {"generic_online_invoice_payment_url": "https://x.example/pay"}
        response = http.post("/api/Invoice", json=[{"id": 1001, **link}, {"id": bad_id, **link}])
        assert response.status_code == 400
        assert "[1].id" in response.json()["errors"]
        assert box.refused_posts() == {bad_id: 1}
        assert box.post_counts() == before == {}  # the whole POST saved nothing
        assert box.stats.invoices_created == 0


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    after_page=st.integers(1, 9),
    rows=st.integers(1, 12),
    size=st.integers(3, 25),
    mode=st.sampled_from(["delete", "pay"]),
)
def test_any_shift_is_seen_by_the_next_pass(
    after_page: int, rows: int, size: int, mode: str
) -> None:
    """Whatever the shift, the rows it removes come from before the next page's offset, the
    ground truth follows, and a second pass (the fault spent) reads exactly what is there."""
    with Sandbox(SandboxConfig(invoices=N, seed=9)) as box, authorised_client(box) as http:
        params = UNPAID if mode == "pay" else {}
        before = listed(box, **params)
        box.shift_rows(after_page=after_page, rows=rows, mode=mode)
        naive_pass(http, size, **params)
        after = listed(box, **params)
        removed = set(before) - set(after)
        if after_page <= math.ceil(len(before) / size):
            assert len(removed) == min(rows, len(before[: after_page * size]))
            assert removed <= set(before[: after_page * size])
        assert naive_pass(http, size, **params) == after
