"""The pilot step on the Backfill page: write one invoice, show what changed, ask about the Pay
button, undo it on its own. The flow is `core.presenters.pilot.PilotPresenter`'s; this widget
builds the controls, runs the presenter's coroutines as tasks of its page, and renders `view()`.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QEvent
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from halo_paylink.core.presenters.pilot import (
    PilotPhase,
    PilotPresenter,
    load_gate,
    record_answer,
    run_pilot_job,
    target_spec,
    undo_pilot_job,
)
from halo_paylink.ui.widgets.common import FieldMessage, wrap_label

if TYPE_CHECKING:
    from halo_paylink.core.backfill import RunResult
    from halo_paylink.core.backfill.pilot import PilotGate, PilotReport
    from halo_paylink.ui.pages.base import BasePage

T = TypeVar("T")


def _row(*widgets: QWidget, stretch: bool = True, flush: bool = False) -> QHBoxLayout:
    row = QHBoxLayout()
    if flush:
        row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    if stretch:
        row.addStretch(1)
    return row


class PilotPanel(QGroupBox):
    """One pilot invoice before the first bulk write (see the module docstring)."""

    def __init__(self, page: BasePage, parent: QWidget | None = None) -> None:
        super().__init__("Pilot: one invoice first", parent)
        self.page = page
        self.context = page.context
        self.presenter = PilotPresenter()
        self._busy_task = False
        layout = QVBoxLayout(self)

        self.status_label = wrap_label()
        self.status_label.setAccessibleName("Pilot status")
        layout.addWidget(self.status_label)

        invoice_label = QLabel("&Invoice id:")
        self.invoice_edit = QLineEdit()
        self.invoice_edit.setPlaceholderText("first open one")
        self.invoice_edit.setAccessibleName("Pilot invoice id")
        self.invoice_edit.setMaximumWidth(170)
        invoice_label.setBuddy(self.invoice_edit)
        self.pilot_button = QPushButton("Pilo&t one invoice")
        self.undo_button = QPushButton("U&ndo the pilot")
        pick = (invoice_label, self.invoice_edit, self.pilot_button, self.undo_button)
        layout.addLayout(_row(*pick))

        # a text box, not a label: a long link wraps anywhere instead of widening the page
        self.changes_box = QPlainTextEdit()
        self.changes_box.setReadOnly(True)
        self.changes_box.setAccessibleName("What the pilot changed")
        self.changes_box.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.changes_box.setFrameShape(QFrame.Shape.NoFrame)
        lines = self.changes_box.fontMetrics().lineSpacing()
        self.changes_box.setFixedHeight(lines * 5 + 12)
        layout.addWidget(self.changes_box)
        self.portal_label = wrap_label(rich=True, selectable=True)
        self.portal_label.setAccessibleName("The pilot invoice in the customer portal")
        layout.addWidget(self.portal_label)

        self.question = QLabel("<b>Is the Pay button there?</b>")
        self.yes_button = QPushButton("&Yes, it is there")
        self.no_button = QPushButton("No, it is &not")
        self.question_row = QWidget()
        self.question_row.setLayout(
            _row(self.question, self.yes_button, self.no_button, flush=True)
        )
        layout.addWidget(self.question_row)

        field_label = QLabel("&Custom field the portal shows:")
        self.field_edit = QLineEdit()
        self.field_edit.setPlaceholderText("e.g. CFPayLink")
        self.field_edit.setAccessibleName("Custom field for the link")
        field_label.setBuddy(self.field_edit)
        self.field_button = QPushButton("Use this &field")
        self.field_row = QWidget()
        self.field_row.setLayout(_row(field_label, self.field_edit, self.field_button, flush=True))
        layout.addWidget(self.field_row)

        self.message = FieldMessage()
        layout.addWidget(self.message)

        for button in (
            self.pilot_button,
            self.undo_button,
            self.yes_button,
            self.no_button,
            self.field_button,
        ):
            button.setAutoDefault(False)
        self.pilot_button.clicked.connect(self.start_pilot)
        self.undo_button.clicked.connect(self.undo)
        self.yes_button.clicked.connect(lambda: self.answer(True))
        self.no_button.clicked.connect(lambda: self.answer(False))
        self.field_button.clicked.connect(self.use_custom_field)
        self.refresh()

    # -- what the page calls --------------------------------------------------------------------
    def enter(self) -> None:
        """The page became current: read whether this Halo's pilot is confirmed."""
        endpoints = self.context.state.connect.endpoints
        self.presenter.web_url = endpoints.web_url if endpoints is not None else ""
        if not self.presenter.web_url or self._busy_task:
            self.refresh()
            return
        self.presenter.phase = PilotPhase.CHECKING
        self._run(
            self.context.blocking(
                load_gate, self.context.paths, self.presenter.web_url, self._target()
            ),
            self._gate_loaded,
        )

    def allows_bulk(self) -> bool:
        return self.presenter.allows_bulk

    def _target(self) -> str:
        """Where this profile's links go: the Pay-button answer is kept for that field."""
        profile = self.context.profile
        return target_spec(profile.link.link_field if profile is not None else None)

    def point_out(self) -> None:
        """A bulk write was asked for before the pilot was confirmed: say so, here."""
        self.presenter.error = "Pilot one invoice and check its Pay button before adding links."
        self.refresh()
        self.pilot_button.setFocus()

    # -- actions --------------------------------------------------------------------------------
    def start_pilot(self) -> None:
        request = self.presenter.request(self.invoice_edit.text())
        if request is None:
            self.refresh()
            return
        from halo_paylink.core.backfill import CancelToken

        profile = self.context.profile
        coro = run_pilot_job(
            request,
            self.context.halo_client(),
            self.context.paths,
            link=self.context.state.link,
            link_field=profile.link.link_field if profile is not None else None,
            profile=profile.name if profile is not None else None,
            cancel=CancelToken(),
        )
        self.presenter.started()
        self._run(coro, self._piloted)

    def answer(self, shown: bool) -> None:
        invoice = self.presenter.answer(shown)
        if invoice is None:
            return
        web_url = self.presenter.web_url
        coro = self.context.blocking(
            record_answer, self.context.paths, web_url, shown, invoice, self._target()
        )
        self._run(coro, lambda _: self._recorded(shown))

    def use_custom_field(self) -> None:
        spec = self.presenter.custom_field(self.field_edit.text())
        profile = self.context.profile
        if spec is not None and profile is not None:
            profile.link = dataclasses.replace(profile.link, link_field=spec)
            self.context.save_profile()
        self.refresh()

    def undo(self) -> None:
        run_id = self.presenter.undo_request()
        if run_id is None:
            return
        from halo_paylink.core.backfill import CancelToken

        coro = undo_pilot_job(
            run_id, self.context.halo_client(), self.context.paths, cancel=CancelToken()
        )
        self.presenter.undo_started()
        self._run(coro, self._undone)

    # -- results --------------------------------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, T], on_result: Callable[[T], None]) -> None:
        self._busy_task = True
        self.page.start(
            coro,
            on_result=on_result,
            on_error=self._failed,
            on_finally=self._ended,
        )
        self.refresh()

    def _gate_loaded(self, gate: PilotGate) -> None:
        self.presenter.gate_loaded(gate)

    def _piloted(self, report: PilotReport) -> None:
        self.presenter.finished(report)

    def _recorded(self, shown: bool) -> None:
        self.presenter.recorded(shown)

    def _undone(self, result: RunResult) -> None:
        self.presenter.undone(result)

    def _failed(self, error: BaseException) -> None:
        self.presenter.failed(error)

    def _ended(self) -> None:
        self._busy_task = False
        self.refresh()
        self.page.changed.emit()

    # -- rendering ------------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        """A new palette (light or dark) recolours the portal link, which a label lays out once."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            self.portal_label.clear()
            self.refresh()

    def refresh(self) -> None:
        view = self.presenter.view()
        self.status_label.setText(view.status)
        changes = "\n".join(view.changes)
        if self.changes_box.toPlainText() != changes:
            self.changes_box.setPlainText(changes)
        self.changes_box.setVisible(bool(view.changes))
        if view.portal_url:
            url = html.escape(view.portal_url, quote=True)
            note = html.escape(view.portal_note)
            self.portal_label.setText(
                f'Open it as a customer sees it: <a href="{url}">{url}</a><br><small>{note}</small>'
            )
        else:
            self.portal_label.clear()
        self.portal_label.setVisible(bool(view.portal_url))
        self.question_row.setVisible(view.asking)
        self.field_row.setVisible(view.offer_custom_field)
        self.pilot_button.setText(view.pilot_label)
        self.pilot_button.setEnabled(view.can_pilot)
        self.invoice_edit.setEnabled(view.can_pick)
        self.undo_button.setEnabled(view.can_undo)
        self.undo_button.setVisible(self.presenter.report is not None)
        self.message.show_error(view.error or None)
