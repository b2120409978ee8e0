"""The keyboard: one Alt+letter per action on every page, Enter runs the obvious action, Escape
asks before losing what was typed (and only then)."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QMessageBox, QWidget

from fakes import answer_question
from halo_paylink.core.wizard import PageId
from halo_paylink.sandbox import DEMO_CLIENT_SECRET

MNEMONIC = re.compile(r"&([^&\s])")


def mnemonic(text: str) -> str | None:
    found = MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).lower() if found else None


def mnemonics(window: QWidget) -> dict[str, list[str]]:
    """Every Alt+letter a user can press now: visible buttons, labels with a buddy, group boxes."""
    seen: dict[str, list[str]] = {}
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window):
            continue
        buddied = isinstance(widget, QLabel) and widget.buddy() is not None
        if buddied or isinstance(widget, QAbstractButton):
            text = widget.text()  # type: ignore[attr-defined]  # QLabel or QAbstractButton
        elif isinstance(widget, QGroupBox) and widget.isCheckable():
            text = widget.title()
        else:
            continue
        letter = mnemonic(text)
        if letter is not None:
            seen.setdefault(letter, []).append(text)
    return seen


def clashes(window: QWidget) -> dict[str, list[str]]:
    return {letter: texts for letter, texts in mnemonics(window).items() if len(texts) > 1}


def test_no_two_actions_share_an_alt_letter_on_any_page(
    qtbot: Any, demo_window: Any, goto: Any, sandbox: Any, confirm_pilot: Any
) -> None:
    found: dict[str, dict[str, list[str]]] = {}

    def check(where: str) -> None:
        qtbot.waitUntil(lambda: demo_window.current_page.busy_text() is None, timeout=30000)
        if clash := clashes(demo_window):
            found[where] = clash

    for page_id in demo_window.flow.order:  # every page, including ones added later
        if page_id is not demo_window.current_id:
            demo_window.next_button.click() if page_id is PageId.DONE else goto(
                demo_window, page_id
            )
        assert demo_window.current_id is page_id
        check(page_id.value)
        if page_id is PageId.BACKFILL:  # its buttons change with each phase
            page = demo_window.current_page
            for start, enabled_after in (
                (page.start_plan, page.commit_button),
                (page.start_run, demo_window.next_button),
            ):
                if start == page.start_run:  # the pilot step was checked above; now confirmed
                    confirm_pilot(sandbox)
                    page.pilot_panel.enter()
                    qtbot.waitUntil(page.pilot_panel.allows_bulk, timeout=30000)
                start()
                if page.question is not None:  # "Add payment links" asks first: yes
                    answer_question(page, "confirmJob", accept=True)
                qtbot.waitUntil(enabled_after.isEnabled, timeout=30000)
                check(f"backfill after {start.__name__}")
    assert found == {}


def test_enter_in_the_secret_field_runs_the_test(qtbot: Any, demo_window: Any, goto: Any) -> None:
    goto(demo_window, PageId.APPLICATION)
    page = demo_window.current_page
    page.secret_edit.setFocus()
    qtbot.waitUntil(page.secret_edit.hasFocus)
    assert page.test_button.isEnabled() and page._handle is None
    qtbot.keyClick(page.secret_edit, Qt.Key.Key_Return)
    assert page._handle is not None  # the Test runs, Next was not pressed
    assert demo_window.current_id is PageId.APPLICATION
    qtbot.waitUntil(demo_window.next_button.isEnabled, timeout=15000)
    qtbot.keyClick(page.secret_edit, Qt.Key.Key_Return)  # passed: Enter now means Next
    assert demo_window.current_id is PageId.OPTIONS


def test_enter_on_connect_looks_halo_up_then_goes_next(
    qtbot: Any, make_window: Any, sandbox: Any
) -> None:
    window = make_window()
    qtbot.keyClicks(window.current_page.name_edit, "Acme")
    qtbot.keyClick(window.current_page.name_edit, Qt.Key.Key_Return)  # Welcome: Enter = Next
    assert window.current_id is PageId.CONNECT
    page = window.current_page
    page.address_edit.setFocus()
    qtbot.keyClicks(page.address_edit, sandbox.url)
    assert page._debounce.isActive() and page._handle is None
    qtbot.keyClick(page.address_edit, Qt.Key.Key_Return)
    assert page._handle is not None and not page._debounce.isActive()  # now, not after a pause
    qtbot.waitUntil(lambda: page.state.connect.complete, timeout=10000)
    qtbot.keyClick(page.address_edit, Qt.Key.Key_Return)
    assert window.current_id is PageId.APPLICATION


def test_escape_closes_at_once_when_nothing_was_typed(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    with qtbot.waitSignal(window.closed, timeout=3000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.findChild(QMessageBox, "confirmDiscard") is None


def test_escape_asks_before_losing_a_typed_secret(
    qtbot: Any, make_window: Any, sandbox: Any, goto: Any
) -> None:
    window = make_window()
    qtbot.keyClicks(window.current_page.name_edit, "Acme")
    goto(window, PageId.CONNECT)
    window.current_page.address_edited(sandbox.url)
    goto(window, PageId.APPLICATION)
    page = window.current_page
    qtbot.keyClicks(page.client_id_edit, "demo-client")
    qtbot.keyClicks(page.secret_edit, DEMO_CLIENT_SECRET)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    box = window.findChild(QMessageBox, "confirmDiscard")
    assert box is not None and box.isVisible()
    assert "client secret" in box.text()
    assert window.isVisible()
    keep = next(b for b in box.buttons() if "Keep" in b.text())
    keep.click()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "confirmDiscard") is None)
    assert window.isVisible()
    window.cancel_button.click()  # Cancel asks the same
    box = window.findChild(QMessageBox, "confirmDiscard")
    assert box is not None
    discard = next(b for b in box.buttons() if "Discard" in b.text())
    with qtbot.waitSignal(window.closed, timeout=3000):
        discard.click()


def test_a_secret_kept_in_the_store_is_not_asked_about(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.OPTIONS)  # the Test passed; the demo secret is the demo's own
    assert demo_window.unsaved_input() == []
