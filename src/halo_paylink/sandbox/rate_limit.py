"""Halo's rate limit as the sandbox applies it: which requests count, whose window each one
counts in, and the 429 answer past the limit (the window itself is `state.RateWindow`).
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable

from halo_paylink.sandbox.http import Request, Response, text_response
from halo_paylink.sandbox.state import RateWindow


def is_limited(route_path: str) -> bool:
    """True for requests to Halo's own paths (the API and the auth server), which count."""
    return route_path.startswith("/api") or route_path.startswith("/auth")


def caller_key(request: Request, route_path: str, client_of: Callable[[str], str | None]) -> str:
    """Rate windows are per API application when it can be told (by the client id a token
    request sends, or by a live bearer token's), else per caller address."""
    if route_path == "/auth/token":
        form = urllib.parse.parse_qs(request.body.decode("utf-8", "replace"))
        if form.get("client_id"):
            return "app:" + form["client_id"][-1]
    token = request.bearer_token
    if token:
        client_id = client_of(token)
        if client_id is not None:
            return "app:" + client_id
    return "addr:" + request.client_host


def too_many_requests(window: RateWindow, wait: float, send_retry_after: bool) -> Response:
    """Halo's 429 text, with `Retry-After` (whole seconds, at least 1) when it is sent."""
    headers = {}
    if send_retry_after:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return text_response(
        429,
        f"Rate Limit Reached - {window.limit} Requests per rolling "
        f"{_window_words(window.window)} window",
        headers,
    )


def _window_words(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} minute"
    return f"{seconds:g} second"
