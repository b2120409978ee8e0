"""The one HTTP client every Halo call goes through, and how its failures become `HaloError`s.

Nothing here does I/O at import time. `make_http_client` builds an `httpx.AsyncClient` whose
certificate verification is always on; a custom CA file is added to the default trust, never used
to turn verification off. The mapping helpers turn httpx exceptions and non-2xx responses into
typed errors without ever copying a request body (which may hold the client secret) into them.

`send_limited` is how API and token requests are sent: the whole request (connect, headers and
every byte of the body) has one deadline, since httpx's read timeout restarts with every byte, and
the body is streamed and abandoned once it grows past a cap. Backoff waits carry jitter from an
injectable random source, so many clients do not retry in step and tests stay deterministic.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import email.utils
import ipaddress
import json
import os
import random
import re
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from halo_paylink.errors import ErrorKind, HaloError, LocalError
from halo_paylink.halo import facts
from halo_paylink.redact import redact

#: What we send as User-Agent, so an operator reading Halo's logs knows who called.
USER_AGENT = "halo-paylink"

_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "name resolution",
    "[errno -2]",
    "[errno -3]",
    "[errno -5]",
    "[errno 11001]",
)
_REFUSED_MARKERS = (
    "connection refused",
    "actively refused",
    "[errno 111]",
    "[errno 61]",
    "[errno 10061]",
)
_TLS_MARKERS = (
    "certificate_verify_failed",
    "certificate verify failed",
    "[ssl",
    "ssl:",
    "sslerror",
    "tlsv1",
    "handshake",
)

#: Longest server text copied into an error's detail.
MAX_DETAIL = 300

#: Server text is redacted within this many characters before being cut to `MAX_DETAIL`, so no
#: cut falls inside a token that is shown.
_REDACT_WINDOW = 20 * MAX_DETAIL

#: Seconds one request may take as a whole, from sending it to the last byte of the answer. httpx's
#: own timeouts restart with every byte received, so a server trickling one byte a second would
#: otherwise hold a run for hours. Generous: a 100-row invoice page arrives in well under a second.
REQUEST_DEADLINE_SECONDS = 60.0

#: The largest answer read from Halo, in bytes (after decompression). A 100-row invoice page is a
#: few hundred kilobytes; anything near this cap is not a Halo answer.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

#: Backoff waits are lengthened by up to this fraction, at random (never shortened: the base wait
#: is already the least that is known to work).
JITTER_FRACTION = 0.5

#: A source of random numbers in [0, 1), injectable so tests are deterministic.
Random = Callable[[], float]


class ResponseTooLarge(httpx.HTTPError):
    """The answer grew past the cap given to `send_limited`; reading it was stopped."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class DeadlineExceeded(httpx.TimeoutException):
    """The request as a whole took longer than the deadline given to `send_limited`."""


