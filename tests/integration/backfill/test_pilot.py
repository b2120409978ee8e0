"""The pilot over real HTTP: one invoice written, read back, undone on its own; the admin's
Pay-button answer kept per Halo."""

from __future__ import annotations

import pytest

from halo_paylink.core.backfill import BackfillError, RunOutcome, resume_run, undo_run
from halo_paylink.core.backfill.pilot import (
    PilotGate,
    pilot_gate,
    record_pay_button,
    run_pilot,
)
from halo_paylink.core.backfill.tenant import FactId, load_tenant_facts, tenant_file
from halo_paylink.domain import Numbering
from halo_paylink.storage.paths import AppPaths

from .conftest import LINK_FIELD, expected_link, halo_client, settings, snapshot

pytestmark = pytest.mark.anyio


async def test_the_pilot_writes_one_invoice_and_reads_it_back(make_sandbox, paths: AppPaths):
    box = make_sandbox(invoices=3000)
    before = snapshot(box)
    async with halo_client(box) as client:
        report = await run_pilot(client, settings(numbering=Numbering.HALO), paths)
    assert report.saved and report.result.outcome is RunOutcome.COMPLETED
    assert box.post_counts() == {report.invoice_id: 1}  # one invoice, once
    assert report.before is None and report.field == LINK_FIELD
    assert report.after == expected_link(before[report.invoice_id], Numbering.HALO)
    assert snapshot(box)[report.invoice_id][LINK_FIELD] == report.after
    # The newest invoice the backfill would write, and no list read for it.
    open_unlinked = [i for i in box.open_invoice_ids() if not before[i].get(LINK_FIELD)]
    assert report.invoice_id == max(open_unlinked)
    assert report.result.requests is not None and report.result.requests <= 8
    assert str(report.invoice_number) in report.portal_hint


async def test_the_pilot_is_undone_on_its_own(make_sandbox, paths: AppPaths) -> None:
    box = make_sandbox(invoices=200)
    before = snapshot(box)
    async with halo_client(box) as client:
        report = await run_pilot(client, settings(numbering=Numbering.HALO), paths)
        undone = await undo_run(client, paths, report.result.run_id or "")
        with pytest.raises(BackfillError, match="pilot"):
            await resume_run(client, paths, report.result.run_id)
    assert undone.outcome is RunOutcome.COMPLETED and undone.counts.written == 1
    assert snapshot(box)[report.invoice_id].get(LINK_FIELD) == before[report.invoice_id].get(
        LINK_FIELD
    )


async def test_a_chosen_invoice_that_needs_no_link_is_refused(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60)
    with box.lock:
        paid = next(i for i, inv in box.invoices.items() if i > 0 and inv.get("amountdue") == 0)
    async with halo_client(box) as client:
        with pytest.raises(BackfillError, match=f"Invoice {paid} would not get a link"):
            await run_pilot(client, settings(), paths, invoice_id=paid)
        with pytest.raises(BackfillError, match="Halo has no invoice 999999"):
            await run_pilot(client, settings(), paths, invoice_id=999999)
    assert box.post_counts() == {}


def test_the_pay_button_answer_is_kept_per_halo(paths: AppPaths) -> None:
    url = "https://acme.halopsa.com"
    assert pilot_gate(paths, url) is not PilotGate.CONFIRMED
    record_pay_button(paths, url, False, invoice="INV-1")
    assert pilot_gate(paths, url) is not PilotGate.CONFIRMED
    record_pay_button(paths, "https://ACME.halopsa.com/", True, invoice="INV-2")
    assert pilot_gate(paths, url) is PilotGate.CONFIRMED
    fact = load_tenant_facts(tenant_file(paths, url)).measured[FactId.PAY_BUTTON_SHOWN]
    assert fact.value is True and "INV-2" in fact.how and fact.on


def test_the_pay_button_answer_is_about_one_link_field(paths: AppPaths) -> None:
    url = "https://acme.halopsa.com"
    record_pay_button(paths, url, True, invoice="INV-3")  # the default field
    assert pilot_gate(paths, url) is PilotGate.CONFIRMED
    custom = "custom:CFPayLink"
    assert pilot_gate(paths, url, custom) is PilotGate.NEEDED  # another field: pilot it first
    record_pay_button(paths, url, False, invoice="INV-4", target=custom)
    assert pilot_gate(paths, url, custom) is PilotGate.NO_BUTTON
    assert pilot_gate(paths, url) is PilotGate.NEEDED  # the last answer was about the custom one
    assert (
        custom in load_tenant_facts(tenant_file(paths, url)).measured[FactId.PAY_BUTTON_SHOWN].how
    )
