"""OAuth 2.0 client-credentials tokens for one Halo API application.

`TokenProvider.get` returns a cached token until `facts.TOKEN_REFRESH_MARGIN_SECONDS` before it
expires; concurrent callers share one in-flight token request. Token-endpoint failures become named
errors (unknown client id, wrong secret, wrong tenant, missing scope, ...). The client secret is
sent only in the form body and never appears in an error, a log line or a repr. Every token Halo
issues (access, id and refresh token) is registered with `halo_paylink.redact.register_secret` the
moment the answer is parsed, so no later log line, error, journal or report can carry it.
Token requests have the same deadline, size cap, jittered backoff and 429 budget as API calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.http import (
    MAX_RESPONSE_BYTES,
    REQUEST_DEADLINE_SECONDS,
    Random,
    RequestStats,
    backoff_seconds,
    error_from_exception,
    looks_like_html,
    parse_json,
    rate_limit_wait,
    requested_wait,
    require_secure_url,
    send_limited,
    server_message,
)
from halo_paylink.halo.jwt import decode_claims, scopes_from_claims
from halo_paylink.halo.models import Credentials, HaloEndpoints, Token
from halo_paylink.halo.ratelimit import (
    RATE_LIMIT_BUDGET_SECONDS,
    RateLimiter,
    Sleep,
    check_rate_limit_budget,
)
from halo_paylink.redact import redact, register_secret

log = logging.getLogger(__name__)

#: Token requests are side-effect free, so transient failures are retried this often.
TOKEN_MAX_RETRIES = 3
_TRANSIENT = frozenset({502, 503, 504})


class TokenProvider:
    """Gets and caches the access token; all methods run on the caller's event loop.

    Args:
        http: the shared client (see `halo.http.make_http_client`).
        endpoints: where the token endpoint is (`endpoints.token_url`).
        credentials: client id and secret.
        scopes: scopes to ask for; always sent (a token issued without one fails every call).
        clock: monotonic seconds; `Token.expires_at` is on this clock.
        limiter: when given, token requests count against the same rate budget as API calls.
        sleep: injectable wait used between retries.
        stats: when given, every token request is counted there.
        max_retries: retries after a 429, a 502/503/504 or a timeout (token requests are safe to
            repeat).
        wall_clock: Unix time, for Retry-After given as an HTTP-date.
        request_deadline: seconds each token request may take as a whole.
        max_response_bytes: the largest token answer read.
        rate_limit_budget: total seconds of 429 hold-off (counted on `limiter` when given).
        rand: random source in [0, 1) for backoff jitter.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: HaloEndpoints,
        credentials: Credentials,
        *,
        scopes: Sequence[str] = facts.REQUESTED_SCOPES,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        stats: RequestStats | None = None,
        max_retries: int = TOKEN_MAX_RETRIES,
        wall_clock: Callable[[], float] = time.time,
        request_deadline: float = REQUEST_DEADLINE_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        rate_limit_budget: float = RATE_LIMIT_BUDGET_SECONDS,
        rand: Random | None = None,
    ) -> None:
        self._http = http
        self._deadline = request_deadline
        self._max_bytes = max_response_bytes
        self._budget = rate_limit_budget
        self._rand = rand
        self._held_without_limiter = 0.0
        self.endpoints = endpoints
        self._credentials = credentials
        self.scopes = tuple(scopes)
        self._clock = clock
        self._limiter = limiter
        self._sleep = sleep
        self.stats = stats if stats is not None else RequestStats()
        self._max_retries = max_retries
        self._wall_clock = wall_clock
        self._token: Token | None = None
        self._inflight: asyncio.Future[Token] | None = None

    def __repr__(self) -> str:
        return (
            f"TokenProvider(client_id={self._credentials.client_id!r}, "
            f"token_url={self.endpoints.token_url!r})"
        )

    @property
    def cached(self) -> Token | None:
        """The cached token if still fresh, without any request."""
        token = self._token
        if (
            token is not None
            and self._clock() < token.expires_at - facts.TOKEN_REFRESH_MARGIN_SECONDS
        ):
            return token
        return None

    async def get(self) -> Token:
        """A valid token: cached, or from one request shared by every concurrent caller.

        Raises:
            HaloError: INVALID_CLIENT_ID, INVALID_SECRET, INVALID_TENANT, MISSING_SCOPE,
                WRONG_GRANT, FORBIDDEN, RATE_LIMITED, SERVER_ERROR, NOT_HALO, MALFORMED_RESPONSE,
                REJECTED, or a connection kind (DNS, REFUSED, TLS, TIMEOUT, NETWORK).
        """
        token = self.cached
        if token is not None:
            return token
        if self._inflight is None or self._inflight.done():
            task = asyncio.ensure_future(self._fetch_and_store())
            task.add_done_callback(_consume_exception)
            self._inflight = task
        # shield: one caller being cancelled must not cancel the request others wait on
        return await asyncio.shield(self._inflight)

    def invalidate(self, token: Token | None = None) -> None:
        """Forget the cached token (after a 401). With `token`, only if it is still the cached one,
        so many requests failing with the same stale token cause a single refresh."""
        if token is None or self._token is token:
            self._token = None

    async def _fetch_and_store(self) -> Token:
        token = await self._fetch()
        self._token = token
        return token

    async def _fetch(self) -> Token:
        attempt = 0
        while True:
            slot = await self._limiter.acquire() if self._limiter is not None else None
            try:
                response = await self._post()
            except HaloError as error:
                if self._limiter is not None and slot is not None:
                    self._limiter.done(slot)
                if error.kind is ErrorKind.TIMEOUT and attempt < self._max_retries:
                    attempt += 1
                    self.stats.retries_other += 1
                    await self._backoff(attempt)
                    continue
                raise
            if self._limiter is not None and slot is not None:
                self._limiter.done(slot)
            status = response.status_code
            if status == 429 and attempt < self._max_retries:
                await self._hold_off(response, attempt + 1)
                attempt += 1
                self.stats.retries_429 += 1
                continue
            if status in _TRANSIENT and attempt < self._max_retries:
                attempt += 1
                self.stats.retries_other += 1
                await self._backoff(attempt)
                continue
            return self._token_from(response)

    async def _backoff(self, attempt: int) -> None:
        wait = backoff_seconds(attempt, self._rand)
        if self._limiter is not None:
            await self._limiter.pause(
                wait, "Halo's sign-in did not answer; retrying", sleep=self._sleep
            )
        else:
            await self._sleep(wait)

    async def _hold_off(self, response: httpx.Response, attempt: int) -> None:
        """After a 429 from the token endpoint: hold off, within the budget (else RATE_LIMITED)."""
        now = self._wall_clock()
        wait = rate_limit_wait(response, attempt, now=now, rand=self._rand)
        asked = requested_wait(response, now=now)
        needed = asked if asked is not None else wait
        said = redact(server_message(response), self._credentials.client_secret)
        if self._limiter is not None:
            check_rate_limit_budget(self._limiter, needed, self._budget, said)
            self._limiter.hold_off(wait)
            return
        if self._held_without_limiter + needed > self._budget:
            raise HaloError(
                ErrorKind.RATE_LIMITED,
                f"Halo's sign-in kept answering 429; waiting {needed:.0f} s more would pass the "
                f"{self._budget:.0f} s budget for rate-limit waits. {said}".strip(),
                status=429,
                retry_after=needed,
            )
        self._held_without_limiter += wait
        await self._sleep(wait)

    async def _post(self) -> httpx.Response:
        # never send the secret in the clear, whatever endpoints we were handed
        require_secure_url(self.endpoints.token_url)
        data = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
            "scope": " ".join(self.scopes),
        }
        self.stats.token_requests += 1
        try:
            response = await send_limited(
                self._http,
                "POST",
                self.endpoints.token_url,
                deadline=self._deadline,
                max_bytes=self._max_bytes,
                data=data,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            self.stats.record(None)
            error = error_from_exception(exc)
            raise HaloError(
                error.kind, redact(error.detail, self._credentials.client_secret)
            ) from None
        self.stats.record(response)
        log.debug("token request -> HTTP %s", response.status_code)
        return response

    def _token_from(self, response: httpx.Response) -> Token:
        status = response.status_code
        if 200 <= status < 300:
            return self._parse_success(response)
        raise self._error_for(response)

    def _parse_success(self, response: httpx.Response) -> Token:
        body = parse_json(response)
        access = body.get("access_token") if isinstance(body, dict) else None
        if isinstance(body, dict):
            # Before anything else can copy them anywhere: every token in the answer is a secret.
            for name in ("access_token", "id_token", "refresh_token"):
                value = body.get(name)
                if isinstance(value, str):
                    register_secret(value)
        if not isinstance(access, str) or not access:
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE,
                "The token response has no access_token.",
                status=response.status_code,
            )
        token_type = body.get("token_type")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            raise HaloError(
                ErrorKind.MALFORMED_RESPONSE,
                f"Halo issued a {token_type!r} token; a Bearer token was expected.",
                status=response.status_code,
            )
        try:
            ttl = float(body.get("expires_in", facts.DEFAULT_TOKEN_TTL_SECONDS))
        except (TypeError, ValueError):
            ttl = facts.DEFAULT_TOKEN_TTL_SECONDS
        claims = decode_claims(access)
        scope = body.get("scope")
        # `scope` may be absent from a success response; then the JWT (if it is one) may say
        scopes = tuple(scope.split()) if isinstance(scope, str) else scopes_from_claims(claims)
        return Token(
            access_token=access,
            expires_at=self._clock() + max(0.0, ttl),
            scopes=scopes,
            claims=claims,
        )

    def _error_for(self, response: httpx.Response) -> HaloError:
        """Name a refused token request: by its OAuth error first, then by its HTTP status."""
        refusal = _Refusal.of(response, self._credentials.client_secret)
        status, said = refusal.status, refusal.said
        kind = refusal.oauth_kind()
        if kind is not None:
            return HaloError(kind, said, status=status)
        if self.endpoints.tenant is not None and status in facts.WRONG_TENANT_TOKEN_STATUSES:
            return HaloError(
                ErrorKind.INVALID_TENANT,
                f"The token endpoint answered HTTP {status} for tenant "
                f"{self.endpoints.tenant!r}, which Halo has been seen to do for a wrong "
                f"tenant. {said}",
                status=status,
            )
        if status == 429:
            return HaloError(
                ErrorKind.RATE_LIMITED,
                said,
                status=status,
                retry_after=rate_limit_wait(response, 1, now=self._wall_clock(), rand=self._rand),
            )
        kind = refusal.status_kind()
        if kind is ErrorKind.NOT_HALO:
            said = f"{self.endpoints.auth_url}/token answered HTTP {status}: {said}"
        return HaloError(kind, said, status=status)


