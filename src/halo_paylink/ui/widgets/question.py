"""A yes/no question before something that changes Halo (or stops it), asked window-modally.

The question's words come from a presenter (`core.presenters.backfill.Question`); this only
shows them. `ask` opens the box with `QMessageBox.open()`, so no nested event loop runs and
tests answer it by clicking its buttons (find it by its object name).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from halo_paylink.core.presenters.backfill import Question


def ask(
    parent: QWidget,
    question: Question,
    *,
    name: str,
    on_accept: Callable[[], None],
    on_reject: Callable[[], None] | None = None,
    default_accept: bool = True,
    destructive: bool = False,
) -> QMessageBox:
    """Show `question`; `on_accept` runs when its accept button is clicked, `on_reject` (if
    any) on every other answer (its reject button, Escape, closing the box). Returns the box,
    already open and deleted once answered. `destructive`: the accept button throws something
    away (closing with unsaved input, stopping work), so the platform may style it so."""
    box = QMessageBox(parent)
    box.setObjectName(name)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(question.title)
    box.setText(question.text)
    box.setInformativeText(question.detail)
    roles = QMessageBox.ButtonRole
    role = roles.DestructiveRole if destructive else roles.AcceptRole
    accept = box.addButton(question.accept, role)
    reject = box.addButton(question.reject, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(accept if default_accept else reject)
    box.setEscapeButton(reject)

    def answered() -> None:
        if box.clickedButton() is accept:
            on_accept()
        elif on_reject is not None:
            on_reject()
        box.deleteLater()

    box.finished.connect(answered)
    box.open()  # window-modal, no nested event loop
    return box
