"""The sandbox's configuration, API applications, rate windows, request statistics and the path
kinds those count requests under.

Plain data and small helpers shared by the sandbox's modules; nothing here touches the network.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field, replace

from halo_paylink.halo import ratelimit
from halo_paylink.halo.scopes import scope_allows as scope_allows  # Halo's model, enforced here

#: The fixed, public demo secret (printed by `halo-paylink sandbox`; never a real credential).
DEMO_CLIENT_SECRET = "demo-secret-not-for-production-0000"


@dataclass(frozen=True)
class DemoApplication:
    """A fixed demo API application with a known problem, to see a check fail from a shell."""

    client_id: str
    client_secret: str
    allowed_scopes: tuple[str, ...]
    agent_invoice_access: str  # "none" | "read" | "edit"
    problem: str  # what is wrong with it, in words


#: Registered in every sandbox beside the working demo application.
DEMO_PROBLEM_APPLICATIONS: tuple[DemoApplication, ...] = (
    DemoApplication(
        "demo-read-only",
        "demo-read-only-secret-0000",
        ("read:invoices",),
        "edit",
        "the application lacks edit:invoices",
    ),
    DemoApplication(
        "demo-agent-read-only",
        "demo-agent-read-only-secret-0000",
        ("read:invoices", "edit:invoices"),
        "read",
        "its agent may read but not modify invoices",
    ),
)

#: Scopes Halo knows (HaloAPI `HaloAuth.psm1`): `all`, `all:standard`, `admin`, read/edit per area.
_SCOPE_AREAS = (
    "tickets",
    "customers",
    "crm",
    "assets",
    "invoices",
    "items",
    "contracts",
    "quotes",
    "projects",
    "suppliers",
    "sales",
    "reports",
    "software",
    "kb",
    "calendar",
    "timesheets",
    "travel",
    "appointments",
)
KNOWN_SCOPES: frozenset[str] = frozenset(
    {"all", "all:standard", "admin"}
    | {f"read:{area}" for area in _SCOPE_AREAS}
    | {f"edit:{area}" for area in _SCOPE_AREAS}
)

AGENT_ACCESS_LEVELS = ("none", "read", "edit")


def parse_rate_limit(spec: str) -> tuple[int, float] | None:
    """Parse a `--rate-limit` value into (requests, window_seconds), or None for no limit.

    The grammar is the client's, `halo_paylink.halo.ratelimit.parse_rate_limit`: "300/300",
    "300/5m", "hosted" (300 per 5 minutes), "unlimited".

    Raises:
        ValueError: with a message saying what is wrong and what to type, for the CLI to show.
    """
    budget = ratelimit.parse_rate_limit(spec)
    return None if budget is None else (budget.requests, budget.window_seconds)


#: The meanings a `paymentstatus` code can have in the sandbox, as `StatusCodes` names them.
STATUS_MEANINGS = ("unpaid", "unsynced", "part", "paid")


@dataclass(frozen=True)
class StatusCodes:
    """The `paymentstatus` code the sandbox gives each meaning; four different whole numbers.

    On Halo only -1 (new or never synced) and 0 (unpaid) are known; the part-paid and paid codes
    are a model (U). Any other numbering can be configured, so a client that works here cannot
    rest on the defaults.

    Attributes:
        unpaid: nothing paid.
        unsynced: nothing paid, and never synced to the accounting tool (Halo's database default
            for a new invoice); the seed gives it to some unpaid invoices.
        part: something paid, something still due.
        paid: paid in full (also given to invoices with nothing to pay).
    """

    unpaid: int = 0
    unsynced: int = -1
    part: int = 1
    paid: int = 2

    def __post_init__(self) -> None:
        for name in STATUS_MEANINGS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"the {name} status code must be a whole number (got {value!r})")
        seen: dict[int, str] = {}
        for name in STATUS_MEANINGS:
            code = getattr(self, name)
            if code in seen:
                raise ValueError(
                    f"{seen[code]} and {name} cannot share the status code {code}: "
                    "each meaning needs its own code"
                )
            seen[code] = name

    def meaning(self, code: object) -> str | None:
        """The meaning `code` has here, or None for a code these do not use."""
        if type(code) is not int:
            return None
        for name in STATUS_MEANINGS:
            if getattr(self, name) == code:
                return name
        return None

    def spec(self) -> str:
        """As `parse_status_codes` reads them, e.g. "unpaid=0,unsynced=-1,part=1,paid=2"."""
        return ",".join(f"{name}={getattr(self, name)}" for name in STATUS_MEANINGS)


def parse_status_codes(spec: str, base: StatusCodes | None = None) -> StatusCodes:
    """Parse "MEANING=CODE,..." (e.g. "unpaid=3,paid=7"); meanings not named keep `base`'s code
    (by default the sandbox's defaults).

    Raises:
        ValueError: with a message saying what is wrong, for the CLI to show.
    """
    base = base or StatusCodes()
    names = ", ".join(STATUS_MEANINGS)
    chosen: dict[str, int] = {}
    parts = [part.strip() for part in spec.split(",")]
    if not any(parts):
        raise ValueError(f"give MEANING=CODE pairs, e.g. paid=7,unpaid=3 (meanings: {names})")
    for part in parts:
        if not part:
            continue
        name, equals, value = (piece.strip() for piece in part.partition("="))
        if not equals:
            raise ValueError(f"'{part}' is not MEANING=CODE, e.g. paid=7 (meanings: {names})")
        if name.lower() not in STATUS_MEANINGS:
            raise ValueError(f"'{name}' is not a payment status meaning (meanings: {names})")
        if name.lower() in chosen:
            raise ValueError(f"'{name}' is given twice")
        try:
            chosen[name.lower()] = int(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a whole number (in '{part}')") from None
    return replace(base, **chosen)


#: The invoice mixes a sandbox can be seeded with (see `seed.seed_invoices`).
MIXES = ("default", "old")


@dataclass
class SandboxConfig:
    """How a sandbox behaves. Every field has a default that makes a working demo.

    Attributes:
        invoices: how many invoices to seed.
        seed: seed for the repeatable random data.
        tenant: the hosted tenant name (`?tenant=` must match when sent; authinfo reports it).
        client_id / client_secret: the demo API application (scopes read+edit invoices).
        rate_limit: (requests, window_seconds) per client in a rolling window; None = unlimited.
        send_retry_after: send `Retry-After` with 429s (whether Halo does is unverified).
        token_ttl: access token lifetime in seconds (`expires_in`).
        max_page_size: the largest `page_size` honoured; larger requests get this many rows.
        default_page_size: rows per page when paginating without `page_size`.
        unpaginated_count: rows returned without `pageinate=true` when `count` is not sent.
        port: TCP port on 127.0.0.1; 0 picks a free one.
        forbid_editing_posted: Halo's `donotalloweditingpostedinvoices` setting.
        authinfo: serve `GET /api/authinfo` (False = 404, to exercise clients' fallback).
        path_prefix: serve everything below this path (self-hosted Halo under a path), e.g. "/halo".
        hosted: behave like a Halo-hosted instance (authinfo reports `tenant_id`); False models a
            self-hosted instance, whose authinfo has no tenant.
        agent_name: the name of the demo application's agent (`GET /api/Agent/me`).
        opaque_tokens: issue opaque random access tokens (like OpenIddict's reference tokens)
            instead of JWT-shaped ones, so nothing about a token's shape gives it away.
        page_size_echo: what the envelope's `page_size` says: "served" (the rows per page the
            server really used), "requested" (echoes what was asked, even above the cap: Halo's
            echo is not evidence) or "none" (left out).
        templates: recurring-invoice templates to add (negative ids from -1; they look open).
        odd_records: add one record of each odd shape (see `seed.odd_records`).
        status_codes: the `paymentstatus` code of each meaning (see `StatusCodes`).
        mix: the invoices seeded: "default" (a busy tenant, most invoices open) or "old" (years
            of history: about 96 % long paid, and a few recurring-invoice templates besides
            `templates`; see `seed.seed_invoices`).
        honours_new_filters: False models an older build that does not know the newer listing
            filters and silently ignores them (more rows come back): `datesearch`,
            `start_date` and `end_date`, `paymentstatuses`, `postedonly`, `includeinvoices` and
            `includecredits`.
        stamp_changes: every change of an invoice (a save that changes it, a control such as
            `set_payment`, a listing fault's payment) moves its `last_modified`, as Halo's does.
            Off, every invoice keeps the stamps it was seeded or added with, and a saved
            invoice's answer differs only in the fields sent.
        push_on_save: with `stamp_changes`, a save that changes a synced invoice pushes it to the
            accounting tool, so its `last_synced` moves too (U on Halo for a link-only change;
            measurable on a tenant).
        update_answer: how a batch `POST /api/Invoice` is answered: "list" (every invoice as
            saved, in order) or "one" (one object, the last invoice as saved, as the 2026 API
            description gives the answer; the client must read back the rest).
        admin_refusal: how the email-template and custom-button routes refuse a token without
            `facts.TEMPLATE_SCOPE`: "401" (an empty 401, as live Halo has been seen to) or "403".
    """

    invoices: int = 120
    seed: int = 1
    tenant: str = "demo"
    client_id: str = "demo-client"
    client_secret: str = field(default=DEMO_CLIENT_SECRET, repr=False)
    rate_limit: tuple[int, float] | None = None
    send_retry_after: bool = True
    token_ttl: int = 3600
    max_page_size: int = 100
    default_page_size: int = 50
    unpaginated_count: int = 100
    port: int = 0
    forbid_editing_posted: bool = False
    authinfo: bool = True
    path_prefix: str = ""
    hosted: bool = True
    agent_name: str = "PayLink API"
    opaque_tokens: bool = False
    page_size_echo: str = "served"
    templates: int = 0
    odd_records: bool = False
    status_codes: StatusCodes = field(default_factory=StatusCodes)
    mix: str = "default"
    honours_new_filters: bool = True
    stamp_changes: bool = False
    push_on_save: bool = True
    update_answer: str = "list"
    admin_refusal: str = "401"


PAGE_SIZE_ECHOES = ("served", "requested", "none")
UPDATE_ANSWERS = ("list", "one")


@dataclass
class ListingFault:
    """One disturbance of the paginated invoice listing (`GET /api/Invoice?pageinate=true`).

    The listing is read in passes: a pass starts with a read of `page_no=1` (a reader starting
    over); the other pages of the pass, re-read or not, stay in it, in whatever order they come
    (a reader may ask for several pages at once).
    A fault *fires* in a pass when that pass reads page `after_page`; it disturbs at most `passes`
    passes (None = every pass, until cleared).

    Kinds:
        "shift" (`mode` "delete" or "pay"): right after page `after_page` is served, `rows`
            rows before the next page's offset leave the listing for good: "delete" deletes
            them (rows that are not open invoices first, so no invoice a backfill wants to write
            turns into a 404), "pay" pays them in full (open invoices first), so they drop out of
            a `paymentstatuses=` filtered listing but stay in an unfiltered one. Later rows move
            back by `rows`, and a reader that goes on to the next page misses them.
        "repeat": the pages after `after_page` in that pass start with the last `rows` rows of page
            `after_page` again (a page-boundary overlap, as when rows are inserted before the
            offset), and `record_count` counts the repeats, so it stays consistent with the rows.
            With `mode="displace"` the repeats take the places of the next `rows` rows instead
            (a swap across the boundary, as an unstable sort order makes): `record_count` stays
            the real count and the displaced rows are not served in that pass.
        "record_count": from page `after_page` on, `record_count` announces `record_count` rows
            (or the real count plus `delta`) instead of the real count: smaller or larger.
        "empty_page": the first read of page `after_page` in the pass answers an empty page (with
            the real `record_count`): a transient blank page before the end.

    Attributes:
        fired: passes disturbed so far.
    """

    kind: str
    after_page: int = 1
    rows: int = 1
    mode: str = "delete"
    record_count: int | None = None
    delta: int = 0
    passes: int | None = 1
    fired: int = 0
    _pass: int = field(default=-1, repr=False)  # the pass it fired in last

    def fires_in(self, pass_no: int) -> bool:
        """True when the fault is (or may become) active in pass `pass_no`."""
        if self._pass == pass_no:
            return True
        return self.passes is None or self.fired < self.passes

    def fire(self, pass_no: int) -> bool:
        """Mark the fault fired in `pass_no`; False when it had already fired in that pass or is
        spent."""
        if self._pass == pass_no or not self.fires_in(pass_no):
            return False
        self._pass = pass_no
        self.fired += 1
        return True

    def active_in(self, pass_no: int) -> bool:
        """True when the fault fired in pass `pass_no` (its effect lasts to the end of the pass)."""
        return self._pass == pass_no


@dataclass
class Application:
    """One API application registered in the sandbox, and the agent it logs in as."""

    client_id: str
    client_secret: str = field(repr=False)
    allowed_scopes: frozenset[str]
    agent_invoice_access: str  # "none" | "read" | "edit"
    agent_id: int
    agent_name: str
    active: bool = True


class RateWindow:
    """A rolling window per client: at most `limit` accepted requests in any `window` seconds.

    Rejected requests do not take a slot. Not thread-safe: used under the sandbox state lock.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def admit(self, key: str, now: float) -> float | None:
        """Record a request at `now`; None when admitted, else seconds until a slot frees."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            return None
        return hits[0] + self.window - now


# Path kinds: what `SandboxStats.by_kind` counts a request under.
AUTHINFO = "authinfo"
TOKEN = "token"
AGENT_ME = "agent_me"
INVOICE_LIST = "invoice_list"
INVOICE_GET = "invoice_get"
INVOICE_POST = "invoice_post"
PORTAL = "portal"
EMAIL_TEMPLATE_LIST = "email_template_list"
EMAIL_TEMPLATE_GET = "email_template_get"
EMAIL_TEMPLATE_POST = "email_template_post"
BUTTON_LIST = "custom_button_list"
BUTTON_GET = "custom_button_get"
BUTTON_POST = "custom_button_post"
BUTTON_DELETE = "custom_button_delete"
OTHER = "other"


@dataclass
class SandboxStats:
    """What the sandbox has served, for tests and benchmarks. Read under `lock` for consistency.

    Attributes:
        requests: every request received (including faulted and rate-limited ones).
        by_kind: (method, path kind, status) -> count; status 0 = connection dropped.
        invoice_posts: `POST /api/Invoice` requests that reached the invoice handler.
        invoices_written: invoice id -> times saved (validate-only does not count).
        refused_ids: ids <= 0 (templates, system rows) a POST tried to update -> times; each such
            POST was answered 400 and saved nothing.
        listing_pages: paginated invoice-list pages served (faulted ones included).
        invoices_created: invoices created by a POST object without `id`.
        validate_only: objects validated with `_validateonly: true`.
        rate_limited: 429 answers.
        tokens_issued: successful token requests.
    """

    requests: int = 0
    by_kind: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    invoice_posts: int = 0
    invoices_written: Counter[int] = field(default_factory=Counter)
    refused_ids: Counter[int] = field(default_factory=Counter)
    listing_pages: int = 0
    invoices_created: int = 0
    validate_only: int = 0
    rate_limited: int = 0
    tokens_issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(
        self, method: str | None = None, kind: str | None = None, status: int | None = None
    ) -> int:
        """How many requests matched all the given parts of (method, kind, status)."""
        with self.lock:
            return sum(
                n
                for (m, k, s), n in self.by_kind.items()
                if (method is None or m == method.upper())
                and (kind is None or k == kind)
                and (status is None or s == status)
            )

    def written_more_than_once(self) -> list[int]:
        """Invoice ids saved more than once (a backfill should write each invoice once)."""
        with self.lock:
            return sorted(i for i, n in self.invoices_written.items() if n > 1)
