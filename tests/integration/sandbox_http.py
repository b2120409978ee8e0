"""A plain httpx client on the built-in sandbox, already holding an invoice-scoped token."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from halo_paylink.sandbox import Sandbox


@contextlib.contextmanager
def authorised_client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Yields a client on `sandbox.url` that sends a bearer token for the demo application."""
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        response = client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sandbox.config.client_id,
                "client_secret": sandbox.config.client_secret,
                "scope": "read:invoices edit:invoices",
            },
        )
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client
