"""The built-in Halo sandbox: a real HTTP server on 127.0.0.1 that answers like Halo.

It is the app's demo mode and the integration tests' counterpart, so it is faithful rather than
convenient: whatever the real Halo is known (or, for unverified facts, modelled) to reject, it
rejects. The unverified facts the client rests on are in `halo_paylink.halo.facts`; the modelling
choices the sandbox makes for them are noted where they are made.

Threads: `Sandbox.start()` runs a stdlib `ThreadingHTTPServer` in a daemon thread; each
connection gets its own daemon thread. All shared state is guarded by one lock; tests may read or
change `Sandbox.invoices` inside `with sandbox.lock:` (leaving that block invalidates cached
listings, so direct edits are seen by the next request).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import math
import socket
import socketserver
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeGuard

from halo_paylink.sandbox.faults import Fault, FaultInjector
from halo_paylink.sandbox.seed import (
    ODD,
    STATUS_PAID,
    TEMPLATE,
    odd_records,
    seed_invoices,
    template_invoices,
)
from halo_paylink.sandbox.state import (
    AGENT_ACCESS_LEVELS,
    DEMO_PROBLEM_APPLICATIONS,
    KNOWN_SCOPES,
    PAGE_SIZE_ECHOES,
    Application,
    ListingFault,
    RateWindow,
    SandboxConfig,
    SandboxStats,
    scope_allows,
)
from halo_paylink.sandbox.tokens import TokenTable

log = logging.getLogger(__name__)

HOST = "127.0.0.1"

#: Invoice fields whose changes cannot affect which invoices a listing returns or their order, so
#: writing them keeps cached listings valid (the backfill writes only these).
_UNINDEXED_FIELDS = frozenset(
    {"generic_online_invoice_payment_url", "xero_online_invoice_payment_url", "customfields"}
)
#: Fields Halo computes; values sent for them are ignored (U: modelled as read-only).
_READ_ONLY_FIELDS = frozenset({"id", "amountdue", "amount_remaining", "client_name"})
_STRING_FIELDS = frozenset(
    {
        "invoicenumber",
        "thirdpartyinvoicenumber",
        "invoice_date",
        "duedate",
        "currency",
        "xeroid",
        "generic_online_invoice_payment_url",
        "xero_online_invoice_payment_url",
    }
)
_BOOL_FIELDS = frozenset({"posted", "voided"})
_NUMBER_FIELDS = frozenset({"total", "amountpaid"})
_INT_FIELDS = frozenset({"client_id", "paymentstatus", "invoicetype", "qboid", "pdf_attachment_id"})

_MAX_BODY = 20 * 1024 * 1024

# Path kinds used in statistics.
AUTHINFO = "authinfo"
TOKEN = "token"
AGENT_ME = "agent_me"
INVOICE_LIST = "invoice_list"
INVOICE_GET = "invoice_get"
INVOICE_POST = "invoice_post"
OTHER = "other"


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    endless: bool = False  # a chunked body that never ends (see Fault.endless)


#: What an endless body repeats: a JSON list that never closes.
_ENDLESS_CHUNK = b'{"id":1,"total":1},' * 3000


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> _Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Response(status, body, "application/json; charset=utf-8", headers or {})


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers or {})


def _oauth_error(status: int, error: str, description: str) -> _Response:
    return _json(status, {"error": error, "error_description": description})


def _problem(errors: Mapping[str, str]) -> _Response:
    """ASP.NET Core's validation problem shape, which Halo's API answers bad input with."""
    return _json(
        400,
        {
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {k: [v] for k, v in errors.items()},
        },
    )


class _BadParam(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _window_words(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} minute"
    return f"{seconds:g} second"


class _StoreLock:
    """The public lock: entering it takes the sandbox's state lock; leaving it marks the data
    changed, so listings cached before a direct edit are not served afterwards."""

    def __init__(self, inner: threading.RLock, on_exit: Callable[[], None]) -> None:
        self._inner = inner
        self._on_exit = on_exit

    def __enter__(self) -> _StoreLock:
        self._inner.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._on_exit()
        finally:
            self._inner.release()


class Sandbox:
    """A Halo look-alike on 127.0.0.1. Use as a context manager, or call `start()` / `stop()`.

    Attributes:
        config: the configuration it was built with.
        faults: inject faults into upcoming requests (thread-safe).
        stats: what it has served.
        invoices: the live invoice store by id (read or change only inside `with sandbox.lock:`).
        categories: the seed category of each seeded invoice (see `seed.py`), "template" for a
            recurring-invoice template, "odd" for an odd record.
        odd_ids: the store key of each odd record by kind (see `seed.ODD_KINDS`); a record whose
            id is not an integer is stored (and listed) under an integer key its id does not match,
            and cannot be read or written by id.
        lock: the store lock (a context manager).

    Listing faults (`shift_rows`, `repeat_rows`, `lie_record_count`, `empty_page`) disturb the
    paginated invoice listing the way a busy Halo does between page reads; `open_invoice_ids`,
    `post_counts` and `refused_posts` are the ground truth a test checks a backfill against.

    Every public method is thread-safe and may be called while the server runs.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or SandboxConfig()
        self._clock = clock
        self._state = threading.RLock()
        self._version = 0
        self.lock = _StoreLock(self._state, self._bump_version)
        self.faults = FaultInjector()
        self.stats = SandboxStats()
        seeded = seed_invoices(self.config.invoices, self.config.seed)
        self.invoices: dict[int, dict[str, Any]] = seeded.invoices
        self.categories: dict[int, str] = seeded.categories
        self.odd_ids: dict[str, int] = {}
        if self.config.page_size_echo not in PAGE_SIZE_ECHOES:
            raise ValueError(f"page_size_echo must be one of {PAGE_SIZE_ECHOES}")
        self._listing_faults: list[ListingFault] = []
        self._pass_no = 0
        self._last_page_no = 0
        self._tokens = TokenTable(clock)
        self._apps: dict[str, Application] = {}
        self._next_agent_id = 2  # agent 1 is Halo's built-in admin
        self._rate = RateWindow(*self.config.rate_limit) if self.config.rate_limit else None
        self._list_cache: dict[tuple[Any, ...], list[int]] = {}
        if self.config.templates:
            self._add_records(template_invoices(self.config.templates), TEMPLATE)
        if self.config.odd_records:
            records, self.odd_ids = odd_records()
            self._add_records(records, ODD)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._origin = ""
        prefix = self.config.path_prefix.strip("/")
        self._prefix = f"/{prefix}" if prefix else ""
        self.add_application(self.config.client_id, self.config.client_secret)
        for demo in DEMO_PROBLEM_APPLICATIONS:
            self.add_application(
                demo.client_id,
                demo.client_secret,
                allowed_scopes=demo.allowed_scopes,
                agent_invoice_access=demo.agent_invoice_access,
            )

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Bind 127.0.0.1:config.port, serve in a daemon thread, and return `url`."""
        if self._server is not None:
            return self.url
        self._stopping.clear()
        server = _Server((HOST, self.config.port), _Handler, self)
        self._server = server
        self._origin = f"http://{HOST}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"halo-sandbox:{server.server_address[1]}",
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """The web address a user would paste, e.g. "http://127.0.0.1:51234" (after start)."""
        if not self._origin:
            raise RuntimeError("the sandbox has not been started")
        return self._origin + self._prefix

    @property
    def port(self) -> int:
        return int(self._origin.rsplit(":", 1)[1]) if self._origin else 0

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth"

    @property
    def resource_url(self) -> str:
        return f"{self.url}/api"

    @property
    def token_url(self) -> str:
        return f"{self.auth_url}/token?tenant={urllib.parse.quote(self.config.tenant)}"

    # --- applications and tokens ---------------------------------------------------------------

    def add_application(
        self,
        client_id: str,
        client_secret: str,
        *,
        allowed_scopes: Iterable[str] = ("read:invoices", "edit:invoices"),
        agent_invoice_access: str = "edit",
        agent_name: str | None = None,
    ) -> None:
        """Register (or replace) an API application and the agent it logs in as.

        Args:
            allowed_scopes: the scopes ticked on the application's Permissions tab.
            agent_invoice_access: what the agent's own role allows on invoices:
                "none" (403 on invoices), "read" (403 on updates) or "edit".
        """
        if agent_invoice_access not in AGENT_ACCESS_LEVELS:
            raise ValueError(f"agent_invoice_access must be one of {AGENT_ACCESS_LEVELS}")
        scopes = frozenset(allowed_scopes)
        unknown = scopes - KNOWN_SCOPES
        if unknown:
            raise ValueError(f"unknown scopes: {sorted(unknown)}")
        with self._state:
            existing = self._apps.get(client_id)
            agent_id = existing.agent_id if existing else self._next_agent_id
            if not existing:
                self._next_agent_id += 1
            self._apps[client_id] = Application(
                client_id=client_id,
                client_secret=client_secret,
                allowed_scopes=scopes,
                agent_invoice_access=agent_invoice_access,
                agent_id=agent_id,
                agent_name=agent_name or self.config.agent_name,
            )

    def set_allowed_scopes(self, client_id: str, scopes: Iterable[str]) -> None:
        """Change an application's permissions mid-run; tokens already issued keep their scopes
        but lose any the application no longer has (their next request gets 403)."""
        scopes = frozenset(scopes)
        if scopes - KNOWN_SCOPES:
            raise ValueError(f"unknown scopes: {sorted(scopes - KNOWN_SCOPES)}")
        with self._state:
            self._apps[client_id].allowed_scopes = scopes

    def set_agent_invoice_access(self, client_id: str, access: str) -> None:
        """Change what the application's agent may do with invoices ("none" | "read" | "edit")."""
        if access not in AGENT_ACCESS_LEVELS:
            raise ValueError(f"access must be one of {AGENT_ACCESS_LEVELS}")
        with self._state:
            self._apps[client_id].agent_invoice_access = access

    def revoke(self, client_id: str) -> None:
        """Deactivate an application: its tokens get 401 and new token requests `invalid_client`."""
        with self._state:
            self._apps[client_id].active = False
            self._tokens.revoke_client(client_id)

    def expire_tokens(self) -> None:
        """Make every token issued so far expire now (their next use gets 401)."""
        with self._state:
            self._tokens.expire_all()

    # --- invoice store, listing faults and ground truth (for tests) -------------------------

    def _add_records(self, records: Mapping[int, dict[str, Any]], category: str) -> None:
        clash = set(records) & set(self.invoices)
        if clash:
            raise ValueError(f"ids already in use: {sorted(clash)[:5]}")
        self.invoices.update(records)
        self.invoices = dict(sorted(self.invoices.items()))
        self.categories.update(dict.fromkeys(records, category))
        self._bump_version()

    def _stored(self, invoice_id: int) -> dict[str, Any] | None:
        """The invoice with this id, if one exists and really has it (an odd record stored under
        a key its id does not match cannot be addressed by id)."""
        invoice = self.invoices.get(invoice_id)
        if invoice is None or invoice.get("id") != invoice_id:
            return None
        return invoice

    def add_templates(self, count: int) -> list[int]:
        """Add `count` recurring-invoice templates below the lowest id in use (negative ids), each
        looking open; returns their ids."""
        with self._state:
            lowest = min([0, *self.invoices])
            records = {
                lowest - k: {**record, "id": lowest - k}
                for k, record in zip(
                    range(1, count + 1), template_invoices(count).values(), strict=True
                )
            }
            self._add_records(records, TEMPLATE)
            return sorted(records)

    def add_odd_records(self, first_id: int | None = None) -> dict[str, int]:
        """Add one open-looking record of every odd shape (`seed.ODD_KINDS`), by default with ids
        just above 0 (so they come first in a listing by id); returns the key of each kind and
        merges it into `odd_ids`."""
        with self._state:
            if first_id is None:
                first_id = 1
            records, ids = odd_records(first_id)
            self._add_records(records, ODD)
            self.odd_ids.update(ids)
            return ids

    def add_record(self, key: int, record: dict[str, Any], category: str = ODD) -> None:
        """Store `record` as given (any shape) under `key`; listings serve it verbatim there."""
        with self._state:
            self._add_records({key: dict(record)}, category)

    def shift_rows(
        self, *, after_page: int = 1, rows: int = 1, mode: str = "delete", passes: int | None = 1
    ) -> ListingFault:
        """After page `after_page` of a listing pass is served, `rows` rows before the next page's
        offset disappear (`mode="delete"`) or are paid (`mode="pay"`). See `ListingFault`."""
        if mode not in ("delete", "pay"):
            raise ValueError("mode must be 'delete' or 'pay'")
        return self._add_listing_fault(
            ListingFault("shift", after_page=after_page, rows=rows, mode=mode, passes=passes)
        )

    def repeat_rows(
        self,
        *,
        after_page: int = 1,
        rows: int = 1,
        displace: bool = False,
        passes: int | None = 1,
    ) -> ListingFault:
        """The last `rows` rows of page `after_page` appear again at the start of the next page,
        and `record_count` counts them: as extra rows, or (`displace=True`) within the real count,
        the repeats taking the places of the rows that follow, which that pass never serves (as
        an unstable sort order swaps rows across a page boundary). See `ListingFault`."""
        return self._add_listing_fault(
            ListingFault(
                "repeat",
                after_page=after_page,
                rows=rows,
                mode="displace" if displace else "extra",
                passes=passes,
            )
        )

    def lie_record_count(
        self,
        *,
        record_count: int | None = None,
        delta: int = 0,
        after_page: int = 1,
        passes: int | None = 1,
    ) -> ListingFault:
        """From page `after_page` on, announce `record_count` rows (or the real count + `delta`)."""
        if (record_count is None) == (delta == 0):
            raise ValueError("give either record_count= or a non-zero delta=")
        if record_count is not None and record_count < 0:
            raise ValueError("record_count must not be negative")
        return self._add_listing_fault(
            ListingFault(
                "record_count",
                after_page=after_page,
                record_count=record_count,
                delta=delta,
                passes=passes,
            )
        )

    def empty_page(self, *, page: int = 2, passes: int | None = 1) -> ListingFault:
        """The first read of page `page` in a pass answers no rows (the real `record_count`)."""
        return self._add_listing_fault(ListingFault("empty_page", after_page=page, passes=passes))

    def _add_listing_fault(self, fault: ListingFault) -> ListingFault:
        if fault.after_page < 1:
            raise ValueError("page numbers start at 1")
        if fault.rows < 1:
            raise ValueError("rows must be at least 1")
        if fault.passes is not None and fault.passes < 1:
            raise ValueError("passes must be at least 1 (or None for every pass)")
        with self._state:
            self._listing_faults.append(fault)
        return fault

    def clear_listing_faults(self) -> None:
        """Stop every listing fault (rows already deleted or paid stay so)."""
        with self._state:
            self._listing_faults.clear()

    def listing_faults(self) -> list[ListingFault]:
        """The listing faults in force (a copy of the list; the objects are live)."""
        with self._state:
            return list(self._listing_faults)

    @property
    def listing_passes(self) -> int:
        """How many listing passes have started (see `ListingFault`)."""
        with self._state:
            return self._pass_no

    def set_page_cap(self, cap: int, *, echo: str | None = None) -> None:
        """Cap `page_size` at `cap` rows, silently; `echo` as `SandboxConfig.page_size_echo`."""
        if cap < 1:
            raise ValueError("the page cap must be at least 1")
        if echo is not None and echo not in PAGE_SIZE_ECHOES:
            raise ValueError(f"echo must be one of {PAGE_SIZE_ECHOES}")
        with self._state:
            self.config.max_page_size = cap
            if echo is not None:
                self.config.page_size_echo = echo

    def open_invoice_ids(self) -> set[int]:
        """Ground truth: the ids of open invoices now (id > 0, readable, posted, not voided,
        total > 0, something due), whatever they hold in their link fields."""
        with self._state:
            return {i for i, inv in self.invoices.items() if _is_open(i, inv)}

    def post_counts(self) -> dict[int, int]:
        """How many times each invoice id was saved by an update POST (validate-only excluded)."""
        with self.stats.lock:
            return dict(self.stats.invoices_written)

    def refused_posts(self) -> dict[int, int]:
        """Ids <= 0 that update POSTs tried to write (each refused with 400) -> times."""
        with self.stats.lock:
            return dict(self.stats.refused_ids)

    def _disturbed(
        self, ids: list[int], page_no: int, page_size: int
    ) -> tuple[list[int], int, bool]:
        """The rows a page is cut from, the `record_count` to announce, and whether this page is
        answered blank, under the listing faults in force (called once per page, under the state
        lock; it also keeps track of passes)."""
        if page_no == 1 or page_no < self._last_page_no:
            self._pass_no += 1
        self._last_page_no = page_no
        current = self._pass_no
        rows = ids
        count = len(ids)
        blank = False
        for fault in self._listing_faults:
            if fault.kind == "repeat":
                if page_no == fault.after_page:
                    fault.fire(current)
                elif page_no > fault.after_page and fault.active_in(current):
                    boundary = fault.after_page * page_size
                    again = rows[max(0, boundary - fault.rows) : boundary]
                    if fault.mode == "displace":
                        rows = rows[:boundary] + again + rows[boundary + len(again) :]
                    else:
                        rows = rows[:boundary] + again + rows[boundary:]
                        count += len(again)
            elif fault.kind == "empty_page" and page_no == fault.after_page and fault.fire(current):
                blank = True
        for fault in self._listing_faults:
            if (
                fault.kind == "record_count"
                and page_no >= fault.after_page
                and (fault.active_in(current) or fault.fire(current))
            ):
                lie = fault.record_count if fault.record_count is not None else count + fault.delta
                count = max(0, lie)
        return rows, count, blank

    def _shift_after(self, ids: list[int], page_no: int, page_size: int) -> None:
        """Apply the shift faults due after serving page `page_no` (under the state lock)."""
        changed = False
        for fault in self._listing_faults:
            if fault.kind != "shift" or page_no != fault.after_page:
                continue
            if not fault.fire(self._pass_no):
                continue
            before = ids[: min(page_no * page_size, len(ids))]
            wanted_open = fault.mode == "pay"
            preferred = [k for k in reversed(before) if self._is_open_key(k) == wanted_open]
            others = [k for k in reversed(before) if self._is_open_key(k) != wanted_open]
            for key in (preferred + others)[: fault.rows]:
                if fault.mode == "delete":
                    self.invoices.pop(key, None)
                else:
                    self.invoices[key] = _paid(self.invoices[key])
                changed = True
        if changed:
            self._bump_version()

    def _is_open_key(self, key: int) -> bool:
        invoice = self.invoices.get(key)
        return invoice is not None and _is_open(key, invoice)

    def _bump_version(self) -> None:
        self._version += 1
        self._list_cache.clear()

    # --- request handling (server threads) -----------------------------------------------------

    def _handle(
        self, handler: _Handler, method: str, raw_path: str, body: bytes
    ) -> _Response | None:
        """Answer one request; None = drop the connection without answering."""
        split = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(split.path)
        if self._prefix:
            if not path.lower().startswith(self._prefix.lower()):
                return _text(404, "Not Found")
            path = path[len(self._prefix) :] or "/"
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        params = {k.lower(): v[-1] for k, v in query.items()}
        lower = path.lower().rstrip("/") or "/"
        kind = _path_kind(method, lower)
        handler.path_kind = kind

        with self.stats.lock:
            self.stats.requests += 1
        fault = self.faults.take(method, path)
        if fault is not None:
            answer = self._apply_fault(fault, handler)
            if answer is None or isinstance(answer, _Response):
                return answer

        is_halo_path = lower.startswith("/api") or lower.startswith("/auth")
        if is_halo_path and self._rate is not None:
            key = self._rate_key(handler, lower, body)
            with self._state:
                wait = self._rate.admit(key, self._clock())
            if wait is not None:
                with self.stats.lock:
                    self.stats.rate_limited += 1
                limit, window = self._rate.limit, self._rate.window
                headers = {}
                if self.config.send_retry_after:
                    headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return _text(
                    429,
                    f"Rate Limit Reached - {limit} Requests per rolling "
                    f"{_window_words(window)} window",
                    headers,
                )

        if lower == "/api/authinfo":
            if method != "GET":
                return _text(405, "Method Not Allowed")
            if not self.config.authinfo:
                return _text(404, "Not Found")
            info = {"auth_url": self.auth_url}
            if self.config.hosted:
                info["tenant_id"] = self.config.tenant
            return _json(200, info)
        if lower == "/auth/token":
            if method != "POST":
                return _text(405, "Method Not Allowed")
            return self._token(handler, params, body)
        if not lower.startswith("/api/"):
            return _text(404, "Not Found")
        if kind == OTHER:
            return _text(404, "Not Found")
        return self._api(handler, kind, method, lower, params, body)

    def _apply_fault(self, fault: Fault, handler: _Handler) -> _Response | bool | None:
        """True = go on answering normally (a pure delay, or a trickled answer); else the faulty
        answer (None = drop)."""
        if fault.delay > 0 and self._stopping.wait(fault.delay):
            return None
        if fault.drop:
            return None
        if fault.trickle > 0:
            handler.trickle = fault.trickle
        if fault.endless:
            return _Response(200, _ENDLESS_CHUNK, "application/json; charset=utf-8", endless=True)
        if fault.echo_token:
            token = _bearer(handler.headers.get("Authorization")) or ""
            return _json(
                fault.status or 500,
                {
                    "ClassName": "System.UnauthorizedAccessException",
                    "Message": f"An error has occurred. The access token {token} could not be "
                    "validated for this request.",
                },
            )
        if fault.redirect is not None:
            return _text(fault.status or 302, "Object moved", {"Location": fault.redirect})
        if fault.status is not None:
            return _text(fault.status, f"Injected fault: HTTP {fault.status}")
        if fault.malformed:
            return _Response(
                200,
                b'{"page_no":1,"page_size":50,"record_count":3,"invoices":[{"id":1,"tot',
                "application/json; charset=utf-8",
            )
        return True

    def _rate_key(self, handler: _Handler, lower: str, body: bytes) -> str:
        """Rate windows are per API application when it can be told, else per caller address."""
        if lower == "/auth/token":
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if form.get("client_id"):
                return "app:" + form["client_id"][-1]
        token = _bearer(handler.headers.get("Authorization"))
        if token:
            with self._state:
                record = self._tokens.lookup(token)
            if record is not None:
                return "app:" + record.client_id
        return "addr:" + handler.client_address[0]

    # --- /auth/token ---------------------------------------------------------------------------

    def _token(self, handler: _Handler, params: Mapping[str, str], body: bytes) -> _Response:
        tenant = params.get("tenant")
        if tenant is not None and tenant.lower() != self.config.tenant.lower():
            # Halo has been seen to answer a wrong tenant with a bare server error.
            return _text(500, "An error has occurred.")
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return _oauth_error(
                400, "invalid_request", "The specified 'Content-Type' header is invalid."
            )
        try:
            form_lists = urllib.parse.parse_qs(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)
            )
        except (UnicodeDecodeError, ValueError):
            return _oauth_error(400, "invalid_request", "The request body is malformed.")
        form = {k: v[-1] for k, v in form_lists.items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = _basic(handler.headers.get("Authorization"))
        if basic is not None:
            client_id, secret = basic
        grant = form.get("grant_type")
        if not grant:
            return _oauth_error(
                400, "invalid_request", "The mandatory 'grant_type' parameter is missing."
            )
        if grant != "client_credentials":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                "The specified 'grant_type' parameter is not supported.",
            )
        if not client_id:
            return _oauth_error(
                400, "invalid_request", "The mandatory 'client_id' parameter is missing."
            )
        with self._state:
            app = self._apps.get(client_id)
            if app is None or not app.active:
                return _oauth_error(401, "invalid_client", "The specified 'client_id' is invalid.")
            if secret != app.client_secret:
                return _oauth_error(
                    401, "invalid_client", "The specified client credentials are invalid."
                )
            scope_text = form.get("scope")
            scopes = tuple(dict.fromkeys((scope_text or "").split()))
            if any(s not in KNOWN_SCOPES for s in scopes):
                return _oauth_error(400, "invalid_scope", "The specified 'scope' is invalid.")
            if any(s not in app.allowed_scopes for s in scopes):
                return _oauth_error(
                    400,
                    "invalid_request",
                    "This client application is not allowed to use the specified scope.",
                )
            token = self._tokens.issue(
                issuer=self.auth_url,
                client_id=app.client_id,
                scopes=scopes,
                agent_id=app.agent_id,
                ttl=self.config.token_ttl,
                scope_requested=bool(scopes),
                opaque=self.config.opaque_tokens,
            )
        with self.stats.lock:
            self.stats.tokens_issued += 1
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.config.token_ttl,
        }
        if scopes:
            answer["scope"] = " ".join(scopes)
        return _json(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --- /api ----------------------------------------------------------------------------------

    def _api(
        self,
        handler: _Handler,
        kind: str,
        method: str,
        lower: str,
        params: Mapping[str, str],
        body: bytes,
    ) -> _Response:
        token = _bearer(handler.headers.get("Authorization"))
        unauthorized = _Response(
            401, b"", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
        if not token:
            return _Response(401, b"", headers={"WWW-Authenticate": "Bearer"})
        with self._state:
            record = self._tokens.lookup(token)
            app = self._apps.get(record.client_id) if record else None
            if record is None or app is None or not app.active or not record.scope_requested:
                # A token issued without `scope` is reported to get 401 on every call.
                return unauthorized
            granted = record.scopes & app.allowed_scopes
            if kind == AGENT_ME:
                return _json(200, _agent_json(app))
            needed = "edit:invoices" if method == "POST" else "read:invoices"
            if not scope_allows(granted, needed):
                return _text(
                    403,
                    f"Forbidden: the API application's permissions do not include {needed}.",
                )
            if app.agent_invoice_access == "none" or (
                method == "POST" and app.agent_invoice_access != "edit"
            ):
                verb = "modify" if method == "POST" else "view"
                return _text(403, f"Forbidden: agent '{app.agent_name}' may not {verb} invoices.")
            try:
                if kind == INVOICE_LIST:
                    return self._list(params)
                if kind == INVOICE_GET:
                    return self._get_one(lower.rsplit("/", 1)[1])
                return self._post(handler, body)
            except _BadParam as bad:
                return _problem({bad.name: bad.message})

    def _list(self, params: Mapping[str, str]) -> _Response:
        pageinate = _bool_param(params, "pageinate") or False
        filters = (
            _ints_param(params, "paymentstatuses"),
            _bool_param(params, "includeinvoices"),
            _bool_param(params, "includecredits"),
            _bool_param(params, "postedonly") or False,
            _bool_param(params, "notpostedonly") or False,
            _int_param(params, "client_id"),
            _bool_param(params, "exclude_voided") or False,
            (params.get("search") or "").strip().lower(),
        )
        order = (params.get("order") or "").strip().lower()
        orderdesc = _bool_param(params, "orderdesc") or False
        includelines = _bool_param(params, "includelines") or False
        ids = self._matching_ids(filters, order, orderdesc)
        if pageinate:
            page_size = _int_param(params, "page_size")
            page_no = _int_param(params, "page_no")
            if page_size is None:
                page_size = self.config.default_page_size
            if page_no is None:
                page_no = 1
            if page_size < 1:
                raise _BadParam("page_size", "page_size must be at least 1.")
            if page_no < 1:
                raise _BadParam("page_no", "page_no must be at least 1.")
            asked = page_size
            page_size = min(page_size, self.config.max_page_size)
            rows, record_count, blank = self._disturbed(ids, page_no, page_size)
            start = (page_no - 1) * page_size
            chosen = [] if blank else rows[start : start + page_size]
            envelope: dict[str, Any] = {"page_no": page_no}
            if self.config.page_size_echo == "served":
                envelope["page_size"] = page_size
            elif self.config.page_size_echo == "requested":
                envelope["page_size"] = asked
            envelope["record_count"] = record_count
            envelope["invoices"] = [self._row(i, includelines) for i in chosen]
            with self.stats.lock:
                self.stats.listing_pages += 1
            self._shift_after(ids, page_no, page_size)
        else:
            count = _int_param(params, "count")
            if count is None or count < 0:
                count = self.config.unpaginated_count
            # Like Halo: an unpaginated list silently stops at `count` rows.
            envelope = {
                "record_count": len(ids),
                "invoices": [self._row(i, includelines) for i in ids[:count]],
            }
        return _json(200, envelope)

    def _row(self, invoice_id: int, includelines: bool) -> dict[str, Any]:
        invoice = self.invoices[invoice_id]
        if includelines:
            return invoice
        return {k: v for k, v in invoice.items() if k != "lines"}

    def _matching_ids(self, filters: tuple[Any, ...], order: str, orderdesc: bool) -> list[int]:
        key = (filters, order, orderdesc)
        cacheable = order not in _UNINDEXED_FIELDS
        if cacheable and key in self._list_cache:
            return self._list_cache[key]
        statuses, inc_inv, inc_cred, posted_only, not_posted_only, client_id, no_void, search = (
            filters
        )
        # Neither flag sent = both kinds; one sent = that kind as asked, the other as default.
        want_invoices = True if inc_inv is None else inc_inv
        want_credits = True if inc_cred is None else inc_cred
        result = []
        for invoice_id, inv in self.invoices.items():
            if statuses is not None and inv.get("paymentstatus") not in statuses:
                continue
            is_credit = _is_credit(inv)
            if (is_credit and not want_credits) or (not is_credit and not want_invoices):
                continue
            if posted_only and not inv.get("posted"):
                continue
            if not_posted_only and inv.get("posted"):
                continue
            if client_id is not None and inv.get("client_id") != client_id:
                continue
            if no_void and inv.get("voided"):
                continue
            if search and not any(
                search in str(inv.get(f) or "").lower()
                for f in ("invoicenumber", "thirdpartyinvoicenumber", "client_name")
            ):
                continue
            result.append(invoice_id)
        result.sort()
        if order in ("", "id"):
            # The database id (the storage key), whatever an odd record's "id" field holds.
            if orderdesc:
                result.reverse()
        elif self.invoices and order in next(iter(self.invoices.values())):
            result.sort(key=lambda i: _sort_key(self.invoices[i].get(order)), reverse=orderdesc)
        if cacheable:
            if len(self._list_cache) > 32:
                self._list_cache.clear()
            self._list_cache[key] = result
        return result

    def _get_one(self, tail: str) -> _Response:
        try:
            invoice_id = int(tail)
        except ValueError:
            return _text(404, "Not Found")
        invoice = self._stored(invoice_id)
        if invoice is None:
            return _text(404, f"Invoice {invoice_id} not found.")
        return _json(200, invoice)

    def _post(self, handler: _Handler, body: bytes) -> _Response:
        with self.stats.lock:
            self.stats.invoice_posts += 1
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "text/json") and not content_type.endswith(
            "+json"
        ):
            return _text(415, "Unsupported Media Type")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return _problem({"$": f"The JSON value could not be read: {exc}"})
        if not isinstance(data, list):
            return _problem({"$": "The request body must be a JSON array of invoice objects."})
        refused = [
            (index, item["id"])
            for index, item in enumerate(data)
            if isinstance(item, dict)
            and isinstance(item.get("id"), int)
            and not isinstance(item.get("id"), bool)
            and item["id"] <= 0
        ]
        if refused:
            # Ids <= 0 are recurring-invoice templates and system rows: the update is refused as
            # a whole (nothing in this POST is saved), and the attempt is recorded for tests.
            with self.stats.lock:
                for _, bad_id in refused:
                    self.stats.refused_ids[bad_id] += 1
            return _problem(
                {
                    f"[{index}].id": f"Invoice {bad_id} is not an invoice that can be updated "
                    "(recurring invoice templates and system records have ids of 0 or less)."
                    for index, bad_id in refused
                }
            )
        plans: list[tuple[int | None, dict[str, Any], bool]] = []
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                return _problem({f"[{index}]": "Each element must be an invoice object."})
            raw_id = item.get("id")
            if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, int)):
                return _problem({f"[{index}].id": "The id must be a whole number."})
            validate_only = item.get("_validateonly") is True
            if raw_id is not None and raw_id > 0:
                current = self._stored(raw_id)
                if current is None:
                    return _text(404, f"Invoice {raw_id} not found.")
                if self.config.forbid_editing_posted and current.get("posted"):
                    return _text(
                        400,
                        f"Invoice {raw_id} is posted and editing posted invoices is not allowed "
                        "(Configuration > Billing > Invoices).",
                    )
                base = current
                invoice_id: int | None = raw_id
            else:
                base = _new_invoice()
                invoice_id = None
            problem = _validate_fields(item, index)
            if problem:
                return _problem(problem)
            plans.append((invoice_id, _apply(base, item), validate_only))

        saved = []
        changed_index = False
        for (invoice_id, updated, validate_only), item in zip(plans, data, strict=True):
            if validate_only:
                with self.stats.lock:
                    self.stats.validate_only += 1
                saved.append(updated)
                continue
            if invoice_id is None:
                invoice_id = max(self.invoices, default=0) + 1
                updated["id"] = invoice_id
                with self.stats.lock:
                    self.stats.invoices_created += 1
                changed_index = True
            elif set(item) - _UNINDEXED_FIELDS - {"id"}:
                changed_index = True
            self.invoices[invoice_id] = updated
            with self.stats.lock:
                self.stats.invoices_written[invoice_id] += 1
            saved.append(updated)
        if changed_index:
            self._bump_version()
        return _json(200, saved)


