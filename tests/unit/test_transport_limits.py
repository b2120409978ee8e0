"""Transport limits in the client: the response-size cap, the whole-request deadline, jittered
backoff, the 429 wait budget, visible and cancellable waits, redirects as one named error, and
tokens redacted from the moment they are issued. No real waiting except where a test needs a
real event loop sleep to be cancelled."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import FakeClock
from halo_paylink.core.backfill.engine import PER_INVOICE_REJECTIONS
from halo_paylink.core.backfill.outcome import (
    DEFINITELY_NOT_APPLIED,
    RunOutcome,
    outcome_for_error,
)
from halo_paylink.core.backfill.progress import Phase, Progress, format_wait
from halo_paylink.errors import EXPLANATIONS, ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.auth import TokenProvider
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.http import (
    JITTER_FRACTION,
    MAX_DETAIL,
    MAX_RESPONSE_BYTES,
    REQUEST_DEADLINE_SECONDS,
    DeadlineExceeded,
    ResponseTooLarge,
    backoff_seconds,
    fallback_rate_limit_wait,
    parse_retry_after,
    send_limited,
    server_message,
)
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.ratelimit import (
    HOLD_OFF_REASON,
    RATE_LIMIT_BUDGET_SECONDS,
    Wait,
)
from halo_paylink.halo.session import client_for
from halo_paylink.redact import MASK, redact

API = "https://acme.halopsa.com/api"
TOKEN_URL = "https://acme.halopsa.com/auth/token"
ENDPOINTS = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url=API,
    tenant="acme",
    hosted=True,
)
CREDS = Credentials("client", "shh-secret-1")
OPAQUE = "opaque-Token-5f2a9c0e7b4d4e1f9a3b6c8d0e2f4a6b"
ID_TOKEN = "idtok-8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        router.post(url__startswith=TOKEN_URL).mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": OPAQUE,
                    "id_token": ID_TOKEN,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        )
        yield router


def make_client(
    http: httpx.AsyncClient, clock: FakeClock, *, rand: float = 0.0, **kwargs: object
) -> HaloClient:
    return client_for(
        http,
        ENDPOINTS,
        CREDS,
        rate_limit="unlimited",
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: 1_700_000_000.0,
        rand=lambda: rand,
        **kwargs,  # type: ignore[arg-type]
    )


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_suit_hosted_halo() -> None:
    client = HaloClient(httpx.AsyncClient(), ENDPOINTS, CREDS)
    assert client.request_deadline == REQUEST_DEADLINE_SECONDS == 60.0
    assert client.max_response_bytes == MAX_RESPONSE_BYTES == 16 * 1024 * 1024
    assert client.rate_limit_budget == RATE_LIMIT_BUDGET_SECONDS == 900.0
    # a 5-minute window fits the budget three times over; the per-wait clamp fits in it
    assert RATE_LIMIT_BUDGET_SECONDS >= 3 * facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS
    assert facts.RETRY_AFTER_MAX_SECONDS <= RATE_LIMIT_BUDGET_SECONDS


# --- size cap ------------------------------------------------------------------------------------


async def _chunks(total: int, size: int = 4096) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(min_value=0, max_value=20_000),
    cap=st.integers(min_value=1, max_value=20_000),
    declared=st.booleans(),
)
def test_a_body_is_read_whole_up_to_the_cap_and_refused_beyond(
    length: int, cap: int, declared: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=b" " * length)
        return httpx.Response(200, content=_chunks(length))  # chunked: no Content-Length

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await send_limited(http, "GET", f"{API}/Invoice", max_bytes=cap)

    if length <= cap:
        response = run(go())
        assert isinstance(response, httpx.Response)
        assert len(response.content) == length
    else:
        with pytest.raises(ResponseTooLarge):
            run(go())


def test_a_compressed_body_is_decoded_and_counted_after_decoding() -> None:
    page = json.dumps({"record_count": 0, "invoices": [], "pad": "x" * 5000}).encode()
    packed = gzip.compress(page)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=packed, headers={"Content-Encoding": "gzip"})

    async def go(cap: int) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await send_limited(http, "GET", f"{API}/Invoice", max_bytes=cap)

    response = run(go(len(page)))
    assert isinstance(response, httpx.Response)
    assert response.json()["pad"] == "x" * 5000
    assert "content-encoding" not in response.headers
    with pytest.raises(ResponseTooLarge):  # small on the wire, too large once unpacked
        run(go(len(packed) + 10))


@pytest.mark.anyio
async def test_the_client_names_a_too_large_answer_and_does_not_retry(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice/1").mock(return_value=httpx.Response(200, content=b"[" * 5000))
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock, max_response_bytes=1000).get_invoice(1)
    assert info.value.kind is ErrorKind.RESPONSE_TOO_LARGE
    assert outcome_for_error(info.value) is RunOutcome.MALFORMED_RESPONSE
    assert route.call_count == 1
    assert clock.sleeps == []


# --- deadline ------------------------------------------------------------------------------------


class _Stalling(httpx.AsyncByteStream):
    """Sends a first byte, then never another (a real server that keeps the socket open)."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_a_stalled_body_fails_at_the_deadline_as_a_timeout_and_is_retried() -> None:
    streams: list[_Stalling] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": OPAQUE, "expires_in": 3600})
        streams.append(_Stalling())
        return httpx.Response(200, stream=streams[-1])

    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = client_for(
            http,
            ENDPOINTS,
            CREDS,
            rate_limit="unlimited",
            sleep=no_sleep,
            max_retries=2,
            request_deadline=0.05,
            rand=lambda: 0.0,
        )
        with pytest.raises(HaloError) as info:
            await client.get_invoice(1)
    assert info.value.kind is ErrorKind.TIMEOUT
    assert "within 0.05 s" in info.value.detail
    assert len(streams) == 3  # the first try and two retries
    assert all(s.closed for s in streams)  # each abandoned connection was released
    assert sleeps == [1.0, 2.0]


