"""halo.auth: the client-credentials token, its cache, and every token-endpoint failure."""

from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from fakes import FakeClock
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.auth import TokenProvider
from halo_paylink.halo.http import RequestStats
from halo_paylink.halo.jwt import decode_claims, scopes_from_claims
from halo_paylink.halo.models import Credentials, HaloEndpoints

SECRET = "super-secret-value-123"
CREDS = Credentials("my-client", SECRET)
HOSTED = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url="https://acme.halopsa.com/api",
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
TOKEN_URL = "https://acme.halopsa.com/auth/token"


def ok(token: str = "tok-1", expires_in: int = 3600, **extra: object) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in, **extra}
    )


def jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def provider(
    http: httpx.AsyncClient, clock: FakeClock, endpoints: HaloEndpoints = HOSTED
) -> TokenProvider:
    return TokenProvider(http, endpoints, CREDS, clock=clock, sleep=clock.sleep, rand=lambda: 0.0)


@pytest.mark.anyio
async def test_posts_the_client_credentials_form_and_reads_the_token() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        route = mock.post(TOKEN_URL, params={"tenant": "acme"}).mock(
            return_value=ok(scope="read:invoices edit:invoices")
        )
        async with httpx.AsyncClient() as http:
            token = await provider(http, clock).get()
    request = route.calls.last.request
    assert request.url.params["tenant"] == "acme"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["my-client"],
        "client_secret": [SECRET],
        "scope": ["read:invoices edit:invoices"],
    }
    assert token.access_token == "tok-1"
    assert token.expires_at == 1000 + 3600
    assert token.scopes == ("read:invoices", "edit:invoices")
    assert "tok-1" not in repr(token)


@pytest.mark.anyio
async def test_scope_is_sent_even_when_asking_for_one_and_absent_scope_is_fine() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        route = mock.post("https://halo.example.com/auth/token").mock(return_value=ok())
        async with httpx.AsyncClient() as http:
            tokens = TokenProvider(http, SELF, CREDS, scopes=("read:invoices",), clock=clock)
            token = await tokens.get()
    assert parse_qs(route.calls.last.request.content.decode())["scope"] == ["read:invoices"]
    assert "tenant" not in route.calls.last.request.url.params
    assert token.scopes == ()


@pytest.mark.anyio
async def test_scopes_fall_back_to_untrusted_jwt_claims() -> None:
    clock = FakeClock()
    access = jwt({"scope": "read:invoices edit:invoices", "agent_id": 7})
    with respx.mock as mock:
        mock.post(TOKEN_URL, params={"tenant": "acme"}).mock(return_value=ok(token=access))
        async with httpx.AsyncClient() as http:
            token = await provider(http, clock).get()
    assert token.scopes == ("read:invoices", "edit:invoices")
    assert token.claims["agent_id"] == 7


def test_jwt_decoding_fails_soft() -> None:
    assert decode_claims("opaque-token") == {}
    assert decode_claims("a.%%%.c") == {}
    assert decode_claims("a..c") == {}
    assert decode_claims(jwt({"scp": ["all"]})) == {"scp": ["all"]}
    assert scopes_from_claims({"scp": ["all"]}) == ("all",)
    assert scopes_from_claims({}) == ()


@pytest.mark.anyio
async def test_token_is_cached_until_shortly_before_expiry() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        route = mock.post(TOKEN_URL, params={"tenant": "acme"}).mock(
            side_effect=[ok("tok-1", 600), ok("tok-2", 600)]
        )
        async with httpx.AsyncClient() as http:
            tokens = provider(http, clock)
            first = await tokens.get()
            clock.now += 600 - facts.TOKEN_REFRESH_MARGIN_SECONDS - 1
            assert (await tokens.get()) is first
            assert route.call_count == 1
            clock.now += 2  # now inside the refresh margin
            second = await tokens.get()
    assert second.access_token == "tok-2"
    assert route.call_count == 2


@pytest.mark.anyio
async def test_invalidate_forces_a_new_token_but_only_for_the_stale_one() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        route = mock.post(TOKEN_URL, params={"tenant": "acme"}).mock(
            side_effect=[ok("tok-1"), ok("tok-2"), ok("tok-3")]
        )
        async with httpx.AsyncClient() as http:
            tokens = provider(http, clock)
            first = await tokens.get()
            tokens.invalidate(first)
            second = await tokens.get()
            tokens.invalidate(first)  # stale: already replaced, nothing happens
            assert (await tokens.get()) is second
            tokens.invalidate()
            third = await tokens.get()
    assert [first.access_token, second.access_token, third.access_token] == [
        "tok-1",
        "tok-2",
        "tok-3",
    ]
    assert route.call_count == 3


