"""What the window shows is never older than its inputs, and says things once, in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from fakes import answer_question
from halo_paylink import APP_NAME
from halo_paylink.core.wizard import PageId
from halo_paylink.ui.widgets import common


def test_test_results_for_an_old_tenant_are_not_shown(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.APPLICATION)
    page = demo_window.current_page
    qtbot.waitUntil(page.test_button.isEnabled, timeout=15000)
    page.test_button.click()
    qtbot.waitUntil(demo_window.next_button.isEnabled, timeout=15000)
    assert page.row_widgets and "All checks passed" in page.summary.text()
    demo_window.go_back()
    connect = demo_window.current_page
    connect.tenant_edit.setText("another-tenant")
    connect.tenant_edit.textEdited.emit("another-tenant")
    connect.discover_now()
    qtbot.waitUntil(lambda: connect.state.connect.complete, timeout=10000)
    demo_window.go_next()
    assert demo_window.current_id is PageId.APPLICATION
    assert page.row_widgets == {}  # the rows were for the old tenant
    assert "Click Test" in page.summary.text()
    assert "(s)" not in page.summary.text()
    assert not demo_window.next_button.isEnabled()


def test_a_copied_confirmation_goes_when_the_link_changes(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.EMAIL_LINK)
    page = demo_window.current_page
    page.copy_html_button.click()
    assert page.copy_message.isVisible() and "HTML copied" in page.copy_message.text()
    page.generated_field.button.click()
    assert page.generated_field.button.text() == "Copied ✓"
    template = page.template_edit.text()
    page.template_edited(template.replace("https://", "http://"))  # no longer usable
    assert not page.copy_message.isVisible()
    page.template_edited(template)
    assert not page.copy_message.isVisible()  # the clipboard may hold something else by now
    page.copy_text_button.click()
    assert "Plain text copied" in page.copy_message.text()
    page.template_edited(template + "&x=1")
    assert not page.copy_message.isVisible()
    assert page.generated_field.button.text() != "Copied ✓"


def test_the_connect_pages_copy_buttons_forget_an_old_address(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.CONNECT)
    page = demo_window.current_page
    qtbot.waitUntil(lambda: page.state.connect.complete, timeout=10000)
    page.auth_field.button.click()
    assert page.auth_field.button.text() == "Copied ✓"
    page.address_edited(page.address_edit.text() + "/x")
    assert page.auth_field.value() == "" and page.auth_field.button.text() != "Copied ✓"


def test_the_demo_does_not_offer_a_keyring_it_does_not_use(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.APPLICATION)
    page = demo_window.current_page
    qtbot.waitUntil(lambda: "memory" in page.store_message.text(), timeout=5000)
    assert not page.remember_check.isVisible()  # no "Remember in keyring" ticked beside it
    assert "keyring" not in page.store_message.text().lower()


def test_secret_kept_is_not_said_of_a_secret_typed_since(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.OPTIONS)  # the Test passed and the secret was kept
    demo_window.go_back()
    page = demo_window.current_page
    qtbot.waitUntil(lambda: page.store_message.text().startswith("✓ Secret kept"), timeout=5000)
    qtbot.keyClicks(page.secret_edit, "x")
    assert not page.store_message.text().startswith("✓")


def test_the_demo_title_names_the_app_once(demo_window: Any) -> None:
    assert APP_NAME not in demo_window.windowTitle()  # the platform adds the app's name
    assert "Demo" in demo_window.windowTitle()


def finish_backfill(qtbot: Any, window: Any) -> None:
    """A dry run, then the run, on the Backfill page."""
    page = window.current_page
    steps = ((page.start_plan, page.commit_button), (page.start_run, window.next_button))
    for start, enabled_after in steps:
        start()
        if page.question is not None:  # "Add payment links" asks first: yes
            answer_question(page, "confirmJob", accept=True)
        qtbot.waitUntil(enabled_after.isEnabled, timeout=30000)


def test_done_has_one_button_that_closes(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Any, confirm_pilot: Any
) -> None:
    confirm_pilot(sandbox)
    goto(demo_window, PageId.BACKFILL)
    finish_backfill(qtbot, demo_window)
    goto(demo_window, PageId.DONE)
    assert demo_window.next_button.text() == "&Finish"
    assert not demo_window.cancel_button.isVisible()
    with qtbot.waitSignal(demo_window.closed, timeout=3000):
        demo_window.next_button.click()


@pytest.fixture
def no_file_manager(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def refuse(url: Any) -> bool:
        asked.append(url.toLocalFile())
        return False

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(refuse))
    return asked


def test_a_folder_that_cannot_be_opened_is_shown_with_a_copy_button(
    qtbot: Any, no_file_manager: list[str], tmp_path: Path
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    box = common.open_folder(parent, tmp_path)
    assert no_file_manager == [str(tmp_path)]
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert str(tmp_path) in box.text()
    copy = next(b for b in box.buttons() if "Copy" in b.text())
    copy.click()
    assert QGuiApplication.clipboard().text() == str(tmp_path)
    assert box.isVisible()  # still there to read
    box.close()


def test_a_folder_that_opens_needs_no_message(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: True))
    parent = QWidget()
    qtbot.addWidget(parent)
    assert common.open_folder(parent, tmp_path) is None


def test_closing_mid_work_names_what_is_actually_happening() -> None:
    from halo_paylink.core.presenters.backfill import stop_question
    from halo_paylink.core.wizard import BackfillPhase, WizardState

    def asked(phase: BackfillPhase) -> tuple[str, str]:
        state = WizardState()
        state.backfill.phase = phase
        question = stop_question(state)
        return question.text, question.detail

    dry, _ = asked(BackfillPhase.PLANNING)
    assert "dry run" in dry and "being added" not in dry
    undo, info = asked(BackfillPhase.UNDOING)
    assert "removed" in undo and "added" not in undo and "resume" not in info
    run, info = asked(BackfillPhase.RUNNING)
    assert "added" in run and "resume" in info
