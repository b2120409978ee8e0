"""halo.client: the invoice list read several pages at once, yet exactly as one page at a time.

`HaloClient.invoice_pages` asks for pages 3.. ahead once the first page has told `record_count`
and the page size (and the second that page numbers are honoured). These tests hold pages back
at a fake Halo (an async `httpx.MockTransport` handler with a gate per page), so the order in
which Halo answers is chosen by the test, never by timing, and check that the pages still come
out in order and exactly as Halo sent them, that a page ending the list early cancels the pages
asked after it, that a failure is raised at its own page, and that closing or cancelling the
read leaves no request behind. A property test compares the reader with itself reading one page
at a time (`pages_at_once=1`, the reader as it was) over list sizes, silent page caps and
`record_count`s that lie.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import FakeClock
from halo_paylink.core.backfill.listing import ListingAudit
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.models import Credentials, HaloEndpoints, InvoicePage
from halo_paylink.halo.ratelimit import RateLimiter

ENDPOINTS = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url="https://acme.halopsa.com/api",
    tenant="acme",
    hosted=True,
)
TOKEN = {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}


@dataclass
class GatedHalo:
    """Halo's invoice list of `total` rows (ids total..1, newest first), answered by page.

    `cap` caps the page size silently; `count` is the `record_count` announced (None leaves it
    out; default the real count). `empty`, `repeat` and `refuse` name pages answered empty,
    with the page before's rows, or with HTTP 400. A page in `held` waits until `release`.
    `odd_every` makes every n-th row one without a usable id. `shuffle` (a seeded Random) lets
    each answer yield to the loop a few times, so concurrent pages finish in a mixed order.
    """

    total: int
    cap: int = 100
    count: int | bool | None = True
    empty: frozenset[int] = frozenset()
    repeat: frozenset[int] = frozenset()
    refuse: frozenset[int] = frozenset()
    odd_every: int = 0
    shuffle: random.Random | None = None
    held: set[int] = field(default_factory=set)
    asked: list[tuple[int, int]] = field(default_factory=list)  # (page_size, page_no)
    cancelled: set[int] = field(default_factory=set)
    in_flight: int = 0
    most_in_flight: int = 0
    _gates: dict[int, asyncio.Event] = field(default_factory=dict)

    def release(self, *page_nos: int) -> None:
        for page_no in page_nos:
            self.held.discard(page_no)
            self._gate(page_no).set()

    def _gate(self, page_no: int) -> asyncio.Event:
        return self._gates.setdefault(page_no, asyncio.Event())

    def rows(self, size: int, page_no: int) -> list[Any]:
        if page_no in self.empty:
            return []
        if page_no in self.repeat and page_no > 1:
            page_no -= 1
        start = (page_no - 1) * size
        ids = range(self.total - start, max(0, self.total - start - size), -1)
        odd = self.odd_every
        return [{"no_id": i} if odd and i % odd == 0 else {"id": i, "total": 1} for i in ids]

    def body(self, size: int, page_no: int) -> dict[str, Any]:
        body: dict[str, Any] = {"invoices": self.rows(size, page_no)}
        if self.count is True:
            body["record_count"] = self.total
        elif self.count is not None and self.count is not False:
            body["record_count"] = self.count
        return body

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/token"):
            return httpx.Response(200, json=TOKEN)
        params = request.url.params
        size, page_no = min(int(params["page_size"]), self.cap), int(params["page_no"])
        self.asked.append((int(params["page_size"]), page_no))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if page_no in self.held:
                await self._gate(page_no).wait()
            for _ in range(self.shuffle.randrange(4) if self.shuffle else 0):
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled.add(page_no)
            raise
        finally:
            self.in_flight -= 1
        if page_no in self.refuse:
            return httpx.Response(400, json={"message": f"page {page_no} refused"})
        return httpx.Response(200, json=self.body(size, page_no))

    @property
    def page_nos(self) -> list[int]:
        return [page_no for _, page_no in self.asked]


def client_of(http: httpx.AsyncClient) -> HaloClient:
    clock = FakeClock()
    return HaloClient(
        http,
        ENDPOINTS,
        Credentials("client", "secret"),
        limiter=RateLimiter.unlimited(clock=clock, sleep=clock.sleep),
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: 1_700_000_000.0,
        rand=lambda: 0.0,
        max_retries=0,
    )


async def settle() -> None:
    """Let every task that can run, run (the fake Halo answers at once unless a page is held)."""
    for _ in range(100):
        await asyncio.sleep(0)


async def settle_until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until `condition()` holds (a bounded number of loop turns)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)


async def read_slowly(pages: AsyncIterator[InvoicePage]) -> list[InvoicePage]:
    """Every page, letting the other tasks run after each (as the engine does while it decides
    and writes a page), so each page asked for has gone out before the next one is asked."""
    got = []
    async for page in pages:
        got.append(page)
        await settle()
    return got


def ids_of(pages: list[InvoicePage]) -> list[list[int]]:
    return [[invoice.id for invoice in page.invoices] for page in pages]


def tasks_now() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks()


def no_task_left(before: set[asyncio.Task[Any]]) -> bool:
    """No task the read started is still running (`before`: the tasks there were already)."""
    return not asyncio.all_tasks() - before - {asyncio.current_task()}


pytestmark = pytest.mark.anyio


# --- in order, and only once asked ----------------------------------------------------------------


async def test_pages_from_the_third_are_asked_at_once_and_yielded_in_order() -> None:
    """450 rows at 100 a page: pages 3, 4 and 5 are asked together; Halo answers them last
    first, and they still come out 3, 4, 5, each exactly as sent. Read one page at a time,
    only page 3 would have been asked (this is the test that fails on the sequential reader)."""
    halo = GatedHalo(450, held={3, 4, 5})
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        pages = client_of(http).invoice_pages()
        first = [await anext(pages), await anext(pages)]
        third = asyncio.ensure_future(anext(pages))
        await settle()
        assert halo.page_nos == [1, 2, 3, 4, 5], "pages 3-5 were not asked for at once"
        for page_no in (5, 4, 3):
            halo.release(page_no)
            await settle()
        rest = [await third, *[page async for page in pages]]
    got = first + rest
    assert [page.page_no for page in got] == [1, 2, 3, 4, 5]
    assert ids_of(got) == [list(range(450 - 100 * k, max(0, 350 - 100 * k), -1)) for k in range(5)]
    assert halo.page_nos == [1, 2, 3, 4, 5]  # not one page more than the list needs


async def test_a_caller_that_stops_after_the_first_page_asks_for_nothing_more() -> None:
    """A read that gives way after the first page (a narrower read; fetching is cheaper)
    costs no page more; after the second, the pages ahead are asked only when the third is."""
    halo = GatedHalo(900)
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        pages = client_of(http).invoice_pages()
        await anext(pages)
        await settle()
        assert halo.page_nos == [1]
        await anext(pages)
        await settle()
        assert halo.page_nos == [1, 2]
        await pages.aclose()  # type: ignore[attr-defined]
    assert halo.page_nos == [1, 2]


async def test_at_most_pages_at_once_are_in_flight() -> None:
    halo = GatedHalo(2000, shuffle=random.Random(3))
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        got = [page async for page in client_of(http).invoice_pages(pages_at_once=3)]
    assert [page.page_no for page in got] == list(range(1, 22))  # 20 full pages, then empty
    assert halo.most_in_flight == 3
    assert sorted(halo.page_nos) == list(range(1, 22))


@pytest.mark.parametrize(
    ("halo", "pages_at_once"),
    [
        (GatedHalo(450, count=None), 4),  # no record_count: nothing to plan with
        (GatedHalo(450), 1),  # asked for one page at a time
    ],
    ids=["no-record-count", "one-at-a-time"],
)
async def test_one_page_at_a_time_without_a_count_or_when_asked(
    halo: GatedHalo, pages_at_once: int
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        got = [page async for page in client_of(http).invoice_pages(pages_at_once=pages_at_once)]
    assert sum(len(page.invoices) for page in got) == 450
    assert halo.most_in_flight == 1


async def test_a_list_longer_than_announced_is_read_on_one_page_at_a_time() -> None:
    """record_count says 250 of 600: the third page is the last announced; the fourth, which
    shows the count is wrong (a full page beyond it), is read on its own."""
    halo = GatedHalo(600, count=250)
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        got = [page async for page in client_of(http).invoice_pages()]
    assert [page.page_no for page in got] == [1, 2, 3, 4]
    assert halo.page_nos == [1, 2, 3, 4] and halo.most_in_flight == 1


async def test_a_silent_cap_found_on_the_first_page_sizes_the_pages_asked_ahead() -> None:
    halo = GatedHalo(230, cap=40)
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        got = [page async for page in client_of(http).invoice_pages(page_size=100)]
    assert halo.asked == [(100, 1)] + [(40, n) for n in range(2, 7)]
    assert [page.page_size for page in got] == [40] * 6
    assert sorted(i for page in got for i in ids_of([page])[0]) == list(range(1, 231))


# --- an early end, a failure, a read left early ---------------------------------------------------


@pytest.mark.parametrize("ending", ["empty", "repeat"])
async def test_a_page_that_ends_the_list_early_cancels_the_pages_asked_after_it(
    ending: str,
) -> None:
    """record_count says 900, but page 5 is empty (or repeats page 4): the list ends there, and
    pages 6-8, asked while pages 4 and 5 were read, are cancelled unanswered, never handed on:
    three pages beyond the end, `pages_at_once - 1`."""
    halo = GatedHalo(900, held={6, 7, 8}, **{ending: frozenset({5})})  # type: ignore[arg-type]
    before = tasks_now()
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        got = await read_slowly(client_of(http).invoice_pages())
        assert no_task_left(before)
    assert [page.page_no for page in got] == [1, 2, 3, 4, 5]
    assert halo.page_nos == [1, 2, 3, 4, 5, 6, 7, 8]
    assert halo.cancelled == {6, 7, 8} and halo.in_flight == 0


async def test_a_failure_beyond_the_end_is_not_raised() -> None:
    """Page 4 is empty, so the list ends there; page 5, asked with it, was refused: read one
    page at a time it would never have been asked, so its failure is dropped, not raised (nor
    logged as an exception nobody retrieved, which the log-warning guard would fail)."""
    halo = GatedHalo(900, empty=frozenset({4}), refuse=frozenset({5}), held={4})
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        pages = client_of(http).invoice_pages()

        reading = asyncio.ensure_future(read_slowly(pages))
        await settle_until(lambda: len(halo.page_nos) == 7)
        await settle()
        assert halo.page_nos == [1, 2, 3, 4, 5, 6, 7]  # page 5 refused while page 4 is held
        halo.release(4)
        got = await reading
    gc.collect()
    assert [page.page_no for page in got] == [1, 2, 3, 4]
    assert halo.page_nos == [1, 2, 3, 4, 5, 6, 7]


async def test_a_failure_is_raised_at_its_page_after_the_pages_before_it() -> None:
    """Halo refuses page 4 before it answers page 3: page 3 is still handed on first, then the
    failure; the pages asked after page 4 are cancelled (page 7, asked when page 4's turn came,
    before it went out)."""
    halo = GatedHalo(900, refuse=frozenset({4}), held={3, 5, 6})
    got: list[InvoicePage] = []
    before = tasks_now()
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        pages = client_of(http).invoice_pages()

        async def read_all() -> None:
            async for page in pages:
                got.append(page)
                await settle()

        reading = asyncio.ensure_future(read_all())
        await settle_until(lambda: len(halo.page_nos) == 6)
        await settle()
        assert halo.page_nos == [1, 2, 3, 4, 5, 6] and len(got) == 2
        halo.release(3)
        with pytest.raises(HaloError) as info:
            await reading
        assert no_task_left(before)
    assert info.value.kind is ErrorKind.REJECTED and "page 4 refused" in info.value.detail
    assert [page.page_no for page in got] == [1, 2, 3]
    assert halo.page_nos == [1, 2, 3, 4, 5, 6]
    assert halo.cancelled == {5, 6} and halo.in_flight == 0


async def test_closing_the_read_cancels_the_pages_in_flight() -> None:
    halo = GatedHalo(900, held={4, 5, 6})
    before = tasks_now()
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        pages = client_of(http).invoice_pages()
        got = [await anext(pages) for _ in range(3)]
        await settle()
        await pages.aclose()  # type: ignore[attr-defined]
        assert no_task_left(before)
    assert [page.page_no for page in got] == [1, 2, 3]
    assert halo.cancelled == {4, 5, 6} and halo.in_flight == 0


async def test_pages_given_up_on_are_counted_as_requests_halo_may_have_seen() -> None:
    halo = GatedHalo(900, held={4, 5, 6})
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        client = client_of(http)
        pages = client.invoice_pages()
        for _ in range(3):
            await anext(pages)
        await settle()
        await pages.aclose()  # type: ignore[attr-defined]
    assert client.stats.cancelled == 3
    assert client.stats.requests == 1 + 3 + 3  # the token, the pages read, the pages given up
    assert client.stats.transport_errors == 0


async def test_cancelling_the_reader_cancels_the_pages_in_flight() -> None:
    """Stop while the reader waits for page 3: page 3 and the pages asked with it are cancelled,
    and no task is left running."""
    halo = GatedHalo(900, held={3, 4, 5, 6})
    before = tasks_now()
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        pages = client_of(http).invoice_pages()

        async def read_all() -> list[InvoicePage]:
            return [page async for page in pages]

        reading = asyncio.ensure_future(read_all())
        await settle()
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert no_task_left(before)
    assert halo.cancelled == {3, 4, 5, 6} and halo.in_flight == 0


async def test_pages_at_once_must_be_at_least_one() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(GatedHalo(1))) as http:
        with pytest.raises(ValueError, match="pages_at_once"):
            await anext(client_of(http).invoice_pages(pages_at_once=0))


def test_the_default_reads_a_few_pages_at_once() -> None:
    assert 1 < facts.LISTING_PAGES_AT_ONCE <= 8


# --- the same pages as one page at a time ---------------------------------------------------------


@st.composite
def listings(draw: st.DrawFn) -> dict[str, Any]:
    total = draw(st.integers(0, 400))
    pages = max(1, -(-total // 20))
    some_pages = st.frozensets(st.integers(1, pages + 2), max_size=2)
    count = draw(
        st.one_of(
            st.just(True),  # the real count
            st.none(),  # no record_count at all
            st.integers(0, 900),  # a count that lies (too small, too large)
        )
    )
    return {
        "total": total,
        "cap": draw(st.integers(3, 120)),
        "count": count,
        "empty": draw(st.one_of(st.just(frozenset()), some_pages)),
        "repeat": draw(st.one_of(st.just(frozenset()), some_pages)),
        "odd_every": draw(st.sampled_from([0, 0, 7])),
    }


async def read(listing: dict[str, Any], page_size: int, at_once: int, seed: int) -> GatedHalo:
    halo = GatedHalo(**listing, shuffle=random.Random(seed))
    async with httpx.AsyncClient(transport=httpx.MockTransport(halo)) as http:
        stream: AsyncIterator[InvoicePage] = client_of(http).invoice_pages(
            page_size=page_size, pages_at_once=at_once
        )
        before = tasks_now()
        halo.got = [page async for page in stream]  # type: ignore[attr-defined]
        assert no_task_left(before)
    return halo


def audit_of(pages: list[InvoicePage]) -> tuple[bool, list[str]]:
    audit = ListingAudit()
    for page in pages:
        audit.see(page)
    audit.finish()
    return audit.consistent, audit.problems


@settings(max_examples=120)
@given(
    listing=listings(),
    page_size=st.integers(5, 150),
    at_once=st.integers(2, 6),
    seed=st.integers(0, 2**16),
)
def test_several_pages_at_once_yield_exactly_the_pages_of_one_at_a_time(
    listing: dict[str, Any], page_size: int, at_once: int, seed: int
) -> None:
    """Whatever the list, its cap, its record_count and its blank or repeated pages: the same
    pages, in the same order, as the reader one page at a time, so the audit judges the read
    alike; the same requests, and at most `at_once - 1` more when a page ended the list before
    the pages record_count announced."""
    one = asyncio.run(read(listing, page_size, 1, seed))
    many = asyncio.run(read(listing, page_size, at_once, seed))
    assert many.got == one.got  # type: ignore[attr-defined]
    assert audit_of(many.got) == audit_of(one.got)  # type: ignore[attr-defined]
    assert many.asked[: len(one.asked)] == one.asked
    extra = many.asked[len(one.asked) :]
    assert len(extra) <= at_once - 1
    assert len(set(many.asked)) == len(many.asked), "a page was asked twice"
    first: InvoicePage | None = next(iter(one.got), None)  # type: ignore[attr-defined]
    as_announced = not listing["empty"] and not listing["repeat"] and listing["count"] is True
    if as_announced or first is None or first.record_count is None:
        assert extra == [], "a request the list did not need"
