"""The backfill against a sandbox that plays an old tenant, over real HTTP: payment status codes
in any numbering, a build that ignores the newer filters, and codes that change meaning mid-life.
Whatever the tenant does, every run keeps the contract and no open invoice is missed."""

from __future__ import annotations

import asyncio
import math
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from halo_paylink.core.backfill import RunOptions, RunOutcome, run_backfill
from halo_paylink.core.backfill.model import RunResult
from halo_paylink.core.backfill.tenant import load_tenant_facts, tenant_file
from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox, SandboxConfig, StatusCodes
from halo_paylink.sandbox.seed import PAID, PART_PAID, UNPAID
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, snapshot
from .conftest import settings as backfill_settings
from .contract import assert_contract

pytestmark = pytest.mark.anyio

#: Long enough for a census (and a narrowed read) to pay off.
SIZE = facts.NARROW_FROM_INVOICES + 400

#: Paid is a code the census asks about by default; then one it does not know.
KNOWN_PAID = StatusCodes(unpaid=3, unsynced=4, part=0, paid=1)
UNKNOWN_PAID = StatusCodes(unpaid=3, unsynced=-1, part=0, paid=7)


def old_tenant(codes: StatusCodes, **config: Any) -> Sandbox:
    """A started sandbox with an old tenant's invoices, coded `codes`."""
    box = Sandbox(SandboxConfig(invoices=SIZE, seed=21, mix="old", status_codes=codes, **config))
    box.start()
    return box


async def run(box: Sandbox, paths: AppPaths, **options: Any) -> RunResult:
    """One backfill run held to the contract; it must complete."""
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(
            client,
            backfill_settings(numbering=Numbering.HALO),
            paths,
            options=RunOptions(**{"narrow": True, **options}),
        )
    assert_contract(box, result, paths, before)
    assert result.outcome is RunOutcome.COMPLETED, f"{result.outcome.value}: {result.detail}"
    return result


def narrowed(result: RunResult) -> bool:
    return any(w.startswith("Read narrowed") for w in result.warnings)


def whole_list_pages(box: Sandbox) -> int:
    with box.lock:
        return math.ceil(len(box.invoices) / facts.REQUESTED_PAGE_SIZE)


@pytest.mark.parametrize("codes", [KNOWN_PAID, UNKNOWN_PAID], ids=["paid=1", "paid=7"])
async def test_an_old_tenant_in_any_numbering_is_read_narrowed(
    paths: AppPaths, codes: StatusCodes
) -> None:
    box = old_tenant(codes)
    try:
        assert 50 < len(box.open_invoice_ids()) < SIZE // 10  # mostly long paid
        first = await run(box, paths)
        # A paid code the census asks about is proven by a sample at once; another one is
        # found out because the counts do not add up, and learned by that run's full read.
        assert narrowed(first) is (codes.paid in facts.CANDIDATE_PAYMENT_STATUSES)
        assert codes.paid in load_tenant_facts(tenant_file(paths, box.url)).proven_paid_codes()
        new = box.add_invoices(15, category=UNPAID) + box.add_invoices(5, category=PART_PAID)
        second = await run(box, paths)
        assert narrowed(second), second.warnings
        assert set(new) <= set(box.post_counts())
    finally:
        box.stop()


async def test_an_older_build_that_ignores_the_filters_is_read_whole(paths: AppPaths) -> None:
    box = old_tenant(UNKNOWN_PAID, honours_new_filters=False)
    try:
        for _ in range(2):  # the second run knows every code, and still reads everything
            pages_before = box.stats.listing_pages
            result = await run(box, paths)
            assert not narrowed(result), result.warnings
            assert box.stats.listing_pages - pages_before >= whole_list_pages(box)
            box.add_invoices(3)
        assert (
            UNKNOWN_PAID.paid in load_tenant_facts(tenant_file(paths, box.url)).proven_paid_codes()
        )
    finally:
        box.stop()


