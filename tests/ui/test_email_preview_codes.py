"""The Email page's preview comes from a real open invoice whatever this Halo's payment status
codes are (none of Halo's usual unpaid codes 0 and -1 here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from halo_paylink.core.wizard import PageId
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox.state import StatusCodes


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    codes = StatusCodes(unpaid=3, unsynced=4, part=5, paid=7)
    with Sandbox(SandboxConfig(invoices=60, seed=2, status_codes=codes)) as box:
        yield box


def test_the_preview_finds_an_open_invoice_with_other_codes(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Sandbox
) -> None:
    goto(demo_window, PageId.EMAIL_LINK)
    page = demo_window.current_page
    qtbot.waitUntil(
        lambda: "Filled in from your open invoice" in page.preview_source.text(), timeout=10000
    )
    assert page.presenter.sample_invoice.id in sandbox.open_invoice_ids()
