"""The Backfill page's Benji number check: "Benji found 48 of 50" after a dry run, and the
confirmation that lifts its block on "Add payment links". GUI thread only.

The logic is `core.presenters.benji_numbers.BenjiNumbersPresenter`; this box runs the check as a
task it owns (`AppContext.runner`) and renders the presenter's view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QVBoxLayout, QWidget

from halo_paylink.core.benji_checks import NumberCheck, check_plan_numbers
from halo_paylink.core.presenters.benji_numbers import (
    CONFIRM,
    BenjiNumbersPresenter,
    NumbersRequest,
)
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.widgets.common import wrap_label

if TYPE_CHECKING:
    from halo_paylink.core.backfill import RunResult


class BenjiNumbersBox(QGroupBox):
    """The number check's result, hidden until there is one.

    Signals:
        changed(): the result or the confirmation changed; the page re-renders its buttons.
    """

    changed = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Benji Pays: do the invoice numbers match?", parent)
        self.setObjectName("benji_numbers")
        self.context = context
        self.presenter = BenjiNumbersPresenter(context.state)
        layout = QVBoxLayout(self)
        self.headline = wrap_label()
        self.headline.setAccessibleName("Benji number check")
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.advice = wrap_label()
        self.missing = wrap_label(selectable=True)
        self.confirm = QCheckBox(CONFIRM)
        self.note = wrap_label()
        for widget in (self.headline, self.advice, self.missing, self.confirm, self.note):
            layout.addWidget(widget)
        self.confirm.toggled.connect(self._confirm_toggled)
        self.show_result()

    @property
    def blocks_commit(self) -> bool:
        """ "Add payment links" must stay disabled (too few numbers found, not confirmed)."""
        return self.presenter.blocks_commit

    def dry_run_started(self) -> None:
        self.presenter.dry_run_started()
        self.show_result()

    def dry_run_finished(self, result: RunResult) -> None:
        """Ask Benji about the planned links' numbers, when a key was given."""
        request = self.presenter.dry_run_finished(result)
        if request is None:
            self.show_result()
            return
        self.context.runner.start(
            self._check(request),
            name="check invoice numbers with Benji",
            owner=self,
            on_result=self.presenter.check_finished,
            on_error=self.presenter.check_failed,
            on_finally=self._ended,
        )
        self.show_result()

    async def _check(self, request: NumbersRequest) -> NumberCheck:
        return await check_plan_numbers(
            self.context.benji_client(),
            request.links,
            template=request.template,
            numbering=self.context.state.link.numbering,
            to_write=request.to_write,
        )

    def _ended(self) -> None:
        self.presenter.check_ended()
        self.show_result()

    def _confirm_toggled(self, on: bool) -> None:
        self.presenter.confirm(on)
        self.show_result()

    def show_result(self) -> None:
        view = self.presenter.view()
        self.setVisible(view.visible)
        self.headline.setText(view.headline)
        self.advice.setText(view.advice)
        self.advice.setVisible(bool(view.advice))
        self.missing.setText(view.missing)
        self.missing.setVisible(bool(view.missing))
        self.confirm.setVisible(view.confirm_visible)
        self.confirm.blockSignals(True)
        self.confirm.setChecked(view.confirmed)
        self.confirm.blockSignals(False)
        self.note.setText(f"Note: {view.note}" if view.note else "")
        self.note.setVisible(bool(view.note))
        self.changed.emit()
