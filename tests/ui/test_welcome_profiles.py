"""The Welcome page and the profiles file: read off the GUI thread, and a corrupt file offers
Start fresh (the unreadable file is kept) instead of silently not saving new profiles."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QTimer

from halo_paylink.core.wizard import PageId
from halo_paylink.storage.profiles import Profile, ProfileStore
from halo_paylink.ui.pages.welcome import BLOCKED_CORRUPT, BLOCKED_UNREADABLE, READING
from halo_paylink.ui.shell import WizardWindow

BROKEN = b'{"version": 1, "profiles": {"acme": '


def test_a_corrupt_profiles_file_offers_start_fresh_and_then_a_new_profile_is_saved(
    qtbot: Any, make_context: Any, make_window: Any, expect_log_warning: Any
) -> None:
    expect_log_warning(r"Could not read profiles: .*could not be read")
    context = make_context()
    path = context.profiles.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(BROKEN)
    window = make_window(context)
    page = window.current_page
    banner = window.banner

    assert banner.isVisible()
    assert banner.headline.text() == "Error: Your saved profiles could not be read."
    copies = list(path.parent.glob("profiles.json.corrupt-*"))
    assert len(copies) == 1 and copies[0].read_bytes() == BROKEN
    assert str(copies[0]) in banner.detail.text() and "Start fresh" in banner.detail.text()
    assert banner.action_button.isVisible()
    assert banner.action_button.text() == f"Start &fresh (your file is kept as {copies[0].name})"

    # Blocked, with the reason: a profile opened now could never be saved.
    qtbot.keyClicks(page.name_edit, "Acme")
    assert not page.name_message.isVisible()  # the name is fine ...
    assert not window.next_button.isEnabled()  # ... but Next waits for Start fresh
    assert window.next_button.toolTip() == BLOCKED_CORRUPT
    window.go_next()
    assert window.current_id is PageId.WELCOME and context.profile is None
    assert path.read_bytes() == BROKEN

    banner.action_button.click()
    qtbot.waitUntil(lambda: not banner.isVisible() and not window.busy.busy, timeout=5000)
    assert f"kept at {copies[0]}" in page.fresh_message.text()
    assert window.next_button.isEnabled()
    window.next_button.click()
    assert window.current_id is PageId.CONNECT
    qtbot.waitUntil(lambda: path.exists() and context.profiles.last_used() == "Acme", timeout=5000)
    assert context.profiles.names() == ["Acme"]
    assert copies[0].read_bytes() == BROKEN  # the unreadable file is kept as it was
    assert list(path.parent.glob("profiles.json.corrupt-*")) == copies


def test_a_profiles_file_that_cannot_be_read_offers_try_again(
    qtbot: Any,
    make_context: Any,
    make_window: Any,
    monkeypatch: Any,
    expect_log_warning: Any,
) -> None:
    expect_log_warning(r"Could not read profiles: .*Permission denied")
    context = make_context()
    context.profiles.save(Profile(name="Zeta"))
    context.profiles.set_last_used("Zeta")
    real_names = ProfileStore.names
    refusals = [PermissionError(13, "Permission denied")]

    def names(self: ProfileStore) -> list[str]:
        if refusals:
            raise refusals.pop()
        return real_names(self)

    monkeypatch.setattr(ProfileStore, "names", names)
    window = make_window(context)
    assert window.banner.isVisible() and window.banner.action_button.text() == "&Try again"
    assert not window.next_button.isEnabled()
    assert window.next_button.toolTip() == BLOCKED_UNREADABLE

    window.banner.action_button.click()
    qtbot.waitUntil(lambda: not window.banner.isVisible() and not window.busy.busy, timeout=5000)
    page = window.current_page
    assert page.pick_radio.isChecked() and page.profile_combo.currentText() == "Zeta"
    assert window.next_button.isEnabled()


def test_the_welcome_page_reads_profiles_off_the_gui_thread_and_stays_responsive(
    qtbot: Any, make_context: Any, monkeypatch: Any
) -> None:
    context = make_context()
    context.profiles.save(Profile(name="Zeta"))
    context.profiles.set_last_used("Zeta")
    readers: list[threading.Thread] = []
    release = threading.Event()
    real_load = ProfileStore._load

    def load(self: ProfileStore) -> Any:
        readers.append(threading.current_thread())
        assert release.wait(5), "the test never let the read finish"
        return real_load(self)

    monkeypatch.setattr(ProfileStore, "_load", load)
    window = WizardWindow(context)
    try:
        window.show()
        qtbot.waitExposed(window)
        page = window.current_page
        # while the file is being read: a loading state, and the GUI loop keeps running
        assert window.busy.busy and window.busy.label.text() == READING
        assert not window.next_button.isEnabled()
        assert not page.profile_box.isEnabled()
        ticks: list[int] = []
        QTimer.singleShot(10, lambda: ticks.append(1))
        qtbot.waitUntil(lambda: bool(ticks) and bool(readers), timeout=3000)
        assert window.busy.busy  # the read is still blocked; the GUI was not

        release.set()
        qtbot.waitUntil(lambda: not window.busy.busy, timeout=5000)
        assert page.profile_box.isEnabled()
        assert page.pick_radio.isChecked() and page.profile_combo.currentText() == "Zeta"
        page.new_radio.click()
        qtbot.keyClicks(page.name_edit, "Acme")
        window.next_button.click()  # creates the profile and saves it (in the executor too)
        assert window.current_id is PageId.CONNECT
        saved = context.profiles.path
        qtbot.waitUntil(lambda: '"Acme"' in saved.read_text(encoding="utf-8"), timeout=5000)
        qtbot.waitUntil(lambda: not context.runner.active, timeout=5000)
    finally:
        release.set()
        window._force_close = True
        window.close()
        window.deleteLater()
    assert readers
    assert all(t is not threading.main_thread() for t in readers), readers


def test_when_the_corrupt_file_cannot_be_set_aside_the_banner_says_so_and_offers_it_again(
    qtbot: Any, make_context: Any, make_window: Any, monkeypatch: Any, expect_log_warning: Any
) -> None:
    expect_log_warning(r"Could not read profiles")
    expect_log_warning(r"Could not set the profiles file aside: .*Read-only")
    context = make_context()
    context.profiles.path.parent.mkdir(parents=True, exist_ok=True)
    context.profiles.path.write_bytes(BROKEN)
    real_start_fresh = ProfileStore.start_fresh
    refusals = [OSError(30, "Read-only file system")]

    def start_fresh(self: ProfileStore) -> Any:
        if refusals:
            raise refusals.pop()
        return real_start_fresh(self)

    monkeypatch.setattr(ProfileStore, "start_fresh", start_fresh)
    window = make_window(context)
    window.banner.action_button.click()
    qtbot.waitUntil(lambda: not window.busy.busy, timeout=5000)
    assert "could not be set aside" in window.banner.headline.text()
    assert window.banner.action_button.text() == "Start &fresh again"
    assert not window.next_button.isEnabled()
    assert context.profiles.path.read_bytes() == BROKEN

    window.banner.action_button.click()
    qtbot.waitUntil(lambda: not window.banner.isVisible() and not window.busy.busy, timeout=5000)
    assert not context.profiles.path.exists()  # set aside; the copy is kept
    assert "Started fresh" in window.current_page.fresh_message.text()
