"""halo.http: secure-URL rule, TLS set-up, and how transport failures become named errors."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from email.utils import format_datetime

import certifi
import httpx
import pytest
import respx

from halo_paylink.errors import ErrorKind, HaloError, LocalError
from halo_paylink.halo import facts
from halo_paylink.halo.http import (
    RequestStats,
    backoff_seconds,
    error_from_exception,
    is_loopback_host,
    make_http_client,
    parse_json,
    parse_retry_after,
    rate_limit_wait,
    require_secure_url,
    server_message,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.halopsa.com/api",
        "http://127.0.0.1:8080",
        "http://127.5.6.7/api",
        "http://localhost:5000/auth",
        "http://[::1]:9000/api",
    ],
)
def test_require_secure_url_accepts_https_and_loopback_http(url: str) -> None:
    require_secure_url(url)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://acme.halopsa.com/api", ErrorKind.INSECURE_ADDRESS),
        ("http://10.0.0.5/api", ErrorKind.INSECURE_ADDRESS),
        ("http://localhost.example.com", ErrorKind.INSECURE_ADDRESS),
        ("ftp://acme.halopsa.com", ErrorKind.BAD_ADDRESS),
        ("https://", ErrorKind.BAD_ADDRESS),
    ],
)
def test_require_secure_url_refuses(url: str, kind: ErrorKind) -> None:
    with pytest.raises(HaloError) as info:
        require_secure_url(url)
    assert info.value.kind is kind
    assert info.value.detail


def test_is_loopback_host() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("[::1]")
    assert is_loopback_host("LOCALHOST")
    assert not is_loopback_host("128.0.0.1")
    assert not is_loopback_host("example.com")


def _ssl_context(client: httpx.AsyncClient) -> ssl.SSLContext:
    context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


@pytest.mark.anyio
async def test_make_http_client_always_verifies() -> None:
    async with make_http_client(timeout=7) as client:
        context = _ssl_context(client)
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname is True
        assert client.timeout.read == 7
        assert client.follow_redirects is False


@pytest.mark.anyio
async def test_custom_ca_file_is_added_to_trust_not_replacing_it() -> None:
    async with make_http_client() as plain:
        before = _ssl_context(plain).cert_store_stats()["x509_ca"]
    # certifi's bundle stands in for a company CA file: it is valid PEM and adds no new CA, so the
    # count stays at least what it was; what matters is verification stays on.
    async with make_http_client(ca_file=certifi.where()) as client:
        context = _ssl_context(client)
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname is True
        assert context.cert_store_stats()["x509_ca"] >= before > 0


def test_unreadable_ca_file_is_a_local_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.pem"
    with pytest.raises(LocalError) as info:
        make_http_client(ca_file=missing)
    assert info.value.kind is ErrorKind.CA_FILE_UNREADABLE
    assert "nope.pem" in info.value.detail
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(LocalError) as info:
        make_http_client(ca_file=garbage)
    assert info.value.kind is ErrorKind.CA_FILE_UNREADABLE


def _wrapped(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 8] nodename nor servname provided"), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 11001] getaddrinfo failed"), ErrorKind.DNS),
        (_wrapped(httpx.ConnectError("boom"), socket.gaierror(-3, "Temporary")), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.REFUSED),
        (_wrapped(httpx.ConnectError("x"), ConnectionRefusedError(61, "nope")), ErrorKind.REFUSED),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed"
            ),
            ErrorKind.TLS,
        ),
        (
            _wrapped(httpx.ConnectError("x"), ssl.SSLCertVerificationError("unable to get")),
            ErrorKind.TLS,
        ),
        (httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), ErrorKind.TLS),
        (httpx.ConnectTimeout("timed out"), ErrorKind.TIMEOUT),
        (httpx.ReadTimeout("timed out"), ErrorKind.TIMEOUT),
        (httpx.PoolTimeout("pool"), ErrorKind.TIMEOUT),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            ErrorKind.NETWORK,
        ),
        (httpx.ReadError("connection reset"), ErrorKind.NETWORK),
        (httpx.WriteError("broken pipe"), ErrorKind.NETWORK),
        (httpx.ConnectError("something else entirely"), ErrorKind.NETWORK),
        (
            httpx.UnsupportedProtocol("Request URL has an unsupported protocol"),
            ErrorKind.BAD_ADDRESS,
        ),
        (httpx.TooManyRedirects("too many"), ErrorKind.NOT_HALO),
    ],
)
def test_error_from_exception(exc: Exception, kind: ErrorKind) -> None:
    error = error_from_exception(exc)
    assert error.kind is kind
    assert error.detail


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.REFUSED),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), ErrorKind.TLS),
        (httpx.ReadTimeout("timed out"), ErrorKind.TIMEOUT),
    ],
)
async def test_mapping_through_a_real_client(exc: Exception, kind: ErrorKind) -> None:
    with respx.mock:
        respx.get("https://acme.halopsa.com/api/x").mock(side_effect=exc)
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.HTTPError) as info:
                await client.get("https://acme.halopsa.com/api/x")
    assert error_from_exception(info.value).kind is kind


def test_retry_after_seconds_and_dates() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("12", now=now) == 12
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-4", now=now) is None  # unusable: the caller's fallback applies
    date = format_datetime(datetime.fromtimestamp(now + 45, UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(45)
    past = format_datetime(datetime.fromtimestamp(now - 45, UTC), usegmt=True)
    assert parse_retry_after(past, now=now) is None
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None
    assert parse_retry_after("nan", now=now) is None


def test_rate_limit_wait_uses_header_or_growing_fallback() -> None:
    request = httpx.Request("GET", "https://x.halopsa.com/api/Invoice")
    with_header = httpx.Response(429, headers={"Retry-After": "7"}, request=request)
    without = httpx.Response(429, request=request)
    huge = httpx.Response(429, headers={"Retry-After": "999999"}, request=request)
    assert rate_limit_wait(with_header, 3, now=0) == 7
    fallback = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
    assert rate_limit_wait(without, 1, now=0, rand=lambda: 0.0) == fallback
    assert rate_limit_wait(without, 2, now=0, rand=lambda: 0.0) == 2 * fallback
    assert rate_limit_wait(huge, 1, now=0) == facts.RETRY_AFTER_MAX_SECONDS


def test_backoff_doubles_and_caps() -> None:
    assert [backoff_seconds(n, lambda: 0.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_server_message_and_parse_json() -> None:
    request = httpx.Request("GET", "https://x.halopsa.com/api/Invoice")
    oauth = httpx.Response(
        400, json={"error": "invalid_request", "error_description": "bad scope"}, request=request
    )
    assert server_message(oauth) == "invalid_request: bad scope"
    html = httpx.Response(
        502,
        text="<html><head><title>Bad Gateway</title></head><body>x</body></html>",
        headers={"content-type": "text/html"},
        request=request,
    )
    assert "Bad Gateway" in server_message(html)
    with pytest.raises(HaloError) as info:
        parse_json(html)
    assert info.value.kind is ErrorKind.NOT_HALO
    with pytest.raises(HaloError) as info:
        parse_json(httpx.Response(200, text="{not json", request=request))
    assert info.value.kind is ErrorKind.MALFORMED_RESPONSE


def test_request_stats_counts() -> None:
    stats = RequestStats()
    request = httpx.Request("GET", "https://x")
    stats.record(httpx.Response(200, request=request))
    stats.record(httpx.Response(429, request=request))
    stats.record(None)
    assert stats.requests == 3
    assert stats.transport_errors == 1
    assert stats.by_status == {200: 1, 429: 1}