def _path_kind(method: str, lower: str) -> str:
    if lower == "/api/authinfo":
        return AUTHINFO
    if lower == "/auth/token":
        return TOKEN
    if lower == "/api/agent/me" and method == "GET":
        return AGENT_ME
    if lower == "/api/invoice":
        return INVOICE_LIST if method == "GET" else INVOICE_POST if method == "POST" else OTHER
    if lower.startswith("/api/invoice/") and lower.count("/") == 3 and method == "GET":
        return INVOICE_GET
    return OTHER


def _is_credit(invoice: Mapping[str, Any]) -> bool:
    total = invoice.get("total")
    return isinstance(total, int | float) and total < 0


def _sort_key(value: Any) -> tuple[int, Any]:
    """A total order over any JSON value: numbers, then text, then anything else, then null."""
    if value is None:
        return (3, 0)
    if isinstance(value, bool | int | float) and value == value:
        return (0, float(value))
    if isinstance(value, str):
        return (1, value.lower())
    return (2, json.dumps(value, default=str))


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


def _bool_param(params: Mapping[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise _BadParam(name, f"The value '{value}' is not valid for {name}.")


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise _BadParam(name, f"The value '{value}' is not valid for {name}.") from None


def _ints_param(params: Mapping[str, str], name: str) -> frozenset[int] | None:
    value = params.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise _BadParam(name, f"The value '{value}' is not valid for {name}.") from None


def _agent_json(app: Application) -> dict[str, Any]:
    return {
        "id": app.agent_id,
        "name": app.agent_name,
        "email": f"api-agent-{app.agent_id}@sandbox.invalid",
        "isadmin": False,
        "isapiagent": True,
        "isdisabled": False,
        "initials": "".join(w[0] for w in app.agent_name.split()[:2]).upper(),
    }


def _new_invoice() -> dict[str, Any]:
    return {
        "id": 0,
        "invoicenumber": "",
        "thirdpartyinvoicenumber": None,
        "client_id": 0,
        "client_name": "",
        "invoice_date": None,
        "duedate": None,
        "posted": False,
        "voided": False,
        "total": 0.0,
        "amountpaid": 0.0,
        "amountdue": 0.0,
        "amount_remaining": 0.0,
        "paymentstatus": 0,
        "invoicetype": 0,
        "currency": "USD",
        "qboid": None,
        "xeroid": None,
        "pdf_attachment_id": None,
        "generic_online_invoice_payment_url": "",
        "xero_online_invoice_payment_url": "",
        "customfields": [],
        "lines": [],
    }


def _validate_fields(item: Mapping[str, Any], index: int) -> dict[str, str]:
    """Type errors in the sent fields, as ASP.NET would report them when binding the body."""
    errors: dict[str, str] = {}
    for name, value in item.items():
        where = f"[{index}].{name}"
        if name in _STRING_FIELDS and value is not None and not isinstance(value, str):
            errors[where] = f"The JSON value could not be converted to System.String ({name})."
        elif name in _BOOL_FIELDS and value is not None and not isinstance(value, bool):
            errors[where] = f"The JSON value could not be converted to System.Boolean ({name})."
        elif name in _NUMBER_FIELDS and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            errors[where] = f"The JSON value could not be converted to System.Double ({name})."
        elif (
            name in _INT_FIELDS
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int))
        ):
            errors[where] = f"The JSON value could not be converted to System.Int32 ({name})."
        elif name == "customfields":
            if not isinstance(value, list) or not all(
                isinstance(cf, dict) and ("name" in cf or "id" in cf) for cf in value
            ):
                errors[where] = "customfields must be a list of objects with a name or id."
        elif name == "lines" and (
            not isinstance(value, list) or not all(isinstance(line, dict) for line in value)
        ):
            errors[where] = "lines must be a list of line objects."
        elif name == "_validateonly" and not isinstance(value, bool):
            errors[where] = (
                "The JSON value could not be converted to System.Boolean (_validateonly)."
            )
    return errors