codes_strategy = st.lists(st.integers(-3, 9), min_size=4, max_size=4, unique=True).map(
    lambda values: StatusCodes(*values)
)


@settings(
    max_examples=6,
    deadline=None,
    # Each example is two whole backfills: no shrinking, so a failure is reported in seconds.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(codes=codes_strategy, honoured=st.booleans())
def test_no_numbering_of_the_codes_costs_an_open_invoice(
    codes: StatusCodes, honoured: bool
) -> None:
    """Whatever code means what, and whether the build filters by it: both runs complete with
    every open invoice linked; the second reads narrowed exactly when the build filters."""

    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as home:
            paths = AppPaths.default({"HALO_PAYLINK_HOME": home}).ensure()
            box = old_tenant(codes, honours_new_filters=honoured)
            try:
                await run(box, paths)
                box.add_invoices(10, category=UNPAID)
                second = await run(box, paths)
                assert narrowed(second) is honoured, second.warnings
            finally:
                box.stop()

    asyncio.run(scenario())


async def test_new_invoices_with_a_code_that_meant_paid_are_read(paths: AppPaths) -> None:
    """After the first run proved 7 paid, 7 comes to mean part-paid: the newest invoices with it
    owe something, and the next run's spot check of the code sees them."""
    box = old_tenant(UNKNOWN_PAID)
    try:
        await run(box, paths)
        box.set_status_codes(StatusCodes(unpaid=3, unsynced=-1, part=7, paid=5))
        part_paid = box.add_invoices(12, category=PART_PAID)
        assert {box.invoice(i)["paymentstatus"] for i in part_paid} == {7}
        await run(box, paths)
        assert set(part_paid) <= set(box.post_counts())
        assert 7 not in load_tenant_facts(tenant_file(paths, box.url)).proven_paid_codes()
    finally:
        box.stop()


async def test_codes_renumbered_by_a_migration_are_read(paths: AppPaths) -> None:
    """Every invoice is recoded (paid 1 -> 2, part-paid 0 -> 1): the code proven paid now holds
    the part-paid invoices, and none of them is missed."""
    box = old_tenant(KNOWN_PAID)
    try:
        await run(box, paths)
        box.set_status_codes(StatusCodes(unpaid=3, unsynced=4, part=1, paid=2), recode=True)
        with box.lock:
            part_paid = {
                i for i, inv in box.invoices.items() if i > 0 and inv["paymentstatus"] == 1
            }
        assert part_paid & box.open_invoice_ids()
        box.add_invoices(5, category=UNPAID)
        await run(box, paths)
    finally:
        box.stop()


@pytest.mark.parametrize("narrow", [False, True], ids=["default", "narrowed"])
async def test_old_invoices_that_owe_again_under_a_code_that_meant_paid_are_read(
    paths: AppPaths, narrow: bool
) -> None:
    """After the first run proved 7 paid, 7 comes to mean part-paid, and five of the oldest paid
    invoices are partly refunded: open again, coded 7, far from the newest invoices with that
    code. Nothing open may be missed, so the next run must still link them."""
    box = old_tenant(UNKNOWN_PAID, stamp_changes=True)  # a refund moves last_modified
    try:
        await run(box, paths)
        box.set_status_codes(StatusCodes(unpaid=3, unsynced=-1, part=7, paid=5))
        with box.lock:
            oldest = sorted(i for i, c in box.categories.items() if c == PAID)[:5]
        for invoice_id in oldest:
            box.set_payment(invoice_id, paid=box.invoice(invoice_id)["total"] / 2)
        assert {box.invoice(i)["paymentstatus"] for i in oldest} == {7}
        assert set(oldest) <= box.open_invoice_ids()
        result = await run(box, paths, narrow=narrow)
        if narrow:  # left unread but for the invoices changed since the proof: these five
            assert narrowed(result), result.warnings
            assert any("Payment status 7 was taken as paid" in w for w in result.warnings)
    finally:
        box.stop()
