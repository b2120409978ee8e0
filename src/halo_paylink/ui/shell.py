"""The window: a step list, one page at a time, one busy indicator, one error banner, Back/Next.

The shell is the only place that decides which buttons are enabled: after every `changed` from
the current page it asks `core.wizard.WizardFlow` (complete? may go back?) and the page (busy?
error?) and maps the answers to Back/Next, the busy indicator and the banner. The banner's one
action button, when the page's message names one, goes back to the page (`banner_action`).

Keyboard: Alt+B / Alt+N / Alt+C (Back / Next / Cancel), Enter = the page's obvious action
(`BasePage.enter_action`, e.g. Test from the secret field) or else Next, Escape = close, asking
first while a backfill runs or when something entered would be lost (`BasePage.unsaved_input`).

Size: every page sits in a scroll area (content scrolls instead of clipping), at most
`CONTENT_MAX_WIDTH` wide so lines stay readable; the window's minimum size is clamped to the
screen's available area (scale factor 2 on a 1920x1080 screen leaves 960x540), and the step list
folds away below `STEPS_FOLD_WIDTH` (or with its toggle). GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QPalette, QResizeEvent, QScreen, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
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
    QToolButton,
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
#: The smallest the window is made while the screen has room for it.
PREFERRED_MINIMUM = QSize(640, 480)
#: The size of a first start (before any saved geometry), also clamped to the screen.
DEFAULT_SIZE = QSize(980, 720)
#: The widest a page's content gets: longer lines are hard to read.
CONTENT_MAX_WIDTH = 880
#: Below this window width the step list folds away (its toggle brings it back).
STEPS_FOLD_WIDTH = 820


def fitted(wanted: QSize, available: QSize) -> QSize:
    """`wanted`, no larger than `available` in either direction."""
    return wanted.boundedTo(available)


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
        # The platform adds the application's display name (APP_NAME) to any other title.
        self.setWindowTitle("Demo (built-in sandbox)" if context.demo else APP_NAME)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.setWindowFlag(Qt.WindowType.WindowMinMaxButtonsHint, True)
        self.setSizeGripEnabled(True)
        self._close_confirmed = False
        self._force_close = False
        self._closing = False
        self._closed_emitted = False
        self._confirm: QMessageBox | None = None
        self._steps_choice: bool | None = None  # the toggle's last word; None: by width

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
        self.steps_toggle = QToolButton()
        self.steps_toggle.setObjectName("stepsToggle")
        self.steps_toggle.setCheckable(True)
        self.steps_toggle.setChecked(True)
        self.steps_toggle.setAutoRaise(True)
        self.steps_toggle.setAccessibleName("Show the list of steps")
        self.steps_toggle.setToolTip("Show or hide the list of steps")
        self.steps_toggle.toggled.connect(self._steps_toggled)

        right = QVBoxLayout()
        right.setContentsMargins(18, 14, 18, 8)
        right.setSpacing(8)
        main.addLayout(right, 1)

        header = QHBoxLayout()
        header.addWidget(self.steps_toggle, 0, Qt.AlignmentFlag.AlignTop)
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
        right.addWidget(self.subtitle_label)  # the full width: it wraps only when it must

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
            scroller.setWidget(self._capped(self.pages[pid]))
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
        self._fit_to_screen()

    @staticmethod
    def _capped(page: BasePage) -> QWidget:
        """The page at most `CONTENT_MAX_WIDTH` wide, on the left of its scroll area, its forms
        reflowing when narrow."""
        for form in page.findChildren(QFormLayout):
            # narrow: a field too wide beside its label goes below it instead of past the edge
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        page.setMaximumWidth(CONTENT_MAX_WIDTH)
        row.addWidget(page, 1)
        row.addStretch(0)
        return holder

    # -- size -----------------------------------------------------------------------------------
    def _available(self) -> QSize:
        screen = self.screen()
        return screen.availableGeometry().size() if screen is not None else DEFAULT_SIZE

    def _fit_to_screen(self, *_: object) -> None:
        """Clamp the minimum (and the size) to the screen's available area."""
        available = self._available()
        self.setMinimumSize(fitted(PREFERRED_MINIMUM, available))
        if self.width() > available.width() or self.height() > available.height():
            self.resize(fitted(self.size(), available))

    def showEvent(self, event: QShowEvent) -> None:
        handle = self.windowHandle()
        if handle is not None and not self.property("screenWatched"):
            handle.screenChanged.connect(self._screen_changed)
            self.setProperty("screenWatched", True)
        self._fit_to_screen()
        super().showEvent(event)

    def _screen_changed(self, screen: QScreen) -> None:
        self._fit_to_screen()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._apply_steps()

    def _steps_toggled(self, on: bool) -> None:
        self._steps_choice = on
        self._apply_steps()

    @property
    def steps_folded(self) -> bool:
        if self._steps_choice is not None:
            return not self._steps_choice
        return self.width() < STEPS_FOLD_WIDTH

    def _apply_steps(self) -> None:
        folded = self.steps_folded
        self.steps.setVisible(not folded)
        self.steps_toggle.blockSignals(True)
        self.steps_toggle.setChecked(not folded)
        self.steps_toggle.blockSignals(False)
        self.steps_toggle.setText("☰" if folded else "«")
        self.steps_toggle.setAccessibleName(
            "Show the list of steps" if folded else "Hide the list of steps"
        )

    def _restore_geometry(self) -> None:
        settings = self.context.settings
        geometry = settings.value(GEOMETRY_KEY) if settings is not None else None
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(fitted(DEFAULT_SIZE, self._available()))
        self._fit_to_screen()
        self._apply_steps()

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
        self.cancel_button.setVisible(not last)  # Finish closes: one button, not two
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
        key = event.key()
        if key == Qt.Key.Key_Escape:
            event.accept()
            self.close()
            return
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            event.accept()
            action = self.current_page.enter_action(self.focusWidget())
            (action or self.go_next)()
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
        lost = self.unsaved_input()
        if lost and not (self._force_close or self._close_confirmed):
            event.ignore()
            self._ask_before_discarding(lost)
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
        from halo_paylink.core.presenters.backfill import stop_question

        # Its words name what is going on now: reading (dry run), adding, or removing (undo),
        # and on which Halo; a stop already asked keeps naming what it stops.
        question = stop_question(self.context.state)

        def stop() -> None:
            self._close_confirmed = True
            self._stop_then_close()

        labels = (question.accept, question.reject)
        self._ask("confirmClose", question.title, question.text, question.detail, labels, stop)

    def unsaved_input(self) -> list[str]:
        """What closing now would lose, page by page, in words (empty: nothing)."""
        return [text for page in self.pages.values() if (text := page.unsaved_input())]

    def _ask_before_discarding(self, lost: list[str]) -> None:
        def discard() -> None:
            self._close_confirmed = True
            self.close()

        self._ask(
            "confirmDiscard",
            "Close the assistant?",
            "Closing now loses what you entered: " + "; ".join(lost) + ".",
            "Everything else is kept in the profile for next time.",
            ("&Discard and close", "&Keep editing"),
            discard,
        )

    def _ask(
        self,
        name: str,
        title: str,
        text: str,
        info: str,
        labels: tuple[str, str],
        on_yes: Callable[[], None],
    ) -> None:
        """One window-modal question (no nested event loop); `labels` = (yes, no), no is the
        default and Escape."""
        if self._confirm is not None:
            return
        from halo_paylink.core.presenters.backfill import Question
        from halo_paylink.ui.widgets.question import ask

        def yes() -> None:
            self._confirm = None
            on_yes()

        def no() -> None:
            self._confirm = None

        self._confirm = ask(
            self,
            Question(title, text, info, labels[0], labels[1]),
            name=name,
            on_accept=yes,
            on_reject=no,
            default_accept=False,
            destructive=True,
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
