"""The contract between a page and the window shell (Electrum style).

A page renders its part of `context.state`, writes user input back, and reports three things:
complete (asked of `core.wizard.WizardFlow`), busy (`busy_text`) and error (`banner`). It emits
`changed` whenever any of them may have changed; the shell then updates Back/Next, the busy
indicator and the error banner in one place. Pages never touch the navigation buttons.

A page with one cancellable task keeps its handle in `_handle` (None when idle); the default
`leave` cancels that task and saves the profile, the default `stop` cancels it and waits for it
to end. Pages that need more override them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from halo_paylink.core.presenters.field_note import FieldNote, NoteKind
from halo_paylink.core.wizard import PAGE_TITLES, PageId
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.common import BannerMessage, FieldMessage

T = TypeVar("T")


def show_note(message: FieldMessage, note: FieldNote) -> None:
    """Render a presenter's `FieldNote` in the line under an input."""
    if note.kind is NoteKind.ERROR:
        message.show_error(note.text)
    elif note.kind is NoteKind.NOTE:
        message.show_note(note.text)
    elif note.kind is NoteKind.OK:
        message.show_ok(note.text)
    else:
        message.show_error(None)


class BasePage(QWidget):
    """One wizard page. GUI thread only.

    Signals:
        changed(): complete/busy/error may have changed; the shell re-reads them.
    """

    changed = Signal()
    page_id: PageId = PageId.WELCOME

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.state = context.state
        self.setObjectName(f"page_{self.page_id.value}")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(4, 4, 4, 4)
        self.body.setSpacing(10)
        self._error: BannerMessage | None = None
        self._busy: str | None = None
        self._handle: TaskHandle[Any] | None = None  # the page's one cancellable task, if any

    @property
    def title(self) -> str:
        return PAGE_TITLES[self.page_id][0]

    @property
    def subtitle(self) -> str:
        return PAGE_TITLES[self.page_id][1]

    # -- what the shell reads -------------------------------------------------------------------
    def busy_text(self) -> str | None:
        """What is going on, for the shell's busy indicator; None when idle."""
        return self._busy

    def banner(self) -> BannerMessage | None:
        """The error for the shell's banner; None when there is none."""
        return self._error

    def first_focus(self) -> QWidget | None:
        """The widget that gets keyboard focus when the page is shown."""
        return None

    def banner_action(self) -> None:
        """The banner's action button (named by `BannerMessage.action`) was clicked."""

    def enter_action(self, focus: QWidget | None) -> Callable[[], None] | None:
        """What Enter does with `focus` in the page, when that is not Next (the default button):
        e.g. run the Test from the secret field. None: Enter means Next."""
        return None

    def unsaved_input(self) -> str | None:
        """What closing the window now would lose, in words ("the client secret"); None when
        everything entered is kept."""
        return None

    # -- what pages call ------------------------------------------------------------------------
    def set_busy(self, text: str | None) -> None:
        if text != self._busy:
            self._busy = text
            self.changed.emit()

    def set_error(self, message: BannerMessage | None) -> None:
        if message != self._error:
            self._error = message
            self.changed.emit()

    def set_failure(self, error: BaseException) -> None:
        """Show any failure in the banner as `errors.explain` words it for the CLI too: the
        headline, the next step, and the detail with its label."""
        from halo_paylink.errors import explain

        explained = explain(error)
        detail = "\n".join(part for part in (explained.next_step, explained.detail) if part)
        self.set_error(BannerMessage(explained.headline, detail))

    def start(self, coro: Coroutine[Any, Any, T], **callbacks: Any) -> TaskHandle[T]:
        """Run `coro` on the GUI loop (see `TaskRunner.start`), owned by this page: callbacks run
        on the GUI thread and never after the page is gone."""
        return self.context.runner.start(coro, owner=self, **callbacks)

    # -- lifecycle the shell calls --------------------------------------------------------------
    def enter(self) -> None:
        """The page became current (going forward or back): render from the state."""

    def leave(self, forward: bool) -> None:
        """The page stops being current; save what it collected.

        By default: cancel the page's one task (`_handle`) and save the profile.
        """
        self.cancel_task()
        self.context.save_profile()

    async def stop(self) -> None:
        """Stop any work in flight cleanly (window closing). Awaited on the GUI loop.

        By default: cancel the page's one task (`_handle`) and wait until it has ended.
        """
        handle = self._handle
        self.cancel_task()
        if handle is not None:
            await handle.wait()

    # -- a page with one cancellable task -------------------------------------------------------
    def cancel_task(self) -> None:
        """Ask the page's one task (`_handle`) to stop; harmless when none runs. The task's own
        callbacks (`on_cancelled`, `on_finally`) still run."""
        if self._handle is not None:
            self._handle.cancel()
