"""halo.session and halo.ratelimit.choose_limiter: how a connection becomes a client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from fakes import FakeClock
from halo_paylink.halo import facts
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.ratelimit import RateLimiter, choose_limiter
from halo_paylink.halo.session import client_for, discover_client

HOSTED = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url="https://acme.halopsa.com/api",
    tenant="acme",
    hosted=True,
)
SELF = HaloEndpoints(
    web_url="https://halo.example.com",
    auth_url="https://halo.example.com/auth",
    resource_url="https://halo.example.com/api",
    tenant=None,
    hosted=False,
)
CREDS = Credentials("client", "shh-secret-1")
HOSTED_BUDGET = (facts.HOSTED_RATE_LIMIT_REQUESTS, facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS)


def budget(limiter: RateLimiter) -> tuple[int, float] | None:
    if limiter.max_requests is None:
        return None
    return (limiter.max_requests, limiter.window_seconds)


@pytest.mark.parametrize(
    ("hosted", "override", "expected"),
    [
        (True, None, HOSTED_BUDGET),  # hosted Halo: its published budget
        (False, None, None),  # self-hosted: the operator's limits, none of ours
        (True, "", HOSTED_BUDGET),  # an empty override is no override
        (True, "10/60", (10, 60.0)),  # an override wins, both ways
        (False, "10/1m", (10, 60.0)),
        (True, "unlimited", None),
        (False, "hosted", HOSTED_BUDGET),
    ],
)
def test_choose_limiter(
    hosted: bool, override: str | None, expected: tuple[int, float] | None
) -> None:
    assert budget(choose_limiter(hosted, override)) == expected


def test_choose_limiter_refuses_an_override_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="write REQUESTS/SECONDS"):
        choose_limiter(True, "fast")


@pytest.fixture
def no_requests() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router
    assert not router.calls


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("endpoints", "override", "expected"),
    [
        (HOSTED, None, HOSTED_BUDGET),
        (SELF, None, None),
        (SELF, "5/10", (5, 10.0)),
        (HOSTED, "off", None),
    ],
)
async def test_client_for_applies_the_choice(
    no_requests: respx.MockRouter,
    endpoints: HaloEndpoints,
    override: str | None,
    expected: tuple[int, float] | None,
) -> None:
    async with httpx.AsyncClient() as http:
        client = client_for(http, endpoints, CREDS, rate_limit=override)
    assert client.endpoints is endpoints
    assert budget(client.limiter) == expected


@pytest.mark.anyio
async def test_a_given_limiter_is_used_as_it_is_and_the_clock_reaches_both() -> None:
    clock = FakeClock()
    shared = RateLimiter(2, 10, clock=clock, sleep=clock.sleep)

    class Tagged(HaloClient):
        pass

    async with httpx.AsyncClient() as http:
        first = client_for(http, HOSTED, CREDS, limiter=shared, rate_limit="1/1")
        second = client_for(
            http, SELF, CREDS, rate_limit="3/5", clock=clock, sleep=clock.sleep, client_class=Tagged
        )
    assert first.limiter is shared
    assert isinstance(second, Tagged) and budget(second.limiter) == (3, 5.0)
    await second.limiter.acquire()
    await second.limiter.acquire()
    await second.limiter.acquire()
    await second.limiter.acquire()  # the fourth waits for the window, on the fake clock
    assert clock.sleeps == [5]


@pytest.mark.anyio
async def test_discover_client_refuses_a_bad_rate_limit_before_any_request(
    no_requests: respx.MockRouter,
) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="'soon' is not a number of seconds"):
            await discover_client(http, "acme.halopsa.com", CREDS, rate_limit="5/soon")


@pytest.mark.anyio
async def test_discover_client_uses_what_discovery_found() -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get("https://acme.halopsa.com/api/authinfo").respond(
            200, json={"auth_url": "https://login.example.com/auth", "tenant_id": "acme"}
        )
        async with httpx.AsyncClient() as http:
            client = await discover_client(http, "acme.halopsa.com", CREDS)
    assert client.endpoints.auth_url == "https://login.example.com/auth"
    assert client.endpoints.hosted and budget(client.limiter) == HOSTED_BUDGET
