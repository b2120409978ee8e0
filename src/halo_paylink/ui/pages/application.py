"""Page 3: create the API application in Halo, paste its credentials, and Test what it may do.

The Test button runs `core.checks.run_checks` on the GUI loop against the endpoints the Connect
page found (held in `state.connect`, never discovered again); each check is a row with an icon and
a word for its state (never colour alone) and, when it failed, the fix. Next is enabled only when
every row passed for the credentials and address now entered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from halo_paylink.core.presenters.application import ApplicationPresenter
from halo_paylink.core.wizard import CheckRow, CheckRowState, PageId
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage, show_note
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.common import FieldMessage, heading, stacked, std_icon, wrap_label

if TYPE_CHECKING:  # imported when Test runs, so the first page paints without them
    from halo_paylink.core.checks import CheckReport, CheckResult
    from halo_paylink.storage.secrets import StoreStatus

STEPS = (
    "<ol>"
    "<li>In Halo, open <b>Configuration &gt; Integrations &gt; HaloPSA API</b> and click "
    "<b>View Applications</b>, then <b>New</b>.</li>"
    "<li>Name it, for example <i>Benji Pays PayLink</i>, and set <b>Authentication Method</b> to "
    "<b>Client ID and Secret (Services)</b>.</li>"
    "<li>Set <b>Login Type</b> to <b>Agent</b> and pick an agent who is allowed to <b>read and "
    "modify invoices</b>: the application acts as this agent.</li>"
    "<li>On the <b>Permissions</b> tab tick <b>read:invoices</b> and <b>edit:invoices</b> "
    "(nothing else is needed).</li>"
    "<li>Save, then copy the <b>Client ID</b> and <b>Client Secret</b> into the fields below. "
    "Halo shows the secret only once.</li>"
    "</ol>"
)

STATE_WORDS: dict[CheckRowState, str] = {
    CheckRowState.PENDING: "Waiting",
    CheckRowState.BUSY: "Checking…",
    CheckRowState.PASS: "Passed",
    CheckRowState.FAIL: "Failed",
    CheckRowState.SKIPPED: "Skipped",
}

STATE_ICONS: dict[CheckRowState, QStyle.StandardPixmap] = {
    CheckRowState.PENDING: QStyle.StandardPixmap.SP_MediaPause,
    CheckRowState.BUSY: QStyle.StandardPixmap.SP_BrowserReload,
    CheckRowState.PASS: QStyle.StandardPixmap.SP_DialogApplyButton,
    CheckRowState.FAIL: QStyle.StandardPixmap.SP_MessageBoxCritical,
    CheckRowState.SKIPPED: QStyle.StandardPixmap.SP_MediaSkipForward,
}


class CheckRowWidget(QFrame):
    """One check: icon + state word, title, what happened, and the fix when it failed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        self.icon = QLabel()
        self.icon.setFixedWidth(22)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.state_label = QLabel()
        self.state_label.setMinimumWidth(78)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        bold = self.state_label.font()
        bold.setBold(True)
        self.state_label.setFont(bold)
        self.title = QLabel()
        self.title.setFont(bold)
        self.title.setWordWrap(True)
        self.message = wrap_label(selectable=True)
        self.fix = wrap_label(selectable=True)
        self.note = wrap_label(selectable=True)
        grid.addWidget(self.icon, 0, 0, 3, 1)
        grid.addWidget(self.state_label, 0, 1, 3, 1)
        grid.addWidget(self.title, 0, 2)
        grid.addWidget(self.message, 1, 2)
        grid.addWidget(self.fix, 2, 2)
        grid.addWidget(self.note, 3, 2)
        grid.setColumnStretch(2, 1)
        self.row: CheckRow | None = None

    def show_row(self, row: CheckRow) -> None:
        self.row = row
        word = STATE_WORDS[row.state]
        self.icon.setPixmap(std_icon(self, STATE_ICONS[row.state]).pixmap(18, 18))
        self.icon.setAccessibleName(word)
        self.state_label.setText(word)
        self.title.setText(row.title)
        self.message.setText(row.message)
        self.message.setVisible(bool(row.message))
        self.fix.setText(f"How to fix: {row.fix}" if row.fix else "")
        self.fix.setVisible(bool(row.fix) and row.state is CheckRowState.FAIL)
        self.note.setText(f"Note: {row.note}" if row.note else "")
        self.note.setVisible(bool(row.note))
        self.setAccessibleName(f"{row.title}: {word}")
        self.setAccessibleDescription(" ".join(x for x in (row.message, row.fix) if x))


