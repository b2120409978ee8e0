"""`last_modified` and `last_synced` on every invoice, how changes move them, and the listing by
date (`datesearch` with `start_date`/`end_date`), over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox.seed import DRAFT, NOT_SYNCED, PAID

from ..sandbox_http import authorised_client
from .listing_http import count, listing, rows

LINK = "https://www.benjipays.com/portal/demo-msp/pay/?InvoiceNumber=1"
FIELD = "generic_online_invoice_payment_url"


def instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    assert moment.tzinfo is None, text  # UTC, sent without an offset like Halo's dates
    return moment


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=240, seed=8, stamp_changes=True, templates=2)) as sb:
        yield sb


@pytest.fixture
def http(box: Sandbox) -> Iterator[httpx.Client]:
    with authorised_client(box) as client:
        yield client


def save(http: httpx.Client, invoice_id: int, **fields: Any) -> dict[str, Any]:
    response = http.post("/api/Invoice", json=[{"id": invoice_id, **fields}])
    assert response.status_code == 200, response.text
    return response.json()[0]


def one_of(box: Sandbox, category: str) -> int:
    return next(i for i, c in sorted(box.categories.items()) if c == category)


def test_every_invoice_served_carries_its_stamps(box: Sandbox, http: httpx.Client) -> None:
    listed = rows(http)
    assert len(listed) == 242
    for row in listed:
        modified = instant(row["last_modified"])
        assert modified >= instant(row["invoice_date"]), row
        synced = row["last_synced"]
        category = box.categories[row["id"]]
        if category in (DRAFT, NOT_SYNCED, "template"):
            assert synced is None, row
        else:
            assert instant(synced) <= modified, row
    one = listed[5]["id"]
    assert http.get(f"/api/Invoice/{one}").json()["last_modified"] == listed[5]["last_modified"]
    # Stored records hold only what was seeded or sent: the stamps are added when served.
    with box.lock:
        assert "last_modified" not in box.invoices[one]


def test_a_link_save_moves_last_modified_and_pushes_a_synced_invoice(
    box: Sandbox, http: httpx.Client
) -> None:
    invoice_id = one_of(box, PAID)
    before = http.get(f"/api/Invoice/{invoice_id}").json()
    newest = max(instant(row["last_modified"]) for row in rows(http))
    answered = save(http, invoice_id, **{FIELD: LINK})
    after = http.get(f"/api/Invoice/{invoice_id}").json()
    assert answered["last_modified"] == after["last_modified"]
    assert instant(after["last_modified"]) > newest  # later than anything before the save
    assert after["last_synced"] == after["last_modified"]  # the save was pushed
    assert instant(before["last_synced"]) < instant(after["last_synced"])
    again = save(http, invoice_id, **{FIELD: LINK + "2"})
    assert instant(again["last_modified"]) > instant(after["last_modified"])  # strictly later
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {FIELD, "last_modified", "last_synced"}


def test_an_unsynced_invoice_is_not_pushed(box: Sandbox, http: httpx.Client) -> None:
    invoice_id = one_of(box, NOT_SYNCED)
    saved = save(http, invoice_id, **{FIELD: LINK})
    assert saved["last_synced"] is None and saved["last_modified"]


def test_without_push_on_save_last_synced_stays() -> None:
    config = SandboxConfig(invoices=40, seed=8, stamp_changes=True, push_on_save=False)
    with Sandbox(config) as box, authorised_client(box) as http:
        invoice_id = one_of(box, PAID)
        before = http.get(f"/api/Invoice/{invoice_id}").json()
        saved = save(http, invoice_id, **{FIELD: LINK})
        assert saved["last_synced"] == before["last_synced"]
        assert saved["last_modified"] > before["last_modified"]


def test_saves_that_change_nothing_move_nothing(box: Sandbox, http: httpx.Client) -> None:
    invoice_id = one_of(box, PAID)
    before = http.get(f"/api/Invoice/{invoice_id}").json()
    save(http, invoice_id, **{FIELD: before[FIELD]})  # the value it has
    save(http, invoice_id, _validateonly=True, **{FIELD: LINK})
    save(http, invoice_id, last_modified="2030-01-01T00:00:00")  # read-only: ignored
    assert http.get(f"/api/Invoice/{invoice_id}").json() == before


def test_by_default_the_stamps_stay_as_seeded() -> None:
    with Sandbox(SandboxConfig(invoices=40, seed=8)) as box, authorised_client(box) as http:
        invoice_id = one_of(box, PAID)
        before = http.get(f"/api/Invoice/{invoice_id}").json()
        save(http, invoice_id, **{FIELD: LINK})
        box.set_payment(invoice_id, paid=False)
        after = http.get(f"/api/Invoice/{invoice_id}").json()
        assert (after["last_modified"], after["last_synced"]) == (
            before["last_modified"],
            before["last_synced"],
        )


def test_the_controls_move_last_modified(box: Sandbox) -> None:
    paid, unpaid = one_of(box, PAID), one_of(box, NOT_SYNCED)
    before = box.invoice(paid)
    after = box.set_payment(paid, paid=False)
    assert after["last_modified"] > before["last_modified"]
    assert after["last_synced"] == before["last_synced"]  # a payment is not a push
    pushed = box.edit_invoice(paid, push=True, duedate="2025-12-31T00:00:00")
    assert pushed["last_synced"] == pushed["last_modified"] > after["last_modified"]
    assert box.edit_invoice(unpaid, push=True, duedate=None)["last_synced"] is None
    # An edit straight to the store moves nothing.
    with box.lock:
        box.invoices[paid]["duedate"] = "2026-01-31T00:00:00"
    assert box.invoice(paid)["last_modified"] == pushed["last_modified"]


def test_stamps_come_from_the_clock_given_and_always_move_forward() -> None:
    frozen = dt.datetime(2031, 3, 4, 5, 6, 7, 891234, tzinfo=dt.UTC)
    config = SandboxConfig(invoices=30, seed=8, stamp_changes=True)
    with Sandbox(config, now=lambda: frozen) as box, authorised_client(box) as http:
        ids = sorted(box.invoices)[:3]
        stamps = [save(http, i, **{FIELD: LINK})["last_modified"] for i in ids]
    assert stamps == [
        "2031-03-04T05:06:07.891",
        "2031-03-04T05:06:07.892",
        "2031-03-04T05:06:07.893",
    ]


def test_datesearch_last_modified_lists_what_changed_since(
    box: Sandbox, http: httpx.Client
) -> None:
    newest = max(instant(row["last_modified"]) for row in rows(http))
    just_after = (newest + dt.timedelta(milliseconds=1)).isoformat()
    since = {"datesearch": "last_modified", "start_date": just_after}
    assert count(http, **since) == 0  # (and this listing is now cached)
    changed = sorted(box.invoices)[10:13]
    for invoice_id in changed:
        save(http, invoice_id, **{FIELD: LINK})  # a link save: no filtered field changes
    assert [row["id"] for row in rows(http, **since)] == changed
    paid = box.add_invoices(1, category=PAID)  # raised now
    box.set_payment(changed[0], paid=True)
    found = rows(http, **since)
    assert sorted(row["id"] for row in found) == [*changed, *paid]
    assert count(http, **since, end_date=found[0]["last_modified"]) >= 1
    assert count(http, datesearch="LAST_MODIFIED", start_date="2100-01-01") == 0


def test_order_by_last_modified(box: Sandbox, http: httpx.Client) -> None:
    save(http, sorted(box.invoices)[3], **{FIELD: LINK})
    listed = rows(http, order="last_modified", orderdesc="true")
    stamps = [row["last_modified"] for row in listed]
    assert stamps == sorted(stamps, reverse=True)
    assert listed[0]["id"] == sorted(box.invoices)[3]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.datetimes(dt.datetime(2023, 1, 1), dt.datetime(2026, 1, 1)),
    length=st.timedeltas(dt.timedelta(0), dt.timedelta(days=400)),
    date_only=st.booleans(),
    field=st.sampled_from(["invoice_date", "duedate", "last_modified"]),
)
def test_datesearch_lists_exactly_the_invoices_in_range(
    http: httpx.Client,
    first: dt.datetime,
    length: dt.timedelta,
    date_only: bool,
    field: str,
) -> None:
    last = first + length
    start = first.date().isoformat() if date_only else first.isoformat()
    end = last.date().isoformat() if date_only else last.isoformat() + "Z"
    low = instant(start) if date_only else first
    high = instant(end) if date_only else last
    found = rows(http, datesearch=field, start_date=start, end_date=end)
    expected = [row["id"] for row in rows(http) if low <= instant(row[field]) <= high]
    assert [row["id"] for row in found] == expected


def test_datesearch_with_filters_and_an_offset(http: httpx.Client) -> None:
    everything = rows(http, postedonly="true")
    start = "2024-06-01T02:00:00+02:00"  # midnight UTC
    found = rows(http, postedonly="true", datesearch="invoice_date", start_date=start)
    assert [r["id"] for r in found] == [
        r["id"] for r in everything if instant(r["invoice_date"]) >= dt.datetime(2024, 6, 1)
    ]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"datesearch": "last_modified", "start_date": "yesterday"}, "start_date"),
        ({"datesearch": "invoice_date", "end_date": "2025-13-01"}, "end_date"),
        ({"start_date": "not a date"}, "start_date"),  # bound even without a field
        ({"datesearch": "lastmodified", "start_date": "2025-01-01"}, "datesearch"),
    ],
)
def test_bad_dates_are_refused_like_halo(
    http: httpx.Client, params: dict[str, str], name: str
) -> None:
    response = listing(http, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "One or more validation errors occurred."
    assert list(body["errors"]) == [name]


def test_bounds_without_a_field_narrow_nothing(http: httpx.Client) -> None:
    assert count(http, start_date="2100-01-01") == count(http)
    assert count(http, datesearch="invoice_date") == count(http)
