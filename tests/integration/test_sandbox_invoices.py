"""The sandbox's invoice endpoints over real HTTP: listing, pagination, filters, reads, updates."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox.seed import CREDIT, DRAFT, PAYMENT_LINK_CUSTOM_FIELD

from .sandbox_http import authorised_client

N = 237


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=N, seed=7, max_page_size=100)) as sb:
        yield sb


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with authorised_client(sandbox) as client:
        yield client


def page(http: httpx.Client, **params: Any) -> dict[str, Any]:
    response = http.get("/api/Invoice", params={"pageinate": "true", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_pagination_covers_every_invoice_once(http: httpx.Client, sandbox: Sandbox) -> None:
    seen: list[int] = []
    first = page(http, page_size=50, page_no=1)
    assert first["record_count"] == N
    assert first["page_no"] == 1 and first["page_size"] == 50
    pages = math.ceil(N / 50)
    for number in range(1, pages + 2):
        body = page(http, page_size=50, page_no=number)
        assert body["page_no"] == number
        expected = max(0, min(50, N - (number - 1) * 50))
        assert len(body["invoices"]) == expected
        seen.extend(row["id"] for row in body["invoices"])
    assert len(seen) == N and set(seen) == set(sandbox.invoices)
    assert seen == sorted(seen)


def test_page_size_is_capped_and_reported(http: httpx.Client) -> None:
    body = page(http, page_size=1000, page_no=2)
    assert body["page_size"] == 100
    assert len(body["invoices"]) == 100
    assert body["invoices"][0]["id"] == 1001 + 100
    last = page(http, page_size=1000, page_no=3)
    assert len(last["invoices"]) == N - 200


def test_default_page_size_when_not_sent(http: httpx.Client, sandbox: Sandbox) -> None:
    body = page(http)
    assert body["page_no"] == 1
    assert body["page_size"] == sandbox.config.default_page_size
    assert len(body["invoices"]) == sandbox.config.default_page_size


@pytest.mark.parametrize("bad", [{"page_no": "0"}, {"page_size": "0"}, {"page_no": "two"}])
def test_bad_paging_values_are_400(http: httpx.Client, bad: dict[str, str]) -> None:
    response = http.get("/api/Invoice", params={"pageinate": "true", **bad})
    assert response.status_code == 400
    assert response.json()["errors"]


def test_bad_boolean_is_400(http: httpx.Client) -> None:
    assert http.get("/api/Invoice", params={"pageinate": "yes"}).status_code == 400


def test_unpaginated_list_is_silently_truncated(http: httpx.Client, sandbox: Sandbox) -> None:
    body = http.get("/api/Invoice").json()
    assert len(body["invoices"]) == sandbox.config.unpaginated_count < N
    assert "page_no" not in body
    assert len(http.get("/api/Invoice", params={"count": 7}).json()["invoices"]) == 7


def test_path_is_case_insensitive(http: httpx.Client) -> None:
    for path in ("/api/invoice", "/API/INVOICE", "/api/Invoice/"):
        response = http.get(path, params={"pageinate": "True", "page_size": 1})
        assert response.status_code == 200
        assert len(response.json()["invoices"]) == 1


def test_list_rows_leave_out_lines_unless_asked(http: httpx.Client) -> None:
    row = page(http, page_size=1)["invoices"][0]
    assert "lines" not in row
    assert row["customfields"]
    with_lines = page(http, page_size=1, includelines="true")["invoices"][0]
    assert with_lines["lines"]


def test_halo_unpaid_filter(http: httpx.Client, sandbox: Sandbox) -> None:
    rows = _all(http, paymentstatuses="0,-1", includeinvoices="true", includecredits="false")
    expected = {
        i
        for i, inv in sandbox.invoices.items()
        if inv["paymentstatus"] in (0, -1) and inv["total"] >= 0
    }
    assert {r["id"] for r in rows} == expected
    assert all(r["total"] >= 0 for r in rows)


def test_credit_and_posted_filters(http: httpx.Client, sandbox: Sandbox) -> None:
    credits = _all(http, includeinvoices="false", includecredits="true")
    assert credits and all(sandbox.categories[r["id"]] == CREDIT for r in credits)
    drafts = _all(http, notpostedonly="true")
    assert drafts and all(not r["posted"] for r in drafts)
    assert {r["id"] for r in drafts} == {i for i, c in sandbox.categories.items() if c == DRAFT}
    posted = _all(http, postedonly="true")
    assert len(posted) + len(drafts) == N


def test_client_filter_and_order(http: httpx.Client, sandbox: Sandbox) -> None:
    client_id = sandbox.invoices[1001]["client_id"]
    rows = _all(http, client_id=client_id)
    assert rows and all(r["client_id"] == client_id for r in rows)
    ordered = _all(http, order="total", orderdesc="true")
    totals = [r["total"] for r in ordered]
    assert totals == sorted(totals, reverse=True)
    by_id_desc = _all(http, orderdesc="true")
    assert [r["id"] for r in by_id_desc] == sorted(sandbox.invoices, reverse=True)


def test_unknown_parameters_are_ignored(http: httpx.Client) -> None:
    body = page(http, page_size=5, frobnicate="1", order="no_such_field")
    assert len(body["invoices"]) == 5


def test_get_one_invoice(http: httpx.Client, sandbox: Sandbox) -> None:
    response = http.get("/api/Invoice/1005")
    assert response.status_code == 200
    invoice = response.json()
    assert invoice["id"] == 1005
    assert "invoices" not in invoice
    assert invoice["lines"]
    assert invoice["client_name"] == sandbox.invoices[1005]["client_name"]
    assert http.get("/api/Invoice/999999").status_code == 404
    assert http.get("/api/invoice/abc").status_code == 404


def test_update_changes_only_sent_fields(http: httpx.Client, sandbox: Sandbox) -> None:
    before = http.get("/api/Invoice/1010").json()
    link = "https://www.benjipays.com/portal/x/pay/?InvoiceNumber=1"
    response = http.post(
        "/api/Invoice", json=[{"id": 1010, "generic_online_invoice_payment_url": link}]
    )
    assert response.status_code == 200
    saved = response.json()
    assert isinstance(saved, list) and saved[0]["id"] == 1010
    after = http.get("/api/Invoice/1010").json()
    assert after["generic_online_invoice_payment_url"] == link
    assert {k: v for k, v in after.items() if k != "generic_online_invoice_payment_url"} == {
        k: v for k, v in before.items() if k != "generic_online_invoice_payment_url"
    }
    assert sandbox.stats.invoices_written[1010] == 1
    assert sandbox.stats.invoice_posts == 1


def test_update_is_seen_by_listing(http: httpx.Client) -> None:
    page(http, page_size=5)  # fills the listing cache
    http.post(
        "/api/Invoice", json=[{"id": 1002, "generic_online_invoice_payment_url": "https://a"}]
    )
    row = page(http, page_size=5)["invoices"][1]
    assert row["id"] == 1002 and row["generic_online_invoice_payment_url"] == "https://a"


def test_batch_update_and_write_counts(http: httpx.Client, sandbox: Sandbox) -> None:
    ids = [1020, 1021, 1022]
    body = [{"id": i, "generic_online_invoice_payment_url": f"https://p/{i}"} for i in ids]
    saved = http.post("/api/Invoice", json=body).json()
    assert [s["id"] for s in saved] == ids
    http.post("/api/Invoice", json=body[:1])
    assert sandbox.stats.written_more_than_once() == [1020]
    assert sandbox.stats.invoices_written[1021] == 1


def test_customfields_are_merged_by_name(http: httpx.Client) -> None:
    before = http.get("/api/Invoice/1030").json()["customfields"]
    body = [
        {
            "id": 1030,
            "customfields": [
                {"name": PAYMENT_LINK_CUSTOM_FIELD, "value": "https://pay/1"},
                {"name": "CFNoSuchField", "value": "ignored"},
            ],
        }
    ]
    assert http.post("/api/Invoice", json=body).status_code == 200
    after = http.get("/api/Invoice/1030").json()["customfields"]
    assert len(after) == len(before)
    values = {cf["name"]: cf["value"] for cf in after}
    assert values[PAYMENT_LINK_CUSTOM_FIELD] == "https://pay/1"
    others = {cf["name"]: cf["value"] for cf in before if cf["name"] != PAYMENT_LINK_CUSTOM_FIELD}
    assert {k: v for k, v in values.items() if k != PAYMENT_LINK_CUSTOM_FIELD} == others


def test_validate_only_saves_nothing(http: httpx.Client, sandbox: Sandbox) -> None:
    before = http.get("/api/Invoice/1040").json()
    body = [{"id": 1040, "_validateonly": True, "generic_online_invoice_payment_url": "https://v"}]
    response = http.post("/api/Invoice", json=body)
    assert response.status_code == 200
    assert http.get("/api/Invoice/1040").json() == before
    assert sandbox.stats.invoices_written[1040] == 0
    assert sandbox.stats.validate_only == 1


def test_object_without_id_creates_an_invoice(http: httpx.Client, sandbox: Sandbox) -> None:
    response = http.post("/api/Invoice", json=[{"generic_online_invoice_payment_url": "https://x"}])
    assert response.status_code == 200
    created = response.json()[0]
    assert created["id"] == 1001 + N
    assert page(http, page_size=1)["record_count"] == N + 1
    assert sandbox.stats.invoices_created == 1


def test_lines_sent_back_replace_lines_and_totals(http: httpx.Client) -> None:
    line = {"description": "Only this", "qty_order": 1, "unit_price": 5.0, "net_amount": 5.0}
    response = http.post("/api/Invoice", json=[{"id": 1050, "lines": [line]}])
    assert response.status_code == 200
    after = http.get("/api/Invoice/1050").json()
    assert [x["description"] for x in after["lines"]] == ["Only this"]
    assert after["total"] == 5.0


@pytest.mark.parametrize(
    "content",
    [
        b'{"id": 1001}',
        b"not json",
        b"[1, 2]",
        b'[{"id": "1001"}]',
        b'[{"id": 1001, "generic_online_invoice_payment_url": 5}]',
        b'[{"id": 1001, "posted": "yes"}]',
        b'[{"id": 1001, "customfields": {"a": 1}}]',
    ],
)
def test_malformed_update_bodies_are_400(http: httpx.Client, content: bytes) -> None:
    response = http.post(
        "/api/Invoice", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_update_of_unknown_invoice_is_404(http: httpx.Client, sandbox: Sandbox) -> None:
    response = http.post("/api/Invoice", json=[{"id": 1001, "voided": False}, {"id": 999999}])
    assert response.status_code == 404
    assert sandbox.stats.invoices_written[1001] == 0  # the batch is all or nothing


def test_update_needs_json_content_type(http: httpx.Client) -> None:
    response = http.post("/api/Invoice", content=b"[]", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_forbid_editing_posted() -> None:
    with Sandbox(SandboxConfig(invoices=40, forbid_editing_posted=True)) as sb:
        token = httpx.post(
            f"{sb.url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sb.config.client_id,
                "client_secret": sb.config.client_secret,
                "scope": "read:invoices edit:invoices",
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        posted = next(i for i, inv in sb.invoices.items() if inv["posted"])
        draft = next(i for i, inv in sb.invoices.items() if not inv["posted"])
        for body in (
            [{"id": posted, "generic_online_invoice_payment_url": "https://x"}],
            [{"id": posted, "_validateonly": True}],
        ):
            response = httpx.post(f"{sb.url}/api/Invoice", json=body, headers=headers)
            assert response.status_code == 400
            assert "posted" in response.text.lower()
        ok = httpx.post(
            f"{sb.url}/api/Invoice",
            json=[{"id": draft, "generic_online_invoice_payment_url": "https://x"}],
            headers=headers,
        )
        assert ok.status_code == 200
        assert sb.stats.invoices_written == {draft: 1}


def test_direct_store_edits_are_seen(http: httpx.Client, sandbox: Sandbox) -> None:
    before = _all(http, paymentstatuses="2")
    with sandbox.lock:
        target = next(i for i, inv in sandbox.invoices.items() if inv["paymentstatus"] != 2)
        sandbox.invoices[target]["paymentstatus"] = 2
    after = _all(http, paymentstatuses="2")
    assert len(after) == len(before) + 1


def test_stats_by_kind(http: httpx.Client, sandbox: Sandbox) -> None:
    page(http, page_size=1)
    http.get("/api/Invoice/1001")
    http.get("/api/Invoice/5")
    assert sandbox.stats.count("GET", "invoice_list", 200) == 1
    assert sandbox.stats.count("GET", "invoice_get", 200) == 1
    assert sandbox.stats.count("GET", "invoice_get", 404) == 1
    assert sandbox.stats.count("POST", "token", 200) == 1
    assert sandbox.stats.requests == 4


def _all(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    number = 1
    while True:
        body = page(http, page_size=100, page_no=number, **params)
        rows.extend(body["invoices"])
        if not body["invoices"] or len(rows) >= body["record_count"]:
            return rows
        number += 1
