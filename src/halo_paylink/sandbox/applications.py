"""The API applications registered in a sandbox, the agents they log in as, the tokens issued to
them, and the check every API request passes: a live token (401 otherwise), then the scope its
route needs and the invoice access its agent's role allows (403 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from halo_paylink.sandbox.http import Response, json_response, text_response
from halo_paylink.sandbox.state import AGENT_ACCESS_LEVELS, KNOWN_SCOPES, Application, scope_allows
from halo_paylink.sandbox.tokens import TokenTable

#: For each scope a route can need: the agent invoice access levels allowed, and the verb of the
#: refusal ("agent ... may not view invoices").
_AGENT_ACCESS: dict[str, tuple[frozenset[str], str]] = {
    "read:invoices": (frozenset({"read", "edit"}), "view"),
    "edit:invoices": (frozenset({"edit"}), "modify"),
}

#: Agent 1 is Halo's built-in admin; applications' agents are numbered from here.
_FIRST_AGENT_ID = 2


def known_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """`scopes` as a set, when Halo knows every one (ValueError otherwise)."""
    scopes = frozenset(scopes)
    unknown = scopes - KNOWN_SCOPES
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    return scopes


def check_agent_access(access: str, what: str = "agent_invoice_access") -> str:
    """`access`, when it is one of `AGENT_ACCESS_LEVELS` (ValueError otherwise)."""
    if access not in AGENT_ACCESS_LEVELS:
        raise ValueError(f"{what} must be one of {AGENT_ACCESS_LEVELS}")
    return access


class Applications:
    """Applications by client id, and the tokens issued to them.

    Not thread-safe: used under the sandbox's state lock.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.tokens = TokenTable(clock)
        self._apps: dict[str, Application] = {}
        self._next_agent_id = _FIRST_AGENT_ID

    def register(
        self,
        client_id: str,
        client_secret: str,
        *,
        allowed_scopes: frozenset[str],
        agent_invoice_access: str,
        agent_name: str,
    ) -> None:
        """Register (or replace, keeping its agent id) an application."""
        existing = self._apps.get(client_id)
        agent_id = existing.agent_id if existing else self._next_agent_id
        if not existing:
            self._next_agent_id += 1
        self._apps[client_id] = Application(
            client_id=client_id,
            client_secret=client_secret,
            allowed_scopes=allowed_scopes,
            agent_invoice_access=agent_invoice_access,
            agent_id=agent_id,
            agent_name=agent_name,
        )

    def get(self, client_id: str) -> Application | None:
        return self._apps.get(client_id)

    def __getitem__(self, client_id: str) -> Application:
        return self._apps[client_id]

    def revoke(self, client_id: str) -> None:
        """Deactivate an application and every token issued to it."""
        self._apps[client_id].active = False
        self.tokens.revoke_client(client_id)

    def client_of(self, token: str) -> str | None:
        """The client id a live token was issued to."""
        record = self.tokens.lookup(token)
        return record.client_id if record is not None else None

    def authorise(
        self, token: str, scope: str | None, *, refusal: str = "403"
    ) -> Application | Response:
        """The application behind a bearer token, when the token may call a route that needs
        `scope` (None = any live token); else the 401 or 403 answer. A scope other than the
        invoice ones is refused as `refusal` says ("401": an empty 401, "403"); the agent
        rights it needs are the endpoint's to check."""
        record = self.tokens.lookup(token)
        app = self._apps.get(record.client_id) if record else None
        if record is None or app is None or not app.active or not record.scope_requested:
            # A token issued without `scope` is reported to get 401 on every call.
            return Response(401, b"", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if scope is None:
            return app
        if not scope_allows(record.scopes & app.allowed_scopes, scope):
            if scope not in _AGENT_ACCESS and refusal == "401":
                return Response(401, b"")
            return text_response(
                403, f"Forbidden: the API application's permissions do not include {scope}."
            )
        if scope not in _AGENT_ACCESS:
            return app
        levels, verb = _AGENT_ACCESS[scope]
        if app.agent_invoice_access not in levels:
            return text_response(
                403, f"Forbidden: agent '{app.agent_name}' may not {verb} invoices."
            )
        return app


def agent_answer(app: Application) -> Response:
    """`GET /api/Agent/me`: the agent the application logs in as."""
    return json_response(
        200,
        {
            "id": app.agent_id,
            "name": app.agent_name,
            "email": f"api-agent-{app.agent_id}@sandbox.invalid",
            "isadmin": False,
            "isapiagent": True,
            "isdisabled": False,
            "ac_emailtemplates": True,
            "initials": "".join(w[0] for w in app.agent_name.split()[:2]).upper(),
        },
    )
