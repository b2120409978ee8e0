"""Read the claims of an access token for display only: never verified, never trusted.

Halo's access token may be a JWT whose payload names the granted `scope` and the `agent_id`. We
decode it without checking the signature (we are not its audience) and fail soft: an opaque or
encrypted token simply yields no claims.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWS-shaped token, or {} for anything else (opaque, JWE, garbage)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not parts[1]:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return {}
    return data if isinstance(data, dict) else {}


def scopes_from_claims(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The granted scopes named by `scope` / `scp` (a space-separated string or a list)."""
    for key in ("scope", "scp"):
        value = claims.get(key)
        if isinstance(value, str):
            return tuple(s for s in value.split() if s)
        if isinstance(value, list | tuple):
            return tuple(str(s) for s in value if str(s).strip())
    return ()
