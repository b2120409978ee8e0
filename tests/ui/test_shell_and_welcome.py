"""The window shell (buttons, banner, busy indicator, keyboard, geometry) and the Welcome page."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from halo_paylink.core.wizard import PageId
from halo_paylink.storage.profiles import Profile
from halo_paylink.ui.widgets.common import BannerMessage


def test_welcome_next_needs_a_valid_new_profile_name(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    page = window.current_page
    assert window.current_id is PageId.WELCOME
    assert not window.back_button.isEnabled()
    assert not window.next_button.isEnabled()
    assert "name" in window.next_button.toolTip().lower()

    qtbot.keyClicks(page.name_edit, "bad/name")
    assert page.name_message.isVisible()
    assert "/" in page.name_message.text()
    assert not window.next_button.isEnabled()

    page.name_edit.clear()
    qtbot.keyClicks(page.name_edit, "Acme IT")
    assert not page.name_message.isVisible()
    assert window.next_button.isEnabled()

    # Enter in the name field presses the default button (Next)
    qtbot.keyClick(page.name_edit, Qt.Key.Key_Return)
    assert window.current_id is PageId.CONNECT
    assert window.context.profile is not None and window.context.profile.name == "Acme IT"
    qtbot.waitUntil(lambda: "Acme IT" in window.context.profiles.names())
    assert window.back_button.isEnabled()


def test_welcome_picks_last_used_profile_and_rejects_duplicate_names(
    qtbot: Any, make_context: Any, make_window: Any
) -> None:
    context = make_context()
    context.profiles.save(Profile(name="Zeta", web_url="https://zeta.halopsa.com"))
    context.profiles.save(Profile(name="Acme", web_url="https://acme.halopsa.com"))
    context.profiles.set_last_used("Zeta")
    window = make_window(context)
    page = window.current_page
    assert page.pick_radio.isChecked()
    assert page.profile_combo.currentText() == "Zeta"
    assert window.next_button.isEnabled()

    page.new_radio.click()
    qtbot.keyClicks(page.name_edit, "acme")
    assert "already exists" in page.name_message.text()
    assert not window.next_button.isEnabled()

    page.pick_radio.click()
    page.profile_combo.setCurrentText("Acme")
    window.next_button.click()
    assert window.current_id is PageId.CONNECT
    assert window.current_page.address_edit.text() == "https://acme.halopsa.com"


def test_shell_maps_busy_and_error_to_one_indicator_and_one_banner(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window()
    page = window.current_page
    qtbot.keyClicks(page.name_edit, "Acme")
    assert window.next_button.isEnabled()
    page.set_busy("Working on it…")
    assert window.busy.busy and window.busy.label.text() == "Working on it…"
    assert not window.next_button.isEnabled()
    page.set_busy(None)
    assert not window.busy.busy
    assert window.next_button.isEnabled()
    page.set_error(BannerMessage("It broke.", "Do this next."))
    assert window.banner.isVisible()
    assert "Error: It broke." in window.banner.text and "Do this next." in window.banner.text
    page.set_error(None)
    assert not window.banner.isVisible()


def test_keyboard_mnemonics_accessible_names_and_escape(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    for button in (window.back_button, window.next_button, window.cancel_button):
        assert "&" in button.text()
    assert window.next_button.isDefault()
    # every line edit has an accessible name (some have no visible label of their own)
    for page in window.pages.values():
        for edit in page.findChildren(QLineEdit):
            assert edit.accessibleName(), f"{page.page_id}: a line edit has no accessible name"
    with qtbot.waitSignal(window.closed, timeout=3000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_demo_marker_and_geometry_remembered(
    qtbot: Any, make_context: Any, make_window: Any, demo: Any
) -> None:
    context = make_context(demo=demo)
    window = make_window(context)
    assert window.demo_badge.isVisible()
    assert "Demo" in window.windowTitle()
    assert window.current_page.name_edit.text() == "Demo"
    window.resize(790, 575)
    with qtbot.waitSignal(window.closed, timeout=3000):
        window.close()
    again = make_window(context)
    assert (again.width(), again.height()) == (790, 575)
    plain = make_window(make_context())
    assert not plain.demo_badge.isVisible()
