"""Page 2: live parse messages, debounced discovery against the sandbox, cancel, copy buttons."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication

from halo_paylink.core.wizard import DiscoveryStatus, PageId


@pytest.fixture
def connect_window(qtbot: Any, make_window: Any) -> Any:
    window = make_window()
    qtbot.keyClicks(window.current_page.name_edit, "Acme")
    window.next_button.click()
    assert window.current_id is PageId.CONNECT
    return window


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("me@example.com", "email address"),
        ("ftp://files.example.com", "not supported"),
        ("http://acme.example.com", "https"),
        ("https://acme example", "spaces"),
    ],
)
def test_bad_input_gets_a_specific_message_while_typing(
    qtbot: Any, connect_window: Any, typed: str, expected: str
) -> None:
    page = connect_window.current_page
    qtbot.keyClicks(page.address_edit, typed)
    assert page.address_message.isVisible()
    assert page.address_message.text().startswith("Problem: ")
    assert expected in page.address_message.text()
    assert connect_window.current_page.state.connect.status is DiscoveryStatus.IDLE
    assert not page._debounce.isActive()  # nothing will be looked up for a bad address
    assert not connect_window.next_button.isEnabled()


def test_discovery_after_typing_pauses_and_copy_buttons(
    qtbot: Any, connect_window: Any, sandbox: Any
) -> None:
    page = connect_window.current_page
    qtbot.keyClicks(page.address_edit, sandbox.url)
    # typing only schedules discovery; it starts when typing pauses
    assert page.state.connect.status is DiscoveryStatus.WAITING
    assert page._handle is None and page._debounce.isActive()
    qtbot.waitUntil(lambda: page.state.connect.complete, timeout=10000)
    assert connect_window.next_button.isEnabled()
    assert page.address_message.text() == f"✓ Found Halo at {sandbox.url}"
    assert page.kind_label.text() == "Halo-hosted"  # the sandbox's authinfo names a tenant
    expected = {
        page.auth_field: sandbox.auth_url,
        page.resource_field: sandbox.resource_url,
        page.tenant_field: "demo",
    }
    clipboard = QGuiApplication.clipboard()
    for field, value in expected.items():
        assert field.value() == value
        field.button.click()
        assert clipboard.text() == value
        assert field.button.text() == "Copied ✓"


def test_typing_on_cancels_the_previous_discovery(
    qtbot: Any, connect_window: Any, sandbox: Any
) -> None:
    page = connect_window.current_page
    slow = sandbox.faults.add(delay=2.0, path="/api/authinfo", times=1)
    page.address_edited(sandbox.url + "/")
    page.discover_now()
    first = page._handle
    assert first is not None and first.running
    qtbot.waitUntil(lambda: slow.fired == 1, timeout=5000)
    page.address_edited(sandbox.url)  # the admin goes on typing
    assert first.task.cancelling() or first.task.cancelled()
    assert page.busy_text() is None
    qtbot.waitUntil(lambda: page.state.connect.complete, timeout=10000)
    assert first.task.cancelled()
    assert page.state.connect.discovered_for == (sandbox.url, "", None)


def test_unreachable_halo_is_said_once_under_the_address(qtbot: Any, connect_window: Any) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = connect_window.current_page
    page.address_edited(f"http://127.0.0.1:{port}")
    page.discover_now()
    qtbot.waitUntil(lambda: page.state.connect.status is DiscoveryStatus.FAILED, timeout=10000)
    assert not connect_window.next_button.isEnabled()
    message = page.address_message.text()
    assert message.startswith("Problem: ")
    assert "refused" in message.lower()
    assert "check the address" in message.lower()  # the next step
    assert not connect_window.banner.isVisible()  # once, in one place
    assert "Errno" not in message and " | " not in message  # no raw library text