def _apply(base: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """A new invoice dict: `base` with the sent fields applied (nothing is changed in place, so a
    listing being serialised elsewhere never sees half an update)."""
    updated = dict(base)
    for name, value in item.items():
        if name.startswith("_") or name in _READ_ONLY_FIELDS or name not in base:
            continue  # Halo ignores what it does not know or computes itself
        if name == "customfields":
            fields = [dict(cf) for cf in base.get("customfields") or []]
            for sent in value:
                for cf in fields:
                    if ("id" in sent and cf.get("id") == sent["id"]) or (
                        "name" in sent and cf.get("name") == sent["name"]
                    ):
                        cf["value"] = sent.get("value")
                        break
                # A name the instance does not define is ignored, as Halo ignores it.
            updated["customfields"] = fields
        elif name == "lines":
            # Faithful hazard: lines sent back REPLACE the invoice's lines, and the totals follow.
            lines = [dict(line) for line in value]
            updated["lines"] = lines
            total = round(sum(float(line.get("net_amount") or 0) for line in lines), 2)
            updated["total"] = total
        else:
            updated[name] = value
    new_total, new_paid = updated.get("total"), updated.get("amountpaid")
    if _finite_number(new_total) and (new_paid is None or _finite_number(new_paid)):
        due = round(float(new_total) - float(new_paid or 0), 2)
        updated["amountdue"] = due
        updated["amount_remaining"] = due
    # else: an odd record's amounts are left as they are (Halo would not recompute them either)
    return updated


def _paid(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `invoice` paid in full (the stored dict is replaced, never changed in place, so
    a page being sent keeps what it was built from)."""
    paid = dict(invoice)
    total = invoice.get("total")
    if _finite_number(total):
        paid["amountpaid"] = total
    paid["amountdue"] = 0.0
    paid["amount_remaining"] = 0.0
    paid["paymentstatus"] = STATUS_PAID
    return paid


def _finite_number(value: Any) -> TypeGuard[float]:
    """A JSON number that is neither a boolean nor NaN/Infinity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _readable(invoice_id: int, invoice: Mapping[str, Any]) -> bool:
    """True when a stored record is a well-formed invoice: its id is this integer key, its amounts
    are finite numbers, `posted` and `total` are present, `customfields` is a list and the
    numbers it is linked by are text (or absent). The sandbox's own notion, for ground truth."""
    raw_id = invoice.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id != invoice_id:
        return False
    if not isinstance(invoice.get("posted"), bool) or not _finite_number(invoice.get("total")):
        return False
    for name in ("amountpaid", "amountdue", "amount_remaining"):
        value = invoice.get(name)
        if value is not None and not _finite_number(value):
            return False
    if not isinstance(invoice.get("customfields", []), list | type(None)):
        return False
    return all(
        invoice.get(name) is None or isinstance(invoice.get(name), str)
        for name in ("thirdpartyinvoicenumber", "invoicenumber")
    )


def _is_open(invoice_id: int, invoice: Mapping[str, Any]) -> bool:
    """The project's open invoice: id > 0, readable, posted, not voided, total > 0 and something
    due (amountdue, else amount_remaining, else total - amountpaid)."""
    if invoice_id <= 0 or not _readable(invoice_id, invoice):
        return False
    if invoice.get("posted") is not True or invoice.get("voided") is True:
        return False
    total = float(invoice["total"])
    if total <= 0:
        return False
    for name in ("amountdue", "amount_remaining"):
        if invoice.get(name) is not None:
            return float(invoice[name]) > 0
    return total - float(invoice.get("amountpaid") or 0) > 0


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its sandbox and can close its open connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on DNS; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the sandbox for the answer, writes it (HTTP/1.1, keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "HaloSandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this long
    server: _Server
    path_kind: str = OTHER
    trickle: float = 0.0  # seconds between body bytes for this answer (Fault.trickle)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines are not logged: the sandbox must stay quiet on the CLI's stdout/stderr.
        pass

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        method = self.command.upper()
        self.path_kind = OTHER
        self.trickle = 0.0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send(_text(411, "Length Required"), method)
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self._send(_text(400, "Bad Request"), method)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        try:
            response = sandbox._handle(self, method, self.path, body)
        except Exception:
            log.exception("sandbox failed to answer %s %s", method, self.path_kind)
            response = _text(500, "An error has occurred.")
        if response is None:
            self.close_connection = True
            with sandbox.stats.lock:
                sandbox.stats.by_kind[(method, self.path_kind, 0)] += 1
            return
        self._send(response, method)

    def _send(self, response: _Response, method: str) -> None:
        stats = self.server.sandbox.stats
        with stats.lock:
            stats.by_kind[(method, self.path_kind, response.status)] += 1
        # Status line, headers and body go out in one write: separate small writes would meet
        # Nagle's algorithm and delayed ACKs and cost ~40 ms per request on loopback.
        phrase = self.responses.get(response.status, ("",))[0]
        length = (
            "Transfer-Encoding: chunked"
            if response.endless
            else f"Content-Length: {len(response.body)}"
        )
        head = [
            f"{self.protocol_version} {response.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {response.content_type}",
            length,
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if response.endless or self.trickle > 0:
            self.close_connection = True  # the body is never (or only slowly) finished
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        body = response.body if method != "HEAD" else b""
        if response.endless and method != "HEAD":
            self._send_endless(data, response.body)
        elif self.trickle > 0 and body:
            self._send_trickled(data, body, self.trickle)
        else:
            self.wfile.write(data + body)

    def _send_trickled(self, head: bytes, body: bytes, interval: float) -> None:
        """Headers at once, then one byte every `interval` s, until done, hung up or stopping."""
        stopping = self.server.sandbox._stopping
        try:
            self.wfile.write(head)
            self.wfile.flush()
            for i in range(len(body)):
                if stopping.wait(interval):
                    return
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
        except OSError:  # the client hung up, as it should
            return

    def _send_endless(self, head: bytes, chunk: bytes) -> None:
        """Headers, an opening bracket, then `chunk` again and again, until hung up or stopping."""
        stopping = self.server.sandbox._stopping
        framed = f"{len(chunk):x}\r\n".encode("ascii") + chunk + b"\r\n"
        opening = b'{"invoices":['
        try:
            self.wfile.write(head + f"{len(opening):x}\r\n".encode("ascii") + opening + b"\r\n")
            while not stopping.is_set():
                self.wfile.write(framed)
        except OSError:  # the client hung up, as it should
            return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
