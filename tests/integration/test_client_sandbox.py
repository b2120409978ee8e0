"""The Halo client against the real loopback sandbox over HTTP (no mocks).

The sandbox and the client share one fake clock: when the client "sleeps" (rate-limit hold-offs,
backoff) the sandbox's rolling window and token expiry move with it, so nothing really waits.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts, session
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.discovery import discover
from halo_paylink.halo.http import make_http_client
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.sandbox.server import Sandbox, SandboxConfig

LINK = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber=INV-1"


class SharedClock:
    """Monotonic time for both sides; only moves when the client sleeps on it."""

    def __init__(self) -> None:
        self.now = 10_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


def start(config: SandboxConfig, clock: SharedClock) -> Sandbox:
    sandbox = Sandbox(config, clock=clock)
    sandbox.start()
    return sandbox


@pytest.fixture
def sandbox(clock: SharedClock) -> Iterator[Sandbox]:
    box = start(SandboxConfig(), clock)
    yield box
    box.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(timeout=10) as client:
        yield client


def first_id(box: Sandbox) -> int:
    with box.lock:
        return min(box.invoices)


def creds(box: Sandbox) -> Credentials:
    return Credentials(box.config.client_id, box.config.client_secret)


async def client_for(
    box: Sandbox,
    http: httpx.AsyncClient,
    clock: SharedClock,
    *,
    credentials: Credentials | None = None,
    max_retries: int = 5,
    scopes: tuple[str, ...] = facts.REQUESTED_SCOPES,
    tenant: str | None = None,
) -> HaloClient:
    return await session.discover_client(
        http,
        box.url,
        credentials or creds(box),
        tenant=tenant,
        rate_limit="unlimited",
        clock=clock,
        sleep=clock.sleep,
        max_retries=max_retries,
        scopes=scopes,
        rand=lambda: 0.0,
    )


# --- discovery and token -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_discover_the_sandbox(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    endpoints = await discover(http, f"  {sandbox.url}/api/  ")
    assert endpoints.from_authinfo is True
    assert endpoints.auth_url == sandbox.auth_url
    assert endpoints.resource_url == sandbox.resource_url
    assert endpoints.tenant == sandbox.config.tenant


@pytest.mark.anyio
async def test_discover_under_a_path_without_authinfo(
    clock: SharedClock, http: httpx.AsyncClient
) -> None:
    box = start(SandboxConfig(path_prefix="/halo", authinfo=False, invoices=3), clock)
    try:
        endpoints = await discover(http, box.url + "/auth")
        assert endpoints.from_authinfo is False
        assert endpoints.web_url == box.url
        assert endpoints.web_url.endswith("/halo")
        client = session.client_for(http, endpoints, creds(box), clock=clock, sleep=clock.sleep)
        pages = [p async for p in client.invoice_pages()]
        assert sum(len(p.invoices) for p in pages) == 3
    finally:
        box.stop()


@pytest.mark.anyio
async def test_token_is_fetched_once_and_cached(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    first = await client.token()
    second = await client.token()
    assert first is second
    assert set(first.scopes) == set(facts.REQUESTED_SCOPES)
    assert sandbox.stats.tokens_issued == 1
    agent = await client.agent_me()
    assert agent.name == sandbox.config.agent_name


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("client_id", "secret", "tenant", "kind"),
    [
        ("nobody", None, None, ErrorKind.INVALID_CLIENT_ID),
        (None, "wrong-secret", None, ErrorKind.INVALID_SECRET),
        (None, None, "not-the-tenant", ErrorKind.INVALID_TENANT),
    ],
)
async def test_token_failures(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    clock: SharedClock,
    client_id: str | None,
    secret: str | None,
    tenant: str | None,
    kind: ErrorKind,
) -> None:
    credentials = Credentials(
        client_id or sandbox.config.client_id, secret or sandbox.config.client_secret
    )
    client = await client_for(sandbox, http, clock, credentials=credentials, tenant=tenant)
    with pytest.raises(HaloError) as info:
        await client.token()
    assert info.value.kind is kind
    assert sandbox.config.client_secret not in str(info.value) + info.value.detail


@pytest.mark.anyio
async def test_scope_the_application_lacks_is_refused_at_the_token_endpoint(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    sandbox.add_application("reader", "reader-secret-1", allowed_scopes=("read:invoices",))
    client = await client_for(
        sandbox, http, clock, credentials=Credentials("reader", "reader-secret-1")
    )
    with pytest.raises(HaloError) as info:
        await client.token()
    assert info.value.kind is ErrorKind.MISSING_SCOPE


@pytest.mark.anyio
async def test_403_when_the_token_lacks_edit_scope(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    sandbox.add_application("reader", "reader-secret-1", allowed_scopes=("read:invoices",))
    client = await client_for(
        sandbox,
        http,
        clock,
        credentials=Credentials("reader", "reader-secret-1"),
        scopes=("read:invoices",),
    )
    page = await anext(aiter(client.invoice_pages(page_size=1)))
    with pytest.raises(HaloError) as info:
        await client.validate_invoice_edit(page.invoices[0].id)
    assert info.value.kind is ErrorKind.MISSING_SCOPE
    assert info.value.status == 403


@pytest.mark.anyio
async def test_403_when_the_agent_may_not_read_invoices(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    sandbox.add_application("noagent", "noagent-secret-1", agent_invoice_access="none")
    client = await client_for(
        sandbox, http, clock, credentials=Credentials("noagent", "noagent-secret-1")
    )
    with pytest.raises(HaloError) as info:
        await anext(aiter(client.invoice_pages(page_size=1)))
    assert info.value.kind is ErrorKind.FORBIDDEN
    assert "agent" in info.value.detail


@pytest.mark.anyio
async def test_expired_token_is_refreshed_once(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    await client.get_invoice(first_id(sandbox))
    sandbox.expire_tokens()
    assert (await client.get_invoice(first_id(sandbox))).id == first_id(sandbox)
    assert sandbox.stats.tokens_issued == 2


@pytest.mark.anyio
async def test_revoked_application(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    await client.get_invoice(first_id(sandbox))
    sandbox.revoke(sandbox.config.client_id)
    with pytest.raises(HaloError) as info:
        await client.get_invoice(first_id(sandbox))
    assert info.value.kind in (ErrorKind.INVALID_CLIENT_ID, ErrorKind.UNAUTHORIZED)


# --- pages and updates ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_all_pages(sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock) -> None:
    client = await client_for(sandbox, http, clock)
    pages = [p async for p in client.invoice_pages()]
    ids = [invoice.id for p in pages for invoice in p.invoices]
    with sandbox.lock:
        expected = sorted(sandbox.invoices)
    assert sorted(ids) == expected
    assert len(ids) == len(set(ids)) == pages[0].record_count
    assert [p.page_size for p in pages] == [100] * len(pages)


@pytest.mark.anyio
async def test_pages_follow_a_smaller_server_page_size(
    clock: SharedClock, http: httpx.AsyncClient
) -> None:
    box = start(SandboxConfig(invoices=95, max_page_size=20), clock)
    try:
        client = await client_for(box, http, clock)
        pages = [p async for p in client.invoice_pages(page_size=100)]
        ids = [invoice.id for p in pages for invoice in p.invoices]
        assert len(ids) == len(set(ids)) == 95
        assert [len(p.invoices) for p in pages] == [20, 20, 20, 20, 15]
    finally:
        box.stop()


@pytest.mark.anyio
async def test_unpaid_filter_is_passed_through(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    pages = [p async for p in client.invoice_pages(filters=facts.UNPAID_INVOICE_FILTER)]
    statuses = {invoice.get("paymentstatus") for p in pages for invoice in p.invoices}
    assert statuses <= set(facts.UNPAID_PAYMENT_STATUSES)
    assert all((invoice.total or 0) >= 0 for p in pages for invoice in p.invoices)


@pytest.mark.anyio
async def test_update_writes_only_the_link_and_validate_writes_nothing(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    one, two = sorted(sandbox.invoices)[:2]
    with sandbox.lock:
        before = {i: dict(v) for i, v in sandbox.invoices.items() if i in (one, two)}
    await client.validate_invoice_edit(one)
    assert sum(sandbox.stats.invoices_written.values()) == 0
    saved = await client.update_invoices(
        [{"id": one, facts.DEFAULT_LINK_FIELD: LINK}, {"id": two, facts.DEFAULT_LINK_FIELD: LINK}]
    )
    assert [item["id"] for item in saved] == [one, two]
    assert sandbox.stats.invoice_posts == 2  # the validation and one batch
    with sandbox.lock:
        for invoice_id in (one, two):
            after = sandbox.invoices[invoice_id]
            assert after[facts.DEFAULT_LINK_FIELD] == LINK
            changed = {k for k in after if after[k] != before[invoice_id].get(k)}
            assert changed == {facts.DEFAULT_LINK_FIELD}
    assert (await client.get_invoice(first_id(sandbox))).get(facts.DEFAULT_LINK_FIELD) == LINK


@pytest.mark.anyio
async def test_editing_posted_invoices_forbidden(
    clock: SharedClock, http: httpx.AsyncClient
) -> None:
    box = start(SandboxConfig(invoices=20, forbid_editing_posted=True), clock)
    try:
        client = await client_for(box, http, clock)
        with box.lock:
            posted = next(i for i, inv in box.invoices.items() if inv.get("posted"))
        with pytest.raises(HaloError) as info:
            await client.update_invoices([{"id": posted, facts.DEFAULT_LINK_FIELD: LINK}])
        assert info.value.kind is ErrorKind.EDIT_POSTED_FORBIDDEN
    finally:
        box.stop()


@pytest.mark.anyio
async def test_missing_invoice(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    with pytest.raises(HaloError) as info:
        await client.get_invoice(999_999)
    assert info.value.kind is ErrorKind.NOT_FOUND


# --- 429, faults, connection failures ------------------------------------------------------------


@pytest.mark.anyio
async def test_429_with_retry_after_waits_and_recovers(
    clock: SharedClock, http: httpx.AsyncClient
) -> None:
    box = start(SandboxConfig(invoices=5, rate_limit=(3, 60.0)), clock)
    try:
        client = await client_for(box, http, clock)
        for _ in range(4):  # token + 4 GETs: the 4th start is over the 3-per-minute budget
            await client.get_invoice(first_id(box))
        assert box.stats.rate_limited >= 1
        assert client.stats.retries_429 >= 1
        assert clock.sleeps and all(0 < s <= 60 for s in clock.sleeps)
        assert sum(clock.sleeps) >= 1
    finally:
        box.stop()


@pytest.mark.anyio
async def test_429_without_retry_after_uses_the_fallback(
    clock: SharedClock, http: httpx.AsyncClient
) -> None:
    box = start(SandboxConfig(invoices=5, rate_limit=(2, 60.0), send_retry_after=False), clock)
    try:
        client = await client_for(box, http, clock)
        await client.get_invoice(first_id(box))
        await client.get_invoice(first_id(box))  # 3rd start in the window: 429 without Retry-After
        fallback = facts.RATE_LIMIT_FALLBACK_WAIT_SECONDS
        assert clock.sleeps == [fallback, 2 * fallback]  # 30 s is not enough for a 60 s window
    finally:
        box.stop()


@pytest.mark.anyio
async def test_429_exhausted_is_rate_limited(clock: SharedClock, http: httpx.AsyncClient) -> None:
    box = start(SandboxConfig(invoices=5, rate_limit=(2, 3600.0)), clock)
    try:
        client = await client_for(box, http, clock, max_retries=2)
        await client.get_invoice(first_id(box))
        with pytest.raises(HaloError) as info:
            await client.get_invoice(first_id(box))
        assert info.value.kind is ErrorKind.RATE_LIMITED
        assert info.value.retry_after is not None and info.value.retry_after > 0
    finally:
        box.stop()


@pytest.mark.anyio
async def test_hosted_limiter_keeps_under_the_sandbox_budget(
    clock: SharedClock, http: httpx.AsyncClient
) -> None:
    box = start(SandboxConfig(invoices=5, rate_limit=(5, 10.0)), clock)
    try:
        endpoints = await discover(http, box.url)
        client = session.client_for(
            http, endpoints, creds(box), rate_limit="5/10", clock=clock, sleep=clock.sleep
        )
        invoice_id = first_id(box)
        # Sequential on purpose: with a fake clock that jumps while a concurrent request is still
        # in flight, the server would stamp it later than any real latency could.
        for _ in range(12):
            await client.get_invoice(invoice_id)
        assert box.stats.rate_limited == 0
        assert client.stats.requests == 13
        assert clock.sleeps  # the limiter, not the server, made it wait
    finally:
        box.stop()


@pytest.mark.anyio
async def test_5xx_and_dropped_connections_are_retried(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    await client.token()
    sandbox.faults.add(status=503, method="GET", path="/api/invoice", times=2)
    sandbox.faults.add(drop=True, method="POST", path="/api/invoice", times=1)
    pages = [p async for p in client.invoice_pages()]
    assert pages
    await client.update_invoices([{"id": first_id(sandbox), facts.DEFAULT_LINK_FIELD: LINK}])
    assert clock.sleeps == [1, 2, 1]
    assert client.stats.retries_other == 3


@pytest.mark.anyio
async def test_malformed_json(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock)
    await client.token()
    sandbox.faults.add(malformed=True, method="GET", path="/api/invoice")
    with pytest.raises(HaloError) as info:
        await anext(aiter(client.invoice_pages()))
    assert info.value.kind is ErrorKind.MALFORMED_RESPONSE


@pytest.mark.anyio
async def test_server_error_after_retries(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: SharedClock
) -> None:
    client = await client_for(sandbox, http, clock, max_retries=1)
    await client.token()
    sandbox.faults.add(status=500, method="GET", path="/api/invoice", times=None)
    with pytest.raises(HaloError) as info:
        await client.get_invoice(first_id(sandbox))
    assert info.value.kind is ErrorKind.SERVER_ERROR


@pytest.mark.anyio
async def test_refused_when_nothing_listens(clock: SharedClock, http: httpx.AsyncClient) -> None:
    box = start(SandboxConfig(invoices=1), clock)
    url = box.url
    box.stop()
    with pytest.raises(HaloError) as info:
        await discover(http, url)
    assert info.value.kind is ErrorKind.REFUSED


@pytest.mark.anyio
async def test_timeout(sandbox: Sandbox, clock: SharedClock) -> None:
    async with make_http_client(timeout=0.2) as http:
        endpoints: HaloEndpoints = await discover(http, sandbox.url)
        client = session.client_for(
            http, endpoints, creds(sandbox), clock=clock, sleep=clock.sleep, max_retries=0
        )
        await client.token()
        sandbox.faults.add(delay=1.0, method="GET", path="/api/invoice")
        with pytest.raises(HaloError) as info:
            await client.get_invoice(first_id(sandbox))
    assert info.value.kind is ErrorKind.TIMEOUT


# --- TLS: verification is on, and a custom CA file is trusted in addition -------------------------

# A throw-away test authority and a server certificate for 127.0.0.1 signed by it, valid 2000-2199.
# Test material only: it protects nothing.
TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBhDCCASqgAwIBAgIUfO1DFrYf0CZbWhLS9VyraxPpy2UwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUSGFsbyBQYXlMaW5rIFRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAw
WhgPMjE5OTAxMDEwMDAwMDBaMB8xHTAbBgNVBAMMFEhhbG8gUGF5TGluayBUZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUU1SvZotBtIa/kW6bqQNw4Xc
k41fzscAsora29S89nHmTVgns5VZQMt9cAfK1/HiUw/QF3Qrp/UgFPDgl1SIKaNC
MEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFDoV
+e1EhgJmmctXlYT4STr69FJlMAoGCCqGSM49BAMCA0gAMEUCIQDqYztQuriC5CYx
KiS+Cu53kTpXjFlxeW+ct4RdYbmBHAIgYY7YufMWSKiCcRbKNWRtp+ZCNg2qWVll
otePxIHXQ84=
-----END CERTIFICATE-----
"""
TEST_SERVER_PEM = """-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUDhlbzLPB1iLs3ZDjLNWBcCVuO9owCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUSGFsbyBQYXlMaW5rIFRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAw
WhgPMjE5OTAxMDEwMDAwMDBaMBQxEjAQBgNVBAMMCTEyNy4wLjAuMTBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABMzXnkrqIjANBwBQovhfG/AsZ8zH60DXfTu0tHCw
k382JGEeyrlgurgc7mizxE9DosWJ9cFtnbJipNe0t4tRZQejYjBgMBoGA1UdEQQT
MBGHBH8AAAGCCWxvY2FsaG9zdDAMBgNVHRMBAf8EAjAAMBMGA1UdJQQMMAoGCCsG
AQUFBwMBMB8GA1UdIwQYMBaAFDoV+e1EhgJmmctXlYT4STr69FJlMAoGCCqGSM49
BAMCA0gAMEUCIHJ3a5XhVn4qs1hgalqvUDlgBYhLj/ZJS28lA24pJtE/AiEAwarS
K9zvsPnOv2UnWroFdrre3VpM/W1e+nmG//EHABE=
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgiPGTiPowvcne2LG4
l1l0rnUN3V4WyuobStVfHNG7WR6hRANCAATM155K6iIwDQcAUKL4XxvwLGfMx+tA
1307tLRwsJN/NiRhHsq5YLq4HO5os8RPQ6LFifXBbZ2yYqTXtLeLUWUH
-----END PRIVATE KEY-----
"""


