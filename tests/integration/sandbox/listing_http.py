"""Reading the sandbox's invoice list over HTTP the plain way, for the tests in this folder."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

#: The filters a backfill's listing sends: posted invoices, no credits.
SAFE = {"postedonly": "true", "includeinvoices": "true", "includecredits": "false"}


def listing(http: httpx.Client, **params: Any) -> httpx.Response:
    return http.get("/api/Invoice", params={"pageinate": "true", **params})


def count(http: httpx.Client, **params: Any) -> int:
    """`record_count` of the list under `params`."""
    response = listing(http, page_size=1, page_no=1, **params)
    assert response.status_code == 200, response.text
    return int(response.json()["record_count"])


def rows(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Every row of the list under `params`, page by page (100 a page, in id order)."""
    found: list[dict[str, Any]] = []
    page_no = 1
    while True:
        response = listing(http, page_size=100, page_no=page_no, **params)
        assert response.status_code == 200, response.text
        page = response.json()["invoices"]
        found.extend(page)
        if len(page) < 100:
            return found
        page_no += 1


@contextlib.contextmanager
def signed_in(url: str, client_id: str, client_secret: str) -> Iterator[httpx.Client]:
    """A client on the Halo at `url` holding an invoice-scoped token of that application."""
    with httpx.Client(base_url=url, timeout=10) as client:
        response = client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": "read:invoices edit:invoices",
            },
        )
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client
