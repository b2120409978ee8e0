"""The dry run's validate-only check against an in-memory Halo: it says exactly what it sent,
re-reads the invoice, and when the check changed it, remembers that and sends none again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from halo_paylink.core.backfill import runner
from halo_paylink.core.backfill.learning import READ_ONLY_DRY_RUN
from halo_paylink.core.backfill.model import BackfillSettings, RunOptions
from halo_paylink.core.backfill.tenant import FactId, load_tenant_facts, tenant_file
from halo_paylink.storage.paths import AppPaths

from .test_backfill_completion import ShiftingHalo, T, invoice


class TouchyHalo(ShiftingHalo):
    """A Halo whose validate-only edit saves after all (its last_modified moves)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.checks: list[int] = []

    async def validate_invoice_edit(self, invoice_id: int) -> None:
        self.checks.append(invoice_id)
        self.rows[invoice_id]["last_modified"] = "2026-12-01T10:00:00.000"


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path / "home")


def plan(halo: ShiftingHalo, paths: AppPaths) -> runner.RunResult:
    options = RunOptions(page_size=10, progress_interval=0)
    return asyncio.run(
        runner.plan_backfill(halo, BackfillSettings(T), paths=paths, options=options)
    )


def test_a_check_that_changed_the_invoice_is_said_and_not_sent_again(paths: AppPaths) -> None:
    halo = TouchyHalo([invoice(i) for i in range(1, 6)])
    first = plan(halo, paths)
    assert "validate-only edit of invoice INV-5" in first.sent and "CHANGED" in first.sent
    tenant = load_tenant_facts(tenant_file(paths, ""))
    assert tenant.value(FactId.VALIDATE_ONLY_SAVES_NOTHING) is False
    assert halo.posts == [] and halo.checks == [5]
    again = plan(halo, paths)
    assert again.sent.startswith(READ_ONLY_DRY_RUN) and halo.checks == [5]  # none sent


def test_a_check_that_changed_nothing_says_so(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 4)])
    result = plan(halo, paths)
    assert result.sent.endswith("read again afterwards, it was unchanged.")
    fact = load_tenant_facts(tenant_file(paths, "")).measured[FactId.VALIDATE_ONLY_SAVES_NOTHING]
    assert fact.value is True and "INV-3" in fact.how


def test_nothing_to_write_means_nothing_but_reads(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(1, amountdue=0.0, amountpaid=100.0)])
    assert plan(halo, paths).sent == READ_ONLY_DRY_RUN
