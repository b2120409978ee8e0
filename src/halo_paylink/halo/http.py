"""The one HTTP client every Halo call goes through, and how its failures become `HaloError`s.

Nothing here does I/O at import time. `make_http_client` builds an `httpx.AsyncClient` whose
certificate verification is always on; a custom CA file is added to the default trust, never used
to turn verification off. The mapping helpers turn httpx exceptions and non-2xx responses into
typed errors without ever copying a request body (which may hold the client secret) into them.
"""

from __future__ import annotations

import collections
import datetime
import email.utils
import ipaddress
import json
import os
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from halo_paylink.halo import facts
from halo_paylink.halo.errors import ErrorKind, HaloError
from halo_paylink.storage.redact import redact

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


@dataclass
class RequestStats:
    """Counts of every HTTP request a client made (token requests included); read by benchmarks.

    Attributes:
        requests: every request sent, whatever its outcome.
        retries_429: requests repeated because Halo answered 429.
        retries_other: requests repeated after a 5xx, a timeout or a dropped connection.
        token_requests: how many of `requests` went to the token endpoint.
        transport_errors: requests that got no HTTP response at all.
        by_status: responses by HTTP status.
    """

    requests: int = 0
    retries_429: int = 0
    retries_other: int = 0
    token_requests: int = 0
    transport_errors: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)

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
        HaloError(CA_FILE_UNREADABLE): the CA file cannot be read or holds no certificate (a
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
            raise HaloError(
                ErrorKind.CA_FILE_UNREADABLE, f"{name!r} could not be read: {reason}."
            ) from None
        except (ssl.SSLError, ValueError):
            raise HaloError(
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


def error_from_exception(exc: BaseException) -> HaloError:
    """Name an httpx (or lower-level) failure that produced no HTTP response.

    DNS, refused connections and certificate problems are told apart by the exception chain first
    and, since httpcore often flattens them into text, by well-known message fragments.
    """
    if isinstance(exc, HaloError):
        return exc
    chain = _exception_chain(exc)
    text = " | ".join(str(e) for e in chain if str(e))
    lowered = text.lower()
    detail = text[:MAX_DETAIL] or exc.__class__.__name__
    if isinstance(exc, httpx.TimeoutException) or any(
        isinstance(e, TimeoutError | socket.timeout) for e in chain
    ):
        return HaloError(ErrorKind.TIMEOUT, detail)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return HaloError(ErrorKind.BAD_ADDRESS, detail)
    if isinstance(exc, httpx.TooManyRedirects):
        return HaloError(ErrorKind.NOT_HALO, detail)
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        m in lowered for m in _DNS_MARKERS
    ):
        return HaloError(ErrorKind.DNS, detail)
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        m in lowered for m in _REFUSED_MARKERS
    ):
        return HaloError(ErrorKind.REFUSED, detail)
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain) or any(
        m in lowered for m in _TLS_MARKERS
    ):
        if "wrong_version_number" in lowered or "wrong version number" in lowered:
            detail += " (the server may speak plain http on this port)"
        return HaloError(ErrorKind.TLS, detail)
    return HaloError(ErrorKind.NETWORK, detail)


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
    text = " ".join(text.split())
    return redact(text[:MAX_DETAIL])


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
                parts.append(json.dumps(value)[:MAX_DETAIL])
        if parts:
            return redact(": ".join(dict.fromkeys(parts))[:MAX_DETAIL])
    if isinstance(body, str):
        return redact(body[:MAX_DETAIL])
    return snippet(response)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date); None if unusable.

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
    return max(0.0, seconds)


def rate_limit_wait(response: httpx.Response, attempt: int, *, now: float) -> float:
    """How long to hold off after the `attempt`-th 429 in a row.

    Retry-After when Halo sends it; otherwise `facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS` times the
    attempt (30 s, 60 s, 90 s, ...), so repeated 429s span a whole 5-minute window instead of
    hammering it. Clamped to `facts.RETRY_AFTER_MAX_SECONDS`.
    """
    told = parse_retry_after(response.headers.get("retry-after"), now=now)
    wait = told if told is not None else facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS * max(1, attempt)
    return min(wait, facts.RETRY_AFTER_MAX_SECONDS)


def backoff_seconds(attempt: int) -> float:
    """Wait before retry number `attempt` (from 1) after a 5xx or a dropped connection: 1, 2, 4,
    8, 16, then 30 s at most."""
    return float(min(2 ** (max(1, attempt) - 1), 30))
