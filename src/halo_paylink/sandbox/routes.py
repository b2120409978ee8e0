"""Which endpoint answers which request: the request target read below the path prefix, and the
route table from method and path to the endpoint and what its caller must hold.

Paths are matched lower-cased and without trailing slashes; `{id}` stands for one path segment.
A path of the table asked with another method is an unknown path (404, path kind "other"),
except for the two auth endpoints, which answer 405 and count it under their own kind.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from halo_paylink.halo import facts
from halo_paylink.sandbox.http import Request
from halo_paylink.sandbox.state import (
    AGENT_ME,
    AUTHINFO,
    BUTTON_DELETE,
    BUTTON_GET,
    BUTTON_LIST,
    BUTTON_POST,
    EMAIL_TEMPLATE_GET,
    EMAIL_TEMPLATE_LIST,
    EMAIL_TEMPLATE_POST,
    INVOICE_GET,
    INVOICE_LIST,
    INVOICE_POST,
    OTHER,
    PORTAL,
    TOKEN,
)

#: Stands for one path segment in a route's path; the endpoint gets what it matched.
SEGMENT = "{id}"


@dataclass(frozen=True)
class Route:
    """One endpoint: the method and path it answers, and what the caller must hold.

    Attributes:
        kind: the path kind it is counted under, which also names the endpoint that answers.
        signed_in: the caller must send a valid access token (401 otherwise).
        scope: the scope that token must grant, and the invoice access its agent must have
            (403 otherwise); None = any valid token will do.
        refuses_other_methods: another method on this path is answered 405 instead of 404.
    """

    method: str
    path: str
    kind: str
    signed_in: bool = True
    scope: str | None = None
    refuses_other_methods: bool = False

    def captures(self, path: str) -> tuple[str, ...] | None:
        """The segments matched by `{id}` when `path` (lower-cased) is this route's, else None."""
        wanted = self.path.split("/")
        given = path.split("/")
        if len(wanted) != len(given):
            return None
        captured = []
        for pattern, segment in zip(wanted, given, strict=True):
            if pattern == SEGMENT:
                captured.append(segment)
            elif pattern != segment:
                return None
        return tuple(captured)


#: Every endpoint the sandbox serves below its path prefix.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/authinfo", AUTHINFO, signed_in=False, refuses_other_methods=True),
    Route("POST", "/auth/token", TOKEN, signed_in=False, refuses_other_methods=True),
    Route("GET", "/api/agent/me", AGENT_ME),
    Route("GET", "/api/invoice", INVOICE_LIST, scope="read:invoices"),
    Route("POST", "/api/invoice", INVOICE_POST, scope="edit:invoices"),
    Route("GET", f"/api/invoice/{SEGMENT}", INVOICE_GET, scope="read:invoices"),
    Route("GET", f"/portal/invoice/{SEGMENT}", PORTAL, signed_in=False),
    Route("GET", "/api/emailtemplate", EMAIL_TEMPLATE_LIST, scope=facts.TEMPLATE_SCOPE),
    Route("POST", "/api/emailtemplate", EMAIL_TEMPLATE_POST, scope=facts.TEMPLATE_SCOPE),
    Route("GET", f"/api/emailtemplate/{SEGMENT}", EMAIL_TEMPLATE_GET, scope=facts.TEMPLATE_SCOPE),
    Route("GET", "/api/custombutton", BUTTON_LIST, scope=facts.TEMPLATE_SCOPE),
    Route("POST", "/api/custombutton", BUTTON_POST, scope=facts.TEMPLATE_SCOPE),
    Route("GET", f"/api/custombutton/{SEGMENT}", BUTTON_GET, scope=facts.TEMPLATE_SCOPE),
    Route("DELETE", f"/api/custombutton/{SEGMENT}", BUTTON_DELETE, scope=facts.TEMPLATE_SCOPE),
)


@dataclass(frozen=True)
class Target:
    """A request target read below the path prefix.

    Attributes:
        path: the percent-decoded path below the prefix, in the case it was sent ("/" at least).
        params: the query parameters by lower-cased name (the last value of a repeated one).
    """

    path: str
    params: dict[str, str]

    @property
    def route_path(self) -> str:
        """The path as routes match it: lower-cased, without trailing slashes."""
        return self.path.lower().rstrip("/") or "/"


def read_target(target: str, prefix: str) -> Target | None:
    """The path and query of a request target; None when its path is not below `prefix`
    (matched case-insensitively; "" = no prefix)."""
    split = urllib.parse.urlsplit(target)
    path = urllib.parse.unquote(split.path)
    if prefix:
        if not path.lower().startswith(prefix.lower()):
            return None
        path = path[len(prefix) :] or "/"
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    return Target(path, {name.lower(): values[-1] for name, values in query.items()})


@dataclass(frozen=True)
class Resolved:
    """What a method and path resolve to.

    Attributes:
        kind: the path kind the request is counted under.
        route: the endpoint that answers; None = none does (404, or 405 when
            `method_not_allowed`).
        args: the path segments the route captured.
    """

    kind: str
    route: Route | None = None
    args: tuple[str, ...] = ()
    method_not_allowed: bool = False


def resolve(method: str, route_path: str) -> Resolved:
    """The route for `method` (upper case) on `route_path` (see `Target.route_path`)."""
    refusing: Route | None = None
    for route in ROUTES:
        args = route.captures(route_path)
        if args is None:
            continue
        if route.method == method:
            return Resolved(route.kind, route, args)
        if route.refuses_other_methods:
            refusing = route
    if refusing is not None:
        return Resolved(refusing.kind, method_not_allowed=True)
    return Resolved(OTHER)


@dataclass(frozen=True)
class Call:
    """A routed request, as an endpoint gets it: the request, its query parameters and the path
    segments its route captured."""

    request: Request
    params: Mapping[str, str]
    args: tuple[str, ...] = ()
