"""The async Halo API client: who am I, invoice pages, one invoice, batched partial updates.

One `HaloClient` per profile, used from one event loop (the GUI's qasync loop or `asyncio.run` in
the CLI). Every request takes a slot from the shared `RateLimiter`, carries a Bearer token from the
`TokenProvider`, and is retried within bounds:

- 401: the token is invalidated and the request repeated once; a second 401 is UNAUTHORIZED.
- 429: every caller holds off for Retry-After (or, without a usable one, a fallback of at least
  `facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS`, doubling per attempt, with jitter), then the request is
  repeated, at most `max_retries` times, then RATE_LIMITED. All hold-offs of one client share a
  budget (`rate_limit_budget`, default `RATE_LIMIT_BUDGET_SECONDS`): a wait that would go past it
  fails RATE_LIMITED at once, with the wait Halo asked for in `retry_after`.
- 5xx, timeouts, dropped connections: exponential backoff with jitter, at most `max_retries`
  times, for GETs and for invoice-update POSTs. Repeating an update is safe because every item
  names an existing invoice by `id` (never a creation) and sets the same values again: applying it
  twice leaves the same state as applying it once.
- 3xx: REDIRECTED, never followed and never retried (Halo's API does not redirect; the address or
  a proxy is wrong), for every request alike, so a batch of updates is not taken for a refusal.

Every request as a whole must finish within `request_deadline` seconds (else TIMEOUT, retried as
above) and its answer may not exceed `max_response_bytes` (else RESPONSE_TOO_LARGE). Waits are
visible through `limiter.waiting` / `limiter.on_wait` (see `halo.ratelimit`).

`clock`, `sleep` and `rand` are injected so tests never really wait and stay deterministic;
`stats` counts every request sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any

import httpx

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.auth import TokenProvider
from halo_paylink.halo.http import (
    MAX_RESPONSE_BYTES,
    REQUEST_DEADLINE_SECONDS,
    Random,
    RequestStats,
    backoff_seconds,
    error_from_exception,
    parse_json,
    rate_limit_wait,
    requested_wait,
    require_secure_url,
    send_limited,
    server_message,
)
from halo_paylink.halo.models import Agent, Credentials, HaloEndpoints, Invoice, InvoicePage, Token
from halo_paylink.halo.ratelimit import (
    RATE_LIMIT_BUDGET_SECONDS,
    RateLimiter,
    Sleep,
    check_rate_limit_budget,
    choose_limiter,
)
from halo_paylink.halo.scopes import scope_allows
from halo_paylink.redact import redact

__all__ = ["HaloClient", "RequestStats"]

#: What the status line says while the client backs off after a failure.
BACKOFF_REASON = "Halo did not answer properly; retrying"

log = logging.getLogger(__name__)

_READ = "read:invoices"
_EDIT = "edit:invoices"


def redirect_error(response: httpx.Response, *secrets: str) -> HaloError:
    """REDIRECTED for a 3xx answer, naming where it pointed (redacted)."""
    location = response.headers.get("location", "").strip()
    where = f" to {redact(location, *secrets)[:300]}" if location else " without saying where to"
    return HaloError(
        ErrorKind.REDIRECTED,
        f"{response.request.method} {response.request.url.path} was answered with HTTP "
        f"{response.status_code}, a redirect{where}.",
        status=response.status_code,
    )


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


class _Attempts:
    """What the attempts of one request have shown so far."""

    def __init__(self) -> None:
        self.unclear = False  # an attempt got no clear answer: it may have been applied


class _PageWalk:
    """Where `invoice_pages` is in the listing, whether the page just read was the last, and
    which pages to ask for ahead of their turn."""

    def __init__(self, page_size: int, start_page: int) -> None:
        self.size = page_size
        self.start_page = start_page
        self.page_no = start_page  # the next page to read
        self.seen = 0
        self.previous_ids: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        # The last page the read needs if the list is as long as the first page announced
        # (None until then, and for good without a record_count).
        self.last_announced_page: int | None = None

    def params(self, page_no: int) -> dict[str, str]:
        return {"pageinate": "true", "page_size": str(self.size), "page_no": str(page_no)}

    def pages_to_ask(self, at_once: int) -> range:
        """The pages to have asked for before reading the next one: that page, and from the
        third page on, while the read is within the pages the first page announced, the ones
        after it, `at_once` in all. Past them (a list longer than announced), or without a
        count, one page at a time.

        The second page is read on its own: it is the first one asked at the size the first page
        revealed, and shows that Halo honours `page_no` (a build that ignores it repeats the
        first page, and the read stops there without a page asked in vain)."""
        last = self.page_no
        if self.last_announced_page is not None and self.page_no > self.start_page + 1:
            last = max(last, min(self.last_announced_page, self.page_no + at_once - 1))
        return range(self.page_no, last + 1)

    def take(
        self, invoices: tuple[Invoice, ...], odd_rows: tuple[Any, ...], record_count: int | None
    ) -> tuple[InvoicePage, bool]:
        """The page read, and whether to read the next one."""
        ids = (tuple(invoice.id for invoice in invoices), tuple(map(repr, odd_rows)))
        repeated = bool(ids[0] or ids[1]) and ids == self.previous_ids
        self.previous_ids = ids
        rows = len(invoices) + len(odd_rows)
        self.seen += rows
        # Fewer rows than asked on the first page: the end, or a silent server cap. Only the
        # first page can reveal the cap; with more rows announced (or nothing announced),
        # later pages are asked at this size, and an empty page ends the list.
        first_short = self.page_no == self.start_page and 0 < rows < self.size
        if first_short and (record_count is None or self.seen < record_count):
            self.size = rows
        if self.page_no == self.start_page:
            self.last_announced_page = self._last_page(record_count)
        page = InvoicePage(
            page_no=self.page_no,
            page_size=self.size,
            record_count=record_count,
            invoices=invoices,
            odd_rows=odd_rows,
        )
        self.page_no += 1
        # The same rows as the page before: Halo ignores page_no, or a page's worth of new
        # invoices pushed the list on. Either way reading on cannot help; the caller sees the
        # repeated ids (see `core.backfill.listing`) and reads again or says so.
        return page, not repeated and not self._ended(rows, record_count)

    def _last_page(self, record_count: int | None) -> int | None:
        """After the first page: the last page to read if the list holds `record_count` rows,
        the empty page that confirms a full last page included; None without a count."""
        if record_count is None:
            return None
        left = max(0, record_count - self.seen)
        pages = -(-left // self.size) + (1 if left % self.size == 0 else 0)
        return self.page_no + pages  # page_no is still the first page's here

    def _ended(self, rows: int, record_count: int | None) -> bool:
        if rows == 0:
            return True
        if rows < self.size and (record_count is None or self.seen >= record_count):
            return True
        # a full page beyond the count: the count is wrong, say so, stop reading
        return record_count is not None and self.seen >= record_count + self.size


def _drop_outcome(task: asyncio.Task[httpx.Response]) -> None:
    """A page no one will read: its failure is seen and dropped (never "never retrieved")."""
    if not task.cancelled():
        task.exception()


class _PagesInFlight:
    """Listing pages asked for ahead of their turn, each in a task, handed out in page order.

    `read(page_no)` sends one page's request. A page asked for and never handed out (the list
    ended before it) is cancelled by `cancel`, and whatever it raised is dropped: the reader
    would not have asked for it one page at a time.
    """

    def __init__(self, read: Callable[[int], Coroutine[Any, Any, httpx.Response]]) -> None:
        self._read = read
        self._tasks: dict[int, asyncio.Task[httpx.Response]] = {}

    def ask(self, page_nos: range) -> None:
        """Send the requests of `page_nos` not sent yet."""
        for page_no in page_nos:
            if page_no not in self._tasks:
                self._tasks[page_no] = asyncio.create_task(self._read(page_no))

    async def answer(self, page_no: int) -> httpx.Response:
        """Halo's answer for `page_no` (asked for before), or what its request raised. A page
        that did not answer (it failed, or we were cancelled) is left for `cancel`."""
        response = await self._tasks[page_no]
        del self._tasks[page_no]
        return response

    async def cancel(self) -> None:
        """Cancel the pages still asked for, and wait until their requests have ended. What
        they raised is dropped, even when this wait is itself cancelled."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.add_done_callback(_drop_outcome)
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


