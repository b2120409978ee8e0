"""The invoice list read several pages at once, over real HTTP against the sandbox.

Each page answer is held back a few milliseconds, so the pages asked together really are in
flight together and Halo's answers may come in any order. The pages must still come out in
order and exactly as one page at a time reads them, cost not one page more when the list is as
long as announced, and leave a list that shifts under the read just as visibly inconsistent.
"""

from __future__ import annotations

from typing import Any

import pytest

from halo_paylink.core.backfill.listing import ListingAudit
from halo_paylink.halo import facts
from halo_paylink.halo.models import InvoicePage
from halo_paylink.sandbox import Sandbox

from .conftest import halo_client

pytestmark = pytest.mark.anyio

N = 240
SIZE = 25


def held_back(box: Sandbox) -> Sandbox:
    """Every listing page answered after 5 ms, so pages asked together overlap."""
    box.faults.add(delay=0.005, method="GET", path="/api/Invoice", times=None)
    return box


async def read(box: Sandbox, **options: Any) -> tuple[list[InvoicePage], ListingAudit]:
    audit = ListingAudit()
    async with halo_client(box) as client:
        pages = [page async for page in client.invoice_pages(**options)]
    for page in pages:
        audit.see(page)
    audit.finish()
    return pages, audit


@pytest.mark.parametrize(
    ("cap", "asked", "pages"),
    [
        (None, SIZE, 10),  # ten pages of 25, the last one short
        (30, 100, 9),  # a silent cap of 30: eight full pages and the empty one that confirms
    ],
    ids=["as-asked", "silent-cap"],
)
async def test_the_same_pages_as_one_at_a_time_and_not_one_request_more(
    make_sandbox, cap: int | None, asked: int, pages: int
) -> None:
    boxes = [held_back(make_sandbox(invoices=N, seed=31)) for _ in range(2)]
    for box in boxes:
        if cap is not None:
            box.set_page_cap(cap, echo="requested")
    one, one_audit = await read(boxes[0], page_size=asked, pages_at_once=1)
    many, many_audit = await read(boxes[1], page_size=asked)
    assert many == one
    assert [page.page_no for page in many] == list(range(1, pages + 1))
    assert many_audit.consistent and one_audit.consistent, many_audit.summary()
    assert boxes[1].stats.listing_pages == boxes[0].stats.listing_pages == pages
    assert [fault.fired for fault in boxes[1].faults.pending()] == [pages]  # every page held back


async def test_an_empty_page_before_the_end_stops_the_read_within_the_pages_in_flight(
    make_sandbox,
) -> None:
    box = held_back(make_sandbox(invoices=N, seed=32))
    box.empty_page(page=5)
    pages, audit = await read(box, page_size=SIZE)
    assert [page.page_no for page in pages] == [1, 2, 3, 4, 5]
    assert not audit.consistent and "page 5 was empty" in audit.summary()
    assert box.stats.listing_pages <= 5 + facts.LISTING_PAGES_AT_ONCE - 1


@pytest.mark.parametrize("mode", ["delete", "pay"])
async def test_rows_that_shift_under_the_read_are_still_seen(make_sandbox, mode: str) -> None:
    """Rows leave the list right after page 2 is served; the pages asked together after it see
    the list shifted back, and the read does not add up, as it would one page at a time."""
    box = held_back(make_sandbox(invoices=N, seed=33))
    box.shift_rows(after_page=2, rows=3, mode=mode)
    filters = facts.UNPAID_INVOICE_FILTER if mode == "pay" else None
    _, audit = await read(box, page_size=SIZE, filters=filters)
    assert not audit.consistent, "a shifted listing passed for a whole one"
