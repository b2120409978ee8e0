"""The auth endpoints as Halo's auth server (OpenIddict) answers them: `GET /api/authinfo` (where
to get a token) and `POST /auth/token` (the client-credentials grant), with OAuth error answers.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass

from halo_paylink.sandbox.applications import Applications
from halo_paylink.sandbox.http import Response, basic_credentials, json_response, text_response
from halo_paylink.sandbox.routes import Call
from halo_paylink.sandbox.state import KNOWN_SCOPES, SandboxConfig, SandboxStats


def authinfo_answer(config: SandboxConfig, auth_url: str) -> Response:
    """Where to get a token (and, when hosted, the tenant); 404 when authinfo is switched off."""
    if not config.authinfo:
        return text_response(404, "Not Found")
    info = {"auth_url": auth_url}
    if config.hosted:
        info["tenant_id"] = config.tenant
    return json_response(200, info)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def _invalid_request(description: str) -> Response:
    return _oauth_error(400, "invalid_request", description)


@dataclass(frozen=True)
class _Grant:
    """A well-formed client-credentials request."""

    client_id: str
    secret: str | None
    scopes: tuple[str, ...]  # as asked, duplicates dropped


class TokenEndpoint:
    """`POST /auth/token`: checks a client-credentials request and issues an access token."""

    def __init__(
        self,
        config: SandboxConfig,
        applications: Applications,
        state: threading.RLock,
        stats: SandboxStats,
    ) -> None:
        self._config = config
        self._applications = applications
        self._state = state
        self._stats = stats

    def answer(self, call: Call, issuer: str) -> Response:
        grant = self._read(call)
        if isinstance(grant, Response):
            return grant
        with self._state:
            issued = self._issue(grant, issuer)
        if isinstance(issued, Response):
            return issued
        with self._stats.lock:
            self._stats.tokens_issued += 1
        answer: dict[str, object] = {
            "access_token": issued,
            "token_type": "Bearer",
            "expires_in": self._config.token_ttl,
        }
        if grant.scopes:
            answer["scope"] = " ".join(grant.scopes)
        return json_response(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _read(self, call: Call) -> _Grant | Response:
        """The grant asked for; or the answer refusing a request that is not one."""
        tenant = call.params.get("tenant")
        if tenant is not None and tenant.lower() != self._config.tenant.lower():
            # Halo has been seen to answer a wrong tenant with a bare server error.
            return text_response(500, "An error has occurred.")
        if call.request.media_type != "application/x-www-form-urlencoded":
            return _invalid_request("The specified 'Content-Type' header is invalid.")
        body = call.request.body
        try:
            form_lists = urllib.parse.parse_qs(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)
            )
        except (UnicodeDecodeError, ValueError):
            return _invalid_request("The request body is malformed.")
        form = {k: v[-1] for k, v in form_lists.items()}
        return _grant(form, basic_credentials(call.request.headers.get("Authorization")))

    def _issue(self, grant: _Grant, issuer: str) -> str | Response:
        """A new access token for the grant; or the answer refusing its client or scopes."""
        app = self._applications.get(grant.client_id)
        if app is None or not app.active:
            return _oauth_error(401, "invalid_client", "The specified 'client_id' is invalid.")
        if grant.secret != app.client_secret:
            return _oauth_error(
                401, "invalid_client", "The specified client credentials are invalid."
            )
        if any(s not in KNOWN_SCOPES for s in grant.scopes):
            return _oauth_error(400, "invalid_scope", "The specified 'scope' is invalid.")
        if any(s not in app.allowed_scopes for s in grant.scopes):
            return _invalid_request(
                "This client application is not allowed to use the specified scope."
            )
        return self._applications.tokens.issue(
            issuer=issuer,
            client_id=app.client_id,
            scopes=grant.scopes,
            agent_id=app.agent_id,
            ttl=self._config.token_ttl,
            scope_requested=bool(grant.scopes),
            opaque=self._config.opaque_tokens,
        )


def _grant(form: dict[str, str], basic: tuple[str, str] | None) -> _Grant | Response:
    """The grant in a token request's form (HTTP Basic credentials win over form ones)."""
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if basic is not None:
        client_id, secret = basic
    grant_type = form.get("grant_type")
    if not grant_type:
        return _invalid_request("The mandatory 'grant_type' parameter is missing.")
    if grant_type != "client_credentials":
        return _oauth_error(
            400,
            "unsupported_grant_type",
            "The specified 'grant_type' parameter is not supported.",
        )
    if not client_id:
        return _invalid_request("The mandatory 'client_id' parameter is missing.")
    scopes = tuple(dict.fromkeys((form.get("scope") or "").split()))
    return _Grant(client_id, secret, scopes)
