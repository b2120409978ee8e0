"""The window builds its Halo client through halo.session, with the profile's rate limit."""

from __future__ import annotations

from typing import Any

import pytest

from halo_paylink.halo import facts
from halo_paylink.halo.models import HaloEndpoints
from halo_paylink.storage.profiles import Profile

HOSTED = HaloEndpoints(
    "https://acme.halopsa.com",
    "https://acme.halopsa.com/auth",
    "https://acme.halopsa.com/api",
    "acme",
    hosted=True,
)
SELF = HaloEndpoints(
    "https://halo.example.com",
    "https://halo.example.com/auth",
    "https://halo.example.com/api",
    None,
    hosted=False,
)


@pytest.mark.parametrize(
    ("endpoints", "rate_limit", "expected"),
    [
        (HOSTED, None, (facts.HOSTED_RATE_LIMIT_REQUESTS, facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS)),
        (SELF, None, (None, 1.0)),
        (HOSTED, "10/1m", (10, 60.0)),
        (SELF, "hosted", (300, 300.0)),
    ],
)
def test_halo_client_follows_the_one_choice(
    make_context: Any, endpoints: HaloEndpoints, rate_limit: str | None, expected: Any
) -> None:
    context = make_context()
    context.profile = Profile(name="Acme", rate_limit=rate_limit)
    context.state.connect.endpoints = endpoints
    client = context.halo_client()
    assert client.endpoints is endpoints
    assert (client.limiter.max_requests, client.limiter.window_seconds) == expected
