"""A disturbed listing never ends in a false `completed`.

For every way the sandbox's listing misbehaves between page reads (rows deleted or paid so later
rows shift back, rows repeated across a page boundary, a `record_count` that lies or changes, a
blank page before the end, a silent page-size cap), a backfill ends either `completed` with every
open invoice linked, or `incomplete` (exit 6, resumable); once the disturbance stops, resuming
completes with every open invoice linked. No invoice is written twice, no id <= 0 is written, and
the counts add up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from halo_paylink.core.backfill import RunOptions, RunOutcome, resume_run, run_backfill
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.domain import Numbering
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, settings, snapshot
from .contract import assert_all_linked, assert_contract, assert_no_duplicate_or_forbidden_writes

pytestmark = pytest.mark.anyio

SIZE = 25
OPTIONS = RunOptions(batch_size=10, concurrency=2, page_size=SIZE, progress_interval=0.0)
N = 240  # ten pages of 25 (the last one short)
#: How many listing passes a run may spend proving its listing (the engine's bound).
MAX_PASSES = 3

#: Disturbs a sandbox's listing for this many passes (None = every pass).
Fault = Callable[[Sandbox, int | None], Any]

#: (name, how to disturb the listing, needs the server-side unpaid filter)
FAULTS: list[tuple[str, Fault, bool]] = [
    ("deleted rows shift back", lambda b, p: b.shift_rows(after_page=2, rows=3, passes=p), False),
    (
        "paid rows drop out of the filtered list",
        lambda b, p: b.shift_rows(after_page=2, rows=4, mode="pay", passes=p),
        True,
    ),
    (
        "rows repeated across pages",
        lambda b, p: b.repeat_rows(after_page=3, rows=2, passes=p),
        False,
    ),
    (
        "repeated rows displace others",
        lambda b, p: b.repeat_rows(after_page=3, rows=6, displace=True, passes=p),
        False,
    ),
    (
        "record_count too small",
        lambda b, p: b.lie_record_count(record_count=N - 40, passes=p),
        False,
    ),
    (
        "record_count too large",
        lambda b, p: b.lie_record_count(record_count=N + 30, passes=p),
        False,
    ),
    (
        "record_count shrinks mid-pass",
        lambda b, p: b.lie_record_count(delta=-SIZE, after_page=4, passes=p),
        False,
    ),
    ("empty page before the end", lambda b, p: b.empty_page(page=4, passes=p), False),
]


def _settings(server_filter: bool) -> Any:
    return settings(numbering=Numbering.HALO, server_filter=server_filter)


@pytest.mark.parametrize(("name", "fault", "server_filter"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_one_disturbance_is_caught_or_healed(
    make_sandbox, paths, name: str, fault: Fault, server_filter: bool
) -> None:
    """The disturbance happens once: the run may re-read and complete, or end incomplete; either
    way nothing is lost, and a resume (or nothing more) leaves every open invoice linked."""
    box: Sandbox = make_sandbox(invoices=N, seed=21)
    before = snapshot(box)
    fault(box, 1)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(server_filter), paths, options=OPTIONS)
        assert_contract(box, result, paths, before, server_filter=server_filter)
        assert box.listing_passes <= MAX_PASSES
        if result.outcome is RunOutcome.INCOMPLETE:
            box.clear_listing_faults()
            resumed = await resume_run(client, paths, result.run_id, options=OPTIONS)
            assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
            assert_contract(box, resumed, paths, before, server_filter=server_filter)


@pytest.mark.parametrize(("name", "fault", "server_filter"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_a_listing_that_never_settles_ends_incomplete_and_resumes(
    make_sandbox, paths, name: str, fault: Fault, server_filter: bool
) -> None:
    """The disturbance repeats on every pass: re-reading cannot show the listing consistent, so the
    run (after a bounded number of passes) ends incomplete, or completes only if every open
    invoice really is linked. After the disturbance stops, resume completes."""
    box: Sandbox = make_sandbox(invoices=N, seed=22)
    before = snapshot(box)
    fault(box, None)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(server_filter), paths, options=OPTIONS)
        assert_contract(box, result, paths, before, server_filter=server_filter)
        assert box.listing_passes <= MAX_PASSES, "the listing was read again without bound"
        box.clear_listing_faults()
        if result.outcome is RunOutcome.INCOMPLETE:
            assert [r.run_id for r in list_runs(paths) if r.resumable] == [result.run_id]
            resumed = await resume_run(client, paths, options=OPTIONS)
            assert resumed.run_id == result.run_id
            assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
            assert_contract(box, resumed, paths, before, server_filter=server_filter)
            assert not [r for r in list_runs(paths) if r.resumable]
    assert_all_linked(box, before, server_filter=server_filter)
    assert_no_duplicate_or_forbidden_writes(box)


async def test_undisturbed_listing_is_read_once(make_sandbox, paths) -> None:
    """Proof costs little: with nothing disturbed, one pass (plus at most the page that confirms
    a full last page) and every open invoice linked."""
    box: Sandbox = make_sandbox(invoices=N, seed=23)
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(False), paths, options=OPTIONS)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert_contract(box, result, paths, before)
    assert box.listing_passes == 1
    assert box.stats.listing_pages <= -(-N // SIZE) + 1


@pytest.mark.parametrize("echo", ["requested", "none", "served"])
async def test_silent_page_cap_loses_nothing(make_sandbox, paths, echo: str) -> None:
    """Halo caps `page_size` silently and may echo what was asked: the run still reads every row
    (the client asks for 100; the server sends 30)."""
    box: Sandbox = make_sandbox(invoices=N, seed=24)
    box.set_page_cap(30, echo=echo)
    before = snapshot(box)
    options = RunOptions(batch_size=10, concurrency=2, page_size=100, progress_interval=0.0)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(False), paths, options=options)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert_contract(box, result, paths, before)


async def test_cap_with_shifting_rows_together(make_sandbox, paths) -> None:
    """A silent cap and rows deleted mid-read at once: still no false `completed`."""
    box: Sandbox = make_sandbox(invoices=N, seed=25)
    box.set_page_cap(30, echo="requested")
    box.shift_rows(after_page=2, rows=5, passes=2)
    before = snapshot(box)
    options = RunOptions(batch_size=10, concurrency=2, page_size=100, progress_interval=0.0)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(False), paths, options=options)
        assert_contract(box, result, paths, before)
        if result.outcome is RunOutcome.INCOMPLETE:
            box.clear_listing_faults()
            resumed = await resume_run(client, paths, result.run_id, options=options)
            assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
            assert_contract(box, resumed, paths, before)


@hypothesis.settings(
    max_examples=15,
    deadline=None,
    # Each example is a whole backfill: no shrinking, so a failure is reported in seconds.
    phases=(hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate),
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
    ],
)
@hypothesis.given(
    kind=st.sampled_from(["delete", "pay", "repeat", "displace", "count", "empty"]),
    after_page=st.integers(1, 7),
    rows=st.integers(1, 15),
    delta=st.integers(-60, 60).filter(bool),
    every_pass=st.booleans(),
    page_size=st.integers(7, 40),
)
def test_any_listing_disturbance_keeps_the_promise(
    paths: AppPaths,
    kind: str,
    after_page: int,
    rows: int,
    delta: int,
    every_pass: bool,
    page_size: int,
) -> None:
    """Whatever the disturbance, where and how often: `completed` means every open invoice is
    linked, otherwise the run is `incomplete` and a resume after the disturbance completes."""
    server_filter = kind == "pay"
    passes = None if every_pass else 1

    async def scenario() -> None:
        with Sandbox(SandboxConfig(invoices=150, seed=26)) as box:
            before = snapshot(box)
            if kind in ("delete", "pay"):
                box.shift_rows(after_page=after_page, rows=rows, mode=kind, passes=passes)
            elif kind in ("repeat", "displace"):
                box.repeat_rows(
                    after_page=after_page, rows=rows, displace=kind == "displace", passes=passes
                )
            elif kind == "count":
                box.lie_record_count(delta=delta, after_page=after_page, passes=passes)
            else:
                box.empty_page(page=after_page, passes=passes)
            options = RunOptions(
                batch_size=10, concurrency=2, page_size=page_size, progress_interval=0.0
            )
            async with halo_client(box) as client:
                result = await run_backfill(
                    client, _settings(server_filter), paths, options=options
                )
                assert_contract(box, result, paths, before, server_filter=server_filter)
                assert box.listing_passes <= MAX_PASSES
                if result.outcome is RunOutcome.INCOMPLETE:
                    box.clear_listing_faults()
                    resumed = await resume_run(client, paths, result.run_id, options=options)
                    assert resumed.outcome in (
                        RunOutcome.COMPLETED,
                        RunOutcome.COMPLETED_WITH_FAILURES,  # writes to invoices deleted meanwhile
                    ), resumed.detail
                    assert_contract(box, resumed, paths, before, server_filter=server_filter)

    asyncio.run(scenario())


async def test_the_server_filter_misses_no_open_invoice_whatever_the_codes(
    make_sandbox, paths
) -> None:
    """With --server-filter, a tenant whose unpaid and part-paid codes are not Halo's usual
    0 and -1 still gets every open invoice linked: the filter only asks for posted, non-credit
    invoices."""
    from halo_paylink.sandbox.state import StatusCodes

    box = make_sandbox(invoices=200, seed=9, status_codes=StatusCodes(unpaid=3, part=5, paid=7))
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(client, _settings(True), paths, options=OPTIONS)
    assert result.outcome is RunOutcome.COMPLETED
    assert_contract(box, result, paths, before)  # every open invoice, not only codes 0 and -1
