"""The async Halo API client: who am I, invoice pages, one invoice, batched partial updates.

One `HaloClient` per profile, used from one event loop (the GUI's qasync loop or `asyncio.run` in
the CLI). Every request takes a slot from the shared `RateLimiter`, carries a Bearer token from the
`TokenProvider`, and is retried within bounds:

- 401: the token is invalidated and the request repeated once; a second 401 is UNAUTHORIZED.
- 429: every caller holds off for Retry-After (or `facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS` times the
  attempt), then the request is repeated, at most `max_retries` times, then RATE_LIMITED.
- 5xx, timeouts, dropped connections: exponential backoff, at most `max_retries` times, for GETs and
  for invoice-update POSTs. Repeating an update is safe because every item names an existing
  invoice by `id` (never a creation) and sets the same values again: applying it twice leaves the
  same state as applying it once.

`clock` and `sleep` are injected so tests never really wait; `stats` counts every request sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx

from halo_paylink.halo import facts
from halo_paylink.halo.auth import TokenProvider
from halo_paylink.halo.errors import ErrorKind, HaloError
from halo_paylink.halo.http import (
    RequestStats,
    backoff_seconds,
    error_from_exception,
    parse_json,
    rate_limit_wait,
    require_secure_url,
    server_message,
)
from halo_paylink.halo.models import Agent, Credentials, HaloEndpoints, Invoice, InvoicePage, Token
from halo_paylink.halo.ratelimit import RateLimiter, Sleep
from halo_paylink.storage.redact import redact

__all__ = ["HaloClient", "RequestStats"]

log = logging.getLogger(__name__)

_READ = "read:invoices"
_EDIT = "edit:invoices"


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _flag(data: Mapping[str, Any], *names: str) -> bool:
    for name in names:
        value = data.get(name)
        if value is not None:
            if isinstance(value, str):
                return value.strip().lower() in ("true", "1", "yes")
            return bool(value)
    return False


class HaloClient:
    """Typed access to the parts of Halo's API this app uses; runs on one event loop.

    `limiter` defaults to `RateLimiter.hosted()` for Halo-hosted endpoints, else unlimited.
    `clock`/`sleep` (monotonic) and `wall_clock` (Unix time, for Retry-After dates) are injectable;
    `max_retries` bounds the retries of each kind (429s; 5xx and transport failures); `scopes` are
    the scopes the token is requested for.

    Attributes:
        endpoints: where this Halo lives.
        stats: every request made (token requests included), for benchmarks and the run report.
        tokens: the token cache (shared by every request of this client).
        limiter: the request budget shared by every task using this client.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: HaloEndpoints,
        credentials: Credentials,
        *,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 5,
        wall_clock: Callable[[], float] = time.time,
        scopes: Sequence[str] = facts.REQUESTED_SCOPES,
    ) -> None:
        self._http = http
        self.endpoints = endpoints
        self.stats = RequestStats()
        if limiter is None:
            limiter = (
                RateLimiter.hosted(clock=clock, sleep=sleep)
                if endpoints.hosted
                else RateLimiter.unlimited(clock=clock, sleep=sleep)
            )
        self.limiter = limiter
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.max_retries = max_retries
        self.tokens = TokenProvider(
            http,
            endpoints,
            credentials,
            scopes=scopes,
            clock=clock,
            limiter=limiter,
            sleep=sleep,
            stats=self.stats,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        return f"HaloClient({self.endpoints.resource_url!r}, limiter={self.limiter!r})"

    # --- public API ------------------------------------------------------------------------------

    async def token(self) -> Token:
        """A valid access token (cached; see `TokenProvider.get`)."""
        return await self.tokens.get()

    async def agent_me(self) -> Agent:
        """The agent the API application logs in as (`GET {resource}/Agent/me`)."""
        response = await self._request("GET", "/Agent/me", scope=None)
        body = parse_json(response)
        agent_id = _as_int(body.get("id")) if isinstance(body, dict) else None
        if not isinstance(body, dict) or agent_id is None:
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE, "Agent/me did not return an agent with an id."
            )
        return Agent(
            id=agent_id,
            name=str(body.get("name") or ""),
            email=str(body.get("email") or ""),
            is_admin=_flag(body, "is_admin", "isadmin"),
            is_api_agent=_flag(body, "isapiagent", "is_api_agent"),
            is_disabled=_flag(body, "isdisabled", "is_disabled"),
        )

    async def invoice_pages(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int = facts.REQUESTED_PAGE_SIZE,
        start_page: int = 1,
    ) -> AsyncIterator[InvoicePage]:
        """Stream `GET {resource}/Invoice?pageinate=true&page_size=&page_no=` page by page.

        Always paginated (an unpaginated list silently truncates). After the first page, asks for
        the page size the server said it used (or, when it did not say, the number of rows it sent
        if that was fewer), so page numbers and offsets agree. Stops once `record_count` rows were
        seen, when a page comes back empty, or (without `record_count`) after a short page.

        When Halo leaves `record_count` out, each page's `record_count` is the number of rows seen
        so far (a lower bound that ends equal to the total).

        Raises:
            HaloError: as for every request; MALFORMED_RESPONSE for a wrong envelope, or when the
                server returns the same page again (it ignored `page_no`).
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if start_page < 1:
            raise ValueError("page_no starts at 1")
        base = {
            k: v
            for k, v in (filters or {}).items()
            if k not in ("pageinate", "page_size", "page_no")
        }
        size = page_size
        page_no = start_page
        seen = 0
        previous_ids: tuple[int, ...] | None = None
        while True:
            params = {**base, "pageinate": "true", "page_size": str(size), "page_no": str(page_no)}
            response = await self._request("GET", "/Invoice", params=params, scope=_READ)
            body = parse_json(response)
            invoices, record_count, used_size = self._parse_envelope(body)
            ids = tuple(invoice.id for invoice in invoices)
            if ids and ids == previous_ids:
                raise HaloError(
                    ErrorKind.MALFORMED_RESPONSE,
                    f"Halo returned the same invoices for page {page_no} as for the page before; "
                    "it seems to ignore page_no.",
                )
            previous_ids = ids
            seen += len(invoices)
            if used_size is None and 0 < len(invoices) < size and page_no == start_page:
                # fewer rows than asked without saying why: either the last page or a server cap.
                # Only the first page can reveal the cap; a short page after it is the end (else
                # its few rows would become the page size and paging would start over).
                used_size = len(invoices) if record_count is None or seen < record_count else size
            server_size = used_size or size
            if record_count is not None and seen < record_count and 0 < len(invoices) < server_size:
                # a short page although more rows remain: the server capped the size silently
                server_size = len(invoices)
            yield InvoicePage(
                page_no=page_no,
                page_size=server_size,
                record_count=record_count if record_count is not None else seen,
                invoices=invoices,
            )
            if not invoices:
                return
            if record_count is not None:
                if seen >= record_count:
                    return
            elif len(invoices) < server_size:
                return
            size = server_size
            page_no += 1

    async def get_invoice(self, invoice_id: int, *, include_details: bool = False) -> Invoice:
        """One invoice (`GET {resource}/Invoice/{id}`), which Halo sends without an envelope."""
        params = {"includedetails": "true"} if include_details else None
        response = await self._request(
            "GET", f"/Invoice/{int(invoice_id)}", params=params, scope=_READ
        )
        body = parse_json(response)
        if not isinstance(body, dict) or _as_int(body.get("id")) is None:
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE,
                f"Invoice/{invoice_id} did not return an invoice object with an id.",
            )
        return Invoice.from_json(body)

    async def update_invoices(
        self, changes: Sequence[Mapping[str, Any]]
    ) -> list[Mapping[str, Any]]:
        """Save partial updates of existing invoices: one `POST {resource}/Invoice` (JSON array).

        Only the fields sent change. Callers batch (see `facts.UPDATE_BATCH_SIZE`); one call is one
        POST. Retried on 5xx and timeouts: safe, because every item names an existing invoice and
        setting the same values twice is the same as once.

        Returns:
            The saved objects Halo returned ([] when it returned no body).

        Raises:
            ValueError: an item without an integer `id` (that would create an invoice), or with
                `lines` (never sent back).
            HaloError: EDIT_POSTED_FORBIDDEN when Halo refuses edits to posted invoices; the
                usual kinds otherwise.
        """
        payload = [self._checked_change(i, change) for i, change in enumerate(changes)]
        if not payload:
            return []
        response = await self._request("POST", "/Invoice", json=payload, scope=_EDIT)
        if not response.content.strip():
            return []
        body = parse_json(response)
        if isinstance(body, dict):
            return [body]
        if isinstance(body, list) and all(isinstance(item, dict) for item in body):
            return list(body)
        raise HaloError(
            ErrorKind.MALFORMED_RESPONSE,
            "The invoice update returned neither an object nor a list of objects.",
        )

    async def validate_invoice_edit(self, invoice_id: int) -> None:
        """Ask Halo to validate an edit of one invoice without saving it (`_validateonly`).

        Whether Halo honours `_validateonly` is unverified (`facts.TRUST_VALIDATE_ONLY`).
        """
        await self._request(
            "POST", "/Invoice", json=[{"id": int(invoice_id), "_validateonly": True}], scope=_EDIT
        )

    # --- internals -------------------------------------------------------------------------------

    @staticmethod
    def _checked_change(index: int, change: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(change, Mapping):
            raise ValueError(f"Invoice change #{index} is not a mapping.")
        if "id" not in change or _as_int(change["id"]) is None or int(change["id"]) <= 0:
            raise ValueError(
                f"Invoice change #{index} has no valid 'id': without one Halo would create an "
                "invoice."
            )
        if any(str(key).lower() == "lines" for key in change):
            raise ValueError(f"Invoice change #{index} contains 'lines', which is never sent back.")
        return {**change, "id": int(change["id"])}

    @staticmethod
    def _parse_envelope(body: Any) -> tuple[tuple[Invoice, ...], int | None, int | None]:
        if not isinstance(body, dict) or not isinstance(body.get("invoices"), list):
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE,
                "The invoice list did not come in the expected {record_count, invoices} envelope.",
            )
        try:
            invoices = tuple(Invoice.from_json(item) for item in body["invoices"])
        except (KeyError, TypeError, ValueError):
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE, "An invoice in the list has no usable id."
            ) from None
        record_count = _as_int(body.get("record_count"))
        if record_count is not None and record_count < 0:
            record_count = None
        used_size = _as_int(body.get("page_size"))
        if used_size is not None and used_size < 1:
            used_size = None
        return invoices, record_count, used_size

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        scope: str | None,
    ) -> httpx.Response:
        """Send one API request with the retry policy above; returns a 2xx response."""
        url = f"{self.endpoints.resource_url}{path}"
        require_secure_url(url)  # the bearer token must not travel in the clear either
        retries_429 = 0
        retries_other = 0
        refreshed = False
        while True:
            token = await self.tokens.get()
            slot = await self.limiter.acquire()
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {token.access_token}",
                        "Accept": "application/json",
                    },
                )
            except httpx.HTTPError as exc:
                self.limiter.done(slot)
                self.stats.record(None)
                error = error_from_exception(exc)
                if self._retryable_transport(exc, error) and retries_other < self.max_retries:
                    retries_other += 1
                    self.stats.retries_other += 1
                    log.info(
                        "%s %s failed (%s); retry %d", method, path, error.kind.code, retries_other
                    )
                    await self._sleep(backoff_seconds(retries_other))
                    continue
                raise error from None
            self.limiter.done(slot)
            self.stats.record(response)
            status = response.status_code
            if 200 <= status < 300:
                return response
            if status == 401:
                if not refreshed:
                    refreshed = True
                    self.tokens.invalidate(token)
                    continue
                raise HaloError(ErrorKind.UNAUTHORIZED, server_message(response), status=status)
            if status == 429:
                wait = rate_limit_wait(response, retries_429 + 1, now=self._wall_clock())
                self.limiter.hold_off(wait)
                if retries_429 < self.max_retries:
                    retries_429 += 1
                    self.stats.retries_429 += 1
                    log.info("%s %s rate limited; holding off %.0f s", method, path, wait)
                    continue
                raise HaloError(
                    ErrorKind.RATE_LIMITED,
                    server_message(response),
                    status=status,
                    retry_after=wait,
                )
            if status >= 500:
                if retries_other < self.max_retries:
                    retries_other += 1
                    self.stats.retries_other += 1
                    log.info("%s %s answered %d; retry %d", method, path, status, retries_other)
                    await self._sleep(backoff_seconds(retries_other))
                    continue
                raise HaloError(ErrorKind.SERVER_ERROR, server_message(response), status=status)
            raise self._client_error(response, token, scope, method)

    @staticmethod
    def _retryable_transport(exc: httpx.HTTPError, error: HaloError) -> bool:
        # Every request we send is safe to repeat (GETs, and POSTs of id-bearing partial updates).
        # A certificate, DNS or address problem will not fix itself within a retry.
        return error.kind in (ErrorKind.TIMEOUT, ErrorKind.NETWORK) or isinstance(
            exc, httpx.RemoteProtocolError
        )

    @staticmethod
    def _client_error(
        response: httpx.Response, token: Token, scope: str | None, method: str
    ) -> HaloError:
        status = response.status_code
        said = redact(server_message(response), token.access_token)
        mentions_posted = any(m in said.lower() for m in facts.POSTED_EDIT_FORBIDDEN_MARKERS)
        if method == "POST" and mentions_posted and status in (400, 403, 409, 422):
            return HaloError(ErrorKind.EDIT_POSTED_FORBIDDEN, said, status=status)
        if status == 403:
            if scope is not None and token.scopes:
                satisfied = facts.SCOPES_IMPLYING.get(scope, frozenset({scope}))
                if not satisfied & set(token.scopes):
                    return HaloError(
                        ErrorKind.MISSING_SCOPE,
                        f"The token was granted {' '.join(token.scopes)}; this needs {scope}. "
                        + said,
                        status=status,
                    )
            return HaloError(ErrorKind.FORBIDDEN, said, status=status)
        if status == 404:
            return HaloError(ErrorKind.NOT_FOUND, said, status=status)
        return HaloError(ErrorKind.REJECTED, said, status=status)