def row_from_result(result: CheckResult) -> CheckRow:
    """Convert a `core.checks.CheckResult` into the page's row (no network types in the flow)."""
    return CheckRow(
        key=result.id.value,
        title=result.title,
        state=CheckRowState(result.state.value),
        message=result.message,
        fix=result.fix,
        note=result.note,
    )


class ApplicationPage(BasePage):
    """Client ID, masked secret, keyring choice, and the Test checklist."""

    page_id = PageId.APPLICATION

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.presenter = ApplicationPresenter(self.state)
        self._secret_kept_for: int | None = None  # hash of the secret last saved in the store
        self._handle: TaskHandle[CheckReport] | None = None
        self.body.addWidget(heading("Create the API application in Halo"))
        self.body.addWidget(wrap_label(STEPS, rich=True))

        creds = QGroupBox("Credentials")
        form = QFormLayout(creds)
        self.client_id_edit = QLineEdit()
        self.client_id_edit.setAccessibleName("Client ID")
        self.client_id_edit.setPlaceholderText("from the application's Details tab")
        client_label = QLabel("Client &ID:")
        client_label.setBuddy(self.client_id_edit)
        self.client_id_message = FieldMessage()
        form.addRow(client_label, stacked(self.client_id_edit, self.client_id_message))
        self.secret_edit = QLineEdit()
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setAccessibleName("Client secret")
        self.secret_edit.setPlaceholderText("shown once by Halo when the application is saved")
        secret_label = QLabel("Client &secret:")
        secret_label.setBuddy(self.secret_edit)
        form.addRow(secret_label, self.secret_edit)
        self.remember_check = QCheckBox("&Remember the secret in the system keyring")
        self.store_message = FieldMessage()
        form.addRow("", stacked(self.remember_check, self.store_message))
        self.body.addWidget(creds)

        test_box = QGroupBox("Test")
        test_layout = QVBoxLayout(test_box)
        self.test_button = QPushButton("&Test the connection")
        self.test_button.setAutoDefault(False)
        self.test_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_BrowserReload))
        test_layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.summary = wrap_label()
        self.summary.setAccessibleName("Test summary")
        test_layout.addWidget(self.summary)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(4)
        test_layout.addLayout(self.rows_box)
        self.row_widgets: dict[str, CheckRowWidget] = {}
        self.body.addWidget(test_box)
        self.body.addStretch(1)

        self.client_id_edit.textEdited.connect(self._client_id_edited)
        self.secret_edit.textEdited.connect(self._secret_edited)
        self.remember_check.toggled.connect(self._remember_toggled)
        self.test_button.clicked.connect(self.run_test)
        context.secretLoaded.connect(self._secret_loaded)
        self.setTabOrder(self.client_id_edit, self.secret_edit)
        self.setTabOrder(self.secret_edit, self.remember_check)
        self.setTabOrder(self.remember_check, self.test_button)

    # -- input ----------------------------------------------------------------------------------
    def _secret_loaded(self) -> None:
        self._secret_kept_for = hash(self.state.application.secret)  # it came from the store
        self._render()

    def _client_id_edited(self, text: str) -> None:
        self.state.application.client_id = text
        self.state.application.credentials_edited()
        self._render()

    def _secret_edited(self, text: str) -> None:
        self.state.application.secret = text
        self.state.application.credentials_edited()
        self._store_status_text()  # "Secret kept in ..." was about the old secret
        self._render()

    def _remember_toggled(self, on: bool) -> None:
        app = self.state.application
        if app.remember == on:
            return
        app.remember = on
        self._store_status_text()
        if app.all_passed(self.state.connect.key()):
            self._store_secret()
        self.context.save_profile()

    # -- test -----------------------------------------------------------------------------------
    def run_test(self) -> None:
        """Run every check against Halo (async on the GUI loop); rows update live."""
        from halo_paylink.core.checks import run_checks

        app, connect = self.state.application, self.state.connect
        # The endpoints the Connect page found are the ones tested (and later used): nothing is
        # discovered again here, so Test cannot pass against another address than Next uses.
        endpoints = connect.endpoints if connect.complete else None
        if not app.can_test or self._handle is not None or endpoints is None:
            return
        self.set_error(None)
        app.testing = True
        app.rows = []
        app.tested_for = app.fingerprint(connect.key())
        fingerprint = app.tested_for
        self.set_busy("Testing the API application…")
        coro = run_checks(
            self.context.http(),
            endpoints,
            self.context.credentials(),
            rate_limit=self.context.rate_limit,
            on_update=self._row_updated,
        )
        self._handle = self.start(
            coro,
            name="run checks",
            on_result=lambda report: self._tested(report, fingerprint),
            on_error=self.set_failure,
            on_cancelled=self._test_cancelled,
            on_finally=self._test_ended,
        )
        self._render()

    def _row_updated(self, result: CheckResult) -> None:
        row = row_from_result(result)
        rows = self.state.application.rows
        for i, old in enumerate(rows):
            if old.key == row.key:
                rows[i] = row
                break
        else:
            rows.append(row)
        self._render_rows()

    def _tested(self, report: CheckReport, fingerprint: tuple[object, ...]) -> None:
        app = self.state.application
        app.rows = [row_from_result(r) for r in report.results]
        app.tested_for = fingerprint
        app.agent_name = report.agent_name
        if report.all_passed:
            self._store_secret()
            self.context.save_profile()

    def _test_cancelled(self) -> None:
        self.state.application.rows = []
        self.state.application.tested_for = None

    def _test_ended(self) -> None:
        self._handle = None
        self.state.application.testing = False
        self.set_busy(None)
        self._render()

    def _store_secret(self) -> None:
        app = self.state.application
        if not app.keyring_ok:
            return

        secret = app.secret

        def saved(_: object) -> None:
            if app.remember:
                self._secret_kept_for = hash(secret)
            status = self.context.known_secret_status
            where = status.location if status is not None else "the system keyring"
            if app.remember:
                self.store_message.show_ok(f"Secret kept in {where}.")
            else:
                self.store_message.show_note("The secret is not saved; you'll be asked for it.")

        def failed(error: BaseException) -> None:
            self.store_message.show_error(f"The secret could not be saved: {error}")

        self.start(
            self.context.store_secret(), name="store secret", on_result=saved, on_error=failed
        )

    # -- rendering ------------------------------------------------------------------------------
    def _store_status_text(self) -> None:
        status = self.context.known_secret_status
        show_note(self.store_message, self.presenter.store_note(status))
        self.remember_check.setVisible(self.presenter.offers_remember(status))

    def _render_rows(self) -> None:
        rows = self.presenter.rows()
        keys = [r.key for r in rows]
        for key in list(self.row_widgets):
            if key not in keys:
                gone = self.row_widgets.pop(key)
                self.rows_box.removeWidget(gone)
                gone.deleteLater()
        for i, row in enumerate(rows):
            widget = self.row_widgets.get(row.key)
            if widget is None:
                widget = CheckRowWidget()
                self.row_widgets[row.key] = widget
                self.rows_box.insertWidget(i, widget)
            widget.show_row(row)
        self.summary.setText(self.presenter.summary())
        self.changed.emit()

    def _render(self) -> None:
        app = self.state.application
        if self.client_id_edit.text() != app.client_id:
            self.client_id_edit.setText(app.client_id)
        if self.secret_edit.text() != app.secret:
            self.secret_edit.setText(app.secret)
        self.client_id_message.show_error(app.client_id_error)
        self.remember_check.blockSignals(True)
        self.remember_check.setChecked(app.remember and app.keyring_ok)
        self.remember_check.setEnabled(app.keyring_ok)
        self.remember_check.blockSignals(False)
        testing = self._handle is not None
        self.test_button.setEnabled(app.can_test and not testing)
        self.client_id_edit.setReadOnly(testing)
        self.secret_edit.setReadOnly(testing)
        self._render_rows()

    def _status_known(self, status: StoreStatus) -> None:
        self.state.application.keyring_ok = status.secure
        self._store_status_text()
        self._render()

    def enter_action(self, focus: QWidget | None) -> Callable[[], None] | None:
        """Enter in the client ID or secret field runs the Test (Next once it passed)."""
        app = self.state.application
        typing = focus in (self.client_id_edit, self.secret_edit)
        if typing and app.can_test and not app.all_passed(self.state.connect.key()):
            return self.run_test
        return None

    def unsaved_input(self) -> str | None:
        """A secret meant to be remembered that is not stored yet (it is stored after a passing
        Test). One the admin chose not to keep, or the demo's own, is not asked about."""
        app = self.state.application
        if self.context.demo is not None and app.secret == self.context.demo.client_secret:
            return None
        wanted_kept = app.remember and app.keyring_ok
        if not app.secret or not wanted_kept or self._secret_kept_for == hash(app.secret):
            return None
        return "the client secret (it is stored in the keyring only once the Test has passed)"

    def first_focus(self) -> QWidget | None:
        if not self.state.application.client_id:
            return self.client_id_edit
        if not self.state.application.secret:
            return self.secret_edit
        return self.test_button

    def enter(self) -> None:
        self._store_status_text()
        self.start(
            self.context.secret_status(), name="keyring status", on_result=self._status_known
        )
        self._render()
