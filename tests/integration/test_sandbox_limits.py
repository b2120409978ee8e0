"""The sandbox's rate limit (429 + Retry-After) and injected faults, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from fakes import FakeClock
from halo_paylink.sandbox import FaultInjector, Sandbox, SandboxConfig, parse_rate_limit


def get_token(http: httpx.Client, sandbox: Sandbox, client_id: str | None = None) -> str:
    response = http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id or sandbox.config.client_id,
            "client_secret": sandbox.config.client_secret,
            "scope": "read:invoices edit:invoices",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(50.0)


def limited(clock: FakeClock, *, retry_after: bool = True) -> Sandbox:
    config = SandboxConfig(invoices=10, rate_limit=(5, 300.0), send_retry_after=retry_after)
    return Sandbox(config, clock=clock)


def test_rate_limit_429_with_retry_after(clock: FakeClock) -> None:
    with limited(clock) as sb, httpx.Client(base_url=sb.url, timeout=10) as http:
        http.headers["Authorization"] = f"Bearer {get_token(http, sb)}"  # request 1 at t=50
        for _ in range(4):  # requests 2-5
            clock.now += 10
            assert http.get("/api/Invoice", params={"pageinate": "true"}).status_code == 200
        clock.now = 100.0
        response = http.get("/api/Invoice")
        assert response.status_code == 429
        assert response.text == "Rate Limit Reached - 5 Requests per rolling 5 minute window"
        # The oldest request (t=50) leaves the window at t=350: 250 s from t=100.
        assert response.headers["Retry-After"] == "250"
        clock.now = 349.5
        again = http.get("/api/Invoice")
        assert again.status_code == 429
        assert again.headers["Retry-After"] == "1"  # rounded up, never 0
        clock.now = 350.0
        assert http.get("/api/Invoice").status_code == 200
        assert sb.stats.rate_limited == 2
        assert sb.stats.count(status=429) == 2


def test_rate_limit_without_retry_after(clock: FakeClock) -> None:
    with limited(clock, retry_after=False) as sb, httpx.Client(base_url=sb.url) as http:
        for _ in range(5):
            http.get("/api/authinfo")
        response = http.get("/api/authinfo")
        assert response.status_code == 429
        assert "Retry-After" not in response.headers


def test_rate_limit_is_per_client(clock: FakeClock) -> None:
    with limited(clock) as sb, httpx.Client(base_url=sb.url, timeout=10) as http:
        sb.add_application("second", sb.config.client_secret)
        first = {"Authorization": f"Bearer {get_token(http, sb)}"}
        second = {"Authorization": f"Bearer {get_token(http, sb, 'second')}"}
        for _ in range(4):
            assert http.get("/api/Agent/me", headers=first).status_code == 200
        assert http.get("/api/Agent/me", headers=first).status_code == 429
        assert http.get("/api/Agent/me", headers=second).status_code == 200


def test_parse_rate_limit() -> None:
    assert parse_rate_limit("300/300") == (300, 300.0)
    assert parse_rate_limit(" 10/2.5 ") == (10, 2.5)
    assert parse_rate_limit("hosted") == (300, 300.0)
    for bad, words in [("300", "REQUESTS/SECONDS"), ("x/5", "whole number"), ("0/5", "at least 1")]:
        with pytest.raises(ValueError, match=words):
            parse_rate_limit(bad)
    with pytest.raises(ValueError, match="positive"):
        parse_rate_limit("5/0")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=10)) as sb:
        yield sb


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        client.headers["Authorization"] = f"Bearer {get_token(client, sandbox)}"
        yield client


def test_status_fault_times_and_method(http: httpx.Client, sandbox: Sandbox) -> None:
    fault = sandbox.faults.add(status=503, method="GET", path="/api/invoice", times=2)
    assert http.post("/api/Invoice", json=[]).status_code == 200  # other method: untouched
    assert http.get("/api/Invoice").status_code == 503
    assert http.get("/API/INVOICE/1001").status_code == 503  # case-insensitive prefix
    assert http.get("/api/Invoice").status_code == 200
    assert fault.fired == 2
    assert sandbox.faults.pending() == []


def test_fault_after_k_requests(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.add(status=500, path="/api/Agent", after=2, times=1)
    codes = [http.get("/api/Agent/me").status_code for _ in range(4)]
    assert codes == [200, 200, 500, 200]


def test_malformed_fault(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.add(malformed=True, path="/api/invoice")
    response = http.get("/api/Invoice")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_drop_fault_closes_without_answer(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.add(drop=True, path="/api/invoice")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/api/Invoice")
    assert http.get("/api/Invoice").status_code == 200
    assert sandbox.stats.count("GET", "invoice_list", 0) == 1


def test_delay_fault_then_normal_answer(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.add(delay=0.3, path="/api/agent")
    started = time.monotonic()
    assert http.get("/api/Agent/me").status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        sandbox.faults.add(delay=2.0, path="/api/agent")
        http.get("/api/Agent/me", timeout=0.2)


def test_fault_forever_and_clear(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.add(status=502, times=None, path="/api/authinfo")
    assert [http.get("/api/authinfo").status_code for _ in range(3)] == [502, 502, 502]
    sandbox.faults.clear()
    assert http.get("/api/authinfo").status_code == 200


def test_fault_injector_validates_and_is_thread_safe() -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError):
        faults.add()
    with pytest.raises(ValueError):
        faults.add(status=500, times=0)
    faults.add(status=500, times=100)
    hits: list[int] = []

    def worker() -> None:
        for _ in range(50):
            if faults.take("GET", "/api/invoice") is not None:
                hits.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(hits) == 100


def test_stop_closes_keep_alive_connections() -> None:
    sandbox = Sandbox(SandboxConfig(invoices=1))
    url = sandbox.start()
    with httpx.Client(base_url=url, timeout=2) as http:
        assert http.get("/api/authinfo").status_code == 200
        sandbox.stop()
        with pytest.raises(httpx.TransportError):
            http.get("/api/authinfo")
    sandbox.stop()  # idempotent