class HaloClient:
    """Typed access to the parts of Halo's API this app uses; runs on one event loop.

    Build one with `halo.session.client_for` (or `discover_client`), which also applies a
    rate-limit override; `limiter` defaults to `choose_limiter`'s choice for the endpoints.
    `clock`/`sleep` (monotonic) and `wall_clock` (Unix time, for Retry-After dates) are injectable;
    `max_retries` bounds the retries of each kind (429s; 5xx and transport failures); `scopes` are
    the scopes the token is requested for. `request_deadline` (seconds per request as a whole),
    `max_response_bytes` and `rate_limit_budget` (seconds of 429 hold-off over the client's life)
    bound each request and the client; `rand` (values in [0, 1)) drives backoff jitter.

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
        request_deadline: float = REQUEST_DEADLINE_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        rate_limit_budget: float = RATE_LIMIT_BUDGET_SECONDS,
        rand: Random | None = None,
    ) -> None:
        if request_deadline <= 0 or max_response_bytes < 1 or rate_limit_budget < 0:
            raise ValueError(
                "request_deadline and max_response_bytes must be positive, "
                "rate_limit_budget not negative"
            )
        self._http = http
        self.request_deadline = float(request_deadline)
        self.max_response_bytes = int(max_response_bytes)
        self.rate_limit_budget = float(rate_limit_budget)
        self._rand = rand
        self.endpoints = endpoints
        self.stats = RequestStats()
        if limiter is None:
            limiter = choose_limiter(endpoints.hosted, clock=clock, sleep=sleep)
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
            request_deadline=request_deadline,
            max_response_bytes=max_response_bytes,
            rate_limit_budget=rate_limit_budget,
            rand=rand,
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
        pages_at_once: int = facts.LISTING_PAGES_AT_ONCE,
    ) -> AsyncIterator[InvoicePage]:
        """Stream `GET {resource}/Invoice?pageinate=true&page_size=&page_no=` page by page.

        Always paginated (an unpaginated list silently truncates) and ordered by id (stable
        paging). The echoed `page_size` is not evidence (Halo caps pages silently): a first page
        shorter than asked while `record_count` says more rows exist reveals the cap, and later
        pages are asked at that size so page numbers and offsets agree.

        The end of the list is the first empty page, or a short page once `record_count` rows
        (or, without `record_count`, any rows) have arrived. A full page that reaches
        `record_count` is confirmed by reading the next page, which must be empty: a
        `record_count` smaller than the real list is then seen, not trusted. This reader only
        reports what Halo sent; whether the pages add up is for the caller to judge (see
        `core.backfill.listing`).

        When Halo leaves `record_count` out, each page's `record_count` is None.

        Pages are yielded in order, each exactly as Halo sent it, and the end is found exactly
        as above; only the waiting overlaps. The first page tells `record_count` and the real
        page size, the second (read alone) that Halo honours `page_no` at that size; from the
        third page on, up to `pages_at_once` of the pages the count announces are asked for at
        once (1: one after another). Pages are asked for only when the caller asks for the next
        one, so a caller that stops after the first page costs no request more. A page that
        ends the list early (empty, short, repeated) cancels the pages asked for after it, at
        most `pages_at_once - 1`, whatever they answered. Past the announced pages, and without
        a `record_count`, pages are read one at a time. A failure is raised at its page's turn,
        after the pages before it; closing the stream cancels the pages in flight.

        Raises:
            HaloError: as for every request; MALFORMED_RESPONSE for a wrong envelope.
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if start_page < 1:
            raise ValueError("page_no starts at 1")
        if pages_at_once < 1:
            raise ValueError("pages_at_once must be at least 1")
        base = {
            k: v
            for k, v in (filters or {}).items()
            if k not in ("pageinate", "page_size", "page_no")
        }
        if not any(k.lower().startswith("order") for k in base):
            base.update(facts.LISTING_ORDER)
        pages = _PageWalk(page_size, start_page)

        def read(page_no: int) -> Coroutine[Any, Any, httpx.Response]:
            params = {**base, **pages.params(page_no)}  # the size is settled after page one
            return self._request("GET", "/Invoice", params=params, scope=_READ)

        in_flight = _PagesInFlight(read)
        try:
            while True:
                # Only here, when the caller has asked for the next page, are more pages asked.
                in_flight.ask(pages.pages_to_ask(pages_at_once))
                response = await in_flight.answer(pages.page_no)
                page, more = pages.take(*self._parse_envelope(parse_json(response)))
                yield page
                if not more:
                    return
        finally:
            await in_flight.cancel()

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

        Whether Halo honours `_validateonly` is unverified (`facts.UNVERIFIED_NOTES`).
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
    def _parse_envelope(body: Any) -> tuple[tuple[Invoice, ...], tuple[Any, ...], int | None]:
        """(readable invoices, rows without a usable id, record_count) of one list page.

        A row that is not an object with an integer id is kept apart, not dropped: it is part
        of the listing (it counts toward `record_count`) and the backfill names it as unreadable.
        """
        if not isinstance(body, dict) or not isinstance(body.get("invoices"), list):
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE,
                "The invoice list did not come in the expected {record_count, invoices} envelope.",
            )
        invoices: list[Invoice] = []
        odd_rows: list[Any] = []
        for item in body["invoices"]:
            if type(item) is dict and type(item.get("id")) is int:
                invoices.append(Invoice(item["id"], item))
            else:
                odd_rows.append(item)
        record_count = _as_int(body.get("record_count"))
        if record_count is not None and record_count < 0:
            record_count = None
        return tuple(invoices), tuple(odd_rows), record_count

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        scope: str | None,
    ) -> httpx.Response:
        """Send one API request with the retry policy above; returns a 2xx response.

        A failure after an attempt that got no clear answer is marked `maybe_applied`: whatever
        the last attempt said, an earlier one may have reached Halo."""
        attempts = _Attempts()
        try:
            return await self._attempt(method, path, params, json, scope, attempts)
        except HaloError as error:
            if attempts.unclear:
                error.maybe_applied = True
            raise

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Any,
        scope: str | None,
        attempts: _Attempts,
    ) -> httpx.Response:
        url = f"{self.endpoints.resource_url}{path}"
        require_secure_url(url)  # the bearer token must not travel in the clear either
        retries_429 = 0
        retries_other = 0
        refreshed = False
        while True:
            token = await self.tokens.get()
            slot = await self.limiter.acquire()
            try:
                response = await send_limited(
                    self._http,
                    method,
                    url,
                    deadline=self.request_deadline,
                    max_bytes=self.max_response_bytes,
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {token.access_token}",
                        "Accept": "application/json",
                    },
                )
            except asyncio.CancelledError:  # e.g. a page past the end: Halo may have seen it
                self.limiter.done(slot)
                self.stats.record_cancelled()
                raise
            except httpx.HTTPError as exc:
                self.limiter.done(slot)
                self.stats.record(None)
                error = error_from_exception(exc)
                error = HaloError(
                    error.kind, redact(error.detail, token.access_token), status=error.status
                )
                attempts.unclear = True
                if self._retryable_transport(exc, error) and retries_other < self.max_retries:
                    retries_other += 1
                    self.stats.retries_other += 1
                    log.info(
                        "%s %s failed (%s); retry %d", method, path, error.kind.code, retries_other
                    )
                    await self._backoff(retries_other)
                    continue
                raise error from None
            self.limiter.done(slot)
            self.stats.record(response)
            status = response.status_code
            if 200 <= status < 300:
                return response
            if 300 <= status < 400:
                raise redirect_error(response, token.access_token)
            if status == 401:
                if not refreshed:
                    refreshed = True
                    self.tokens.invalidate(token)
                    continue
                raise HaloError(
                    ErrorKind.UNAUTHORIZED,
                    redact(server_message(response), token.access_token),
                    status=status,
                )
            if status == 429:
                wait = self._rate_limit_hold(response, retries_429 + 1, token.access_token)
                if retries_429 < self.max_retries:
                    retries_429 += 1
                    self.stats.retries_429 += 1
                    log.info("%s %s rate limited; holding off %.0f s", method, path, wait)
                    continue
                raise HaloError(
                    ErrorKind.RATE_LIMITED,
                    redact(server_message(response), token.access_token),
                    status=status,
                    retry_after=wait,
                )
            if status >= 500:
                attempts.unclear = True
                if retries_other < self.max_retries:
                    retries_other += 1
                    self.stats.retries_other += 1
                    log.info("%s %s answered %d; retry %d", method, path, status, retries_other)
                    await self._backoff(retries_other)
                    continue
                raise HaloError(
                    ErrorKind.SERVER_ERROR,
                    redact(server_message(response), token.access_token),
                    status=status,
                )
            raise self._client_error(response, token, scope, method)

    async def _backoff(self, attempt: int) -> None:
        """Wait before retry `attempt` after a failure, visibly (see `RateLimiter.pause`)."""
        await self.limiter.pause(
            backoff_seconds(attempt, self._rand), BACKOFF_REASON, sleep=self._sleep
        )

    def _rate_limit_hold(self, response: httpx.Response, attempt: int, secret: str) -> float:
        """After a 429: hold every caller off and return the wait, or raise when over budget.

        Raises:
            HaloError(RATE_LIMITED): the hold would take the client's 429 waits past
                `rate_limit_budget`; `retry_after` is the wait Halo asked for (or ours).
        """
        now = self._wall_clock()
        wait = rate_limit_wait(response, attempt, now=now, rand=self._rand)
        asked = requested_wait(response, now=now)
        needed = asked if asked is not None else wait
        check_rate_limit_budget(
            self.limiter, needed, self.rate_limit_budget, redact(server_message(response), secret)
        )
        self.limiter.hold_off(wait)
        return wait

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
            if scope is not None and token.scopes and not scope_allows(token.scopes, scope):
                return HaloError(
                    ErrorKind.MISSING_SCOPE,
                    f"The token was granted {' '.join(token.scopes)}; this needs {scope}. " + said,
                    status=status,
                )
            return HaloError(ErrorKind.FORBIDDEN, said, status=status)
        if status == 404:
            return HaloError(ErrorKind.NOT_FOUND, said, status=status)
        return HaloError(ErrorKind.REJECTED, said, status=status)