@dataclass(frozen=True)
class _Refusal:
    """What a refused token request said.

    Attributes:
        error: the OAuth `error` code ("" when none).
        description: `error_description` (or `message`), lower-cased.
        said: what the server said, redacted, for an error's detail.
        html: the answer is an HTML page.
        unreadable: the body is not JSON (or is JSON null).
    """

    status: int
    error: str
    description: str
    said: str
    html: bool
    unreadable: bool

    @classmethod
    def of(cls, response: httpx.Response, secret: str) -> _Refusal:
        try:
            body = response.json()
        except ValueError:
            body = None
        error, description = "", ""
        if isinstance(body, dict):
            error = str(body.get("error") or "")
            description = str(body.get("error_description") or body.get("message") or "")
        return cls(
            status=response.status_code,
            error=error,
            description=description.lower(),
            said=redact(server_message(response), secret),
            html=looks_like_html(response),
            unreadable=body is None,
        )

    def oauth_kind(self) -> ErrorKind | None:
        """What the OAuth error names (a bare 401 counts as invalid_client), or None."""
        if self.error == "invalid_client" or (self.status == 401 and not self.error):
            if self.status == 401 and not self.error and self.html:
                return ErrorKind.NOT_HALO
            if any(marker in self.description for marker in facts.UNKNOWN_CLIENT_ID_MARKERS):
                return ErrorKind.INVALID_CLIENT_ID
            return ErrorKind.INVALID_SECRET
        if self.error in facts.SCOPE_NOT_ALLOWED_ERRORS and any(
            marker in self.description for marker in facts.SCOPE_NOT_ALLOWED_MARKERS
        ):
            return ErrorKind.MISSING_SCOPE
        if self.error in facts.WRONG_GRANT_ERRORS:
            return ErrorKind.WRONG_GRANT
        return None

    def status_kind(self) -> ErrorKind:
        """What the status (or the body's shape) says when nothing more specific did."""
        if self.status == 403:
            said = self.said.lower()
            if any(marker in said for marker in facts.SCOPE_NOT_ALLOWED_MARKERS):
                return ErrorKind.MISSING_SCOPE
            return ErrorKind.FORBIDDEN
        if self.status >= 500:
            return ErrorKind.SERVER_ERROR
        if self.html or self.status in (404, 405):
            return ErrorKind.NOT_HALO
        if self.unreadable:
            return ErrorKind.MALFORMED_RESPONSE
        return ErrorKind.REJECTED


def _consume_exception(future: asyncio.Future[Token]) -> None:
    # Every waiter sees the exception through `shield`; this only stops asyncio warning about an
    # exception "never retrieved" when all waiters were cancelled.
    if not future.cancelled():
        with contextlib.suppress(BaseException):
            future.exception()
