"""A long list read narrowed to the payment statuses not proven paid, over real HTTP: cheaper,
and never at the price of an open invoice (the contract holds whatever the codes mean)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from halo_paylink.core.backfill import RunOptions, RunOutcome, run_backfill
from halo_paylink.core.backfill.tenant import load_tenant_facts, tenant_file
from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, settings, snapshot
from .contract import assert_contract

pytestmark = pytest.mark.anyio

SIZE = facts.NARROW_FROM_INVOICES + 1000


def make_old(box: Sandbox, *, paid_code: int, keep_open_every: int = 12) -> None:
    """Most posted invoices long paid with `paid_code`; every `keep_open_every`-th stays as
    seeded (open, part-paid, voided, ...)."""
    with box.lock:
        for invoice_id, invoice in box.invoices.items():
            if invoice_id <= 0 or invoice_id % keep_open_every == 0:
                continue
            if not invoice.get("posted") or invoice.get("voided"):
                continue
            total = invoice.get("total")
            if not isinstance(total, int | float) or total <= 0:
                continue
            invoice.update(amountpaid=total, amountdue=0, paymentstatus=paid_code)


async def run(  # type: ignore[no-untyped-def]
    box: Sandbox,
    paths: AppPaths,
    now: Callable[[], dt.datetime] | None = None,
    **options: Any,
):
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(
            client,
            settings(numbering=Numbering.HALO),
            paths,
            options=RunOptions(**{"narrow": True, **options}),
            now=now,
        )
    assert_contract(box, result, paths, before)
    return result


@pytest.mark.parametrize("paid_code", [2, 4, -7])
async def test_an_old_tenant_is_linked_without_reading_its_archive(
    make_sandbox, paths: AppPaths, paid_code: int
) -> None:
    box = make_sandbox(invoices=SIZE)
    make_old(box, paid_code=paid_code)
    result = await run(box, paths)
    assert result.outcome is RunOutcome.COMPLETED
    whole_pages = SIZE // facts.REQUESTED_PAGE_SIZE
    narrowed = any(w.startswith("Read narrowed") for w in result.warnings)
    if paid_code in facts.CANDIDATE_PAYMENT_STATUSES:
        assert narrowed, result.warnings
        assert any(facts.NARROWED_READ_RESTS_ON in w for w in result.warnings)
        assert result.requests is not None and result.requests < whole_pages
    else:  # a code the census does not ask about: the counts do not add up, all is read...
        assert not narrowed
        # ... and that full read taught the code, so the next run asks about it too.
        again = await run(box, paths)
        assert any(w.startswith("Read narrowed") for w in again.warnings), again.warnings
    tenant = load_tenant_facts(tenant_file(paths, box.url))
    assert paid_code in tenant.proven_paid_codes()


async def test_a_second_run_spends_little(make_sandbox, paths: AppPaths) -> None:
    box = make_sandbox(invoices=SIZE)
    make_old(box, paid_code=2)
    await run(box, paths)
    second = await run(box, paths)
    assert second.outcome is RunOutcome.COMPLETED and second.counts.written == 0
    assert second.requests is not None and second.requests < 20


async def test_a_code_that_changes_meaning_is_caught_by_the_next_full_read(
    make_sandbox, paths: AppPaths
) -> None:
    box = make_sandbox(invoices=SIZE)
    make_old(box, paid_code=2)
    await run(box, paths)
    # Oldest paid invoices now owe something again, still coded 2 (the spot check reads the
    # newest, so only a full read can see this).
    with box.lock:
        changed = sorted(
            i for i, inv in box.invoices.items() if inv.get("paymentstatus") == 2 and i > 0
        )[:5]
        for i in changed:
            inv = box.invoices[i]
            inv.update(amountpaid=0, amountdue=inv["total"])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=facts.FULL_READ_EVERY_DAYS + 1)
    result = await run(box, paths, now=lambda: later)  # a month on
    assert result.outcome is RunOutcome.COMPLETED
    assert any("Payment status 2 was taken as paid, but 5 invoices" in w for w in result.warnings)
    assert set(changed) <= set(box.post_counts())
    assert 2 not in load_tenant_facts(tenant_file(paths, box.url)).proven_paid_codes()