class _AuthInfoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        body = json.dumps({"auth_url": f"https://127.0.0.1:{port}/auth"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the refused handshake in the untrusted case is expected


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    cert = tmp_path / "server.pem"
    cert.write_text(TEST_SERVER_PEM)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert)
    server = _QuietServer(("127.0.0.1", 0), _AuthInfoHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.anyio
async def test_untrusted_certificate_is_a_tls_error(tls_server: str) -> None:
    async with make_http_client(timeout=5) as http:
        with pytest.raises(HaloError) as info:
            await discover(http, tls_server)
    assert info.value.kind is ErrorKind.TLS
    assert "certificate" in info.value.detail.lower()


@pytest.mark.anyio
async def test_custom_ca_file_makes_the_certificate_trusted(
    tls_server: str, tmp_path: Path
) -> None:
    ca_file = tmp_path / "company-ca.pem"
    ca_file.write_text(TEST_CA_PEM)
    async with make_http_client(ca_file=ca_file, timeout=5) as http:
        endpoints = await discover(http, tls_server + "/api")
    assert endpoints.from_authinfo is True
    assert endpoints.auth_url == tls_server + "/auth"


@pytest.mark.anyio
async def test_self_hosted_sandbox_is_discovered_as_self_hosted() -> None:
    with Sandbox(SandboxConfig(invoices=3, hosted=False, path_prefix="/halo")) as box:
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, f"{box.url}/halo/api/")
    assert endpoints.hosted is False
    assert endpoints.tenant is None
    assert endpoints.resource_url == f"{box.url}/halo/api"