@pytest.mark.anyio
async def test_concurrent_callers_share_one_request() -> None:
    clock = FakeClock()
    calls = 0

    async def slow_token(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return ok()

    with respx.mock as mock:
        mock.post(TOKEN_URL, params={"tenant": "acme"}).mock(side_effect=slow_token)
        async with httpx.AsyncClient() as http:
            tokens = provider(http, clock)
            results = await asyncio.gather(*(tokens.get() for _ in range(8)))
    assert calls == 1
    assert all(token is results[0] for token in results)


@pytest.mark.anyio
async def test_concurrent_callers_share_one_failure() -> None:
    clock = FakeClock()

    async def refuse(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return httpx.Response(401, json={"error": "invalid_client"})

    with respx.mock as mock:
        route = mock.post(TOKEN_URL, params={"tenant": "acme"}).mock(side_effect=refuse)
        async with httpx.AsyncClient() as http:
            tokens = provider(http, clock)
            results = await asyncio.gather(
                *(tokens.get() for _ in range(4)), return_exceptions=True
            )
    assert route.call_count == 1
    assert all(isinstance(r, HaloError) and r.kind is ErrorKind.INVALID_SECRET for r in results)


def _oauth(status: int, error: str, description: str = "") -> httpx.Response:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return httpx.Response(status, json=body)


TOKEN_ERRORS: list[tuple[str, httpx.Response, HaloEndpoints, ErrorKind]] = [
    (
        "unknown client id",
        _oauth(401, "invalid_client", "The specified 'client_id' is invalid."),
        HOSTED,
        ErrorKind.INVALID_CLIENT_ID,
    ),
    (
        "unknown client id (other wording)",
        _oauth(401, "invalid_client", "The client application was not found in the database."),
        HOSTED,
        ErrorKind.INVALID_CLIENT_ID,
    ),
    (
        "wrong secret",
        _oauth(401, "invalid_client", "The specified client credentials are invalid."),
        HOSTED,
        ErrorKind.INVALID_SECRET,
    ),
    (
        "wrong secret, no description",
        _oauth(401, "invalid_client"),
        HOSTED,
        ErrorKind.INVALID_SECRET,
    ),
    (
        "scope not allowed",
        _oauth(
            400,
            "invalid_request",
            "This client application is not allowed to use the specified scope.",
        ),
        HOSTED,
        ErrorKind.MISSING_SCOPE,
    ),
    (
        "unknown scope",
        _oauth(400, "invalid_scope", "The specified 'scope' is invalid."),
        HOSTED,
        ErrorKind.MISSING_SCOPE,
    ),
    (
        "other invalid_request",
        _oauth(400, "invalid_request", "The mandatory 'grant_type' parameter is missing."),
        HOSTED,
        ErrorKind.REJECTED,
    ),
    ("wrong grant", _oauth(400, "unauthorized_client", "nope"), HOSTED, ErrorKind.WRONG_GRANT),
    (
        "unsupported grant",
        _oauth(400, "unsupported_grant_type", "nope"),
        HOSTED,
        ErrorKind.WRONG_GRANT,
    ),
    ("wrong tenant", httpx.Response(500, text="Server Error"), HOSTED, ErrorKind.INVALID_TENANT),
    ("500 without tenant", httpx.Response(500, text="Server Error"), SELF, ErrorKind.SERVER_ERROR),
    ("403", httpx.Response(403, text="Forbidden"), HOSTED, ErrorKind.FORBIDDEN),
    (
        "html page",
        httpx.Response(
            200, text="<!DOCTYPE html><html></html>", headers={"content-type": "text/html"}
        ),
        HOSTED,
        ErrorKind.NOT_HALO,
    ),
    (
        "html 404",
        httpx.Response(404, text="<html>nope</html>", headers={"content-type": "text/html"}),
        HOSTED,
        ErrorKind.NOT_HALO,
    ),
    ("bad json", httpx.Response(200, text="{oops"), HOSTED, ErrorKind.MALFORMED_RESPONSE),
    (
        "no access token",
        httpx.Response(200, json={"expires_in": 5}),
        HOSTED,
        ErrorKind.MALFORMED_RESPONSE,
    ),
    (
        "not bearer",
        httpx.Response(200, json={"access_token": "x", "token_type": "MAC"}),
        HOSTED,
        ErrorKind.MALFORMED_RESPONSE,
    ),
    ("json list", httpx.Response(200, json=[1, 2]), HOSTED, ErrorKind.MALFORMED_RESPONSE),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "response", "endpoints", "kind"), TOKEN_ERRORS, ids=[c[0] for c in TOKEN_ERRORS]
)
async def test_token_errors(
    name: str, response: httpx.Response, endpoints: HaloEndpoints, kind: ErrorKind
) -> None:
    clock = FakeClock()
    with respx.mock as mock:
        mock.post(url__startswith=endpoints.auth_url + "/token").mock(return_value=response)
        async with httpx.AsyncClient() as http:
            with pytest.raises(HaloError) as info:
                await provider(http, clock, endpoints).get()
    assert info.value.kind is kind
    assert SECRET not in str(info.value) + repr(info.value) + info.value.detail


@pytest.mark.anyio
async def test_secret_echoed_by_server_is_redacted() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        mock.post(url__startswith=TOKEN_URL).mock(
            return_value=_oauth(401, "invalid_client", f"client_secret={SECRET} is wrong: {SECRET}")
        )
        async with httpx.AsyncClient() as http:
            with pytest.raises(HaloError) as info:
                await provider(http, clock).get()
    assert info.value.kind is ErrorKind.INVALID_SECRET
    assert SECRET not in str(info.value) + info.value.detail + repr(info.value)


@pytest.mark.anyio
async def test_transient_5xx_is_retried_with_backoff_then_server_error() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        route = mock.post(url__startswith=TOKEN_URL).mock(return_value=httpx.Response(503))
        async with httpx.AsyncClient() as http:
            with pytest.raises(HaloError) as info:
                await provider(http, clock).get()
    assert info.value.kind is ErrorKind.SERVER_ERROR
    assert route.call_count == 4
    assert clock.sleeps == [1, 2, 4]


@pytest.mark.anyio
async def test_token_429_honours_retry_after() -> None:
    clock = FakeClock()
    stats = RequestStats()
    with respx.mock as mock:
        mock.post(url__startswith=TOKEN_URL).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), ok()]
        )
        async with httpx.AsyncClient() as http:
            tokens = TokenProvider(
                http, HOSTED, CREDS, clock=clock, sleep=clock.sleep, stats=stats, rand=lambda: 0.0
            )
            token = await tokens.get()
    assert token.access_token == "tok-1"
    assert clock.sleeps == [7]
    assert stats.requests == 2
    assert stats.token_requests == 2
    assert stats.retries_429 == 1


