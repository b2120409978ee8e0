"""Page 3: the Test rows against the real sandbox, Next only when all pass, the secret kept safe."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QPlainTextEdit, QWidget

from halo_paylink.core.wizard import CheckRowState, PageId
from halo_paylink.sandbox import DEMO_CLIENT_SECRET


@pytest.fixture
def app_window(qtbot: Any, make_window: Any, sandbox: Any) -> Any:
    window = make_window()
    qtbot.keyClicks(window.current_page.name_edit, "Acme")
    window.next_button.click()
    page = window.current_page
    page.address_edited(sandbox.url)
    page.discover_now()
    qtbot.waitUntil(window.next_button.isEnabled, timeout=10000)
    window.next_button.click()
    assert window.current_id is PageId.APPLICATION
    return window


def type_credentials(qtbot: Any, page: Any, client_id: str, secret: str) -> None:
    page.client_id_edit.clear()
    page.secret_edit.clear()
    qtbot.keyClicks(page.client_id_edit, client_id)
    qtbot.keyClicks(page.secret_edit, secret)


def run_test(qtbot: Any, window: Any) -> list[Any]:
    page = window.current_page
    assert page.test_button.isEnabled()
    page.test_button.click()
    assert window.busy.busy
    qtbot.waitUntil(lambda: page._handle is None, timeout=15000)
    return page.state.application.rows


def all_widget_texts(root: QWidget) -> list[str]:
    texts = [root.windowTitle()]
    for widget in root.findChildren(QWidget):
        texts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
        if isinstance(widget, QLabel | QAbstractButton) or (
            isinstance(widget, QLineEdit) and widget.echoMode() is QLineEdit.EchoMode.Normal
        ):
            texts.append(widget.text())
        elif isinstance(widget, QPlainTextEdit):
            texts.append(widget.toPlainText())
    return texts


def test_all_checks_pass_enables_next_and_secret_appears_nowhere_else(
    qtbot: Any, app_window: Any
) -> None:
    page = app_window.current_page
    assert not page.test_button.isEnabled()
    assert not app_window.next_button.isEnabled()
    type_credentials(qtbot, page, "demo-client", DEMO_CLIENT_SECRET)
    assert page.secret_edit.echoMode() is QLineEdit.EchoMode.Password
    rows = run_test(qtbot, app_window)
    assert [r.state for r in rows] == [CheckRowState.PASS] * 5
    assert app_window.next_button.isEnabled()
    for widget in page.row_widgets.values():
        assert widget.state_label.text() == "Passed"  # a word, not only a colour
        assert widget.icon.pixmap() is not None and not widget.icon.pixmap().isNull()
    assert "All checks passed" in page.summary.text()
    texts = all_widget_texts(app_window)
    assert not any(DEMO_CLIENT_SECRET in t for t in texts)
    # remembered in the (in-memory) store, and the page says where
    qtbot.waitUntil(lambda: app_window.context.secrets.get("Acme") == DEMO_CLIENT_SECRET)
    qtbot.waitUntil(lambda: "kept in" in page.store_message.text())


def test_wrong_secret_fails_with_the_fix_and_next_stays_disabled(
    qtbot: Any, app_window: Any
) -> None:
    page = app_window.current_page
    type_credentials(qtbot, page, "demo-client", "not-the-secret-123")
    rows = run_test(qtbot, app_window)
    token = next(r for r in rows if r.key == "token")
    assert token.state is CheckRowState.FAIL
    widget = page.row_widgets["token"]
    assert widget.state_label.text() == "Failed"
    assert widget.fix.isVisible() and widget.fix.text().startswith("How to fix: ")
    assert "secret" in widget.fix.text().lower()
    later = [r for r in rows if r.key in ("read_invoices", "edit_invoices")]
    assert all(r.state is CheckRowState.SKIPPED for r in later)
    assert not app_window.next_button.isEnabled()
    assert "failed" in page.summary.text()


def test_missing_edit_permission_names_the_scope(qtbot: Any, app_window: Any, sandbox: Any) -> None:
    sandbox.add_application("read-only", "read-only-secret-42", allowed_scopes=("read:invoices",))
    page = app_window.current_page
    type_credentials(qtbot, page, "read-only", "read-only-secret-42")
    rows = {r.key: r for r in run_test(qtbot, app_window)}
    assert rows["read_invoices"].state is CheckRowState.PASS
    assert rows["edit_invoices"].state is CheckRowState.FAIL
    assert "edit:invoices" in rows["edit_invoices"].fix
    assert not app_window.next_button.isEnabled()


def test_editing_the_secret_after_a_pass_needs_a_new_test(qtbot: Any, app_window: Any) -> None:
    page = app_window.current_page
    type_credentials(qtbot, page, "demo-client", DEMO_CLIENT_SECRET)
    run_test(qtbot, app_window)
    assert app_window.next_button.isEnabled()
    qtbot.keyClicks(page.secret_edit, "x")
    assert not app_window.next_button.isEnabled()
    assert page.state.application.rows == []
    assert page.row_widgets == {}


def test_keyring_unavailable_says_why_and_disables_remember(
    qtbot: Any, make_context: Any, make_window: Any, sandbox: Any
) -> None:
    from halo_paylink.storage.secrets import StoreStatus

    class NoKeyring:
        def status(self) -> StoreStatus:
            return StoreStatus(False, "fail", "", "No system keyring is available here.")

        def get(self, profile: Any) -> None:
            return None

        def set(self, profile: Any, secret: str) -> None:
            raise AssertionError("must not store without a secure keyring")

        def delete(self, profile: Any) -> None:
            return None

    window = make_window(make_context(secrets=NoKeyring()))
    qtbot.keyClicks(window.current_page.name_edit, "Acme")
    window.next_button.click()
    window.current_page.address_edited(sandbox.url)
    window.current_page.discover_now()
    qtbot.waitUntil(window.next_button.isEnabled, timeout=10000)
    window.next_button.click()
    page = window.current_page
    qtbot.waitUntil(lambda: not page.remember_check.isEnabled())
    assert not page.remember_check.isChecked()
    assert "No system keyring is available here." in page.store_message.text()
    type_credentials(qtbot, page, "demo-client", DEMO_CLIENT_SECRET)
    run_test(qtbot, window)
    assert window.next_button.isEnabled()


def test_test_checks_the_endpoints_the_connect_page_found(
    qtbot: Any, app_window: Any, sandbox: Any
) -> None:
    """Test must not discover again: it checks (and Next then uses) what the Connect page found."""
    found = app_window.context.state.connect.endpoints
    assert found is not None and found.from_authinfo and found.tenant == sandbox.config.tenant
    # From now on, discovering the same address would answer differently: without authinfo the
    # addresses are derived, and 127.0.0.1 names no tenant.
    sandbox.config.authinfo = False
    sent: list[Any] = []

    async def record(request: Any) -> None:
        sent.append(request)

    app_window.context.http().event_hooks["request"].append(record)
    page = app_window.current_page
    type_credentials(qtbot, page, "demo-client", DEMO_CLIENT_SECRET)
    rows = run_test(qtbot, app_window)
    assert [r.state for r in rows] == [CheckRowState.PASS] * 5
    assert not [r for r in sent if r.url.path.endswith("/authinfo")]
    token_requests = [str(r.url) for r in sent if r.url.path.endswith("/token")]
    assert token_requests == [found.token_url]
    assert "?tenant=" in found.token_url
    assert all(str(r.url).startswith(found.resource_url) for r in sent if "/api/" in str(r.url))