def _size_words(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


async def send_limited(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline: float = REQUEST_DEADLINE_SECONDS,
    max_bytes: int = MAX_RESPONSE_BYTES,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request and read its whole answer, within `deadline` seconds and `max_bytes`.

    Runs on the caller's event loop. Cancelling the caller cancels the request at once.

    Returns:
        A fully read response (its `content` is available; the connection is released).

    Raises:
        DeadlineExceeded: (an `httpx.TimeoutException`) the request did not finish in time.
        ResponseTooLarge: (an `httpx.HTTPError`) the answer declared or sent more than `max_bytes`.
        httpx.HTTPError: any other transport failure, as from `httpx.AsyncClient.request`.
    """
    request = http.build_request(method, url, params=params, json=json, data=data, headers=headers)
    try:
        async with asyncio.timeout(deadline):
            response = await http.send(request, stream=True)
            try:
                declared = response.headers.get("content-length", "")
                if (
                    declared.strip().isdigit()
                    and int(declared) > max_bytes
                    and not (response.headers.get("content-encoding"))
                ):
                    raise ResponseTooLarge(
                        f"{request.url.path} announced {int(declared):,} bytes, more than the "
                        f"{_size_words(max_bytes)} an answer may have.",
                        limit=max_bytes,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise ResponseTooLarge(
                            f"{request.url.path} sent more than the {_size_words(max_bytes)} an "
                            "answer may have; reading was stopped.",
                            limit=max_bytes,
                        )
                    chunks.append(chunk)
            finally:
                await response.aclose()
    except TimeoutError:
        raise DeadlineExceeded(
            f"{request.url.path} did not finish answering within {deadline:g} s.", request=request
        ) from None
    # The body is already decoded: the copy must not claim a content-encoding any more.
    kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=kept,
        content=b"".join(chunks),
        request=request,
        extensions=response.extensions,
    )


@dataclass
class RequestStats:
    """Counts of every HTTP request a client made (token requests included); read by benchmarks.

    Attributes:
        requests: every request sent, whatever its outcome.
        retries_429: requests repeated because Halo answered 429.
        retries_other: requests repeated after a 5xx, a timeout or a dropped connection.
        token_requests: how many of `requests` went to the token endpoint.
        transport_errors: requests that got no HTTP response at all.
        cancelled: requests given up on while in flight (Halo may have seen them).
        by_status: responses by HTTP status.
    """

    requests: int = 0
    retries_429: int = 0
    retries_other: int = 0
    token_requests: int = 0
    transport_errors: int = 0
    cancelled: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)

    def record_cancelled(self) -> None:
        """Count one request given up on while in flight: it may have reached Halo."""
        self.requests += 1
        self.cancelled += 1

    def record(self, response: httpx.Response | None) -> None:
        """Count one request; `None` when it failed before any response arrived."""
        self.requests += 1
        if response is None:
            self.transport_errors += 1
        else:
            self.by_status[response.status_code] += 1


def make_http_client(
    *,
    ca_file: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
    trust_env: bool = True,
) -> httpx.AsyncClient:
    """Build the shared async HTTP client (one per profile), verification always on.

    Args:
        ca_file: a PEM file of extra CA certificates (a self-hosted Halo's own authority). It is
            added to the system and certifi trust stores; verification is never disabled.
        timeout: seconds for connect, read, write and pool waits.
        trust_env: honour proxy variables from the environment (httpx's default).

    Raises:
        LocalError(CA_FILE_UNREADABLE): the CA file cannot be read or holds no certificate (a
            local problem, named with the file; not the server's certificate).
    """
    context = ssl.create_default_context()
    try:
        import certifi  # httpx's own default trust; present wherever httpx is

        context.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError, ssl.SSLError):  # pragma: no cover - system store is enough
        pass
    if ca_file is not None:
        name = os.fspath(ca_file)
        try:
            context.load_verify_locations(cafile=name)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise LocalError(
                ErrorKind.CA_FILE_UNREADABLE, f"{name!r} could not be read: {reason}."
            ) from None
        except (ssl.SSLError, ValueError):
            raise LocalError(
                ErrorKind.CA_FILE_UNREADABLE, f"{name!r} holds no PEM certificate."
            ) from None
    return httpx.AsyncClient(
        verify=context,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=trust_env,
        headers={"User-Agent": USER_AGENT},
    )


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (with or without IPv6 brackets)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str) -> None:
    """Refuse anything but https, except plain http to this computer (the sandbox).

    Raises:
        HaloError(INSECURE_ADDRESS): http to another host.
        HaloError(BAD_ADDRESS): another scheme, or no host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host:
        raise HaloError(ErrorKind.BAD_ADDRESS, f"{url!r} has no host name.")
    if scheme == "https":
        return
    if scheme == "http":
        if is_loopback_host(host):
            return
        raise HaloError(
            ErrorKind.INSECURE_ADDRESS,
            f"{host} would be reached over plain http; Halo must be reached over https "
            "(plain http is allowed only for this computer, e.g. the sandbox).",
        )
    raise HaloError(
        ErrorKind.BAD_ADDRESS,
        f"Addresses starting with {scheme or '(nothing)'}: are not supported.",
    )


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        chain.append(item)
        todo.extend((item.__cause__, item.__context__))
        todo.extend(arg for arg in item.args if isinstance(arg, BaseException))
    return chain


@dataclass(frozen=True)
class _Cause:
    """How to recognise one kind of failure: the exception itself is one of `raised`, or any
    exception in its chain is one of `in_chain`, or the chain's text holds one of `markers`."""

    kind: ErrorKind
    raised: tuple[type[BaseException], ...] = ()
    in_chain: tuple[type[BaseException], ...] = ()
    markers: tuple[str, ...] = ()

    def matches(self, exc: BaseException, chain: list[BaseException], lowered: str) -> bool:
        return (
            isinstance(exc, self.raised)
            or any(isinstance(e, self.in_chain) for e in chain)
            or any(m in lowered for m in self.markers)
        )


#: The failures `error_from_exception` tells apart, in the order tried; anything else is NETWORK.
_CAUSES: tuple[_Cause, ...] = (
    _Cause(ErrorKind.TIMEOUT, raised=(httpx.TimeoutException,), in_chain=(TimeoutError,)),
    _Cause(ErrorKind.BAD_ADDRESS, raised=(httpx.UnsupportedProtocol, httpx.InvalidURL)),
    _Cause(ErrorKind.NOT_HALO, raised=(httpx.TooManyRedirects,)),
    _Cause(ErrorKind.DNS, in_chain=(socket.gaierror,), markers=_DNS_MARKERS),
    _Cause(ErrorKind.REFUSED, in_chain=(ConnectionRefusedError,), markers=_REFUSED_MARKERS),
    _Cause(ErrorKind.TLS, in_chain=(ssl.SSLError, ssl.CertificateError), markers=_TLS_MARKERS),
)


def distinct_messages(chain: list[BaseException] | tuple[BaseException, ...]) -> list[str]:
    """Each exception's text once: httpx, httpcore and the socket often repeat one message down
    the chain ("[Errno -2] ... | [Errno -2] ..."); a text already inside another is left out."""
    texts: list[str] = []
    for text in (str(e).strip() for e in chain):
        if not text or any(text in kept for kept in texts):
            continue
        texts = [kept for kept in texts if kept not in text] + [text]
    return texts


def error_from_exception(exc: BaseException) -> HaloError:
    """Name an httpx (or lower-level) failure that produced no HTTP response.

    DNS, refused connections and certificate problems are told apart by the exception chain first
    and, since httpcore often flattens them into text, by well-known message fragments (see
    `_CAUSES`).
    """
    if isinstance(exc, HaloError):
        return exc
    if isinstance(exc, ResponseTooLarge):
        return HaloError(ErrorKind.RESPONSE_TOO_LARGE, redact(str(exc)))
    chain = _exception_chain(exc)
    text = " | ".join(distinct_messages(chain))
    lowered = text.lower()
    detail = text[:MAX_DETAIL] or exc.__class__.__name__
    kind = next((c.kind for c in _CAUSES if c.matches(exc, chain, lowered)), ErrorKind.NETWORK)
    if kind is ErrorKind.TLS and (
        "wrong_version_number" in lowered or "wrong version number" in lowered
    ):
        detail += " (the server may speak plain http on this port)"
    return HaloError(kind, detail)


def parse_json(response: httpx.Response) -> Any:
    """The response body as JSON, or raise MALFORMED_RESPONSE (NOT_HALO for an HTML page)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        kind = ErrorKind.NOT_HALO if looks_like_html(response) else ErrorKind.MALFORMED_RESPONSE
        raise HaloError(
            kind,
            f"Expected JSON from {response.request.url.path}, got "
            f"{response.headers.get('content-type', 'no content type')}: {snippet(response)}",
            status=response.status_code,
        ) from None


def looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    head = response.content[:200].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def snippet(response: httpx.Response) -> str:
    """A short, single-line, redacted excerpt of a response for an error's detail."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):  # pragma: no cover - httpx decodes leniently
        return f"<{len(response.content)} bytes>"
    if looks_like_html(response):
        title = re.search(r"(?is)<title[^>]*>(.*?)</title>", text)
        text = f"HTML page {title.group(1).strip()!r}" if title else "an HTML page"
    text = " ".join(text[:_REDACT_WINDOW].split())
    # Redact first: a cut through a token would leave a fragment no pattern recognises.
    return redact(text)[:MAX_DETAIL]


def server_message(response: httpx.Response) -> str:
    """What the server said, from the usual JSON error fields, else a text excerpt."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return snippet(response)
    if isinstance(body, dict):
        parts: list[str] = []
        for key in (
            "error",
            "error_description",
            "message",
            "Message",
            "title",
            "detail",
            "errors",
        ):
            value = body.get(key)
            if value and isinstance(value, str | int | float):
                parts.append(str(value))
            elif value and isinstance(value, list | dict):
                parts.append(json.dumps(value)[:_REDACT_WINDOW])
        if parts:
            return redact(": ".join(dict.fromkeys(parts))[:_REDACT_WINDOW])[:MAX_DETAIL]
    if isinstance(body, str):
        return redact(body[:_REDACT_WINDOW])[:MAX_DETAIL]
    return snippet(response)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date); None if unusable.

    A negative delay, a date in the past, NaN, infinity or anything unparsable is unusable: the
    caller then waits its own fallback, never zero.

    Args:
        value: the header value.
        now: the current wall-clock time (Unix seconds), for HTTP-dates.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    if seconds < 0:
        return None
    return seconds


def jittered(seconds: float, rand: Random | None = None) -> float:
    """`seconds` lengthened by up to `JITTER_FRACTION` of itself, at random (`rand` in [0, 1))."""
    draw = (rand or random.random)()
    draw = min(max(draw, 0.0), 1.0)
    return seconds * (1.0 + JITTER_FRACTION * draw)


def fallback_rate_limit_wait(attempt: int, rand: Random | None = None) -> float:
    """The wait after the `attempt`-th 429 in a row (from 1) when Halo did not say how long.

    `facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS` doubled per attempt (30, 60, 120, ... s), at most
    one rolling window (`facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS`, after which every earlier request
    has left it), plus jitter. Never less than the fallback wait.
    """
    base = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS * 2 ** (min(max(1, attempt), 16) - 1)
    return jittered(min(base, facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS), rand)


def requested_wait(response: httpx.Response, *, now: float) -> float | None:
    """The wait a 429 asked for in its Retry-After header, unclamped; None when it did not say."""
    return parse_retry_after(response.headers.get("retry-after"), now=now)


def rate_limit_wait(
    response: httpx.Response, attempt: int, *, now: float, rand: Random | None = None
) -> float:
    """How long to hold off after the `attempt`-th 429 in a row.

    Retry-After when Halo sends a usable one; otherwise `fallback_rate_limit_wait`. Clamped to
    `facts.RETRY_AFTER_MAX_SECONDS`.
    """
    told = requested_wait(response, now=now)
    wait = told if told is not None else fallback_rate_limit_wait(attempt, rand)
    return min(wait, facts.RETRY_AFTER_MAX_SECONDS)


def backoff_seconds(attempt: int, rand: Random | None = None) -> float:
    """Wait before retry number `attempt` (from 1) after a 5xx or a dropped connection: 1, 2, 4,
    8, 16, then 30 s at most, each lengthened by jitter (pass `rand=lambda: 0.0` for none)."""
    return jittered(float(min(2 ** (min(max(1, attempt), 16) - 1), 30)), rand)