@pytest.mark.anyio
async def test_token_429_exhausted_is_rate_limited() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        mock.post(url__startswith=TOKEN_URL).mock(return_value=httpx.Response(429))
        async with httpx.AsyncClient() as http:
            tokens = TokenProvider(
                http, HOSTED, CREDS, clock=clock, sleep=clock.sleep, max_retries=2, rand=lambda: 0.0
            )
            with pytest.raises(HaloError) as info:
                await tokens.get()
    assert info.value.kind is ErrorKind.RATE_LIMITED
    assert info.value.retry_after == facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
    fallback = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
    assert clock.sleeps == [fallback, 2 * fallback]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.REFUSED),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] verify failed"), ErrorKind.TLS),
        (httpx.ReadTimeout("timed out"), ErrorKind.TIMEOUT),
        (httpx.ReadError("reset"), ErrorKind.NETWORK),
    ],
)
async def test_token_connection_failures(exc: Exception, kind: ErrorKind) -> None:
    clock = FakeClock()
    with respx.mock as mock:
        mock.post(url__startswith=TOKEN_URL).mock(side_effect=exc)
        async with httpx.AsyncClient() as http:
            with pytest.raises(HaloError) as info:
                await provider(http, clock).get()
    assert info.value.kind is kind
    assert SECRET not in str(info.value)


@pytest.mark.anyio
async def test_token_timeout_is_retried() -> None:
    clock = FakeClock()
    with respx.mock as mock:
        route = mock.post(url__startswith=TOKEN_URL).mock(
            side_effect=[httpx.ReadTimeout("slow"), ok()]
        )
        async with httpx.AsyncClient() as http:
            token = await provider(http, clock).get()
    assert token.access_token == "tok-1"
    assert route.call_count == 2
    assert clock.sleeps == [1]


def test_repr_never_shows_the_secret() -> None:
    tokens = TokenProvider(httpx.AsyncClient(), HOSTED, CREDS)
    assert SECRET not in repr(tokens)
    assert SECRET not in repr(CREDS)
