"""Whether a run may read only what changed is measured on the tenant, over real HTTP: whole reads
after a completed run check that every invoice needing the link had changed since it (see
`tenant.ChangeWitness`). Shown on enough invoices, later runs read only what changed; one miss (a
change Halo did not stamp) turns that off for good and says so. The contract holds throughout."""

from __future__ import annotations

from typing import Any

import pytest

from halo_paylink.core.backfill import RunOptions, RunOutcome, run_backfill
from halo_paylink.core.backfill.learning import TenantLearning
from halo_paylink.core.backfill.tenant import FactId, load_tenant_facts, tenant_file
from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod
from halo_paylink.sandbox.records import with_payment
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, settings
from .test_narrowed_read import run as contract_run

pytestmark = pytest.mark.anyio

FACT = FactId.CHANGES_MOVE_LAST_MODIFIED
OTHER_TEMPLATE = "https://pay.example.benjipays.com/pay/[Invoice No.]"


async def run(box: Sandbox, paths: AppPaths, **options: Any):  # type: ignore[no-untyped-def]
    """A run held to the contract with the defaults for narrowed and incremental reads."""
    return await contract_run(box, paths, **{"narrow": None, "batch_size": 100, **options})


def paid_ids(box: Sandbox, count: int) -> list[int]:
    found = [i for i, c in sorted(box.categories.items()) if c == seedmod.PAID]
    assert len(found) >= count
    return found[:count]


def owes_again_unstamped(box: Sandbox, invoice_id: int) -> None:
    """The invoice owes again, changed the way a Halo that does not stamp the change would."""
    with box.lock:
        box.invoices[invoice_id] = with_payment(box.invoices[invoice_id], 0.0, 0)


def notes(result: Any, start: str) -> list[str]:
    return [w for w in result.warnings if w.startswith(start)]


def fact(box: Sandbox, paths: AppPaths) -> Any:
    return load_tenant_facts(tenant_file(paths, box.url)).measured.get(FACT)


async def test_changes_halo_stamps_turn_reading_only_what_changed_on(
    make_sandbox, paths: AppPaths
) -> None:
    box: Sandbox = make_sandbox(invoices=400, seed=11, stamp_changes=True)
    first = await run(box, paths)
    assert first.outcome is RunOutcome.COMPLETED
    assert fact(box, paths) is None and not notes(first, "Incremental run")

    # Old invoices need the link again, each changed the way Halo changes them.
    for invoice_id in paid_ids(box, facts.MIN_CHANGE_SAMPLES):
        box.set_payment(invoice_id, False)
    new = box.add_invoices(3, category=seedmod.UNPAID)  # new ones are no evidence
    second = await run(box, paths)
    assert second.outcome is RunOutcome.COMPLETED
    assert second.counts.written == facts.MIN_CHANGE_SAMPLES + len(new)
    measured = fact(box, paths)
    assert measured is not None and measured.value is True, second.warnings
    assert f"{facts.MIN_CHANGE_SAMPLES} invoices older" in measured.how
    assert notes(second, "This Halo has shown that a read of only the changed")

    box.set_payment(paid_ids(box, facts.MIN_CHANGE_SAMPLES + 1)[-1], False)
    third = await run(box, paths)
    assert third.outcome is RunOutcome.COMPLETED and third.counts.written == 1
    (incremental,) = notes(third, "Incremental run")
    assert "measured on this Halo" in incremental
    assert third.counts.seen < len(box.invoices) / 2


async def test_a_change_halo_did_not_stamp_turns_it_off_and_says_so(
    make_sandbox, paths: AppPaths
) -> None:
    box: Sandbox = make_sandbox(invoices=400, seed=12, stamp_changes=True)
    assert (await run(box, paths)).outcome is RunOutcome.COMPLETED
    stamped, unstamped = paid_ids(box, 2)
    box.set_payment(stamped, False)
    owes_again_unstamped(box, unstamped)
    second = await run(box, paths)
    assert second.outcome is RunOutcome.COMPLETED and second.counts.written == 2
    measured = fact(box, paths)
    assert measured is not None and measured.value is False
    assert f"invoice {unstamped} needed the link" in measured.how
    (said,) = notes(second, f"Invoice {unstamped} needed the link")
    assert "read every invoice from now on" in said
    # Neither a narrowed nor an incremental read is chosen by default any more.
    learning = TenantLearning(box, tenant_file(paths, box.url))  # type: ignore[arg-type]
    await learning.load()
    assert not learning.wants_narrow(None) and not learning.wants_incremental(None)
    assert learning.wants_narrow(True)  # the admin may still ask


async def test_evidence_never_outvotes_a_miss(make_sandbox, paths: AppPaths) -> None:
    box: Sandbox = make_sandbox(invoices=400, seed=13, stamp_changes=True)
    await run(box, paths)
    owes_again_unstamped(box, paid_ids(box, 1)[0])
    await run(box, paths)
    for invoice_id in paid_ids(box, facts.MIN_CHANGE_SAMPLES + 3)[1:]:
        box.set_payment(invoice_id, False)
    again = await run(box, paths, incremental=False)
    assert again.outcome is RunOutcome.COMPLETED
    measured = fact(box, paths)
    assert measured is not None and measured.value is False


async def test_other_link_settings_read_everything_and_prove_nothing(
    make_sandbox, paths: AppPaths
) -> None:
    box: Sandbox = make_sandbox(invoices=300, seed=14, stamp_changes=True)
    await run(box, paths)
    for invoice_id in paid_ids(box, facts.MIN_CHANGE_SAMPLES):
        box.set_payment(invoice_id, False)
    await run(box, paths)
    assert fact(box, paths).value is True
    # A new link for every linked invoice: none of them changed, but that is no miss.
    async with halo_client(box) as client:
        other = await run_backfill(
            client,
            settings(numbering=Numbering.HALO, template=OTHER_TEMPLATE, overwrite=True),
            paths,
            options=RunOptions(batch_size=100),
        )
    assert other.outcome is RunOutcome.COMPLETED and other.counts.written > 0
    (whole,) = notes(other, "Every posted invoice was read (not only the changed)")
    assert "link settings are not those of the last completed run" in whole
    assert fact(box, paths).value is True
