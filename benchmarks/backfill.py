#!/usr/bin/env python3
"""Backfill benchmarks (scripts, not tests): speed, rate-limited efficiency, memory.

    .venv/bin/python benchmarks/backfill.py speed        # 12,000 invoices (~10,000 open) vs naive
    .venv/bin/python benchmarks/backfill.py ratelimited  # sandbox limited to 30 requests / 30 s
    .venv/bin/python benchmarks/backfill.py memory       # peak RSS at 10,000 vs 100,000 invoices
    .venv/bin/python benchmarks/backfill.py latency      # speed with 5 ms added to every request

`speed` runs on loopback, where both sides are CPU-bound; `latency` adds a fixed delay to every
sandbox response (the sandbox's fault injector), closer to a real Halo round trip.

The sandbox always runs in its own process (so its CPU and memory are not the backfill's); journals
and reports go to a temporary HALO_PAYLINK_HOME. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


# --- the sandbox process -------------------------------------------------------------------------


def serve(
    invoices: int, open_target: int, rate: str | None, retry_after: bool, latency_ms: float = 0.0
) -> None:
    """Child: run a sandbox, make `open_target` invoices open and unlinked, answer 'stats'."""
    from halo_paylink.sandbox import Sandbox, SandboxConfig
    from halo_paylink.sandbox.state import parse_rate_limit

    config = SandboxConfig(
        invoices=invoices,
        seed=1,
        rate_limit=parse_rate_limit(rate) if rate else None,
        send_retry_after=retry_after,
    )
    box = Sandbox(config)
    with box.lock:
        ids = sorted(box.invoices)
        keep = max(0, len(ids) - open_target)  # the first `keep` keep their seeded category
        for invoice_id in ids[keep:]:
            inv = box.invoices[invoice_id]
            total = abs(float(inv.get("total") or 0)) or 100.0
            inv.update(
                posted=True,
                voided=False,
                total=total,
                amountpaid=0.0,
                amountdue=total,
                amount_remaining=total,
                paymentstatus=0,
                thirdpartyinvoicenumber=str(50000 + invoice_id),
                generic_online_invoice_payment_url="",
            )
    if latency_ms > 0:  # every request, like a network round trip
        box.faults.add(delay=latency_ms / 1000, times=None)
    url = box.start()
    print(
        json.dumps({"url": url, "client_id": config.client_id, "secret": config.client_secret}),
        flush=True,
    )
    for line in sys.stdin:
        if line.strip() == "stats":
            stats = box.stats
            with stats.lock:
                data = {
                    "requests": stats.requests,
                    "rate_limited": stats.rate_limited,
                    "invoice_posts": stats.invoice_posts,
                    "written": len(stats.invoices_written),
                    "written_twice": sum(1 for n in stats.invoices_written.values() if n > 1),
                    "server_cpu_s": time.process_time(),
                }
            print(json.dumps(data), flush=True)
    box.stop()


class SandboxProcess:
    def __init__(
        self,
        invoices: int,
        open_target: int,
        rate: str | None = None,
        retry_after: bool = True,
        latency_ms: float = 0.0,
    ) -> None:
        args = [sys.executable, __file__, "_serve", str(invoices), str(open_target)]
        if latency_ms:
            args += ["--latency-ms", str(latency_ms)]
        if rate:
            args += ["--rate", rate]
        if not retry_after:
            args.append("--no-retry-after")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# --- the client side -----------------------------------------------------------------------------


async def _client(info: dict[str, Any], limiter: Any = None):  # type: ignore[no-untyped-def]
    from halo_paylink.halo.http import make_http_client
    from halo_paylink.halo.models import Credentials
    from halo_paylink.halo.session import discover_client

    http = make_http_client(timeout=60.0)
    client = await discover_client(
        http,
        info["url"],
        Credentials(info["client_id"], info["secret"]),
        rate_limit="unlimited",
        limiter=limiter,
    )
    return http, client


async def backfill_once(info: dict[str, Any], limiter: Any = None) -> tuple[Any, float]:
    from halo_paylink.core.backfill import BackfillSettings, run_backfill
    from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE
    from halo_paylink.storage.paths import AppPaths

    http, client = await _client(info, limiter)
    try:
        start = time.perf_counter()
        result = await run_backfill(
            client, BackfillSettings(template=DEMO_BENJI_TEMPLATE), AppPaths.default()
        )
        elapsed = time.perf_counter() - start
    finally:
        await http.aclose()
    result_stats = client.stats
    return (result, result_stats), elapsed


async def naive_loop(info: dict[str, Any]) -> tuple[int, int, float]:
    """The straightforward way: read pages, POST one invoice per request, in sequence."""
    from halo_paylink.core.backfill.selection import decide
    from halo_paylink.core.backfill.target import FieldTarget
    from halo_paylink.domain import Numbering
    from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE

    http, client = await _client(info)
    target = FieldTarget()
    written = 0
    try:
        start = time.perf_counter()
        async for page in client.invoice_pages():
            for invoice in page.invoices:
                d = decide(
                    invoice,
                    target=target,
                    template=DEMO_BENJI_TEMPLATE,
                    numbering=Numbering.ACCOUNTING,
                )
                if d.is_write:
                    await client.update_invoices([target.build_update(invoice.id, d.new)])
                    written += 1
        elapsed = time.perf_counter() - start
    finally:
        await http.aclose()
    return written, client.stats.requests, elapsed


def speed(total: int = 12_000, open_target: int = 10_000, latency_ms: float = 0.0) -> None:
    if latency_ms:
        print(f"(every sandbox response delayed by {latency_ms:g} ms)")
    box = SandboxProcess(total, open_target, latency_ms=latency_ms)
    try:
        (result, stats), elapsed = asyncio.run(backfill_once(box.info))
        server = box.stats()
    finally:
        box.close()
    cpu = server["server_cpu_s"]
    print(
        f"backfill: {result.outcome.value}, {result.counts.written} written of {total} "
        f"invoices in {elapsed:.2f} s ({result.counts.written / elapsed:,.0f} invoices/s), "
        f"{stats.requests} requests, written twice: {server['written_twice']} "
        f"(sandbox CPU {cpu:.2f} s incl. seeding)"
    )
    box = SandboxProcess(total, open_target, latency_ms=latency_ms)
    try:
        written, requests, naive = asyncio.run(naive_loop(box.info))
    finally:
        box.close()
    print(
        f"naive one-POST-per-invoice loop: {written} written in {naive:.2f} s "
        f"({written / naive:,.0f} invoices/s), {requests} requests"
    )
    print(f"speed-up: {naive / elapsed:.1f}x (target >= 10x; backfill well under a minute)")


def ratelimited() -> None:
    from halo_paylink.halo.ratelimit import RateLimiter

    total, open_target = 1_500, 1_300
    for label, limiter_factory, retry_after in (
        ("client knows the limit (30/30)", lambda: RateLimiter(30, 30.0), True),
        ("client learns from 429 + Retry-After", RateLimiter.unlimited, True),
    ):
        box = SandboxProcess(total, open_target, rate="30/30", retry_after=retry_after)
        try:
            (result, stats), elapsed = asyncio.run(backfill_once(box.info, limiter_factory()))
            server = box.stats()
        finally:
            box.close()
        pages = -(-total // 100)
        batches = -(-result.counts.written // 50)
        minimum = pages + batches + 2  # + authinfo and one token
        print(
            f"[{label}] outcome {result.outcome.value}; written {result.counts.written}; "
            f"{elapsed:.1f} s"
        )
        print(
            f"  requests: client {stats.requests} (429 retries {stats.retries_429}), server saw "
            f"{server['requests']} incl. {server['rate_limited']} answered 429; minimum "
            f"{minimum} (pages {pages} + batches {batches} + authinfo + token)"
        )
        print(
            f"  achieved {server['requests'] / elapsed:.2f} req/s; a 30/30 s window allows at most "
            f"{30 * (int(elapsed // 30) + 1)} requests in {elapsed:.1f} s "
            f"(1.00 req/s sustained); "
            f"{result.counts.written / elapsed:.1f} invoices/s; "
            f"written twice: {server['written_twice']}"
        )


def client_memory(url_info: str, trace: bool) -> None:
    """Child: run one backfill and print peak RSS (and tracemalloc peak) as JSON."""
    import tracemalloc

    info = json.loads(url_info)
    if trace:
        tracemalloc.start()
    (result, _stats), elapsed = asyncio.run(backfill_once(info))
    peak_trace = tracemalloc.get_traced_memory()[1] if trace else 0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "written": result.counts.written,
                "seconds": elapsed,
                "peak_rss_mb": rss_kb / 1024,
                "tracemalloc_peak_mb": peak_trace / 2**20,
                "outcome": result.outcome.value,
            }
        )
    )


def memory() -> None:
    for total in (10_000, 100_000):
        for trace in (False, True):
            box = SandboxProcess(total, int(total * 0.83))
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "_client", json.dumps(box.info)]
                    + (["--trace"] if trace else []),
                    capture_output=True,
                    text=True,
                    check=True,
                )
            finally:
                box.close()
            data = json.loads(out.stdout.strip().splitlines()[-1])
            what = (
                f"tracemalloc peak {data['tracemalloc_peak_mb']:.1f} MB"
                if trace
                else f"peak RSS {data['peak_rss_mb']:.1f} MB"
            )
            print(
                f"{total:>7} invoices: {data['outcome']}, {data['written']} written in "
                f"{data['seconds']:.1f} s; {what}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "mode", choices=("speed", "ratelimited", "memory", "latency", "_serve", "_client")
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("args", nargs="*")
    parser.add_argument("--rate")
    parser.add_argument("--no-retry-after", action="store_true")
    parser.add_argument("--trace", action="store_true")
    ns = parser.parse_args()
    if ns.mode == "_serve":
        serve(int(ns.args[0]), int(ns.args[1]), ns.rate, not ns.no_retry_after, ns.latency_ms)
        return
    if ns.mode == "_client":
        client_memory(ns.args[0], ns.trace)
        return
    home = tempfile.mkdtemp(prefix="halo-paylink-bench-")
    os.environ["HALO_PAYLINK_HOME"] = home  # children inherit it
    if ns.mode == "latency":
        speed(total=3_000, open_target=2_500, latency_ms=ns.latency_ms or 5.0)
    else:
        {"speed": speed, "ratelimited": ratelimited, "memory": memory}[ns.mode]()
    print(f"(journals and reports in {home})")


if __name__ == "__main__":
    main()
