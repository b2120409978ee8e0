"""Reusable widgets. GUI thread only; colours come from the palette so light and dark both work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)


def std_icon(widget: QWidget, pixmap: QStyle.StandardPixmap) -> QIcon:
    """The style's standard icon, drawn so that it shows in light and dark schemes alike."""
    from halo_paylink.ui.theme import visible_icon

    return visible_icon(widget.style().standardIcon(pixmap))


def put_on_clipboard(text: str, html: str | None = None) -> None:
    """Put `text` (and, when given, `html` as text/html) on the clipboard. GUI thread."""
    clipboard = QGuiApplication.clipboard()
    if html is None:
        clipboard.setText(text)
        return
    data = QMimeData()
    data.setText(text)
    data.setHtml(html)
    clipboard.setMimeData(data)


def open_folder(parent: QWidget, folder: Path) -> QMessageBox | None:
    """Open `folder` in the file manager; where none opens it, say where it is and offer to copy
    the path (returns that message box, shown window-modal; None when the folder opened)."""
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        return None
    box = QMessageBox(parent)
    box.setObjectName("folderPath")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("The folder could not be opened")
    box.setText(f"No file manager opened the folder. It is here:\n{folder}")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    copy = box.addButton("&Copy the path", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    copy.clicked.disconnect()  # keep the box open after copying
    copy.clicked.connect(lambda: put_on_clipboard(str(folder)))
    copy.clicked.connect(lambda: copy.setText("Copied ✓"))
    box.open()
    return box


def wrap_label(text: str = "", *, rich: bool = False, selectable: bool = False) -> QLabel:
    """A word-wrapped label; rich text opens links externally."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if rich:
        label.setOpenExternalLinks(True)
    if selectable:
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
    # No setSizePolicy here: it would drop QLabel's height-for-width flag and leave gaps.
    return label


def heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.1)
    label.setFont(font)
    label.setWordWrap(True)
    return label


class FieldMessage(QLabel):
    """The message under an input: an icon-prefixed line, empty when there is nothing to say.

    The kind is spelled out in text ("Problem:", "Note:", "OK:") so status is never colour-only.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_error(self, text: str | None) -> None:
        self._set("Problem: ", text)

    def show_note(self, text: str | None) -> None:
        self._set("Note: ", text)

    def show_ok(self, text: str | None) -> None:
        self._set("✓ ", text)

    def _set(self, prefix: str, text: str | None) -> None:
        if not text:
            self.clear()
            self.hide()
            return
        self.setText(prefix + text)
        self.setAccessibleDescription(prefix + text)
        self.show()


def stacked(*widgets: QWidget) -> QWidget:
    """Widgets one above the other in one form-layout field (an input and its message).

    A word-wrapped message in a row of its own gets a too-tall row from QFormLayout; inside
    one container its height follows the text.
    """
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(3)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class CopyField(QWidget):
    """A read-only value with a Copy button.

    Signals:
        copied(str): the exact text that was put on the clipboard.
    """

    copied = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None, *, mnemonic: str = "") -> None:
        super().__init__(parent)
        self.name = name
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setReadOnly(True)
        self.edit.setAccessibleName(name)
        self.edit.setMinimumWidth(280)
        layout.addWidget(self.edit, 1)
        self.button = QPushButton(mnemonic or "Copy")
        self.button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_FileIcon))
        self.button.setAccessibleName(f"Copy {name}")
        self.button.setToolTip(f"Copy {name} to the clipboard")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.copy)
        layout.addWidget(self.button)
        self._reset = QTimer(self)
        self._reset.setSingleShot(True)
        self._reset.setInterval(1500)
        self._reset.timeout.connect(self._restore_label)
        self._label = self.button.text()

    def set_value(self, text: str) -> None:
        if text != self.edit.text():  # "Copied ✓" was for the old value
            self._reset.stop()
            self._restore_label()
        self.edit.setText(text)
        self.edit.setCursorPosition(0)
        self.button.setEnabled(bool(text))

    def value(self) -> str:
        return self.edit.text()

    def copy(self) -> None:
        text = self.edit.text()
        if not text:
            return
        put_on_clipboard(text)
        self.button.setText("Copied ✓")
        self._reset.start()
        self.copied.emit(text)

    def _restore_label(self) -> None:
        self.button.setText(self._label)


@dataclass(frozen=True)
class BannerMessage:
    """What the shell's single error banner shows; `action` labels its one button ('' for none)."""

    headline: str
    detail: str = ""
    action: str = ""


class Banner(QFrame):
    """The shell's one error banner: a warning icon, a bold headline, the next step and, when the
    message names one, an action button.

    Uses the palette's tool-tip roles for its background so it stands out in light and dark.

    Signals:
        actionClicked(): the action button was clicked.
    """

    actionClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
        self.setForegroundRole(QPalette.ColorRole.ToolTipText)
        layout = QHBoxLayout(self)
        icon = QLabel()
        icon.setPixmap(std_icon(self, QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(24, 24))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setAccessibleName("Error")
        layout.addWidget(icon)
        column = QVBoxLayout()
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setForegroundRole(QPalette.ColorRole.ToolTipText)
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.headline)
        column.addWidget(self.detail)
        self.action_button = QPushButton()
        self.action_button.setAutoDefault(False)
        self.action_button.clicked.connect(self.actionClicked)
        self.action_button.hide()
        column.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(column, 1)
        self.setAccessibleName("Error")
        self.hide()

    def show_message(self, message: BannerMessage | None) -> None:
        if message is None:
            self.hide()
            self.headline.clear()
            self.detail.clear()
            self.action_button.hide()
            return
        self.headline.setText("Error: " + message.headline)
        self.detail.setText(message.detail)
        self.detail.setVisible(bool(message.detail))
        self.action_button.setText(message.action)
        self.action_button.setVisible(bool(message.action))
        self.setAccessibleDescription(f"{message.headline} {message.detail}".strip())
        self.show()

    @property
    def text(self) -> str:
        return f"{self.headline.text()}\n{self.detail.text()}".strip()


class BusyIndicator(QWidget):
    """The shell's one busy indicator: an indeterminate bar and what is going on, in words."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(90)
        self.bar.setMaximumHeight(12)
        self.bar.setAccessibleName("Working")
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        self.set_busy(None)

    def set_busy(self, text: str | None) -> None:
        self.label.setText(text or "")
        self.bar.setVisible(bool(text))
        self.label.setVisible(bool(text))
        self.setAccessibleDescription(text or "")

    @property
    def busy(self) -> bool:
        return bool(self.label.text())
