"""The optional steps done for the admin, in the window against the sandbox: "Insert it for me"
on the Email page (preview, save, read back, undo; not permitted) and the Done page's client
button, with their states on the Done page and in the export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from halo_paylink.core.wizard import PageId, settings_export
from halo_paylink.sandbox import Sandbox
from halo_paylink.ui.shell import WizardWindow

INVOICE_TEMPLATE = -12


def template(sandbox: Sandbox) -> dict[str, Any]:
    with sandbox.lock:
        return dict(sandbox.email_templates.records[INVOICE_TEMPLATE])


def test_insert_it_for_me_previews_saves_reads_back_and_undoes(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Sandbox
) -> None:
    original = template(sandbox)
    goto(demo_window, PageId.EMAIL_LINK)
    page = demo_window.current_page
    section = page.insert_section
    assert not section.preview_button.isEnabled()  # not before opting in
    section.opt_in.click()
    assert section.preview_button.isEnabled() and page.state.admin.opted_in
    section.preview_button.click()
    qtbot.waitUntil(section.preview_text.isVisible, timeout=10000)
    preview = section.preview_text.toPlainText()
    assert "'Invoice Email Subject' (#-12)" in preview and "+<p><a href=" in preview
    assert template(sandbox) == original  # nothing saved by the preview
    assert section.save_button.isEnabled() and not section.undo_button.isVisible()

    section.save_button.click()
    qtbot.waitUntil(section.undo_button.isVisible, timeout=10000)
    assert "Done" in section.status.text() and not section.preview_text.isVisible()
    assert "$THIRDPARTYINVOICENUMBER" in template(sandbox)["body_text"]
    assert page.state.admin.template.state.value == "done"
    assert demo_window.next_button.isEnabled()

    section.undo_button.click()
    qtbot.waitUntil(lambda: "Undone" in section.status.text(), timeout=10000)
    assert template(sandbox) == original
    assert page.copy_text_button.isEnabled()  # the copy-and-paste path stays


def test_a_missing_permission_is_not_permitted_and_copy_and_paste_stays(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Sandbox
) -> None:
    sandbox.set_allowed_scopes(sandbox.config.client_id, ["read:invoices", "edit:invoices"])
    original = template(sandbox)
    goto(demo_window, PageId.EMAIL_LINK)
    section = demo_window.current_page.insert_section
    section.opt_in.click()
    section.preview_button.click()
    qtbot.waitUntil(lambda: "(not permitted)" in section.status.text(), timeout=10000)
    assert section.fix_label.isVisible() and "tick 'admin'" in section.fix_label.text()
    assert not section.preview_text.isVisible()
    assert demo_window.current_page.copy_html_button.isEnabled()
    assert demo_window.current_page.state.admin.template.state.value == "not permitted"
    assert template(sandbox) == original


def test_cancel_on_the_preview_changes_nothing(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Sandbox
) -> None:
    original = template(sandbox)
    goto(demo_window, PageId.EMAIL_LINK)
    section = demo_window.current_page.insert_section
    section.opt_in.click()
    section.placement_combo.setCurrentIndex(1)
    section.marker_edit.setText("Thank you for your business.")
    section.preview_button.click()
    qtbot.waitUntil(section.cancel_button.isVisible, timeout=10000)
    assert "Thank you for your business." in section.preview_text.toPlainText()
    section.cancel_button.click()
    assert "Nothing was changed" in section.status.text()
    demo_window.next_button.click()  # leaving without it: skipped
    state = demo_window.current_page.state
    assert json.loads(settings_export(state, "x"))["done_for_you"]["email_template"] == {
        "state": "skipped",
        "detail": "",
    }
    assert template(sandbox) == original


@pytest.fixture
def short_window(qtbot: Any, make_context: Any, demo: Any) -> Iterator[WizardWindow]:
    """The window without the options and backfill pages, to reach Done quickly."""
    from halo_paylink.ui.pages.application import ApplicationPage
    from halo_paylink.ui.pages.connect import ConnectPage
    from halo_paylink.ui.pages.done import DonePage
    from halo_paylink.ui.pages.email_link import EmailLinkPage
    from halo_paylink.ui.pages.welcome import WelcomePage

    pages = [WelcomePage, ConnectPage, ApplicationPage, EmailLinkPage, DonePage]
    window = WizardWindow(make_context(demo=demo), page_factories=pages)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.current_page.busy_text() is None, timeout=5000)
    yield window
    window._force_close = True
    window.close()
    window.deleteLater()


def test_done_page_client_button_and_every_state_in_the_export(
    qtbot: Any, short_window: WizardWindow, goto: Any, sandbox: Sandbox
) -> None:
    goto(short_window, PageId.EMAIL_LINK)
    short_window.next_button.click()  # the template left to copy and paste
    assert short_window.current_id is PageId.DONE
    page = short_window.current_page
    section = page.button_section
    assert "skipped (copy and paste by hand)" in page.summary.text()
    assert "paste the link into Halo" in page.summary.text()
    section.opt_in.click()
    section.preview_button.click()
    qtbot.waitUntil(section.save_button.isVisible, timeout=10000)
    assert "https://www.benjipays.com/portal/demo-msp/" in section.preview_text.toPlainText()
    with sandbox.lock:
        assert sandbox.custom_buttons.created == []
    section.save_button.click()
    qtbot.waitUntil(section.undo_button.isVisible, timeout=10000)
    with sandbox.lock:
        (made,) = sandbox.custom_buttons.created
        assert sandbox.custom_buttons.records[made]["usage"] == 2
    assert f"done: #{made}" in page.summary.text()
    export = json.loads(settings_export(page.state, "Demo"))["done_for_you"]
    assert export["email_template"]["state"] == "skipped"
    assert export["client_button"]["state"] == "done" and export["opted_in"] is True

    section.undo_button.click()
    qtbot.waitUntil(lambda: "Removed" in section.status.text(), timeout=10000)
    with sandbox.lock:
        assert made not in sandbox.custom_buttons.records
    assert "Client button" in page.summary.text() and "undone" in page.summary.text()