@pytest.mark.anyio
async def test_token_requests_have_the_deadline_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Stalling())

    async def no_sleep(seconds: float) -> None:
        pass

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        tokens = TokenProvider(
            http, ENDPOINTS, CREDS, sleep=no_sleep, max_retries=1, request_deadline=0.05
        )
        with pytest.raises(HaloError) as info:
            await tokens.get()
    assert info.value.kind is ErrorKind.TIMEOUT
    assert isinstance(DeadlineExceeded("x"), httpx.TimeoutException)


# --- jitter --------------------------------------------------------------------------------------


@given(attempt=st.integers(min_value=1, max_value=1000), r=st.floats(min_value=0, max_value=1))
def test_backoff_and_fallback_waits_are_jittered_within_bounds(attempt: int, r: float) -> None:
    base = float(min(2 ** (min(attempt, 16) - 1), 30))
    assert base <= backoff_seconds(attempt, lambda: r) <= base * (1 + JITTER_FRACTION)
    fallback = fallback_rate_limit_wait(attempt, lambda: r)
    floor = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
    assert floor <= fallback <= facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS * (1 + JITTER_FRACTION)
    # exponential before the cap
    expected = min(floor * 2 ** (min(attempt, 16) - 1), facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS)
    assert fallback == pytest.approx(expected * (1 + JITTER_FRACTION * r))


@pytest.mark.anyio
async def test_the_injected_random_source_drives_the_jitter(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[httpx.Response(503), httpx.Response(429), httpx.Response(200, json={"id": 1})]
    )
    async with httpx.AsyncClient() as http:
        await make_client(http, clock, rand=0.5).get_invoice(1)
    fallback = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
    assert clock.sleeps == [pytest.approx(1.25), pytest.approx(fallback * 1.25)]


# --- Retry-After and the 429 budget ---------------------------------------------------------------


