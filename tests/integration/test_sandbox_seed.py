"""Seeded sandbox data: repeatable, realistic, every category present, and scaling to 100k."""

from __future__ import annotations

from collections import Counter

import httpx

from halo_paylink.sandbox import Sandbox, SandboxConfig, seed_invoices
from halo_paylink.sandbox.seed import (
    CATEGORY_WEIGHTS,
    CREDIT,
    DEMO_BENJI_PREFIX,
    DRAFT,
    LINKED_BENJI,
    LINKED_OTHER,
    NOT_SYNCED,
    OPEN_NEEDING_LINK,
    PAID,
    PART_PAID,
    VOIDED,
    ZERO_DUE,
)

FIELDS = {
    "id",
    "invoicenumber",
    "thirdpartyinvoicenumber",
    "client_id",
    "client_name",
    "invoice_date",
    "duedate",
    "posted",
    "voided",
    "total",
    "amountpaid",
    "amountdue",
    "amount_remaining",
    "paymentstatus",
    "invoicetype",
    "currency",
    "qboid",
    "xeroid",
    "pdf_attachment_id",
    "customfields",
    "generic_online_invoice_payment_url",
    "xero_online_invoice_payment_url",
}


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = seed_invoices(300, 5), seed_invoices(300, 5), seed_invoices(300, 6)
    assert a.invoices == b.invoices and a.categories == b.categories
    assert a.invoices != c.invoices


def test_every_category_present_even_when_small() -> None:
    result = seed_invoices(len(CATEGORY_WEIGHTS), 3)
    assert set(result.categories.values()) == {name for name, _ in CATEGORY_WEIGHTS}


def test_category_mix_and_field_consistency() -> None:
    result = seed_invoices(2000, 11)
    counts = Counter(result.categories.values())
    for name, _ in CATEGORY_WEIGHTS:
        assert counts[name] >= 10, name
    for invoice_id, inv in result.invoices.items():
        category = result.categories[invoice_id]
        assert set(inv) >= FIELDS, invoice_id
        assert round(inv["total"] - inv["amountpaid"], 2) == inv["amountdue"]
        assert round(sum(line["net_amount"] for line in inv["lines"]), 2) == inv["total"]
        number = inv["thirdpartyinvoicenumber"]
        link = inv["generic_online_invoice_payment_url"]
        if category == PAID:
            assert inv["amountdue"] == 0 and inv["total"] > 0
        elif category == PART_PAID:
            assert 0 < inv["amountpaid"] < inv["total"]
        elif category == CREDIT:
            assert inv["total"] < 0
        elif category == VOIDED:
            assert inv["voided"]
        elif category == DRAFT:
            assert not inv["posted"] and not number
        elif category == ZERO_DUE:
            assert inv["total"] == 0 and inv["amountdue"] == 0
        elif category == NOT_SYNCED:
            assert inv["posted"] and number in (None, "") and inv["amountdue"] > 0
        elif category == LINKED_BENJI:
            assert link == DEMO_BENJI_PREFIX + number
        elif category == LINKED_OTHER:
            assert link.startswith("https://") and not link.startswith(DEMO_BENJI_PREFIX)
        if category in OPEN_NEEDING_LINK:
            assert inv["posted"] and not inv["voided"] and inv["amountdue"] > 0 and number
            assert link == ""
        if category not in (LINKED_BENJI, LINKED_OTHER):
            assert link == ""


def test_unicode_client_names_round_trip_over_http() -> None:
    with Sandbox(SandboxConfig(invoices=400, seed=2)) as sb, httpx.Client(base_url=sb.url) as http:
        token = http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sb.config.client_id,
                "client_secret": sb.config.client_secret,
                "scope": "read:invoices",
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        names: set[str] = set()
        for number in (1, 2, 3, 4):
            body = http.get(
                "/api/Invoice", params={"pageinate": "true", "page_size": 100, "page_no": number}
            ).json()
            names.update(row["client_name"] for row in body["invoices"])
        assert {"Müller & Söhne GmbH", "Café Zoë", "株式会社テスト"} <= names


def test_large_stores_seed_and_serve() -> None:
    # 100,000 invoices must seed quickly and page without re-filtering the whole store each time
    # (speed itself is measured in benchmarks/, not asserted here).
    with Sandbox(SandboxConfig(invoices=100_000, seed=4)) as sb, httpx.Client(base_url=sb.url) as h:
        token = h.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sb.config.client_id,
                "client_secret": sb.config.client_secret,
                "scope": "read:invoices",
            },
        ).json()["access_token"]
        h.headers["Authorization"] = f"Bearer {token}"
        last = h.get(
            "/api/Invoice", params={"pageinate": "true", "page_size": 100, "page_no": 1000}
        )
        body = last.json()
        assert body["record_count"] == 100_000
        assert [r["id"] for r in body["invoices"]][-1] == 1001 + 99_999
        assert len(sb.invoices) == 100_000
