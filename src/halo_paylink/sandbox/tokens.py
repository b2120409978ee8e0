"""Access tokens the sandbox issues: JWT-shaped strings, remembered server-side.

Halo's auth server (OpenIddict) issues tokens whose claims carry `scope` and `agent_id`; clients may
decode them for display but must not trust them. The sandbox mimics the shape (three base64url
parts) with an arbitrary signature, and decides validity only from its own table, so a client
that edits a token's claims gains nothing.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class IssuedToken:
    """What the sandbox remembers about one access token (never the token text in reprs)."""

    client_id: str
    scopes: frozenset[str]
    agent_id: int
    expires_at: float  # on the sandbox's monotonic clock
    scope_requested: bool  # False = issued without a `scope` parameter (401 on every API call)
    revoked: bool = False


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, object]) -> str:
    """A JWT-shaped string: real header and claims, random (meaningless) signature."""
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "sandbox"}
    parts = [
        _b64url(json.dumps(header, separators=(",", ":")).encode()),
        _b64url(json.dumps(claims, separators=(",", ":")).encode()),
        _b64url(secrets.token_bytes(64)),
    ]
    return ".".join(parts)


class TokenTable:
    """Issued tokens by their text. Not thread-safe: the sandbox calls it under its state lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}

    def issue(
        self,
        *,
        issuer: str,
        client_id: str,
        scopes: tuple[str, ...],
        agent_id: int,
        ttl: int,
        scope_requested: bool,
        opaque: bool = False,
    ) -> str:
        """A new access token: JWT-shaped, or (`opaque`) a random string with no structure."""
        now_wall = int(time.time())
        claims: dict[str, object] = {
            "iss": issuer,
            "sub": client_id,
            "client_id": client_id,
            "agent_id": str(agent_id),
            "iat": now_wall,
            "nbf": now_wall,
            "exp": now_wall + ttl,
            "jti": secrets.token_hex(8),
        }
        if scopes:
            claims["scope"] = " ".join(scopes)
        token = secrets.token_urlsafe(48) if opaque else make_jwt(claims)
        self._tokens[token] = IssuedToken(
            client_id=client_id,
            scopes=frozenset(scopes),
            agent_id=agent_id,
            expires_at=self._clock() + ttl,
            scope_requested=scope_requested,
        )
        return token

    def lookup(self, token: str) -> IssuedToken | None:
        """The live record for a token, or None when unknown, expired or revoked."""
        record = self._tokens.get(token)
        if record is None or record.revoked or self._clock() >= record.expires_at:
            return None
        return record

    def expire_all(self) -> None:
        now = self._clock()
        for record in self._tokens.values():
            record.expires_at = min(record.expires_at, now - 1)

    def revoke_client(self, client_id: str) -> None:
        for record in self._tokens.values():
            if record.client_id == client_id:
                record.revoked = True

    def __len__(self) -> int:
        return len(self._tokens)
