"""The backfill page shows a run's live wait ("Halo's rate limit: resuming in 4:12")."""

from __future__ import annotations

from typing import Any

from halo_paylink.core.backfill.progress import Phase, Progress
from halo_paylink.core.wizard import PageId
from halo_paylink.halo.ratelimit import HOLD_OFF_REASON


def test_the_status_shows_the_wait_and_drops_it_when_the_wait_ends(
    demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.BACKFILL)
    page = demo_window.current_page
    page._progress(
        Progress(
            phase=Phase.WRITING, done=5, total=40, wait_seconds=252, wait_reason=HOLD_OFF_REASON
        )
    )
    assert "Halo's rate limit: resuming in 4:12" in page.status_label.text()
    assert "5 of 40 invoices" in page.status_label.text()
    page._progress(Progress(phase=Phase.WRITING, done=6, total=40))
    assert "resuming" not in page.status_label.text()
    assert "6 of 40 invoices" in page.status_label.text()
