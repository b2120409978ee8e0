"""Fixtures for backfill tests against the real sandbox over loopback HTTP."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from halo_paylink.core.backfill import BackfillSettings
from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.http import make_http_client
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.halo.session import discover_client
from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE, Sandbox, SandboxConfig
from halo_paylink.storage.paths import AppPaths

LINK_FIELD = facts.DEFAULT_LINK_FIELD


async def quick_sleep(seconds: float) -> None:
    """Keeps the client's back-off short in tests; waits still follow the real clock."""
    await asyncio.sleep(min(seconds, 0.02))


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def factory(now: Callable[[], dt.datetime] | None = None, **config: Any) -> Sandbox:
        """A started sandbox; `now`: its wall clock (the stamps of changes), when not real."""
        box = Sandbox(SandboxConfig(**config), **({"now": now} if now is not None else {}))
        box.start()
        started.append(box)
        return box

    yield factory
    for box in started:
        box.stop()


@pytest.fixture
def paths() -> AppPaths:
    return AppPaths.default().ensure()


@asynccontextmanager
async def halo_client(
    sandbox: Sandbox,
    *,
    limiter: RateLimiter | None = None,
    client_cls: type[HaloClient] = HaloClient,
) -> AsyncIterator[HaloClient]:
    async with make_http_client(timeout=10.0) as http:
        credentials = Credentials(sandbox.config.client_id, sandbox.config.client_secret)
        yield await discover_client(
            http,
            sandbox.url,
            credentials,
            # The limiter's own waits (pacing, a 429's hold-off) follow the real clock, since the
            # sandbox's rate windows do; only the client's back-off is cut short.
            limiter=limiter or RateLimiter.unlimited(),
            sleep=quick_sleep,
            client_class=client_cls,
        )


def settings(**overrides: Any) -> BackfillSettings:
    values: dict[str, Any] = {"template": DEMO_BENJI_TEMPLATE, "numbering": Numbering.ACCOUNTING}
    values.update(overrides)
    return BackfillSettings(**values)


def snapshot(sandbox: Sandbox) -> dict[int, dict[str, Any]]:
    with sandbox.lock:
        return copy.deepcopy(sandbox.invoices)


def expected_link(invoice: dict[str, Any], numbering: Numbering = Numbering.ACCOUNTING) -> str:
    field = "id" if numbering is Numbering.HALO else "thirdpartyinvoicenumber"
    return DEMO_BENJI_TEMPLATE.replace("[Invoice No.]", str(invoice[field]))


def is_open(invoice: dict[str, Any]) -> bool:
    return (
        bool(invoice.get("posted"))
        and not invoice.get("voided")
        and float(invoice.get("total") or 0) > 0
        and float(invoice.get("amountdue") or 0) > 0
    )
