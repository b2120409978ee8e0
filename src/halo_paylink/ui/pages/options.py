"""Page 4: Benji Pays' PDF and payment options, exactly what to set in Benji, and (optional, with a
Benji API key) Benji's settings checked and the pay-now link built from them.

The Benji box's logic is `core.presenters.benji_options.BenjiOptionsPresenter`; the page reads
Benji as a task it owns and keeps the key in `AppContext.benji_keys` (the keyring, never a file).
"""

from __future__ import annotations

import html
import logging

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from halo_paylink.core.benji_checks import SettingsReport, check_settings
from halo_paylink.core.presenters.benji_options import BenjiOptionsPresenter, BenjiOptionsView
from halo_paylink.core.wizard import BENJI_SETTINGS_PATH, PageId, benji_checklist
from halo_paylink.errors import LocalError
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.widgets.common import heading, wrap_label

log = logging.getLogger(__name__)


class OptionsPage(BasePage):
    """Three options saved in the profile, and the checklist to copy them into Benji Pays."""

    page_id = PageId.OPTIONS

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        box = QGroupBox("How Benji Pays sends invoices and receipts")
        layout = QVBoxLayout(box)
        self.use_pdf = QCheckBox("&Use Halo invoice PDF when sending invoices and receipts")
        layout.addWidget(self.use_pdf)
        layout.addWidget(
            self._indented(
                "Benji attaches the invoice PDF that Halo generates, so customers see the "
                "invoice layout they know from Halo."
            )
        )
        self.fallback = QCheckBox("&Fallback to accounting invoice PDF")
        layout.addWidget(self.fallback)
        self.fallback_help = self._indented(
            "Use it when Halo's PDF can't be generated: Benji then sends the accounting "
            "system's PDF instead of no PDF. Only available when the option above is on."
        )
        layout.addWidget(self.fallback_help)
        self.button = QCheckBox("Add &payment button")
        layout.addWidget(self.button)
        layout.addWidget(
            self._indented("Benji adds a Pay button to the emails it sends for invoices.")
        )
        self.body.addWidget(box)

        self.body.addWidget(heading("Then set exactly this in Benji Pays"))
        self.checklist = wrap_label(rich=True, selectable=True)
        self.checklist.setAccessibleName("Benji Pays checklist")
        self.body.addWidget(self.checklist)
        self.benji = BenjiOptionsPresenter(context.state)
        self.body.addWidget(self._benji_box())
        self.body.addStretch(1)

        self.use_pdf.toggled.connect(self._use_pdf_toggled)
        self.fallback.toggled.connect(self._fallback_toggled)
        self.button.toggled.connect(self._button_toggled)

    def _benji_box(self) -> QGroupBox:
        box = QGroupBox("Check Benji Pays' side (optional)")
        box.setObjectName("benji_settings")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.benji_key = QLineEdit()
        self.benji_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.benji_key.setAccessibleName("Benji Pays API key")
        self.benji_key.setPlaceholderText("the merchant API key from Benji Pays (optional)")
        key_label = QLabel("Benji Pays API &key:")
        key_label.setBuddy(self.benji_key)
        form.addRow(key_label, self.benji_key)
        self.benji_remember = QCheckBox("Re&member the key in the system keyring")
        form.addRow("", self.benji_remember)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.benji_check = QPushButton("C&heck Benji's settings")
        self.benji_build = QPushButton("Build the &link from Benji's settings")
        for button in (self.benji_check, self.benji_build):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.benji_status = wrap_label()
        self.benji_status.setAccessibleName("Benji check status")
        self.benji_rows = wrap_label(rich=True, selectable=True)
        self.benji_rows.setAccessibleName("Benji settings checks")
        self.benji_link = wrap_label(selectable=True)
        self.benji_link.setAccessibleName("Pay-now link from Benji's settings")
        self.benji_note = wrap_label()
        for label in (self.benji_status, self.benji_rows, self.benji_link, self.benji_note):
            layout.addWidget(label)
        self.benji_key.textEdited.connect(self._benji_key_edited)
        self.benji_remember.toggled.connect(self._benji_remember_toggled)
        self.benji_check.clicked.connect(self.check_benji)
        self.benji_build.clicked.connect(self.build_link)
        return box

    # -- Benji ----------------------------------------------------------------------------------
    def _benji_key_edited(self, text: str) -> None:
        self.benji.key_edited(text)
        self._render_benji()

    def _benji_remember_toggled(self, on: bool) -> None:
        self.state.benji.remember = on
        if not on and self.context.profile is not None:
            name = self.context.profile.name
            self.start(self._forget_key(name), name="forget Benji key", on_error=self._keyring)

    async def _forget_key(self, name: str) -> None:
        await self.context.blocking(self.context.benji_keys.delete, name)

    @staticmethod
    def _keyring(error: BaseException) -> None:
        log.info("The Benji key could not be kept in or removed from the keyring: %s", error)

    def check_benji(self) -> None:
        """Read Benji's settings and check them (a task; nothing is changed anywhere)."""
        if not self.benji.start_check():
            return
        self._handle = self.start(
            self._read_benji(),
            name="check Benji settings",
            on_result=self.benji.check_finished,
            on_error=self.benji.check_failed,
            on_finally=self._benji_ended,
        )
        self._render_benji()

    async def _read_benji(self) -> SettingsReport:
        report = await check_settings(self.context.benji_client(), self.state.link.tool)
        benji, profile = self.state.benji, self.context.profile
        if benji.remember and profile is not None and self.context.demo is None:
            try:  # Benji accepted the key: keep it for next time
                await self.context.blocking(self.context.benji_keys.set, profile.name, benji.key)
            except LocalError as error:
                self._keyring(error)
        return report

    def _benji_ended(self) -> None:
        self._handle = None
        self.benji.check_ended()
        self._render_benji()

    def build_link(self) -> None:
        """Use the link built from Benji's settings on the Email page (no copy-and-paste)."""
        if self.benji.build_link():
            self.context.save_profile()
        self._render_benji()

    def _load_benji_key(self) -> None:
        profile, benji = self.context.profile, self.state.benji
        if profile is None or benji.key or benji.key_loaded_for == profile.name:
            return
        benji.key_loaded_for = profile.name
        self.start(
            self._stored_key(profile.name),
            name="load Benji key",
            on_result=self._key_loaded,
            on_error=self._keyring,
        )

    async def _stored_key(self, name: str) -> str | None:
        return await self.context.blocking(self.context.benji_keys.get, name)

    def _key_loaded(self, key: str | None) -> None:
        if key and not self.state.benji.key:
            self.benji.key_edited(key)
            self._render_benji()

    def _render_benji(self) -> None:
        view = self.benji.view()
        if self.benji_key.text().strip() != self.state.benji.key:
            self.benji_key.setText(self.state.benji.key)
        self.benji_remember.blockSignals(True)
        self.benji_remember.setChecked(self.state.benji.remember)
        self.benji_remember.blockSignals(False)
        self.benji_check.setEnabled(view.check_enabled)
        self.benji_build.setEnabled(view.build_enabled)
        self.benji_status.setText(view.status)
        self.benji_rows.setText(_rows_html(view))
        self.benji_rows.setVisible(bool(view.rows))
        self.benji_link.setText(
            f"Pay-now link: {view.link}\n{view.link_detail}" if view.link else ""
        )
        self.benji_link.setVisible(bool(view.link or view.link_detail))
        self.benji_note.setText(f"Note: {view.note}" if view.note else "")
        self.benji_note.setVisible(bool(view.note))
        self.set_busy("Reading Benji Pays' settings…" if view.busy else None)

    @staticmethod
    def _indented(text: str) -> QLabel:
        label = wrap_label(text)
        label.setContentsMargins(24, 0, 0, 6)
        return label

    def _use_pdf_toggled(self, on: bool) -> None:
        self.state.options.set_use_halo_pdf(on)
        self._render()

    def _fallback_toggled(self, on: bool) -> None:
        self.state.options.set_fallback(on)
        self._render()

    def _button_toggled(self, on: bool) -> None:
        self.state.options.add_payment_button = on
        self._render()

    def _render(self) -> None:
        o = self.state.options
        for box, value in (
            (self.use_pdf, o.use_halo_pdf),
            (self.fallback, o.fallback_to_accounting_pdf),
            (self.button, o.add_payment_button),
        ):
            box.blockSignals(True)
            box.setChecked(value)
            box.blockSignals(False)
        self.fallback.setEnabled(o.fallback_enabled)
        self.fallback_help.setEnabled(o.fallback_enabled)
        items = "".join(
            f"<li>{'☑' if on else '☐'} <b>{html.escape(label)}</b>: "
            f"turn it <b>{'ON' if on else 'OFF'}</b></li>"
            for label, on in benji_checklist(o)
        )
        self.checklist.setText(
            f"<p>In Benji Pays, open <b>{html.escape(BENJI_SETTINGS_PATH)}</b> and set:</p>"
            f"<ul>{items}</ul><p>Then click <b>Save</b> in Benji Pays.</p>"
        )
        self.changed.emit()

    def first_focus(self) -> QWidget | None:
        return self.use_pdf

    def enter(self) -> None:
        self._render()
        self._render_benji()
        self._load_benji_key()

    def leave(self, forward: bool) -> None:
        self.context.save_profile()


def _rows_html(view: BenjiOptionsView) -> str:
    """The settings checks as a small table: the mark in words, the setting, what was found and
    the fix."""
    esc = html.escape
    rows = "".join(
        f"<tr><td><b>{esc(row.mark)}</b></td><td><b>{esc(row.label)}</b><br>{esc(row.detail)}"
        + (f"<br><i>Fix:</i> {esc(row.fix)}" if row.fix else "")
        + "</td></tr>"
        for row in view.rows
    )
    return f"<table cellspacing='4'>{rows}</table>"
