"""The section of an optional step done for the admin: opt in, show the change, save, undo.

`AdminStepPanel` renders an `AdminStepView` (`core.presenters.admin_step`) and reports clicks;
`AdminStepController` runs the step's jobs (`StepJobs`: plan, save, undo in Halo) as tasks of
the page that shows the panel and tells the presenter how each ended. No logic of the step's own
lives here. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from halo_paylink.core.presenters.admin_step import AdminStepPresenter, AdminStepView
from halo_paylink.ui.pages.base import BasePage, show_note
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.common import FieldMessage, wrap_label


class AdminStepPanel(QGroupBox):
    """Opt-in box, extra inputs, "Show the change", the preview with Save/Cancel, and Undo.

    Signals:
        optInToggled(bool): the opt-in box was (un)ticked by the admin.
        previewRequested(): "Show the change" was clicked.
        saveRequested(): the preview's Save was clicked.
        cancelRequested(): the preview's Cancel was clicked.
        undoRequested(): Undo was clicked.
    """

    optInToggled = Signal(bool)
    previewRequested = Signal()
    saveRequested = Signal()
    cancelRequested = Signal()
    undoRequested = Signal()

    def __init__(
        self,
        title: str,
        *,
        opt_in: str,
        explain: str,
        preview: str,
        save: str,
        undo: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        layout = QVBoxLayout(self)
        self.opt_in = QCheckBox(opt_in)
        layout.addWidget(self.opt_in)
        layout.addWidget(wrap_label(explain))
        self.inputs = QVBoxLayout()
        layout.addLayout(self.inputs)
        row = QHBoxLayout()
        self.preview_button = QPushButton(preview)
        self.undo_button = QPushButton(undo)
        for button in (self.preview_button, self.undo_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.preview_label = QLabel("The change, before anything is saved:")
        layout.addWidget(self.preview_label)
        self.preview_text = QPlainTextEdit()
        self.preview_text.setReadOnly(True)
        self.preview_text.setAccessibleName("Preview of the change")
        self.preview_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # wrapped: a long line of the diff must not widen the page past a small window
        self.preview_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.preview_text.setMinimumHeight(160)
        layout.addWidget(self.preview_text)
        decide = QHBoxLayout()
        self.save_button = QPushButton(save)
        self.cancel_button = QPushButton("Ca&ncel")
        for button in (self.save_button, self.cancel_button):
            button.setAutoDefault(False)
            decide.addWidget(button)
        decide.addStretch(1)
        self.decide_row = QWidget()
        self.decide_row.setLayout(decide)
        decide.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.decide_row)
        self.status = FieldMessage()
        layout.addWidget(self.status)
        self.fix_label = wrap_label()
        self.fix_label.setAccessibleName("What to allow in Halo")
        layout.addWidget(self.fix_label)
        self.note_label = wrap_label()
        layout.addWidget(self.note_label)

        self.opt_in.toggled.connect(self.optInToggled)
        self.preview_button.clicked.connect(self.previewRequested)
        self.save_button.clicked.connect(self.saveRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.undo_button.clicked.connect(self.undoRequested)

    def show_view(self, view: AdminStepView) -> None:
        if self.opt_in.isChecked() != view.opted_in:
            self.opt_in.blockSignals(True)
            self.opt_in.setChecked(view.opted_in)
            self.opt_in.blockSignals(False)
        self.preview_button.setEnabled(view.can_preview)
        self.undo_button.setVisible(view.can_undo)
        shown = bool(view.preview)
        self.preview_label.setVisible(shown)
        self.preview_text.setVisible(shown)
        if self.preview_text.toPlainText() != view.preview:
            self.preview_text.setPlainText(view.preview)
        self.decide_row.setVisible(view.can_save or view.can_cancel)
        self.save_button.setEnabled(view.can_save)
        self.cancel_button.setEnabled(view.can_cancel)
        show_note(self.status, view.status)
        self.fix_label.setText(f"To allow it: {view.fix}" if view.fix else "")
        self.fix_label.setVisible(bool(view.fix))
        self.note_label.setText(f"Note: {view.note}" if view.opted_in else "")
        self.note_label.setVisible(view.opted_in)


class StepJobs(Protocol):
    """The Halo work of one step; each runs on the GUI loop as a task of the page."""

    def plan(self) -> Coroutine[Any, Any, tuple[str, bool]]:
        """Read Halo and plan: (the preview, whether anything would change)."""
        ...

    def save(self) -> Coroutine[Any, Any, tuple[bool, str]]:
        """Save the planned change: (confirmed by the read-back, what was done)."""
        ...

    def undo(self) -> Coroutine[Any, Any, bool]:
        """Undo it: whether the read-back confirmed it."""
        ...


class AdminStepController:
    """Wires an `AdminStepPanel` to its presenter and jobs, on `page` (which owns the tasks).

    While a job runs the page reports it as busy, so the window holds Back and Next.
    """

    def __init__(
        self,
        page: BasePage,
        panel: AdminStepPanel,
        presenter: AdminStepPresenter,
        jobs: StepJobs,
        *,
        after_render: Callable[[], None] | None = None,
    ) -> None:
        self.page = page
        self.after_render = after_render
        self.panel = panel
        self.presenter = presenter
        self.jobs = jobs
        self.handle: TaskHandle[Any] | None = None
        panel.optInToggled.connect(self._opt_in)
        panel.previewRequested.connect(self.show_change)
        panel.saveRequested.connect(self.save)
        panel.cancelRequested.connect(self._cancel_preview)
        panel.undoRequested.connect(self.undo)

    def _opt_in(self, on: bool) -> None:
        self.presenter.set_opted_in(on)
        self.render()

    def _cancel_preview(self) -> None:
        self.presenter.cancel_preview()
        self.render()

    def _run(self, coro: Coroutine[Any, Any, Any], name: str, done: Any) -> None:
        self.handle = self.page.start(
            coro,
            name=name,
            on_result=done,
            on_error=self.presenter.failed,
            on_cancelled=self.presenter.cancelled,
            on_finally=self._ended,
        )
        self.render()

    def show_change(self) -> None:
        if self.presenter.start_planning():
            self._run(
                self.jobs.plan(),
                "plan admin step",
                lambda result: self.presenter.planned(result[0], changed=result[1]),
            )

    def save(self) -> None:
        if self.presenter.start_saving():
            self._run(
                self.jobs.save(),
                "save admin step",
                lambda result: self.presenter.saved(confirmed=result[0], detail=result[1]),
            )

    def undo(self) -> None:
        if self.presenter.start_undoing():
            self._run(
                self.jobs.undo(),
                "undo admin step",
                lambda confirmed: self.presenter.undone(confirmed=bool(confirmed)),
            )

    def _ended(self) -> None:
        self.handle = None
        self.render()

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    async def stop(self) -> None:
        handle = self.handle
        self.cancel()
        if handle is not None:
            await handle.wait()

    def render(self) -> None:
        view = self.presenter.view()
        self.panel.show_view(view)
        self.page.set_busy(view.busy)
        if self.after_render is not None:
            self.after_render()
        self.page.changed.emit()
