"""halo.client: requests, retries, pagination and updates against respx mocks (no real waits)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from fakes import FakeClock
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.halo.session import client_for

API = "https://acme.halopsa.com/api"
TOKEN_URL = "https://acme.halopsa.com/auth/token"
WALL = 1_700_000_000.0
ENDPOINTS = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url=API,
    tenant="acme",
    hosted=True,
)
SELF = HaloEndpoints(
    web_url="https://halo.example.com",
    auth_url="https://halo.example.com/auth",
    resource_url="https://halo.example.com/api",
    tenant=None,
    hosted=False,
)
CREDS = Credentials("client", "shh-secret-1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router


def token_ok(name: str = "tok-1", scope: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"access_token": name, "token_type": "Bearer", "expires_in": 3600}
    if scope is not None:
        body["scope"] = scope
    return httpx.Response(200, json=body)


@pytest.fixture
def token_route(mock: respx.MockRouter) -> respx.Route:
    return mock.post(url__startswith=TOKEN_URL).mock(return_value=token_ok())


def make_client(
    http: httpx.AsyncClient,
    clock: FakeClock,
    *,
    endpoints: HaloEndpoints = ENDPOINTS,
    limiter: RateLimiter | None = None,
    max_retries: int = 5,
) -> HaloClient:
    return client_for(
        http,
        endpoints,
        CREDS,
        rate_limit="unlimited",
        limiter=limiter,
        clock=clock,
        sleep=clock.sleep,
        max_retries=max_retries,
        wall_clock=lambda: WALL,
        rand=lambda: 0.0,
    )


def page(ids: range | list[int], *, record_count: int | None, page_size: int | None = None) -> dict:
    body: dict[str, object] = {"invoices": [{"id": i, "invoicenumber": f"INV{i}"} for i in ids]}
    if record_count is not None:
        body["record_count"] = record_count
    if page_size is not None:
        body["page_size"] = page_size
    return body


def params_of(route: respx.Route) -> list[dict[str, str]]:
    return [dict(call.request.url.params) for call in route.calls]


# --- basics --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_agent_me_reads_both_spellings_and_sends_bearer(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Agent/me").respond(
        200, json={"id": 12, "name": "API Agent", "isadmin": True, "is_disabled": "false"}
    )
    async with httpx.AsyncClient() as http:
        agent = await make_client(http, clock).agent_me()
    assert (agent.id, agent.name, agent.is_admin, agent.is_disabled) == (
        12,
        "API Agent",
        True,
        False,
    )
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.headers["accept"] == "application/json"


@pytest.mark.anyio
async def test_default_limiter_depends_on_hosting(clock: FakeClock) -> None:
    async with httpx.AsyncClient() as http:
        hosted = HaloClient(http, ENDPOINTS, CREDS)
        self_hosted = HaloClient(http, SELF, CREDS)
    assert hosted.limiter.max_requests == facts.HOSTED_RATE_LIMIT_REQUESTS
    assert hosted.limiter.window_seconds == facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS
    assert self_hosted.limiter.max_requests is None
    assert "shh-secret" not in repr(hosted)


@pytest.mark.anyio
async def test_stats_count_every_request_including_token(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/5").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"id": 5})]
    )
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        await client.get_invoice(5)
    assert client.stats.requests == 3
    assert client.stats.token_requests == 1
    assert client.stats.retries_other == 1
    assert client.stats.by_status == {200: 2, 503: 1}


# --- pagination ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_pages_until_record_count(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 101), record_count=250, page_size=100)),
            httpx.Response(200, json=page(range(101, 201), record_count=250, page_size=100)),
            httpx.Response(200, json=page(range(201, 251), record_count=250, page_size=100)),
        ]
    )
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        pages = [p async for p in client.invoice_pages(filters=facts.UNPAID_INVOICE_FILTER)]
    assert [len(p.invoices) for p in pages] == [100, 100, 50]
    assert [p.page_no for p in pages] == [1, 2, 3]
    assert pages[-1].record_count == 250
    sent = params_of(route)
    assert [s["page_no"] for s in sent] == ["1", "2", "3"]
    for s in sent:
        assert s["pageinate"] == "true"
        assert s["page_size"] == "100"
        assert s["paymentstatuses"] == "0,-1"
        assert "count" not in s


@pytest.mark.anyio
async def test_follows_a_smaller_page_size_the_server_used(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 51), record_count=120, page_size=50)),
            httpx.Response(200, json=page(range(51, 101), record_count=120, page_size=50)),
            httpx.Response(200, json=page(range(101, 121), record_count=120, page_size=50)),
        ]
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=100)]
    assert [p.page_size for p in pages] == [50, 50, 50]
    assert sum(len(p.invoices) for p in pages) == 120
    assert [(s["page_size"], s["page_no"]) for s in params_of(route)] == [
        ("100", "1"),
        ("50", "2"),
        ("50", "3"),
    ]


@pytest.mark.anyio
async def test_silent_cap_without_page_size_is_followed(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 26), record_count=40)),
            httpx.Response(200, json=page(range(26, 41), record_count=40)),
        ]
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=100)]
    assert sum(len(p.invoices) for p in pages) == 40
    assert [s["page_size"] for s in params_of(route)] == ["100", "25"]


@pytest.mark.anyio
async def test_record_count_absent_stops_after_a_short_page(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 11), record_count=None, page_size=10)),
            httpx.Response(200, json=page(range(11, 21), record_count=None, page_size=10)),
            httpx.Response(200, json=page(range(21, 24), record_count=None, page_size=10)),
        ]
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=10)]
    assert route.call_count == 3
    assert [p.record_count for p in pages] == [None, None, None]  # Halo announced nothing


@pytest.mark.anyio
async def test_record_count_absent_and_exact_multiple_stops_at_empty_page(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 11), record_count=None)),
            httpx.Response(200, json=page(range(11, 21), record_count=None)),
            httpx.Response(200, json=page([], record_count=None)),
        ]
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=10)]
    assert route.call_count == 3
    assert [len(p.invoices) for p in pages] == [10, 10, 0]


@pytest.mark.anyio
async def test_empty_page_stops_even_when_record_count_promised_more(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 11), record_count=500, page_size=10)),
            httpx.Response(200, json=page([], record_count=500, page_size=10)),
        ]
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=10)]
    assert route.call_count == 2
    assert len(pages) == 2


@pytest.mark.anyio
async def test_no_invoices_at_all(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice").respond(200, json=page([], record_count=0, page_size=100))
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages()]
    assert route.call_count == 1
    assert pages[0].invoices == () and pages[0].record_count == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json=[{"id": 1}]),  # a bare list: not the paginated envelope
        httpx.Response(200, json={"record_count": 1, "invoices": "nope"}),
        httpx.Response(200, text="{truncated"),
    ],
)
async def test_malformed_listing(
    mock: respx.MockRouter,
    token_route: respx.Route,
    clock: FakeClock,
    response: httpx.Response,
) -> None:
    mock.get(f"{API}/Invoice").mock(return_value=response)
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            _ = [p async for p in make_client(http, clock).invoice_pages()]
    assert info.value.kind is ErrorKind.MALFORMED_RESPONSE


@pytest.mark.anyio
@pytest.mark.parametrize("row", [{"no_id": 1}, {"id": "abc"}, {"id": 1.5}, {"id": None}, 7, "x"])
async def test_rows_without_a_usable_id_are_kept_apart(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock, row: Any
) -> None:
    """A row without an integer id is part of the listing, handed on as odd, never dropped."""
    mock.get(f"{API}/Invoice").mock(
        return_value=httpx.Response(
            200, json={"record_count": 2, "invoices": [{"id": 4, "total": 1}, row]}
        )
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=100)]
    assert [i.id for i in pages[0].invoices] == [4]
    assert pages[0].odd_rows == (row,)
    assert pages[0].rows == 2


@pytest.mark.anyio
async def test_listing_is_ordered_by_id_and_a_full_last_page_is_confirmed(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    """A record_count smaller than the real list is not trusted: the next page is read."""
    route = mock.get(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json=page(range(1, 11), record_count=10)),
            httpx.Response(200, json=page(range(11, 14), record_count=10)),
        ]
    )
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=10)]
    assert [len(p.invoices) for p in pages] == [10, 3]
    assert route.calls[0].request.url.params["order"] == "id"


# --- one invoice, updates ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_get_invoice(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/7").respond(200, json={"id": 7, "invoicenumber": "INV7"})
    mock.get(f"{API}/Invoice/8").respond(404, json={"message": "Invoice not found"})
    mock.get(f"{API}/Invoice/9").respond(200, json={"invoices": []})
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        invoice = await client.get_invoice(7)
        with pytest.raises(HaloError) as missing:
            await client.get_invoice(8)
        with pytest.raises(HaloError) as odd:
            await client.get_invoice(9)
    assert invoice.invoice_number == "INV7"
    assert missing.value.kind is ErrorKind.NOT_FOUND
    assert "not found" in missing.value.detail
    assert odd.value.kind is ErrorKind.MALFORMED_RESPONSE


@pytest.mark.anyio
async def test_update_invoices_posts_one_json_array(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.post(f"{API}/Invoice").respond(200, json=[{"id": 1}, {"id": 2}])
    changes = [
        {
            "id": 1,
            facts.DEFAULT_LINK_FIELD: "https://www.benjipays.com/portal/x/pay/?InvoiceNumber=1",
        },
        {
            "id": "2",
            facts.DEFAULT_LINK_FIELD: "https://www.benjipays.com/portal/x/pay/?InvoiceNumber=2",
        },
    ]
    async with httpx.AsyncClient() as http:
        saved = await make_client(http, clock).update_invoices(changes)
    assert saved == [{"id": 1}, {"id": 2}]
    assert route.call_count == 1
    body = json.loads(route.calls.last.request.content)
    assert isinstance(body, list)
    assert [item["id"] for item in body] == [1, 2]
    assert route.calls.last.request.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_update_response_shapes(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.post(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(200, json={"id": 1}),
            httpx.Response(200, content=b""),
            httpx.Response(200, json="saved"),
        ]
    )
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        assert await client.update_invoices([{"id": 1}]) == [{"id": 1}]
        assert await client.update_invoices([{"id": 1}]) == []
        with pytest.raises(HaloError) as info:
            await client.update_invoices([{"id": 1}])
    assert info.value.kind is ErrorKind.MALFORMED_RESPONSE


@pytest.mark.anyio
@pytest.mark.parametrize(
    "changes",
    [
        [{"invoicenumber": "X"}],
        [{"id": None}],
        [{"id": True}],
        [{"id": 0}],
        [{"id": "abc"}],
        [{"id": 1}, {"id": 2, "lines": []}],
        [{"id": 1, "Lines": [{"id": 3}]}],
        ["not a mapping"],
    ],
)
async def test_update_invoices_validation(
    mock: respx.MockRouter, clock: FakeClock, changes: list
) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError):
            await make_client(http, clock).update_invoices(changes)
    assert not mock.calls  # validated before any request, token included


@pytest.mark.anyio
async def test_update_nothing_sends_nothing(mock: respx.MockRouter, clock: FakeClock) -> None:
    async with httpx.AsyncClient() as http:
        assert await make_client(http, clock).update_invoices([]) == []
    assert not mock.calls


@pytest.mark.anyio
async def test_validate_invoice_edit(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.post(f"{API}/Invoice").respond(200, json=[{"id": 3}])
    async with httpx.AsyncClient() as http:
        await make_client(http, clock).validate_invoice_edit(3)
    assert json.loads(route.calls.last.request.content) == [{"id": 3, "_validateonly": True}]


# --- 401 ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_refreshes_the_token_once(mock: respx.MockRouter, clock: FakeClock) -> None:
    tokens = mock.post(url__startswith=TOKEN_URL).mock(
        side_effect=[token_ok("old"), token_ok("new")]
    )
    route = mock.get(f"{API}/Invoice/1").mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json={"id": 1})]
    )
    async with httpx.AsyncClient() as http:
        invoice = await make_client(http, clock).get_invoice(1)
    assert invoice.id == 1
    assert tokens.call_count == 2
    auth = [call.request.headers["authorization"] for call in route.calls]
    assert auth == ["Bearer old", "Bearer new"]


@pytest.mark.anyio
async def test_second_401_is_unauthorized(mock: respx.MockRouter, clock: FakeClock) -> None:
    tokens = mock.post(url__startswith=TOKEN_URL).mock(side_effect=[token_ok("a"), token_ok("b")])
    route = mock.get(f"{API}/Invoice/1").respond(401, text="Unauthorized")
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock).get_invoice(1)
    assert info.value.kind is ErrorKind.UNAUTHORIZED
    assert info.value.status == 401
    assert tokens.call_count == 2
    assert route.call_count == 2


@pytest.mark.anyio
async def test_token_errors_surface_from_api_calls(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.post(url__startswith=TOKEN_URL).respond(
        401,
        json={
            "error": "invalid_client",
            "error_description": "The specified 'client_id' is invalid.",
        },
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock).get_invoice(1)
    assert info.value.kind is ErrorKind.INVALID_CLIENT_ID


# --- 429 ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_429_with_retry_after_seconds(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "12"}),
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        await client.get_invoice(1)
    assert clock.sleeps == [12, 3]
    assert client.stats.retries_429 == 2


@pytest.mark.anyio
async def test_429_with_retry_after_date(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    when = format_datetime(datetime.fromtimestamp(WALL + 20, UTC), usegmt=True)
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": when}),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    async with httpx.AsyncClient() as http:
        await make_client(http, clock).get_invoice(1)
    assert clock.sleeps == [pytest.approx(20)]


@pytest.mark.anyio
async def test_429_without_retry_after_uses_the_fallback(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[httpx.Response(429), httpx.Response(429), httpx.Response(200, json={"id": 1})]
    )
    async with httpx.AsyncClient() as http:
        await make_client(http, clock).get_invoice(1)
    fallback = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
    assert clock.sleeps == [fallback, 2 * fallback]


@pytest.mark.anyio
async def test_429_exhausted_is_rate_limited(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice/1").respond(429, headers={"Retry-After": "4"})
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock, max_retries=2)
        with pytest.raises(HaloError) as info:
            await client.get_invoice(1)
    assert info.value.kind is ErrorKind.RATE_LIMITED
    assert info.value.retry_after == 4
    assert route.call_count == 3
    assert clock.sleeps == [4, 4]


@pytest.mark.anyio
async def test_hold_off_after_429_applies_to_other_requests(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").respond(429, headers={"Retry-After": "9"})
    mock.get(f"{API}/Invoice/2").respond(200, json={"id": 2})
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock, max_retries=0)
        with pytest.raises(HaloError):
            await client.get_invoice(1)
        await client.get_invoice(2)  # must wait out the hold-off first
    assert clock.sleeps == [9]


@pytest.mark.anyio
async def test_rate_limiter_budget_throttles_requests(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").respond(200, json={"id": 1})
    limiter = RateLimiter(2, 10, clock=clock, sleep=clock.sleep)
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock, limiter=limiter)
        for _ in range(2):
            await client.get_invoice(1)  # token + 2 GETs = 3 starts in a 2-per-10 s budget
    assert clock.sleeps == [10]


# --- 5xx, timeouts, connection errors -------------------------------------------------------------


@pytest.mark.anyio
async def test_5xx_get_is_retried_with_backoff(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[httpx.Response(500), httpx.Response(502), httpx.Response(200, json={"id": 1})]
    )
    async with httpx.AsyncClient() as http:
        await make_client(http, clock).get_invoice(1)
    assert clock.sleeps == [1, 2]


@pytest.mark.anyio
async def test_5xx_exhausted_is_server_error(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice/1").respond(500, json={"message": "Object reference not set"})
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock, max_retries=3).get_invoice(1)
    assert info.value.kind is ErrorKind.SERVER_ERROR
    assert info.value.status == 500
    assert "Object reference" in info.value.detail
    assert route.call_count == 4
    assert clock.sleeps == [1, 2, 4]


@pytest.mark.anyio
async def test_update_post_is_retried_on_5xx_because_it_is_idempotent(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.post(f"{API}/Invoice").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=[{"id": 1}])]
    )
    async with httpx.AsyncClient() as http:
        saved = await make_client(http, clock).update_invoices([{"id": 1, "x": "y"}])
    assert saved == [{"id": 1}]
    assert route.call_count == 2
    first, second = (json.loads(c.request.content) for c in route.calls)
    assert first == second == [{"id": 1, "x": "y"}]


@pytest.mark.anyio
async def test_timeouts_are_retried_then_reported(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice/1").mock(side_effect=httpx.ReadTimeout("slow"))
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock, max_retries=2)
        with pytest.raises(HaloError) as info:
            await client.get_invoice(1)
    assert info.value.kind is ErrorKind.TIMEOUT
    assert route.call_count == 3
    assert client.stats.transport_errors == 3


@pytest.mark.anyio
async def test_dropped_connection_is_retried(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[
            httpx.RemoteProtocolError("Server disconnected"),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    async with httpx.AsyncClient() as http:
        assert (await make_client(http, clock).get_invoice(1)).id == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.REFUSED),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] failed"), ErrorKind.TLS),
    ],
)
async def test_connection_errors_are_not_retried(
    mock: respx.MockRouter,
    token_route: respx.Route,
    clock: FakeClock,
    exc: Exception,
    kind: ErrorKind,
) -> None:
    route = mock.get(f"{API}/Invoice/1").mock(side_effect=exc)
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock).get_invoice(1)
    assert info.value.kind is kind
    assert route.call_count == 1


# --- 403 / 4xx ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("granted", "method", "kind"),
    [
        (None, "GET", ErrorKind.FORBIDDEN),  # scopes unknown: cannot say which
        ("read:invoices edit:invoices", "GET", ErrorKind.FORBIDDEN),  # scope fine: agent rights
        ("all", "POST", ErrorKind.FORBIDDEN),
        ("read:invoices", "POST", ErrorKind.MISSING_SCOPE),
        ("read:tickets", "GET", ErrorKind.MISSING_SCOPE),
    ],
)
async def test_403(
    mock: respx.MockRouter, clock: FakeClock, granted: str | None, method: str, kind: ErrorKind
) -> None:
    mock.post(url__startswith=TOKEN_URL).mock(return_value=token_ok(scope=granted))
    mock.route(
        method=method, url=f"{API}/Invoice/1" if method == "GET" else f"{API}/Invoice"
    ).respond(403, text="You do not have permission")
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        with pytest.raises(HaloError) as info:
            if method == "GET":
                await client.get_invoice(1)
            else:
                await client.validate_invoice_edit(1)
    assert info.value.kind is kind
    assert info.value.status == 403
    assert "permission" in info.value.detail


@pytest.mark.anyio
async def test_400_posted_is_edit_posted_forbidden_other_400_rejected(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.post(f"{API}/Invoice").mock(
        side_effect=[
            httpx.Response(400, json={"message": "Editing posted invoices is not allowed"}),
            httpx.Response(400, json={"message": "Invalid duedate"}),
        ]
    )
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        with pytest.raises(HaloError) as posted:
            await client.update_invoices([{"id": 1, "x": 1}])
        with pytest.raises(HaloError) as rejected:
            await client.update_invoices([{"id": 1, "x": 1}])
    assert posted.value.kind is ErrorKind.EDIT_POSTED_FORBIDDEN
    assert rejected.value.kind is ErrorKind.REJECTED
    assert "duedate" in rejected.value.detail


@pytest.mark.anyio
async def test_html_instead_of_json_is_malformed_or_not_halo(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    mock.get(f"{API}/Agent/me").respond(
        200, text="<html>proxy login</html>", headers={"content-type": "text/html"}
    )
    mock.get(f"{API}/Invoice/1").respond(200, text="garbage")
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        with pytest.raises(HaloError) as html:
            await client.agent_me()
        with pytest.raises(HaloError) as garbage:
            await client.get_invoice(1)
    assert html.value.kind is ErrorKind.NOT_HALO
    assert garbage.value.kind is ErrorKind.MALFORMED_RESPONSE


@pytest.mark.anyio
async def test_secret_and_token_never_in_errors(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.post(url__startswith=TOKEN_URL).mock(return_value=token_ok("very-secret-token"))
    mock.get(f"{API}/Invoice/1").respond(
        400, json={"message": "bad header Authorization: Bearer very-secret-token"}
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock).get_invoice(1)
    text = str(info.value) + repr(info.value) + info.value.detail
    assert "very-secret-token" not in text
    assert "shh-secret-1" not in text


@pytest.mark.anyio
async def test_insecure_endpoints_are_refused_before_sending_anything(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    insecure = HaloEndpoints(
        web_url="http://halo.example.com",
        auth_url="http://halo.example.com/auth",
        resource_url="http://halo.example.com/api",
        tenant=None,
        hosted=False,
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock, endpoints=insecure).get_invoice(1)
    assert info.value.kind is ErrorKind.INSECURE_ADDRESS
    assert not mock.calls


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answers", "maybe_applied"),
    [
        ([httpx.Response(500), httpx.Response(429), httpx.Response(429)], True),
        ([httpx.Response(429), httpx.Response(429), httpx.Response(429)], False),
        ([httpx.Response(503), httpx.Response(401), httpx.Response(401)], True),
    ],
)
async def test_a_failure_after_an_unclear_attempt_says_the_write_may_have_landed(
    mock: respx.MockRouter,
    token_route: respx.Route,
    clock: FakeClock,
    answers: list[httpx.Response],
    maybe_applied: bool,
) -> None:
    mock.post(f"{API}/Invoice").mock(side_effect=answers)
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock, max_retries=1)
        with pytest.raises(HaloError) as info:
            await client.update_invoices([{"id": 1, "generic_online_invoice_payment_url": "x"}])
    assert info.value.maybe_applied is maybe_applied


@pytest.mark.anyio
async def test_a_repeated_page_ends_the_read_and_is_handed_on(
    mock: respx.MockRouter, token_route: respx.Route, clock: FakeClock
) -> None:
    """Halo ignoring page_no (or a page's worth of new invoices) repeats a page: the read stops
    there and the caller sees the repeated ids, instead of reading the same page forever."""
    same = httpx.Response(200, json=page(range(1, 11), record_count=30))
    route = mock.get(f"{API}/Invoice").mock(return_value=same)
    async with httpx.AsyncClient() as http:
        pages = [p async for p in make_client(http, clock).invoice_pages(page_size=10)]
    assert route.call_count == 2
    assert [i.id for i in pages[1].invoices] == [i.id for i in pages[0].invoices]
