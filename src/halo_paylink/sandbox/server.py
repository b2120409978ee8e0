"""The built-in Halo sandbox: a real HTTP server on 127.0.0.1 that answers like Halo.

It is the app's demo mode and the integration tests' counterpart, so it is faithful rather than
convenient: whatever the real Halo is known (or, for unverified facts, modelled) to reject, it
rejects. The unverified facts the client rests on are in `halo_paylink.halo.facts`; the modelling
choices the sandbox makes for them are noted where they are made.

Threads: `Sandbox.start()` runs a stdlib `ThreadingHTTPServer` in a daemon thread; each
connection gets its own daemon thread. All shared state is guarded by one lock; tests may read or
change `Sandbox.invoices` inside `with sandbox.lock:` (leaving that block invalidates cached
listings, so direct edits are seen by the next request).

Each request goes the same way (`Sandbox._respond`): read below the path prefix, routed (which
fixes the path kind it is counted under), counted, then an injected fault, the rate limit, the
bearer token check and finally the endpoint the route names.

Beside the API it serves a customer-portal invoice page (`portal_url`), so a pilot invoice's Pay
button can be looked at in demo mode.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable

from halo_paylink.sandbox.admin import SandboxControls
from halo_paylink.sandbox.applications import agent_answer
from halo_paylink.sandbox.faults import faulty_answer
from halo_paylink.sandbox.http import (
    HOST,
    LoopbackService,
    Request,
    Response,
    Served,
    text_response,
)
from halo_paylink.sandbox.listing import InvoiceListing
from halo_paylink.sandbox.oauth import TokenEndpoint, authinfo_answer
from halo_paylink.sandbox.portal import portal_answer
from halo_paylink.sandbox.rate_limit import caller_key, is_limited, too_many_requests
from halo_paylink.sandbox.routes import Call, Resolved, read_target, resolve
from halo_paylink.sandbox.stamps import utc_now
from halo_paylink.sandbox.state import (
    AGENT_ME,
    AUTHINFO,
    INVOICE_GET,
    INVOICE_LIST,
    INVOICE_POST,
    OTHER,
    PORTAL,
    TOKEN,
    Application,
    SandboxConfig,
)
from halo_paylink.sandbox.writes import post_invoices

__all__ = [
    "AGENT_ME",
    "AUTHINFO",
    "HOST",
    "INVOICE_GET",
    "INVOICE_LIST",
    "INVOICE_POST",
    "OTHER",
    "PORTAL",
    "TOKEN",
    "Sandbox",
    "SandboxConfig",
]

#: An endpoint anyone may call.
PublicEndpoint = Callable[[Call], Response]
#: An endpoint that needs a valid token; it gets the application the token was issued to.
SignedInEndpoint = Callable[[Call, Application], Response]


class Sandbox(SandboxControls, Served):
    """A Halo look-alike on 127.0.0.1. Use as a context manager, or call `start()` / `stop()`.

    Attributes:
        config: the configuration it was built with.
        faults: inject faults into upcoming requests (thread-safe).
        stats: what it has served.
        invoices: the live invoice store by id (read or change only inside `with sandbox.lock:`;
            records as stored, without the stamps every answer adds: see `invoice()`).
        categories: the seed category of each seeded invoice (see `seed.py`), "template" for a
            recurring-invoice template, "odd" for an odd record.
        odd_ids: the store key of each odd record by kind (see `seed.ODD_KINDS`); a record whose
            id is not an integer is stored (and listed) under an integer key its id does not match,
            and cannot be read or written by id.
        lock: the store lock (a context manager).

    Listing faults (`shift_rows`, `repeat_rows`, `lie_record_count`, `empty_page`) disturb the
    paginated invoice listing the way a busy Halo does between page reads; `open_invoice_ids`,
    `post_counts` and `refused_posts` are the ground truth a test checks a backfill against.
    `set_payment`, `edit_invoice`, `add_invoices` and `set_status_codes` change invoices the way
    Halo does (moving `last_modified` with `SandboxConfig.stamp_changes`). The controls are in
    `admin.SandboxControls`.

    Every public method is thread-safe and may be called while the server runs.

    Args:
        clock: seconds for token lifetimes and rate windows.
        now: the wall clock the stamps of changes are taken from (UTC).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        super().__init__(config, clock, now)
        self._service = LoopbackService(
            self._respond, self.stats, port=self.config.port, name="halo-sandbox"
        )
        self._stopping = self._service.stopping
        prefix = self.config.path_prefix.strip("/")
        self._prefix = f"/{prefix}" if prefix else ""
        listing = InvoiceListing(self._store, self._disturbances, self.config, self.stats)
        tokens = TokenEndpoint(self.config, self._applications, self._state, self.stats)
        self._public_endpoints: dict[str, PublicEndpoint] = {
            AUTHINFO: lambda call: authinfo_answer(self.config, self.auth_url),
            TOKEN: lambda call: tokens.answer(call, self.auth_url),
            PORTAL: self._portal_page,
        }
        self._signed_in_endpoints: dict[str, SignedInEndpoint] = {
            AGENT_ME: lambda call, app: agent_answer(app),
            INVOICE_LIST: lambda call, app: listing.answer_list(call.params),
            INVOICE_GET: lambda call, app: listing.answer_get(call.args[0]),
            INVOICE_POST: lambda call, app: post_invoices(
                call.request, self._store, self.config, self.stats
            ),
        }

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._service.running

    @property
    def url(self) -> str:
        """The web address a user would paste, e.g. "http://127.0.0.1:51234" (after start)."""
        if not self._service.origin:
            raise RuntimeError("the sandbox has not been started")
        return self._service.origin + self._prefix

    @property
    def port(self) -> int:
        return int(self._service.origin.rsplit(":", 1)[1]) if self._service.origin else 0

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth"

    @property
    def resource_url(self) -> str:
        return f"{self.url}/api"

    @property
    def token_url(self) -> str:
        return f"{self.auth_url}/token?tenant={urllib.parse.quote(self.config.tenant)}"

    def portal_url(self, invoice_id: int) -> str:
        """The customer-portal page of invoice `invoice_id` (after start): its number, the amount
        due and the Pay button when its payment link field is set."""
        return f"{self.url}/portal/invoice/{invoice_id}"

    # --- request handling (server threads) -----------------------------------------------------

    def _respond(self, request: Request) -> Response | None:
        """Answer one request; None = drop the connection without answering."""
        target = read_target(request.target, self._prefix)
        if target is None:
            return text_response(404, "Not Found")
        route_path = target.route_path
        resolved = resolve(request.method, route_path)
        request.kind = resolved.kind
        with self.stats.lock:
            self.stats.requests += 1
        fault = self.faults.take(request.method, target.path)
        if fault is not None:
            answer = faulty_answer(fault, request, self._stopping)
            if answer is not True:
                return answer
        refusal = self._rate_limited(request, route_path)
        if refusal is not None:
            return refusal
        return self._dispatch(resolved, Call(request, target.params, resolved.args))

    def _portal_page(self, call: Call) -> Response:
        with self._state:
            return portal_answer(self._store, call.args[0])

    def _rate_limited(self, request: Request, route_path: str) -> Response | None:
        """The 429 answer when the caller's rate window is full; None when it may go on."""
        if self._rate is None or not is_limited(route_path):
            return None
        key = caller_key(request, route_path, self._client_of)
        with self._state:
            wait = self._rate.admit(key, self._clock())
        if wait is None:
            return None
        with self.stats.lock:
            self.stats.rate_limited += 1
        return too_many_requests(self._rate, wait, self.config.send_retry_after)

    def _client_of(self, token: str) -> str | None:
        with self._state:
            return self._applications.client_of(token)

    def _dispatch(self, resolved: Resolved, call: Call) -> Response:
        """The endpoint's answer, once the caller has shown what its route needs."""
        route = resolved.route
        if route is None:
            if resolved.method_not_allowed:
                return text_response(405, "Method Not Allowed")
            return text_response(404, "Not Found")
        if not route.signed_in:
            return self._public_endpoints[route.kind](call)
        token = call.request.bearer_token
        if not token:
            return Response(401, b"", headers={"WWW-Authenticate": "Bearer"})
        with self._state:
            caller = self._applications.authorise(token, route.scope)
            if isinstance(caller, Response):
                return caller
            return self._signed_in_endpoints[route.kind](call, caller)
