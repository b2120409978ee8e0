"""Benji's side in the window, against both sandboxes over HTTP: the Options page's checks and the
link built from Benji's settings, and the Backfill page's number check with its block on "Add
payment links"."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from halo_paylink.core.wizard import BackfillPhase, PageId
from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE, Sandbox
from halo_paylink.sandbox.benji import BenjiSandbox
from halo_paylink.ui.context import DemoInfo


@pytest.fixture
def benji(sandbox: Sandbox) -> Iterator[BenjiSandbox]:
    with BenjiSandbox.for_halo(sandbox) as server:
        yield server


@pytest.fixture
def benji_window(make_window: Any, make_context: Any, demo: DemoInfo, benji: BenjiSandbox) -> Any:
    """The demo window with the demo's Benji sandbox and key, like `halo-paylink --demo`."""
    info = dataclasses.replace(demo, benji_url=benji.url, benji_key=benji.config.api_key)
    return make_window(make_context(demo=info))


def check_benji(qtbot: Any, page: Any) -> None:
    assert page.benji_check.isEnabled()
    page.benji_check.click()
    qtbot.waitUntil(lambda: page.benji_check.isEnabled(), timeout=15000)


def test_options_checks_benji_and_builds_the_email_link(
    qtbot: Any, benji_window: Any, goto: Any
) -> None:
    goto(benji_window, PageId.OPTIONS)
    page = benji_window.current_page
    assert page.benji_key.echoMode() == page.benji_key.EchoMode.Password
    assert page.benji_key.text() == page.state.benji.key != ""
    assert not page.benji_build.isEnabled()
    check_benji(qtbot, page)
    rows = page.benji_rows.text()
    assert "✔ Pass" in rows and "✘ Fail" in rows and "Fix:" in rows
    assert "Do not allow payment" in rows
    assert DEMO_BENJI_TEMPLATE in page.benji_link.text()
    assert "not been checked" in page.benji_note.text()
    assert page.benji_build.isEnabled()
    page.benji_build.click()
    assert page.state.link.template == DEMO_BENJI_TEMPLATE
    assert not page.benji_build.isEnabled() and "Email page" in page.benji_link.text()
    goto(benji_window, PageId.EMAIL_LINK)
    email = benji_window.current_page
    assert email.template_edit.text() == DEMO_BENJI_TEMPLATE
    assert email.benji_note.isVisible()
    assert "built from Benji Pays' settings" in email.benji_note.text()
    assert "still needs: Do not allow payment" in email.benji_note.text()


def test_a_wrong_key_is_explained_on_the_page(
    qtbot: Any, benji_window: Any, goto: Any, benji: BenjiSandbox
) -> None:
    goto(benji_window, PageId.OPTIONS)
    page = benji_window.current_page
    page.benji_key.clear()
    qtbot.keyClicks(page.benji_key, "wrong-key-for-the-window")
    check_benji(qtbot, page)
    assert page.benji_status.text().startswith("Benji Pays did not accept the API key.")
    assert not page.benji_rows.isVisible() and not page.benji_build.isEnabled()


def _plan(qtbot: Any, window: Any, goto: Any, *, halo_numbers: bool) -> Any:
    goto(window, PageId.EMAIL_LINK)
    email = window.current_page
    (email.halo_radio if halo_numbers else email.accounting_radio).click()
    goto(window, PageId.BACKFILL)
    page = window.current_page
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    qtbot.waitUntil(lambda: "Benji found" in page.benji_numbers.headline.text(), timeout=15000)
    return page


def test_the_wrong_numbering_blocks_adding_links_until_confirmed(
    qtbot: Any, benji_window: Any, goto: Any, sandbox: Sandbox
) -> None:
    page = _plan(qtbot, benji_window, goto, halo_numbers=True)
    box = page.benji_numbers
    assert box.isVisible() and box.headline.text().startswith("Benji found 0 of 50")
    assert "Switch the invoice numbering" in box.advice.text()
    assert box.confirm.isVisible() and not page.commit_button.isEnabled()
    box.confirm.click()
    assert page.commit_button.isEnabled()
    box.confirm.click()
    assert not page.commit_button.isEnabled()
    assert page.state.benji.export()["number_check"]["blocks"] is True
    with sandbox.lock:
        assert not sandbox.stats.invoices_written


def test_the_right_numbering_does_not_block(qtbot: Any, benji_window: Any, goto: Any) -> None:
    page = _plan(qtbot, benji_window, goto, halo_numbers=False)
    box = page.benji_numbers
    assert box.headline.text().startswith("Benji found 50 of 50")
    assert not box.confirm.isVisible() and page.commit_button.isEnabled()
    assert "looks right" in box.advice.text()


def test_without_a_key_there_is_no_number_check(qtbot: Any, demo_window: Any, goto: Any) -> None:
    goto(demo_window, PageId.BACKFILL)
    page = demo_window.current_page
    page.plan_button.click()
    qtbot.waitUntil(lambda: page.state.backfill.phase is BackfillPhase.PLANNED, timeout=20000)
    assert not page.benji_numbers.isVisible() and page.commit_button.isEnabled()
