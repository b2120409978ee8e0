"""The window: a step list, one page at a time, one busy indicator, one error banner, Back/Next.

The shell is the only place that decides which buttons are enabled: after every `changed` from
the current page it asks `core.wizard.WizardFlow` (complete? may go back?) and the page (busy?
error?) and maps the answers to Back/Next, the busy indicator and the banner. The banner's one
action button, when the page's message names one, goes back to the page (`banner_action`).

Keyboard: Alt+B / Alt+N / Alt+C (Back / Next / Cancel), Enter = Next (the default button),
Escape = close (asking first while a backfill runs). GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from halo_paylink import APP_NAME
from halo_paylink.core.wizard import PageId, WizardFlow
from halo_paylink.ui.about import about_button
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.widgets.common import Banner, BusyIndicator

log = logging.getLogger(__name__)

GEOMETRY_KEY = "window/geometry"


def default_page_factories() -> list[Callable[[AppContext], BasePage]]:
    """The pages, in `core.wizard.PAGE_ORDER` (tests may build a shell with fewer)."""
    from halo_paylink.ui.pages.application import ApplicationPage
    from halo_paylink.ui.pages.backfill import BackfillPage
    from halo_paylink.ui.pages.connect import ConnectPage
    from halo_paylink.ui.pages.done import DonePage
    from halo_paylink.ui.pages.email_link import EmailLinkPage
    from halo_paylink.ui.pages.options import OptionsPage
    from halo_paylink.ui.pages.welcome import WelcomePage

    return [
        WelcomePage,
        ConnectPage,
        ApplicationPage,
        OptionsPage,
        EmailLinkPage,
        BackfillPage,
        DonePage,
    ]


class WizardWindow(QDialog):
    """The assistant's main window (a QDialog, like QWizard, for Enter/Escape handling).

    Signals:
        pageChanged(PageId): another page became current.
        closed(): the window has closed for good (after any confirmation and clean stop).
    """

    pageChanged = Signal(object)
    closed = Signal()

    def __init__(
        self,
        context: AppContext,
        page_factories: list[Callable[[AppContext], BasePage]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.flow = WizardFlow(context.state)
        self.setObjectName("wizardWindow")
        title = APP_NAME + (" — Demo" if context.demo else "")
        self.setWindowTitle(title)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.setWindowFlag(Qt.WindowType.WindowMinMaxButtonsHint, True)
        self.setSizeGripEnabled(True)
        self._close_confirmed = False
        self._force_close = False
        self._closing = False
        self._closed_emitted = False
        self._confirm: QMessageBox | None = None

        self.pages: dict[PageId, BasePage] = {}
        for factory in page_factories or default_page_factories():
            page = factory(context)
            self.pages[page.page_id] = page
            page.changed.connect(self._refresh)
        self.flow.order = tuple(pid for pid in self.flow.order if pid in self.pages)
        self._build()
        self._current: PageId = self.flow.order[0]
        self.stack.setCurrentWidget(self._scrollers[self._current])
        self._restore_geometry()
        self._enter(self._current)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        main = QHBoxLayout()
        main.setContentsMargins(0, 0, 0, 0)
        main.setSpacing(0)
        outer.addLayout(main, 1)

        self.steps = QListWidget()
        self.steps.setObjectName("steps")
        self.steps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.steps.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.steps.setAccessibleName("Steps")
        self.steps.setFrameShape(QFrame.Shape.NoFrame)
        self.steps.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.steps.setAutoFillBackground(True)
        self.steps.setSpacing(3)
        for i, pid in enumerate(self.flow.order, start=1):
            QListWidgetItem(f"  {i}. {self.pages[pid].title}", self.steps)
        self.steps.setFixedWidth(self.steps.sizeHintForColumn(0) + 48)
        main.addWidget(self.steps)

        right = QVBoxLayout()
        right.setContentsMargins(18, 14, 18, 8)
        right.setSpacing(8)
        main.addLayout(right, 1)

        header = QHBoxLayout()
        titles = QVBoxLayout()
        self.title_label = QLabel()
        self.title_label.setObjectName("pageTitle")
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.title_label.setFont(font)
        self.subtitle_label = QLabel()
        self.subtitle_label.setWordWrap(True)
        titles.addWidget(self.title_label)
        titles.addWidget(self.subtitle_label)
        header.addLayout(titles, 1)
        self.demo_badge = QLabel("  DEMO · built-in sandbox, no real data  ")
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setAutoFillBackground(True)
        self.demo_badge.setBackgroundRole(QPalette.ColorRole.Highlight)
        self.demo_badge.setForegroundRole(QPalette.ColorRole.HighlightedText)
        badge_font = self.demo_badge.font()
        badge_font.setBold(True)
        self.demo_badge.setFont(badge_font)
        self.demo_badge.setAccessibleName("Demo mode: the built-in sandbox, no real Halo data")
        self.demo_badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.demo_badge.setVisible(self.context.demo is not None)
        header.addWidget(self.demo_badge, 0, Qt.AlignmentFlag.AlignTop)
        right.addLayout(header)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        right.addWidget(line)

        self.banner = Banner()
        self.banner.actionClicked.connect(self._banner_action)
        right.addWidget(self.banner)

        self.stack = QStackedWidget()
        self._scrollers: dict[PageId, QScrollArea] = {}
        for pid in self.flow.order:
            scroller = QScrollArea()
            scroller.setWidgetResizable(True)
            scroller.setFrameShape(QFrame.Shape.NoFrame)
            scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroller.setWidget(self.pages[pid])
            self._scrollers[pid] = scroller
            self.stack.addWidget(scroller)
        right.addWidget(self.stack, 1)

        bottom_line = QFrame()
        bottom_line.setFrameShape(QFrame.Shape.HLine)
        bottom_line.setFrameShadow(QFrame.Shadow.Sunken)
        outer.addWidget(bottom_line)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(12, 8, 12, 10)
        buttons.addWidget(about_button(self))
        self.busy = BusyIndicator()
        buttons.addWidget(self.busy, 1)
        self.back_button = QPushButton("< &Back")
        self.next_button = QPushButton("&Next >")
        self.cancel_button = QPushButton("&Cancel")
        for button in (self.back_button, self.next_button, self.cancel_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        self.next_button.setDefault(True)
        self.back_button.clicked.connect(self.go_back)
        self.next_button.clicked.connect(self.go_next)
        self.cancel_button.clicked.connect(self.close)
        outer.addLayout(buttons)
        self.setMinimumSize(760, 560)

    def _restore_geometry(self) -> None:
        settings = self.context.settings
        geometry = settings.value(GEOMETRY_KEY) if settings is not None else None
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(980, 720)

    def _save_geometry(self) -> None:
        if self.context.settings is not None:
            self.context.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
            self.context.settings.sync()

    # -- navigation -----------------------------------------------------------------------------
    @property
    def current_id(self) -> PageId:
        return self._current

    @property
    def current_page(self) -> BasePage:
        return self.pages[self._current]

    def go_next(self) -> None:
        page = self.current_page
        if not self.flow.can_go_next(self._current, busy=page.busy_text() is not None):
            return
        target = self.flow.next_page(self._current)
        page.leave(forward=True)
        if target is None:
            self.close()
            return
        self._switch(target)

    def go_back(self) -> None:
        page = self.current_page
        if not self.flow.can_go_back(self._current, busy=page.busy_text() is not None):
            return
        target = self.flow.previous_page(self._current)
        if target is None:
            return
        page.leave(forward=False)
        self._switch(target)

    def _switch(self, target: PageId) -> None:
        self._current = target
        self.stack.setCurrentWidget(self._scrollers[target])
        self._enter(target)
        self.pageChanged.emit(target)

    def _enter(self, target: PageId) -> None:
        page = self.pages[target]
        self.title_label.setText(page.title)
        self.subtitle_label.setText(page.subtitle)
        page.enter()
        self._refresh()
        focus = page.first_focus()
        if focus is not None:
            focus.setFocus(Qt.FocusReason.OtherFocusReason)

    def _refresh(self) -> None:
        """Map the current page's complete/busy/error to the buttons, indicator and banner."""
        pid = self._current
        page = self.pages[pid]
        busy = page.busy_text()
        self.busy.set_busy(busy)
        self.banner.show_message(page.banner())
        self.back_button.setEnabled(self.flow.can_go_back(pid, busy=busy is not None))
        self.next_button.setEnabled(self.flow.can_go_next(pid, busy=busy is not None))
        last = self.flow.is_last(pid)
        self.next_button.setText("&Finish" if last else "&Next >")
        self.next_button.setToolTip(self.flow.incomplete_reason(pid))
        self.cancel_button.setText("&Close" if last else "&Cancel")
        current_index = self.flow.index(pid)
        for i, step in enumerate(self.flow.order):
            item = self.steps.item(i)
            marker = "▶" if i == current_index else ("✓" if i < current_index else " ")
            item.setText(f"{marker} {i + 1}. {self.pages[step].title}")
            font = item.font()
            font.setBold(i == current_index)
            item.setFont(font)
            flags = Qt.ItemFlag.ItemIsEnabled if i <= current_index else Qt.ItemFlag.NoItemFlags
            item.setFlags(flags)

    def _banner_action(self) -> None:
        self.current_page.banner_action()

    # -- closing --------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.close()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:  # Escape and the window manager's close both come here
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.ignore()  # already stopping work; the window closes when that is done
            return
        if not self._force_close and self.flow.close_needs_confirmation():
            event.ignore()
            if self._close_confirmed:
                self._stop_then_close()
            else:
                self._ask_before_close()
            return
        self.current_page.leave(forward=False)
        self._save_geometry()
        # Not QDialog.closeEvent: it calls reject() (-> close() again) and would ignore the event.
        event.accept()
        if not self._closed_emitted:
            self._closed_emitted = True
            # after this event returns the window is hidden; announce "closed" after that
            QTimer.singleShot(0, self, self.closed.emit)

    def close_without_asking(self) -> None:
        """Close as if the user had confirmed (Ctrl-C in the terminal): work stops cleanly first."""
        self._close_confirmed = True
        self.close()

    def _ask_before_close(self) -> None:
        if self._confirm is not None:
            return
        from halo_paylink.core.presenters.backfill import stop_question
        from halo_paylink.ui.widgets.question import ask

        def stop() -> None:
            self._confirm = None
            self._close_confirmed = True
            self._stop_then_close()

        def keep() -> None:
            self._confirm = None

        # Its words name what is going on now: reading (dry run), adding, or removing (undo).
        self._confirm = ask(
            self,
            stop_question(self.context.state),
            name="confirmClose",
            on_accept=stop,
            on_reject=keep,
            default_accept=False,
        )

    def _stop_then_close(self) -> None:
        self._closing = True
        self.busy.set_busy("Stopping after the current invoices…")
        self.back_button.setEnabled(False)
        self.next_button.setEnabled(False)
        self.cancel_button.setEnabled(False)

        async def stop_all() -> None:
            for page in self.pages.values():
                await page.stop()

        def finished() -> None:
            self._closing = False
            # The run has stopped (or could not be stopped more cleanly): close for good.
            self._force_close = True
            self.close()

        self.context.runner.start(stop_all(), name="stop before close", on_finally=finished)
