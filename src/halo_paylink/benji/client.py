"""The Benji Pays merchant API: the settings and the invoice look-up, nothing else.

`BenjiClient` reads `GET /settings` and asks `GET /invoices/{number}` whether Benji knows an
invoice number. It goes through the same transport limits as every Halo call
(`halo.http.send_limited`: one deadline for the whole request, a cap on the answer's size), and
turns every failure into a `BenjiError` with a named kind: a bad key (401/403), an unknown address
(404 on the settings), the rate limit (429, after a few short waits), Benji's own errors (5xx),
timeouts, no connection, and answers that are not JSON.

The API key is a secret: it is registered with `redact` the moment the client is built, travels
only in the `x-api-key` header, and is never part of a `repr`, an error or a log line.

Benji can also mint pay links through its API (`POST /payment-links/...`); those expire after about
an hour, so this client has no method for them and nothing in the product may store one in Halo.
The link the product writes is built from the settings (`pay_link_template`), never minted.

Every coroutine runs on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from halo_paylink.benji import facts
from halo_paylink.errors import BenjiError, ErrorKind, HaloError
from halo_paylink.halo.http import (
    error_from_exception,
    parse_json,
    parse_retry_after,
    require_secure_url,
    send_limited,
    server_message,
)
from halo_paylink.redact import register_secret

#: Seconds one Benji request may take as a whole.
REQUEST_DEADLINE_SECONDS = 20.0
#: The largest answer read from Benji, in bytes: a settings object or one invoice is tiny.
MAX_RESPONSE_BYTES = 1024 * 1024
#: How many times a 429 is waited out before the check gives up with BENJI_RATE_LIMITED.
RATE_LIMIT_RETRIES = 2
#: The longest wait for one 429 (a longer Retry-After ends the check instead).
MAX_RATE_LIMIT_WAIT_SECONDS = 10.0
#: The wait after a 429 without a usable Retry-After, per attempt.
FALLBACK_RATE_LIMIT_WAIT_SECONDS = 2.0

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class BenjiSettings:
    """What Benji's settings say, read defensively (see `facts` for the field names tried).

    Attributes:
        portal_name: the customer portal's short name, or None when absent.
        portal_url: the customer portal's address, or None.
        custom_domain: the merchant's own portal domain, or None.
        pay_now_amount_required: "Require transaction amount to match the invoice total";
            None when the answer did not say (or said something that is not a yes or no).
        disable_generic_payment_link: "Do not allow payment if the invoice is not found"; None
            when not said.
        unread: the settings the answer did not give in a readable form, by their first field
            name, for the "rests on unverified field names" note.
    """

    portal_name: str | None
    portal_url: str | None
    custom_domain: str | None
    pay_now_amount_required: bool | None
    disable_generic_payment_link: bool | None
    unread: tuple[str, ...] = ()


_TRUE = frozenset({"true", "yes", "on", "1", "enabled"})
_FALSE = frozenset({"false", "no", "off", "0", "disabled"})


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and value.isprintable():
        return value.strip()
    return None


def _first(body: Mapping[str, Any], names: tuple[str, ...], read: Callable[[Any], Any]) -> Any:
    for name in names:
        value = read(body.get(name))
        if value is not None:
            return value
    return None


def unwrap(body: Any) -> Mapping[str, Any] | None:
    """The object an answer carries: itself, or the object in a known envelope; None if none."""
    if not isinstance(body, dict):
        return None
    for name in facts.ENVELOPE_FIELDS:
        inner = body.get(name)
        if isinstance(inner, dict):
            return inner
    return body


def parse_settings(body: Any) -> BenjiSettings:
    """Read Benji's settings answer, whatever its shape; never raises for an odd field.

    Raises:
        BenjiError(BENJI_MALFORMED): the answer is not a JSON object (nor one in an envelope).
    """
    settings = unwrap(body)
    if settings is None:
        raise BenjiError(
            ErrorKind.BENJI_MALFORMED,
            f"The settings answer is a JSON {type(body).__name__}, not an object.",
        )
    fields: tuple[tuple[tuple[str, ...], Callable[[Any], Any]], ...] = (
        (facts.PORTAL_NAME_FIELDS, _text),
        (facts.PORTAL_URL_FIELDS, _text),
        (facts.CUSTOM_DOMAIN_FIELDS, _text),
        (facts.PAY_NOW_AMOUNT_REQUIRED_FIELDS, _flag),
        (facts.DISABLE_GENERIC_LINK_FIELDS, _flag),
    )
    values = [_first(settings, names, read) for names, read in fields]
    unread = tuple(
        names[0] for (names, _), value in zip(fields, values, strict=True) if value is None
    )
    name, url, domain, amount, generic = values
    return BenjiSettings(name, url, domain, amount, generic, unread=unread)


def _benji_error_from_transport(exc: BaseException) -> BenjiError:
    halo = error_from_exception(exc)
    if halo.kind is ErrorKind.TIMEOUT:
        return BenjiError(ErrorKind.BENJI_TIMEOUT, halo.detail)
    if halo.kind is ErrorKind.RESPONSE_TOO_LARGE:
        return BenjiError(ErrorKind.BENJI_MALFORMED, halo.detail)
    return BenjiError(ErrorKind.BENJI_NETWORK, f"{halo.headline} {halo.detail}".strip())


def _status_error(response: httpx.Response, *, now: float) -> BenjiError:
    status = response.status_code
    said = server_message(response)
    if status in (401, 403):
        return BenjiError(ErrorKind.BENJI_BAD_KEY, said, status=status)
    if status == 404:
        return BenjiError(ErrorKind.BENJI_NOT_FOUND, said, status=status)
    if status == 429:
        wait = parse_retry_after(response.headers.get("retry-after"), now=now)
        return BenjiError(ErrorKind.BENJI_RATE_LIMITED, said, status=status, retry_after=wait)
    if 300 <= status < 400:
        where = response.headers.get("location", "elsewhere")
        return BenjiError(
            ErrorKind.BENJI_MALFORMED, f"Redirected to {where}: {said}", status=status
        )
    return BenjiError(ErrorKind.BENJI_SERVER_ERROR, said, status=status)


class BenjiClient:
    """Benji Pays' merchant API for one API key, on a shared `httpx.AsyncClient`.

    Args:
        http: the HTTP client (verification on; `halo.http.make_http_client`).
        api_key: the merchant's API key (registered for redaction at once).
        base_url: `facts.DEFAULT_BASE_URL`, or the sandbox's address.
        sleep: how a 429 is waited out (tests pass a fake).
        clock: wall-clock seconds, for Retry-After dates.

    Attributes:
        requests: how many requests were sent (each 429 retry counts).

    Raises:
        BenjiError(BENJI_BAD_ADDRESS): the base address is not https (plain http is allowed to
            this computer only).
        ValueError: an empty API key.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        *,
        base_url: str = facts.DEFAULT_BASE_URL,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = api_key.strip()
        if not key:
            raise ValueError("The Benji API key is empty.")
        register_secret(key)
        try:
            require_secure_url(base_url)
        except HaloError as exc:
            raise BenjiError(ErrorKind.BENJI_BAD_ADDRESS, exc.detail) from None
        self._http = http
        self._key = key
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self.requests = 0

    def __repr__(self) -> str:  # never the key
        return f"BenjiClient(base_url={self.base_url!r})"

    async def _get(self, path: str) -> httpx.Response:
        """One GET; the answer when it is 2xx or 404, else a `BenjiError` (429 waited out)."""
        url = self.base_url + path
        headers = {facts.API_KEY_HEADER: self._key, "Accept": "application/json"}
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            self.requests += 1
            try:
                response = await send_limited(
                    self._http,
                    "GET",
                    url,
                    headers=headers,
                    deadline=REQUEST_DEADLINE_SECONDS,
                    max_bytes=MAX_RESPONSE_BYTES,
                )
            except httpx.HTTPError as exc:
                raise _benji_error_from_transport(exc) from None
            if response.is_success or response.status_code == 404:
                return response
            error = _status_error(response, now=self._clock())
            if error.kind is not ErrorKind.BENJI_RATE_LIMITED or attempt == RATE_LIMIT_RETRIES:
                raise error
            wait = error.retry_after
            if wait is None:
                wait = FALLBACK_RATE_LIMIT_WAIT_SECONDS * (attempt + 1)
            if wait > MAX_RATE_LIMIT_WAIT_SECONDS:
                raise error
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return parse_json(response)
        except HaloError as exc:
            raise BenjiError(
                ErrorKind.BENJI_MALFORMED, exc.detail, status=response.status_code
            ) from None

    async def settings(self) -> BenjiSettings:
        """The merchant's settings.

        Raises:
            BenjiError: BENJI_BAD_KEY, BENJI_NOT_FOUND (404: not Benji's API at this address),
                BENJI_RATE_LIMITED, BENJI_SERVER_ERROR, BENJI_TIMEOUT, BENJI_NETWORK,
                BENJI_MALFORMED.
        """
        response = await self._get(facts.SETTINGS_PATH)
        if response.status_code == 404:
            raise _status_error(response, now=self._clock())
        return parse_settings(self._json(response))

    async def knows_invoice(self, number: str) -> bool:
        """Whether Benji knows the invoice by this accounting number (False on 404).

        Raises:
            ValueError: an empty number (no link would carry it).
            BenjiError: as `settings`, except that 404 is an answer here.
        """
        text = number.strip()
        if not text:
            raise ValueError("An empty invoice number cannot be looked up.")
        response = await self._get(facts.INVOICE_PATH.format(number=quote(text, safe="")))
        if response.status_code == 404:
            return False
        if unwrap(self._json(response)) is None:
            raise BenjiError(
                ErrorKind.BENJI_MALFORMED,
                f"The answer for invoice {text!r} is not a JSON object.",
                status=response.status_code,
            )
        return True