@given(st.text(max_size=40))
def test_retry_after_is_never_negative_nor_infinite(text: str) -> None:
    value = parse_retry_after(text, now=1_700_000_000.0)
    assert value is None or 0 <= value < float("inf")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "header", ["-5", "-0.5", "soon", "nan", "inf", "Tue, 01 Jan 1980 00:00:00 GMT"]
)
async def test_an_unusable_retry_after_means_the_fallback_wait_never_none(
    mock: respx.MockRouter, clock: FakeClock, header: str
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": header}),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    async with httpx.AsyncClient() as http:
        await make_client(http, clock).get_invoice(1)
    assert clock.sleeps == [facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS]


@pytest.mark.anyio
async def test_a_retry_after_beyond_the_budget_fails_at_once(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.get(f"{API}/Invoice/1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "99999"})
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock).get_invoice(1)
    assert info.value.kind is ErrorKind.RATE_LIMITED
    assert info.value.retry_after == 99999
    assert "27 h 46 min" in info.value.detail and "15 min" in info.value.detail
    assert outcome_for_error(info.value) is RunOutcome.RATE_LIMITED
    assert RunOutcome.RATE_LIMITED.resumable
    assert clock.sleeps == []  # not 15 (or 75) silent minutes first
    assert route.call_count == 1


@pytest.mark.anyio
async def test_the_budget_covers_every_hold_off_of_the_client(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "300"})
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock, max_retries=50).get_invoice(1)
    assert info.value.kind is ErrorKind.RATE_LIMITED
    assert clock.sleeps == [300, 300, 300]  # 900 s budget: a fourth wait would pass it


@settings(max_examples=25, deadline=None)
@given(
    headers=st.lists(
        st.one_of(
            st.none(),
            st.integers(min_value=-100, max_value=5000).map(str),
            st.sampled_from(["soon", "nan", "-inf", "1e9"]),
        ),
        min_size=1,
        max_size=12,
    ),
    budget=st.sampled_from([0.0, 45.0, 400.0, 900.0]),
)
def test_total_rate_limit_waits_never_pass_the_budget(
    headers: list[str | None], budget: float
) -> None:
    clock = FakeClock()
    answers = [
        httpx.Response(429, headers={"Retry-After": h} if h is not None else {}) for h in headers
    ] + [httpx.Response(200, json={"id": 1})]

    async def go() -> None:
        with respx.mock(assert_all_mocked=True) as router:
            router.post(url__startswith=TOKEN_URL).mock(
                return_value=httpx.Response(200, json={"access_token": OPAQUE})
            )
            router.get(f"{API}/Invoice/1").mock(side_effect=answers)
            async with httpx.AsyncClient() as http:
                client = make_client(http, clock, max_retries=100, rate_limit_budget=budget)
                try:
                    await client.get_invoice(1)
                except HaloError as error:
                    assert error.kind is ErrorKind.RATE_LIMITED

    asyncio.run(go())
    assert sum(clock.sleeps) <= budget + 1e-6


# --- waits are visible and cancellable ------------------------------------------------------------


