#!/usr/bin/env python3
"""What a run costs as the tenant grows old (scripts, not tests): requests and time.

    .venv/bin/python benchmarks/tenant_cost.py old      # 20,000 invoices, ~560 open, 60 req / 60 s
    .venv/bin/python benchmarks/tenant_cost.py second   # the same tenant, 50 new invoices later
    .venv/bin/python benchmarks/tenant_cost.py small    # 1,200 invoices (643 to link), 40 ms a trip

`old` compares the default run, which narrows its read on a long list, with one that reads
everything (`RunOptions(narrow=False)`), on the same sandbox, in the same process: the ratio is
the figure. `second` runs three times with the defaults and shows incremental runs turning on
once the tenant has shown they miss nothing.
`small` compares the backfill with a one-POST-per-invoice loop, with 40 ms added to every
response, and reports requests against the floor (pages + one batch per 100 + sign-in). Both
read the list through `HaloClient.invoice_pages`, which asks for pages 3.. several at a time
(`facts.LISTING_PAGES_AT_ONCE`).
Only 127.0.0.1 is contacted; journals and reports go to a temporary HALO_PAYLINK_HOME.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import random
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("HALO_PAYLINK_HOME", tempfile.mkdtemp(prefix="halo-bench-"))

from halo_paylink.core.backfill import BackfillSettings, RunOptions, run_backfill
from halo_paylink.core.backfill.selection import decide
from halo_paylink.core.backfill.target import FieldTarget
from halo_paylink.domain import Numbering
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.discovery import discover
from halo_paylink.halo.http import make_http_client
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.sandbox import (
    DEMO_BENJI_TEMPLATE,
    Sandbox,
    SandboxConfig,
    parse_rate_limit,
)
from halo_paylink.storage.paths import AppPaths

PAID_CODE = 2  # the sandbox's code for paid; the client does not know it


def old_tenant(box: Sandbox, open_wanted: int, seed: int = 7) -> None:
    """Make every posted invoice long paid but `open_wanted` of them, chosen at random."""
    rng = random.Random(seed)
    with box.lock:
        candidates = [
            i
            for i, inv in box.invoices.items()
            if i > 0
            and inv.get("posted")
            and not inv.get("voided")
            and isinstance(inv.get("total"), int | float)
            and inv["total"] > 0
        ]
        keep = set(rng.sample(candidates, min(open_wanted, len(candidates))))
        for i in candidates:
            inv = box.invoices[i]
            if i in keep:
                inv.update(amountpaid=0, amountdue=inv["total"], paymentstatus=0)
            else:
                inv.update(amountpaid=inv["total"], amountdue=0, paymentstatus=PAID_CODE)


def client_for(box: Sandbox, http: Any, limiter: RateLimiter) -> Any:
    async def make() -> HaloClient:
        endpoints = await discover(http, box.url)
        credentials = Credentials(box.config.client_id, box.config.client_secret)
        return HaloClient(http, endpoints, credentials, limiter=limiter)

    return make()


class WallClock:
    """The wall clock of the sandbox and of the runs alike, moved on between runs (days pass)."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead


async def one_run(
    box: Sandbox, limiter_spec: str | None, now: WallClock | None = None, **options: Any
) -> dict[str, Any]:
    async with make_http_client(timeout=60.0) as http:
        limiter = RateLimiter.parse(limiter_spec) if limiter_spec else RateLimiter.unlimited()
        client = await client_for(box, http, limiter)
        start = time.perf_counter()
        result = await run_backfill(
            client,
            BackfillSettings(template=DEMO_BENJI_TEMPLATE, numbering=Numbering.HALO),
            AppPaths.default().ensure(),
            options=RunOptions(**options),
            now=now,
        )
        elapsed = time.perf_counter() - start
    open_now = box.open_invoice_ids()
    posted = box.post_counts()
    return {
        "outcome": result.outcome.value,
        "written": result.counts.written,
        "requests": result.requests,
        "seconds": elapsed,
        "twice": sum(1 for n in posted.values() if n > 1),
        "open": len(open_now),
        "narrowed": any(w.startswith("Read narrowed") for w in result.warnings),
        "incremental": any(w.startswith("Incremental run") for w in result.warnings),
        "seen": result.counts.seen,
    }


def show(label: str, run: dict[str, Any]) -> None:
    print(
        f"{label:>24}: {run['outcome']}, {run['written']} written, {run['requests']} requests, "
        f"{run['seconds']:.1f} s, {run['seen']} read, narrowed={run['narrowed']}, "
        f"incremental={run['incremental']}, written twice={run['twice']}"
    )


