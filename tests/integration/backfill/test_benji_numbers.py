"""The invoice number check after a dry run, over HTTP against both sandboxes: the accounting
tool's numbers are found, Halo's own are not, so choosing the wrong numbering is caught before a
link is written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from halo_paylink.benji.client import BenjiClient
from halo_paylink.core.backfill import plan_backfill
from halo_paylink.core.benji_checks import check_plan_numbers
from halo_paylink.domain import Numbering
from halo_paylink.halo.http import make_http_client
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox.benji import DEMO_BENJI_API_KEY, BenjiSandbox

from .conftest import halo_client, settings, snapshot

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("numbering", "blocks"), [(Numbering.ACCOUNTING, False), (Numbering.HALO, True)]
)
async def test_the_wrong_numbering_is_caught_before_writing(
    make_sandbox: Callable[..., Sandbox], numbering: Numbering, blocks: bool
) -> None:
    halo = make_sandbox(invoices=80)
    before = snapshot(halo)
    chosen = settings(numbering=numbering)
    async with halo_client(halo) as client:
        result = await plan_backfill(client, chosen)
    assert result.plan is not None and result.plan.to_write > 0
    with BenjiSandbox.for_halo(halo) as benji:
        async with make_http_client() as http:
            lookup = BenjiClient(http, DEMO_BENJI_API_KEY, base_url=benji.url)
            check = await check_plan_numbers(
                lookup,
                [change.new for change in result.plan.sample],
                template=chosen.template,
                numbering=numbering,
                to_write=result.plan.to_write,
            )
    assert check.blocks is blocks
    assert check.checked == min(len(result.plan.sample), check.budget) > 0
    if numbering is Numbering.ACCOUNTING:
        assert check.found == check.checked
        assert all(number.isdigit() and int(number) >= 20000 for number in benji.lookups)
    else:
        assert check.found == 0
        assert all(1001 <= int(number) < 2000 for number in benji.lookups)
    assert len(set(benji.lookups)) == len(benji.lookups) == check.requests  # each asked once
    assert snapshot(halo) == before  # the dry run and the check changed nothing