@pytest.mark.anyio
async def test_a_hold_off_is_announced_counted_down_and_cleared(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.get(f"{API}/Invoice/1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    seen: list[Wait | None] = []
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        client.limiter.on_wait = seen.append
        await client.get_invoice(1)
    assert [w.seconds if w else None for w in seen] == [3, 2, 1, None]
    assert all(w.reason == HOLD_OFF_REASON for w in seen if w)
    assert client.limiter.waiting is None
    assert clock.sleeps == [1, 1, 1]  # ticks, so a display can count down


@pytest.mark.anyio
async def test_cancelling_during_a_rate_limit_wait_takes_effect_at_once(
    mock: respx.MockRouter,
) -> None:
    # Real clock and real asyncio.sleep: if the wait were not interruptible, this test would hang
    # for ten minutes instead of finishing.
    mock.get(f"{API}/Invoice/1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "600"})
    )
    started = asyncio.Event()
    seen: list[Wait | None] = []

    def on_wait(wait: Wait | None) -> None:
        seen.append(wait)
        if wait is not None:
            started.set()

    async with httpx.AsyncClient() as http:
        client = client_for(http, ENDPOINTS, CREDS, rate_limit="unlimited")
        client.limiter.on_wait = on_wait
        task = asyncio.ensure_future(client.get_invoice(1))
        await started.wait()
        waiting = client.limiter.waiting
        assert waiting is not None and waiting.reason == HOLD_OFF_REASON
        assert 590 < waiting.seconds <= 600
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert client.limiter.waiting is None
    assert seen[-1] is None  # the display was told the wait ended


def test_progress_carries_the_wait_as_a_status_line() -> None:
    waiting = Progress(phase=Phase.WRITING, wait_seconds=251.2, wait_reason=HOLD_OFF_REASON)
    assert waiting.wait_line == "Halo's rate limit: resuming in 4:12"
    assert Progress(phase=Phase.WRITING).wait_line == ""
    assert format_wait(0.2) == "0:01"
    assert format_wait(3725) == "1:02:05"


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_format_wait_rounds_up_and_reads_back(seconds: float) -> None:
    parts = [int(p) for p in format_wait(seconds).split(":")]
    total = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    assert total - 1 < seconds <= total


# --- redirects -----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_on_the_update_post_is_redirected_not_rejected(
    mock: respx.MockRouter, clock: FakeClock, status: int
) -> None:
    route = mock.post(f"{API}/Invoice").mock(
        return_value=httpx.Response(status, headers={"Location": "https://sso.example.com/login"})
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock).update_invoices([{"id": 1, "x": "y"}, {"id": 2}])
    error = info.value
    assert error.kind is ErrorKind.REDIRECTED
    assert error.status == status
    assert "https://sso.example.com/login" in error.detail
    assert route.call_count == 1 and clock.sleeps == []
    assert error.kind not in PER_INVOICE_REJECTIONS  # one run-level error, never bisected
    assert outcome_for_error(error) is RunOutcome.NETWORK_ERROR
    # a 302/303 after a POST may follow a processed request: resume re-reads, never assumes
    assert error.kind not in DEFINITELY_NOT_APPLIED
    assert "Resource Server URL" in EXPLANATIONS[ErrorKind.REDIRECTED].next_step


# --- tokens are redacted from the moment they are issued ----------------------------------------


@pytest.mark.anyio
async def test_every_issued_token_is_masked_everywhere_at_once(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    assert OPAQUE in redact(f"x {OPAQUE} y")  # not yet issued: nothing to mask it
    async with httpx.AsyncClient() as http:
        client = make_client(http, clock)
        await client.token()
    for value in (OPAQUE, ID_TOKEN):
        masked = redact(f"The access token {value} could not be validated")
        assert value not in masked and MASK in masked


@pytest.mark.anyio
async def test_a_server_error_echoing_the_token_is_masked(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    echo = {"Message": f"An error has occurred. The access token {OPAQUE} is no good"}
    mock.get(f"{API}/Invoice/1").mock(return_value=httpx.Response(500, json=echo))
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await make_client(http, clock, max_retries=0).get_invoice(1)
    assert info.value.kind is ErrorKind.SERVER_ERROR
    assert OPAQUE not in info.value.detail and OPAQUE not in str(info.value)
    assert "is no good" in info.value.detail


@given(prefix=st.integers(min_value=0, max_value=2 * MAX_DETAIL))
def test_a_token_cut_by_the_detail_limit_leaves_no_fragment(prefix: int) -> None:
    token = (
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQiLCJzY29wZSI6ImFsbCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    )
    body = {"Message": "x" * prefix + f" {token} rest"}
    request = httpx.Request("GET", f"{API}/Invoice")
    said = server_message(httpx.Response(500, json=body, request=request))
    assert len(said) <= MAX_DETAIL
    assert not any(token[i : i + 12] in said for i in range(len(token) - 12))


def test_the_cli_progress_line_shows_the_live_wait() -> None:
    from halo_paylink.cli.backfill import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar(Progress(phase=Phase.WRITING, done=3, total=10, eta_seconds=20.0))
    assert "resuming" not in stream.getvalue()
    bar(
        Progress(
            phase=Phase.WRITING, done=3, total=10, wait_seconds=252, wait_reason=HOLD_OFF_REASON
        )
    )
    assert "Halo's rate limit: resuming in 4:12" in stream.getvalue()
