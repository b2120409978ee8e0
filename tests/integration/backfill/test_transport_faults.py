"""Transport faults over real HTTP: a trickling body, an endless body, an error that echoes the
bearer token, a redirect on the update POST. Each ends in a named outcome, quickly (the deadline and
the size cap are injected small), and never with the token on disk or on screen.

Each test has a generous `fail_after` guard: without the limits under test the client would wait
for hours (or read forever), and the guard turns that hang into a failure instead of a stuck run.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from halo_paylink.core.backfill import RunOptions, RunOutcome, run_backfill
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.http import make_http_client
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.halo.session import discover_client
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox.server import INVOICE_POST
from halo_paylink.storage.logs import setup_logging, shutdown_logging
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, quick_sleep, settings

pytestmark = pytest.mark.anyio

SMALL = RunOptions(batch_size=10, concurrency=2, page_size=25, progress_interval=0.0)
#: Bounds a hang, not a duration under test: every test here finishes in a second or two.
GUARD_SECONDS = 30


@asynccontextmanager
async def limited_client(box: Sandbox, **limits: Any) -> AsyncIterator[HaloClient]:
    async with make_http_client(timeout=10.0) as http:
        credentials = Credentials(box.config.client_id, box.config.client_secret)
        yield await discover_client(
            http,
            box.url,
            credentials,
            limiter=RateLimiter.unlimited(),
            sleep=quick_sleep,
            rand=lambda: 0.0,
            **limits,
        )


def posts(box: Sandbox) -> int:
    with box.stats.lock:
        return sum(n for (method, kind, _), n in box.stats.by_kind.items() if kind == INVOICE_POST)


async def test_a_trickling_body_times_out_at_the_deadline(make_sandbox) -> None:
    box = make_sandbox(invoices=5)
    with box.lock:
        some_id = max(box.invoices)
    fault = box.faults.add(trickle=0.05, method="GET", path="/api/Invoice/", times=None)
    with anyio.fail_after(GUARD_SECONDS):
        async with limited_client(box, request_deadline=0.5, max_retries=1) as client:
            with pytest.raises(HaloError) as info:
                await client.get_invoice(some_id)  # ~1 kB: 50 s at one byte per 0.05 s
    assert info.value.kind is ErrorKind.TIMEOUT
    assert "0.5 s" in info.value.detail
    assert fault.fired == 2  # the first try and one retry, each cut off at the deadline


async def test_a_trickling_listing_ends_the_run_as_a_network_error(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=30)
    box.faults.add(trickle=0.05, method="GET", path="/api/Invoice", times=None)
    with anyio.fail_after(GUARD_SECONDS):
        async with limited_client(box, request_deadline=0.5, max_retries=1) as client:
            result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.NETWORK_ERROR
    assert result.error is not None and result.error.kind is ErrorKind.TIMEOUT
    assert result.outcome.resumable


async def test_an_endless_body_is_cut_off_at_the_cap(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=30)
    fault = box.faults.add(endless=True, method="GET", path="/api/Invoice", times=None)
    with anyio.fail_after(GUARD_SECONDS):
        async with limited_client(box, max_response_bytes=1024 * 1024) as client:
            result = await run_backfill(client, settings(), paths, options=SMALL)
    assert result.outcome is RunOutcome.MALFORMED_RESPONSE
    assert result.error is not None and result.error.kind is ErrorKind.RESPONSE_TOO_LARGE
    assert "1 MiB" in result.error.detail
    assert fault.fired == 1  # not retried: the same answer would come again


async def test_a_redirect_on_the_update_post_is_one_run_level_error(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=3)
    box.faults.add(
        redirect="https://login.example.com/sso?next=/api/Invoice",
        method="POST",
        path="/api/Invoice",
        times=None,
    )
    with anyio.fail_after(GUARD_SECONDS):
        async with limited_client(box) as client:
            result = await run_backfill(
                client, settings(), paths, options=RunOptions(batch_size=10, concurrency=1)
            )
    assert result.error is not None and result.error.kind is ErrorKind.REDIRECTED
    assert "login.example.com" in result.error.detail
    assert result.outcome is RunOutcome.NETWORK_ERROR
    assert result.counts.failed == 0  # no invoice is blamed for it
    assert posts(box) == 1  # not bisected down to one POST per invoice
    assert not box.stats.invoices_written


def _every_text(paths: AppPaths, result: Any, extra: list[str]) -> dict[str, str]:
    texts = {"detail": result.detail, "error": repr(result.error) + str(result.error)}
    for root in (paths.state_dir, paths.reports_dir, paths.log_dir):
        for file in Path(root).rglob("*"):
            if file.is_file():
                texts[str(file)] = file.read_text("utf-8", "replace")
    for i, text in enumerate(extra):
        texts[f"stream {i}"] = text
    return texts


@pytest.mark.parametrize("opaque", [True, False], ids=["opaque-token", "jwt-token"])
async def test_a_token_echoed_in_an_error_reaches_no_file_and_no_screen(
    make_sandbox, paths, capsys, opaque: bool
) -> None:
    box = make_sandbox(invoices=40, seed=4, opaque_tokens=opaque)
    box.faults.add(echo_token=True, method="POST", path="/api/Invoice", times=None)
    console = io.StringIO()
    setup_logging(paths, level=logging.DEBUG, console=console, console_level=logging.DEBUG)
    try:
        with anyio.fail_after(GUARD_SECONDS):
            async with limited_client(box, max_retries=1) as client:
                result = await run_backfill(client, settings(), paths, options=SMALL)
                cached = client.tokens.cached
    finally:
        shutdown_logging()
    assert cached is not None
    token = cached.access_token
    assert result.outcome is RunOutcome.SERVER_ERROR
    assert result.error is not None and "could not be validated" in result.error.detail
    captured = capsys.readouterr()
    texts = _every_text(paths, result, [console.getvalue(), captured.out, captured.err])
    assert any("journal" in name or name.endswith(".jsonl") for name in texts), texts.keys()
    assert any(name.endswith(".json") for name in texts)
    assert any(name.endswith(".csv") for name in texts)
    leaked = [name for name, text in texts.items() if token in text]
    assert leaked == []
    # the token is long; no sizeable piece of it survives either
    pieces = {token[i : i + 16] for i in range(0, len(token) - 16, 8)}
    assert not [name for name, text in texts.items() if any(p in text for p in pieces)]


@pytest.mark.anyio
async def test_stop_during_a_long_rate_limit_wait_takes_effect_within_a_tick(
    make_sandbox, paths
) -> None:
    """Stop pressed while Halo's rate limit holds the run off: cancelled at once, resumable,
    and the wait was shown while it lasted."""
    import time

    from halo_paylink.core.backfill import runner
    from halo_paylink.core.backfill.model import RunOptions
    from halo_paylink.core.backfill.outcome import RunOutcome
    from halo_paylink.core.backfill.progress import CancelToken
    from halo_paylink.core.backfill.runs import list_runs

    box = make_sandbox(invoices=120)
    box.faults.add(status=429, method="GET", path="/api/invoice", after=1, times=None)
    cancel = CancelToken()
    waits: list[str] = []

    def on_progress(progress) -> None:
        if progress.wait_seconds:
            waits.append(progress.wait_reason)
            cancel.cancel()

    async with halo_client(box, limiter=RateLimiter.unlimited()) as client:
        client.limiter.tick_seconds = 0.05
        started = time.monotonic()
        with anyio.fail_after(GUARD_SECONDS):  # without the stop, the wait lasts minutes
            result = await runner.run_backfill(
                client,
                settings(),
                paths,
                options=RunOptions(progress_interval=0),
                on_progress=on_progress,
                cancel=cancel,
            )
        elapsed = time.monotonic() - started
    assert waits, "the rate-limit wait was never shown"
    assert result.outcome is RunOutcome.CANCELLED
    assert elapsed < 20  # the fallback wait is 30 s or more: the stop did not wait for it
    assert [r.resumable for r in list_runs(paths)] == [True]
