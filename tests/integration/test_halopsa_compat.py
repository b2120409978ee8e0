"""The third-party `halopsa` client (PyPI, import name `HaloPSA`) talks to the sandbox unchanged.

`halopsa` hardwires `https://{tenant}.halopsa.com/auth/token` and `/api`. The only change made
here is the base URL: its `requests.Session` is swapped for one that rewrites that origin to the
sandbox's loopback address and otherwise sends each request exactly as built (method, headers,
form or JSON body, query). If the sandbox answers this independent client correctly, it speaks
Halo's dialect rather than only our own client's.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from halo_paylink.sandbox import Sandbox, SandboxConfig

# The package exports the class `Halo` under the same name as its module; take the module.
halo_module = importlib.import_module("HaloPSA.Halo")

TENANT = "demo"
HOSTED_ORIGIN = f"https://{TENANT}.halopsa.com"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=150, tenant=TENANT)) as sb:
        sent: list[tuple[str, str]] = []

        class LoopbackSession(requests.Session):
            """A requests.Session that sends Halo-hosted URLs to the sandbox instead."""

            def request(
                self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
            ) -> Any:
                url = str(url)
                assert url.startswith(HOSTED_ORIGIN), url  # never leave loopback
                url = sb.url + url[len(HOSTED_ORIGIN) :]
                sent.append((str(method).upper(), url))
                return super().request(method, url, *args, **kwargs)

        monkeypatch.setattr(halo_module.requests, "Session", LoopbackSession)
        sb.halopsa_requests = sent  # type: ignore[attr-defined]
        yield sb


def test_token_and_invoice_listing_with_scope_all(sandbox: Sandbox) -> None:
    # halopsa asks for scope "all" by default; give an application that may use it.
    sandbox.add_application("halopsa-client", "halopsa-secret", allowed_scopes=("all",))
    halo = halo_module.Halo(TENANT, "halopsa-client", "halopsa-secret")
    assert sandbox.stats.tokens_issued == 1
    first = halo.Invoices.search(pageinate=True, page_size=50, page_no=1)
    assert first["page_no"] == 1 and first["page_size"] == 50
    assert first["record_count"] == 150
    ids = [row["id"] for row in first["invoices"]]
    second = halo.Invoices.search(pageinate=True, page_size=50, page_no=2)
    ids += [row["id"] for row in second["invoices"]]
    assert ids == sorted(sandbox.invoices)[:100]
    unpaginated = halo.Invoices.search()  # count=100 by default: silently truncated
    assert len(unpaginated["invoices"]) == 100
    methods = [m for m, _ in sandbox.halopsa_requests]  # type: ignore[attr-defined]
    assert methods == ["POST", "GET", "GET", "GET"]


def test_demo_credentials_read_and_update(sandbox: Sandbox) -> None:
    halo = halo_module.Halo(
        TENANT,
        sandbox.config.client_id,
        sandbox.config.client_secret,
        scope="read:invoices edit:invoices",
    )
    me = halo.Agents.get(id="me")
    assert me["name"] == sandbox.config.agent_name
    invoice = halo.Invoices.get(id=1003)
    assert invoice["id"] == 1003 and invoice["lines"]
    link = "https://www.benjipays.com/portal/demo-msp/pay/?InvoiceNumber=42"
    saved = halo.Invoices.update(id=1003, generic_online_invoice_payment_url=link)
    assert saved[0]["generic_online_invoice_payment_url"] == link
    assert halo.Invoices.get(id=1003)["generic_online_invoice_payment_url"] == link
    assert sandbox.stats.invoices_written == {1003: 1}
    assert sandbox.stats.invoices_created == 0


def test_halopsa_sees_halo_style_errors(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="client credentials are invalid"):
        halo_module.Halo(TENANT, sandbox.config.client_id, "wrong", scope="read:invoices")
    with pytest.raises(ValueError, match="not allowed to use the specified scope"):
        halo_module.Halo(TENANT, sandbox.config.client_id, sandbox.config.client_secret)
    read_only = halo_module.Halo(
        TENANT, sandbox.config.client_id, sandbox.config.client_secret, scope="read:invoices"
    )
    with pytest.raises(PermissionError):
        read_only.Invoices.update(id=1001, generic_online_invoice_payment_url="https://x")
    assert sandbox.stats.invoices_written == {}
