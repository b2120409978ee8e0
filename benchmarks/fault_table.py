"""What a backfill reports under each of Halo's misbehaviours, against the built-in sandbox.

For every fault mode: the run's outcome and exit code, how many open invoices it left without
the link while saying so or not (missed), and how many invoices were written more than once
(duplicated). "Missed (silent)" must be 0: an open invoice may be left only under an outcome that
is not "completed", or with a named reason. Then, where the outcome is resumable, the fault is
cleared and the run resumed; the second column group shows the result.

    .venv/bin/python benchmarks/fault_table.py [--invoices 400]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from typing import Any

from halo_paylink.core.backfill import BackfillSettings, RunOptions, RunOutcome
from halo_paylink.core.backfill.runner import resume_run, run_backfill
from halo_paylink.domain import Numbering
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.http import make_http_client
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.halo.session import discover_client
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox.seed import DEMO_BENJI_TEMPLATE
from halo_paylink.storage.paths import AppPaths

FIELD = "generic_online_invoice_payment_url"


async def _quick(_: float) -> None:
    await asyncio.sleep(0)


def _modes() -> list[tuple[str, dict[str, Any], Callable[[Sandbox], None]]]:
    return [
        ("calm listing", {}, lambda b: None),
        ("rows deleted between pages (once)", {}, lambda b: b.shift_rows(after_page=2, rows=3)),
        (
            "rows deleted between pages (every read)",
            {},
            lambda b: b.shift_rows(after_page=2, rows=1, passes=None),
        ),
        (
            "rows paid between pages, --server-filter",
            {"server_filter": True},
            lambda b: b.shift_rows(after_page=2, rows=3, mode="pay"),
        ),
        ("row repeated across pages", {}, lambda b: b.repeat_rows(after_page=1, rows=2)),
        (
            "row repeated, displacing another",
            {},
            lambda b: b.repeat_rows(after_page=1, rows=2, displace=True),
        ),
        ("record_count too small", {}, lambda b: b.lie_record_count(delta=-37, passes=None)),
        ("record_count too large", {}, lambda b: b.lie_record_count(delta=+37, passes=None)),
        ("an empty page once", {}, lambda b: b.empty_page(page=2)),
        ("silent page cap 50", {}, lambda b: b.set_page_cap(50, echo="requested")),
        ("100 recurring templates (ids < 0)", {}, lambda b: b.add_templates(100)),
        ("odd records (NaN, bad ids, ...)", {}, lambda b: b.add_odd_records()),
        (
            "one listing answer trickles 1 byte/s (deadline 0.5 s)",
            {"client": {"request_deadline": 0.5, "max_retries": 1}},
            lambda b: b.faults.add(trickle=1.0, method="GET", path="/api/invoice", after=1),
        ),
        (
            "endless listing body (cap 1 MiB)",
            {"client": {"max_response_bytes": 1 << 20, "max_retries": 1}},
            lambda b: b.faults.add(endless=True, method="GET", path="/api/invoice", after=1),
        ),
        (
            "5xx body echoing the token",
            {"client": {"max_retries": 1}},
            lambda b: b.faults.add(echo_token=True, method="POST", path="/api/invoice", times=3),
        ),
        (
            "302 on the update POST",
            {},
            lambda b: b.faults.add(
                redirect="https://elsewhere.example/api/Invoice", method="POST", path="/api/invoice"
            ),
        ),
    ]


async def _client(http: Any, box: Sandbox, **limits: Any) -> HaloClient:
    credentials = Credentials(box.config.client_id, box.config.client_secret)
    return await discover_client(
        http, box.url, credentials, limiter=RateLimiter.unlimited(), sleep=_quick, **limits
    )


def _settings(server_filter: bool) -> BackfillSettings:
    return BackfillSettings(
        DEMO_BENJI_TEMPLATE, numbering=Numbering.ACCOUNTING, server_filter=server_filter
    )


def _named(result: Any) -> set[int]:
    """Invoices the run's report names with a reason for not holding the link."""
    import csv

    if result.report is None:
        return set()
    with open(result.report.csv, encoding="utf-8-sig", newline="") as handle:
        return {
            int(row["invoice_id"])
            for row in csv.DictReader(handle)
            if row["outcome"] in ("skipped", "conflict", "failed")
            and row["invoice_id"].lstrip("-").isdigit()
        }


def _missing(box: Sandbox, want: set[int], result: Any) -> int:
    """Open invoices without the link that the report does not name either."""
    named = _named(result)
    with box.lock:
        rows = {i: dict(box.invoices[i]) for i in want if i in box.invoices}
    return sum(
        1 for i, row in rows.items() if not (row.get(FIELD) or "").strip() and i not in named
    )


async def _one(name: str, extra: dict[str, Any], fault: Callable[[Sandbox], None], n: int) -> str:
    box = Sandbox(SandboxConfig(invoices=n, seed=3))
    box.start()
    try:
        fault(box)
        want = box.open_invoice_ids()
        if extra.get("server_filter"):
            with box.lock:
                want = {i for i in want if box.invoices[i].get("paymentstatus") in (0, -1)}
        paths = AppPaths.under(tempfile.mkdtemp(prefix="fault-table-"))
        options = RunOptions(progress_interval=1.0)
        async with make_http_client() as http:
            client = await _client(http, box, **extra.get("client", {}))
            first = await run_backfill(
                client, _settings(bool(extra.get("server_filter"))), paths, options=options
            )
            missed = _missing(box, want & box.open_invoice_ids(), first)
            silent = missed if first.outcome is RunOutcome.COMPLETED else 0
            resumed = "-"
            if first.outcome.resumable:
                box.clear_listing_faults()
                box.faults.clear()
                again = await resume_run(client, paths, options=options)
                resumed = (
                    f"{again.outcome.value} ({again.outcome.exit_code}), "
                    f"missed {_missing(box, want & box.open_invoice_ids(), again)}"
                )
        dup = sum(1 for c in box.post_counts().values() if c > 1)
        neg = sum(box.refused_posts().values())
        return (
            f"| {name} | {first.outcome.value} | {first.outcome.exit_code} | {missed} | "
            f"{silent} | {dup} | {neg} | {first.requests} | {resumed} |"
        )
    finally:
        box.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=400)
    args = parser.parse_args()
    print(
        "| fault | outcome | exit | open invoices missed (unlinked, unnamed) | "
        "of those under 'completed' | "
        "written twice | ids <= 0 POSTed | requests | after the fault clears: resume |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, extra, fault in _modes():
        print(await _one(name, extra, fault, args.invoices))


if __name__ == "__main__":
    asyncio.run(main())
