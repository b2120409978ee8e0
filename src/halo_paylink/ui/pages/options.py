"""Page 4: Benji Pays' PDF and payment options, and exactly what to set in Benji."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QVBoxLayout, QWidget

from halo_paylink.core.wizard import BENJI_SETTINGS_PATH, PageId, benji_checklist
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.widgets.common import heading, wrap_label


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
        self.body.addStretch(1)

        self.use_pdf.toggled.connect(self._use_pdf_toggled)
        self.fallback.toggled.connect(self._fallback_toggled)
        self.button.toggled.connect(self._button_toggled)

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

    def leave(self, forward: bool) -> None:
        self.context.save_profile()
