"""Uncaught exceptions become a dialog with a redacted report instead of a vanishing window.

`CrashReporter.install()` hooks `sys.excepthook` (exceptions raised in Qt slots and virtual
methods end up there) and the asyncio loop's exception handler (exceptions in tasks and
callbacks). Both run on the GUI thread in this app; a report from another thread is handed to the
GUI thread through a queued signal, so widgets are only ever touched there.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from halo_paylink import APP_NAME, __version__
from halo_paylink.redact import redact

log = logging.getLogger(__name__)


def format_report(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
    *,
    context: str = "",
) -> str:
    """A support report for one exception: versions, where it happened, the traceback; redacted."""
    from PySide6 import __version__ as pyside_version

    lines = [
        f"{APP_NAME} {__version__}",
        f"Python {platform.python_version()} on {platform.platform()}",
        f"PySide6 {pyside_version}",
    ]
    if context:
        lines.append(f"Context: {context}")
    lines.append("")
    if exc is not None:
        lines.extend(traceback.format_exception(exc_type or type(exc), exc, tb))
    return redact("\n".join(line.rstrip("\n") for line in lines)).rstrip() + "\n"


class CrashDialog(QDialog):
    """Shows one or more redacted crash reports, with Copy and Close.

    Non-modal on purpose: it never starts a nested event loop, so async work keeps its order.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle(f"{APP_NAME}: something went wrong")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        layout = QVBoxLayout(self)
        headline = QLabel(
            "<b>Something went wrong inside the assistant.</b><br>"
            "Your work so far is saved. The report below has secrets and tokens removed; "
            "copy it when you contact support."
        )
        headline.setWordWrap(True)
        layout.addWidget(headline)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Crash report")
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.report.setMinimumSize(560, 260)
        layout.addWidget(self.report)
        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("&Copy report")
        self.copy_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        close.clicked.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_report)
        layout.addWidget(buttons)

    def add_report(self, text: str) -> None:
        if self.report.toPlainText():
            text = "\n" + "-" * 60 + "\n" + text
        self.report.appendPlainText(text)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report.toPlainText())


class CrashReporter(QObject):
    """Routes uncaught exceptions to one `CrashDialog` (GUI thread), logging each redacted.

    Signals:
        reported(str): a redacted report was shown (tests wait on it).
    """

    reported = Signal(str)
    _deliver = Signal(str)

    def __init__(
        self,
        parent_window: Callable[[], QWidget | None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent_window = parent_window or (lambda: None)
        self._dialog: CrashDialog | None = None
        self._old_hook: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deliver.connect(self._show, Qt.ConnectionType.QueuedConnection)

    @property
    def dialog(self) -> CrashDialog | None:
        return self._dialog

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Hook sys.excepthook and (when given) the asyncio loop's exception handler."""
        self._old_hook = sys.excepthook
        sys.excepthook = self.excepthook
        if loop is not None:
            self._loop = loop
            loop.set_exception_handler(self.loop_exception_handler)

    def uninstall(self) -> None:
        if self._old_hook is not None and sys.excepthook == self.excepthook:
            sys.excepthook = self._old_hook
        self._old_hook = None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.set_exception_handler(None)
        self._loop = None

    def excepthook(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        self.report(format_report(exc_type, exc, tb))

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        exc = context.get("exception")
        message = str(context.get("message", ""))
        if exc is None:
            log.warning("asyncio: %s", redact(message))
            return
        if isinstance(exc, asyncio.CancelledError):
            return
        self.report(format_report(type(exc), exc, exc.__traceback__, context=message))

    def report(self, text: str) -> None:
        """Log `text` (already redacted) and show it; safe to call from any thread."""
        log.error("Uncaught exception:\n%s", text)
        self._deliver.emit(text)

    @Slot(str)
    def _show(self, text: str) -> None:
        if self._dialog is None:
            self._dialog = CrashDialog(self._parent_window())
            self._dialog.finished.connect(self._dialog_closed)
        self._dialog.add_report(text)
        self._dialog.show()
        self._dialog.raise_()
        self.reported.emit(text)

    @Slot()
    def _dialog_closed(self) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None