def old(total: int = 20_000, open_wanted: int = 560, rate: str = "60/60") -> None:
    print(f"{total} invoices, {open_wanted} open, {rate} requests/seconds on both sides")
    runs = {}
    for label, options in (
        ("default (narrowed)", {}),
        ("whole (--no-narrow)", {"narrow": False}),
    ):
        box = Sandbox(SandboxConfig(invoices=total, seed=1, rate_limit=parse_rate_limit(rate)))
        box.start()
        try:
            old_tenant(box, open_wanted)
            runs[label] = asyncio.run(one_run(box, rate, **options))
        finally:
            box.stop()
        show(label, runs[label])
    fast, slow = runs["default (narrowed)"], runs["whole (--no-narrow)"]
    print(
        f"requests: {fast['requests']} vs {slow['requests']} "
        f"({slow['requests'] / fast['requests']:.1f}x fewer); time "
        f"{fast['seconds']:.1f} s vs {slow['seconds']:.1f} s "
        f"({slow['seconds'] / max(fast['seconds'], 1e-9):.1f}x faster)"
    )


def second(
    total: int = 20_000, open_wanted: int = 560, new: int = 50, owing: int = 5, rate: str = "60/60"
) -> None:
    """Three runs with the defaults on one tenant whose changes move `last_modified`
    (`stamp_changes`), a week apart (the sandbox's clock and the runs' are moved on together):
    the first; then `new` invoices and `owing` old paid ones owing again, which the second run
    (narrowed) links and which show that a read of only what changed misses nothing here; then
    `new` more, which the third run finds reading only what changed."""
    print(
        f"{total} invoices, {open_wanted} open; then {new} new and {owing} old owing again; "
        f"then {new} new; {rate} requests/seconds"
    )
    config = SandboxConfig(
        invoices=total, seed=1, rate_limit=parse_rate_limit(rate), stamp_changes=True
    )
    clock = WallClock()
    box = Sandbox(config, now=clock)
    box.start()
    try:
        old_tenant(box, open_wanted)
        show("first run", asyncio.run(one_run(box, rate, clock)))
        clock.ahead += dt.timedelta(days=7)
        box.add_invoices(new)
        with box.lock:
            paid = [i for i, inv in box.invoices.items() if inv.get("paymentstatus") == PAID_CODE]
        for invoice_id in random.Random(3).sample(paid, owing):
            box.set_payment(invoice_id, False)
        show(f"+{new} new, {owing} owing", asyncio.run(one_run(box, rate, clock)))
        clock.ahead += dt.timedelta(days=7)
        box.add_invoices(new)
        show(f"+{new} new", asyncio.run(one_run(box, rate, clock)))
    finally:
        box.stop()


async def naive(box: Sandbox) -> tuple[int, int, float]:
    """Read pages, POST one invoice per request, in sequence."""
    async with make_http_client(timeout=60.0) as http:
        client = await client_for(box, http, RateLimiter.unlimited())
        target, written = FieldTarget(), 0
        start = time.perf_counter()
        async for page in client.invoice_pages():
            for invoice in page.invoices:
                d = decide(
                    invoice, target=target, template=DEMO_BENJI_TEMPLATE, numbering=Numbering.HALO
                )
                if d.is_write:
                    await client.update_invoices([target.build_update(invoice.id, d.new)])
                    written += 1
        return written, client.stats.requests, time.perf_counter() - start


def small(total: int = 1200, to_link: int = 643, latency_ms: float = 40.0) -> None:
    print(f"{total} invoices, {to_link} to link, {latency_ms:g} ms added to every response")

    def sandbox() -> Sandbox:
        box = Sandbox(SandboxConfig(invoices=total, seed=1))
        box.start()
        old_tenant(box, to_link)
        box.faults.add(delay=latency_ms / 1000, times=None)
        return box

    box = sandbox()
    try:
        run = asyncio.run(one_run(box, None))
    finally:
        box.stop()
    show("backfill", run)
    box = sandbox()
    try:
        written, requests, seconds = asyncio.run(naive(box))
    finally:
        box.stop()
    print(f"{'one POST per invoice':>24}: {written} written, {requests} requests, {seconds:.1f} s")
    floor = math.ceil(total / 100) + math.ceil(run["written"] / 100) + 1
    print(
        f"requests {run['requests']} vs floor {floor} ({run['requests'] / floor:.2f}x); "
        f"{run['seconds']:.2f} s vs {seconds:.2f} s, "
        f"{seconds / run['seconds']:.1f}x faster than one POST per invoice"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["old", "second", "small"])
    args = parser.parse_args(argv)
    {"old": old, "second": second, "small": small}[args.case]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
