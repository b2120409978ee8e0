"""The Backfill page's "Read every invoice this time": on a long, mostly paid list a run leaves
the proven-paid statuses unread by default, and the box makes it read every posted invoice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from halo_paylink.core.wizard import BackfillPhase, PageId
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox, SandboxConfig

PAID_CODE = 2


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A list long enough to be narrowed: every posted invoice paid but every 12th."""
    with Sandbox(SandboxConfig(invoices=facts.NARROW_FROM_INVOICES + 500, seed=3)) as box:
        with box.lock:
            for invoice_id, invoice in box.invoices.items():
                total = invoice.get("total")
                if invoice_id <= 0 or invoice_id % 12 == 0 or not invoice.get("posted"):
                    continue
                if invoice.get("voided") or not isinstance(total, int | float) or total <= 0:
                    continue
                invoice.update(amountpaid=total, amountdue=0, paymentstatus=PAID_CODE)
        yield box


def dry_run(qtbot: Any, page: Any) -> str:
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=30000)
    return str(page.warnings_label.text())


def test_the_box_reads_every_invoice(qtbot: Any, demo_window: Any, goto: Any) -> None:
    goto(demo_window, PageId.BACKFILL)
    page = demo_window.current_page
    assert page.full_read_box.isEnabled() and not page.full_read_box.isChecked()
    assert "Read narrowed" in dry_run(qtbot, page)
    page.full_read_box.setChecked(True)
    warnings = dry_run(qtbot, page)
    assert "Read narrowed" not in warnings
    assert "the admin asked for a full read" in warnings
