"""The connection checks behind `halo-paylink check` and the wizard's "Test" button.

Each check is reported as a `CheckResult` row (pass/fail with the exact fix). The order matters:
a row whose prerequisite failed is SKIPPED, saying which row to fix first.

1. DISCOVERY - the pasted address leads to a Halo instance (authinfo or derived addresses).
2. TOKEN - the client id, secret and tenant get a token for `read:invoices edit:invoices`.
3. READ_INVOICES - `GET /Invoice` (one row) succeeds.
4. EDIT_INVOICES - a validate-only invoice update succeeds, changing no data.
5. AGENT_INVOICE_ACCESS - the agent the application logs in as may read and modify invoices.

Halo's effective right is the application's scope AND its agent's permission, and a 403 does not
say which one is missing. When the token endpoint refuses a scope, we ask for each scope alone to
name the missing one; when the token was granted but the API answers 403, the agent is at fault.

All functions run on the caller's event loop (the GUI's qasync loop or `asyncio.run` in the CLI).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from halo_paylink.errors import EXPLANATIONS, ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.discovery import discover
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.ratelimit import RateLimiter, parse_rate_limit
from halo_paylink.halo.scopes import scope_allows
from halo_paylink.halo.session import client_for


class CheckId(enum.Enum):
    DISCOVERY = "discovery"
    TOKEN = "token"
    READ_INVOICES = "read_invoices"
    EDIT_INVOICES = "edit_invoices"
    AGENT_INVOICE_ACCESS = "agent_invoice_access"


class CheckState(enum.Enum):
    PENDING = "pending"
    BUSY = "busy"
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"


TITLES: dict[CheckId, str] = {
    CheckId.DISCOVERY: "Find your Halo instance",
    CheckId.TOKEN: "Log in with the API application",
    CheckId.READ_INVOICES: "Permission read:invoices",
    CheckId.EDIT_INVOICES: "Permission edit:invoices",
    CheckId.AGENT_INVOICE_ACCESS: "The application's agent may read and modify invoices",
}


@dataclass(frozen=True)
class CheckResult:
    """One row of the checklist.

    Attributes:
        message: what happened, in plain words (no secrets).
        fix: what to do when it failed; empty when it passed.
        note: a caveat when the result rests on an unverified Halo fact.
        error: the named outcome when it failed.
    """

    id: CheckId
    state: CheckState
    message: str = ""
    fix: str = ""
    note: str = ""
    error: ErrorKind | None = None

    @property
    def title(self) -> str:
        return TITLES[self.id]

    @property
    def passed(self) -> bool:
        return self.state is CheckState.PASS


@dataclass(frozen=True)
class CheckReport:
    results: tuple[CheckResult, ...]
    endpoints: HaloEndpoints | None = None
    agent_name: str | None = None

    @property
    def all_passed(self) -> bool:
        return all(r.passed for r in self.results)

    def get(self, check_id: CheckId) -> CheckResult:
        return next(r for r in self.results if r.id is check_id)


#: Failures whose reading rests on an unverified Halo fact, and the note that says so.
_UNVERIFIED_READINGS: dict[ErrorKind, str] = {
    ErrorKind.INVALID_TENANT: facts.UNVERIFIED_NOTES["wrong_tenant"],
}


def _failed(check_id: CheckId, error: HaloError, *, fix: str | None = None) -> CheckResult:
    return CheckResult(
        check_id,
        CheckState.FAIL,
        message=error.summary,
        fix=fix or error.next_step,
        note=_UNVERIFIED_READINGS.get(error.kind, ""),
        error=error.kind,
    )


class _Checklist:
    """The rows so far, reporting every change to `on_update`."""

    def __init__(self, on_update: Callable[[CheckResult], None] | None) -> None:
        self._rows = {cid: CheckResult(cid, CheckState.PENDING) for cid in CheckId}
        self._on_update = on_update

    def set(self, result: CheckResult) -> None:
        self._rows[result.id] = result
        if self._on_update is not None:
            self._on_update(result)

    def busy(self, check_id: CheckId, message: str) -> None:
        self.set(CheckResult(check_id, CheckState.BUSY, message=message))

    def skip_rest(self, because: CheckId) -> None:
        for cid, row in self._rows.items():
            if row.state in (CheckState.PENDING, CheckState.BUSY):
                self.set(
                    CheckResult(
                        cid,
                        CheckState.SKIPPED,
                        message=f"Not checked: fix '{TITLES[because]}' first.",
                    )
                )

    def get(self, check_id: CheckId) -> CheckResult:
        return self._rows[check_id]

    def results(self) -> tuple[CheckResult, ...]:
        return tuple(self._rows[cid] for cid in CheckId)


async def _scopes_allowed(
    http: httpx.AsyncClient, client: HaloClient, credentials: Credentials
) -> dict[str, bool]:
    """Ask for each scope alone to learn which one the application may not use.

    Each ask is a client of its own for that one scope, sharing `client`'s limiter.
    """
    allowed: dict[str, bool] = {}
    for scope in facts.REQUESTED_SCOPES:
        one = client_for(
            http, client.endpoints, credentials, limiter=client.limiter, scopes=(scope,)
        )
        try:
            await one.token()
            allowed[scope] = True
        except HaloError as error:
            if error.kind is not ErrorKind.MISSING_SCOPE:
                raise
            allowed[scope] = False
    return allowed


async def run_checks(
    http: httpx.AsyncClient,
    where: str | HaloEndpoints,
    credentials: Credentials,
    *,
    tenant: str | None = None,
    rate_limit: str | None = None,
    limiter: RateLimiter | None = None,
    on_update: Callable[[CheckResult], None] | None = None,
) -> CheckReport:
    """Run every check in order against one Halo; never changes data.

    Args:
        http: the shared HTTP client.
        where: the address to discover (`halo-paylink check`), or the endpoints already found
            (the wizard's Connect page): those are checked as they are, nothing is discovered
            again, and the first row reports them.
        credentials: the API application's client id and secret.
        tenant: an explicit tenant for discovery (not used with endpoints).
        rate_limit, limiter: as for `halo.session.client_for`.
        on_update: called (on the calling loop) each time a row changes, for live display.

    Raises:
        ValueError: `rate_limit` cannot be read (before any request is sent).
    """
    if limiter is None and rate_limit:
        parse_rate_limit(rate_limit)
    rows = _Checklist(on_update)

    rows.busy(CheckId.DISCOVERY, "Looking for Halo at that address…")
    try:
        endpoints = (
            where
            if isinstance(where, HaloEndpoints)
            else await discover(http, where, tenant=tenant)
        )
    except HaloError as error:
        rows.set(_failed(CheckId.DISCOVERY, error))
        rows.skip_rest(CheckId.DISCOVERY)
        return CheckReport(rows.results())
    kind = "Halo (hosted by Halo)" if endpoints.hosted else "self-hosted Halo"
    tenant_text = f", tenant {endpoints.tenant}" if endpoints.tenant else ""
    rows.set(
        CheckResult(
            CheckId.DISCOVERY,
            CheckState.PASS,
            message=f"Found {kind} at {endpoints.web_url}{tenant_text}.",
        )
    )

    client = client_for(http, endpoints, credentials, rate_limit=rate_limit, limiter=limiter)
    rows.busy(CheckId.TOKEN, "Requesting a token…")
    try:
        token = await client.token()
    except HaloError as error:
        if error.kind is not ErrorKind.MISSING_SCOPE:
            rows.set(_failed(CheckId.TOKEN, error))
            rows.skip_rest(CheckId.TOKEN)
            return CheckReport(rows.results(), endpoints)
        return await _report_missing_scopes(http, client, credentials, rows, error)
    granted = set(token.scopes)
    rows.set(
        CheckResult(
            CheckId.TOKEN,
            CheckState.PASS,
            message="Got a token"
            + (
                f" for {' '.join(sorted(granted))}."
                if granted
                else " (Halo did not list its scopes)."
            ),
        )
    )

    agent_name = await _agent_name(client)
    forbidden: list[CheckId] = []
    first_invoice_id = await _check_read(client, rows, forbidden)
    await _check_edit(client, rows, forbidden, first_invoice_id)
    rows.set(_agent_row(rows, forbidden, granted, agent_name))
    return CheckReport(rows.results(), endpoints, agent_name)


#: Refusals that may be the agent's rights rather than the application's scopes.
_MAYBE_AGENT = (ErrorKind.FORBIDDEN, ErrorKind.AGENT_LACKS_INVOICE_PERMISSION)


async def _check_read(client: HaloClient, rows: _Checklist, forbidden: list[CheckId]) -> int | None:
    """READ_INVOICES: list one invoice; returns its id (None when there is none or it failed)."""
    rows.busy(CheckId.READ_INVOICES, "Reading one invoice…")
    first_invoice_id: int | None = None
    try:
        async for page in client.invoice_pages(page_size=1):
            rows.set(
                CheckResult(
                    CheckId.READ_INVOICES,
                    CheckState.PASS,
                    message=f"Halo lists {page.record_count} invoice(s).",
                )
            )
            if page.invoices:
                first_invoice_id = page.invoices[0].id
            break
        else:
            rows.set(
                CheckResult(CheckId.READ_INVOICES, CheckState.PASS, message="No invoices yet.")
            )
    except HaloError as error:
        rows.set(_failed(CheckId.READ_INVOICES, error, fix=_scope_fix("read:invoices", error)))
        if error.kind in _MAYBE_AGENT:
            forbidden.append(CheckId.READ_INVOICES)
    return first_invoice_id


async def _check_edit(
    client: HaloClient, rows: _Checklist, forbidden: list[CheckId], invoice_id: int | None
) -> None:
    """EDIT_INVOICES: a validate-only edit of `invoice_id`, which changes no data."""
    rows.busy(CheckId.EDIT_INVOICES, "Validating an invoice edit (nothing is saved)…")
    if invoice_id is None:
        rows.set(
            CheckResult(
                CheckId.EDIT_INVOICES,
                CheckState.SKIPPED
                if rows.get(CheckId.READ_INVOICES).state is CheckState.FAIL
                else CheckState.PASS,
                message="No invoice to validate an edit against; "
                "the permission will be confirmed by the first write.",
            )
        )
        return
    try:
        await client.validate_invoice_edit(invoice_id)
        rows.set(
            CheckResult(
                CheckId.EDIT_INVOICES,
                CheckState.PASS,
                message=f"Halo accepted a validate-only edit of invoice {invoice_id}.",
                note=facts.UNVERIFIED_NOTES["validate_only"],
            )
        )
    except HaloError as error:
        rows.set(_failed(CheckId.EDIT_INVOICES, error, fix=_scope_fix("edit:invoices", error)))
        if error.kind in _MAYBE_AGENT:
            forbidden.append(CheckId.EDIT_INVOICES)


def _scope_fix(scope: str, error: HaloError) -> str:
    if error.kind is ErrorKind.MISSING_SCOPE:
        return (
            f"In Halo, open the API application's Permissions tab, tick {scope} (or 'all'), "
            "and save."
        )
    return error.next_step


async def _agent_name(client: HaloClient) -> str | None:
    """Who the application logs in as; informational (the endpoint may need more scope)."""
    try:
        agent = await client.agent_me()
    except HaloError:
        return None
    return agent.name or None


def _agent_row(
    rows: _Checklist, forbidden: list[CheckId], granted: set[str], agent_name: str | None
) -> CheckResult:
    who = f"'{agent_name}'" if agent_name else "the application's agent"
    results = {r.id: r for r in rows.results()}
    if not forbidden:
        if all(results[c].passed for c in (CheckId.READ_INVOICES, CheckId.EDIT_INVOICES)):
            return CheckResult(
                CheckId.AGENT_INVOICE_ACCESS,
                CheckState.PASS,
                message=f"Halo let {who} read and validate an edit of invoices.",
            )
        return CheckResult(
            CheckId.AGENT_INVOICE_ACCESS,
            CheckState.SKIPPED,
            message="Not checked: fix the invoice permission rows first.",
        )
    needed = {"read:invoices"} | (
        {"edit:invoices"} if CheckId.EDIT_INVOICES in forbidden else set()
    )
    scopes_known = bool(granted)
    if scopes_known and not all(scope_allows(granted, scope) for scope in needed):
        return CheckResult(
            CheckId.AGENT_INVOICE_ACCESS,
            CheckState.SKIPPED,
            message="Not checked: the application itself lacks the permission (see above).",
        )
    explanation = EXPLANATIONS[ErrorKind.AGENT_LACKS_INVOICE_PERMISSION]
    return CheckResult(
        CheckId.AGENT_INVOICE_ACCESS,
        CheckState.FAIL,
        message=f"Halo refused {who} access to invoices although the application's token "
        "was granted the invoice permissions.",
        fix=explanation.next_step,
        note=""
        if scopes_known
        else "Halo did not list the token's scopes, so a missing "
        "application permission cannot be ruled out: check both.",
        error=ErrorKind.AGENT_LACKS_INVOICE_PERMISSION,
    )


async def _report_missing_scopes(
    http: httpx.AsyncClient,
    client: HaloClient,
    credentials: Credentials,
    rows: _Checklist,
    error: HaloError,
) -> CheckReport:
    """The token endpoint refused our scopes: name each missing one."""
    endpoints = client.endpoints
    try:
        allowed = await _scopes_allowed(http, client, credentials)
    except HaloError as other:
        rows.set(_failed(CheckId.TOKEN, other))
        rows.skip_rest(CheckId.TOKEN)
        return CheckReport(rows.results(), endpoints)
    missing = [s for s, ok in allowed.items() if not ok]
    rows.set(
        CheckResult(
            CheckId.TOKEN,
            CheckState.FAIL,
            message=f"Halo refused a token for {' '.join(facts.REQUESTED_SCOPES)}: the application "
            f"may not use {' and '.join(missing)}.",
            fix=error.next_step,
            error=ErrorKind.MISSING_SCOPE,
        )
    )
    for scope, check_id in (
        ("read:invoices", CheckId.READ_INVOICES),
        ("edit:invoices", CheckId.EDIT_INVOICES),
    ):
        if allowed.get(scope):
            rows.set(
                CheckResult(
                    check_id,
                    CheckState.PASS,
                    message=f"The application may use {scope} (Halo issued a token for it alone).",
                )
            )
        else:
            rows.set(
                CheckResult(
                    check_id,
                    CheckState.FAIL,
                    message=f"The API application is not allowed the {scope} permission.",
                    fix=_scope_fix(scope, error),
                    error=ErrorKind.MISSING_SCOPE,
                )
            )
    rows.skip_rest(CheckId.TOKEN)
    return CheckReport(rows.results(), endpoints)
