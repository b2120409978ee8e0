"""How one Halo connection becomes a working `HaloClient`: the only place the chain is built.

    address --discover--> HaloEndpoints --+
    rate-limit override ------------------+--> RateLimiter (choose_limiter) --> HaloClient
    HTTP client (one per CA file) -------------------------------------------------^

The CLI (`halo-paylink check` and `backfill`), the window (`ui.context.AppContext`), the
connection checks (`core.checks`), the benchmarks and the tests all build their clients here, so
a profile reaches Halo the same way from each of them: the same endpoints, the same rate limit,
the same client settings.

It lives in `halo/` rather than `core/` because every step is about the Halo API and takes plain
values: what a saved profile or the command line says (address, tenant, rate-limit override)
comes in as strings, so `halo/` needs nothing from the profile store (`storage/`). The HTTP
client comes in too (`halo.http.make_http_client(ca_file=...)`); its owner closes it.

Everything here runs on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypedDict, Unpack

from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.discovery import discover
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.ratelimit import RateLimiter, Sleep, choose_limiter, parse_rate_limit

if TYPE_CHECKING:
    import httpx

    from halo_paylink.halo.http import Random, RequestStats


class ClientOptions(TypedDict, total=False):
    """`HaloClient`'s tuning, passed through unchanged (see `HaloClient`)."""

    max_retries: int
    wall_clock: Callable[[], float]
    scopes: Sequence[str]
    request_deadline: float
    max_response_bytes: int
    rate_limit_budget: float
    rand: Random | None


def client_for(
    http: httpx.AsyncClient,
    endpoints: HaloEndpoints,
    credentials: Credentials,
    *,
    rate_limit: str | None = None,
    limiter: RateLimiter | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    client_class: type[HaloClient] = HaloClient,
    **options: Unpack[ClientOptions],
) -> HaloClient:
    """A client for endpoints already found (by `discover`, or held by the wizard's state).

    Args:
        http: the shared HTTP client for the profile's CA file; the caller owns and closes it.
        endpoints: where the Halo lives.
        credentials: the API application's client id and secret.
        rate_limit: the profile's or the command line's rate-limit override, or None; the
            limiter is `choose_limiter(endpoints.hosted, rate_limit)`.
        limiter: a limiter to use as it is instead (one shared with another client, or a test's
            on a fake clock); `rate_limit` is then not used.
        clock, sleep: the monotonic clock and the wait, for the limiter and the client alike.
        client_class: `HaloClient` or a subclass with the same constructor.
        options: the rest of `HaloClient`'s settings.

    Raises:
        ValueError: `rate_limit` cannot be read (the message says what to type).
    """
    if limiter is None:
        limiter = choose_limiter(endpoints.hosted, rate_limit, clock=clock, sleep=sleep)
    return client_class(
        http, endpoints, credentials, limiter=limiter, clock=clock, sleep=sleep, **options
    )


async def discover_client(
    http: httpx.AsyncClient,
    address: str,
    credentials: Credentials,
    *,
    tenant: str | None = None,
    rate_limit: str | None = None,
    limiter: RateLimiter | None = None,
    stats: RequestStats | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    client_class: type[HaloClient] = HaloClient,
    **options: Unpack[ClientOptions],
) -> HaloClient:
    """Find the Halo at a pasted `address` (`discover`), then `client_for` its endpoints.

    `tenant` is an explicit tenant (else discovery's); `stats` counts discovery's requests. A
    `rate_limit` that cannot be read is refused before any request is sent.

    Raises:
        ValueError: `rate_limit` cannot be read.
        HaloError: discovery failed (a bad address, or the server could not be reached).
    """
    if limiter is None and rate_limit:
        parse_rate_limit(rate_limit)
    endpoints = await discover(http, address, tenant=tenant, stats=stats)
    return client_for(
        http,
        endpoints,
        credentials,
        rate_limit=rate_limit,
        limiter=limiter,
        clock=clock,
        sleep=sleep,
        client_class=client_class,
        **options,
    )
