"""The About dialog: version, licence, publisher, links, toolkit versions and third-party notices.

The licence and the notices are read from the install itself (`resources.legal_text`), so the
dialog shows exactly what the wheel or bundle carries. `about_button` is the one hook the window
needs: a button (and F1) that opens the dialog. GUI thread only.
"""

from __future__ import annotations

import html
import platform
from collections.abc import Callable

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from halo_paylink import (
    APP_NAME,
    HOMEPAGE,
    ISSUES_URL,
    LICENSE_NAME,
    PUBLISHER,
    __version__,
)
from halo_paylink.resources import LEGAL_FILES, legal_text

#: shown in place of a file this install lacks
MISSING = "This copy of {app} does not include {name}. It is published with the source at {url}."


def versions_line() -> str:
    """'Qt 6.x · PySide6 6.x · Python 3.x' (the LGPL asks that users can tell which Qt it is)."""
    return f"Qt {qVersion()} · PySide6 {PySide6.__version__} · Python {platform.python_version()}"


class AboutDialog(QDialog):
    """Tabs: About (version, licence, links), Licence (full text), Third-party notices.

    Args:
        legal: reads one of `resources.LEGAL_FILES` (None when missing); tests pass their own.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        legal: Callable[[str], str | None] = legal_text,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        layout = QVBoxLayout(self)

        self.summary = QLabel(
            f"<h2>{html.escape(APP_NAME)}</h2>"
            f"<p>Version {html.escape(__version__)}</p>"
            "<p>Connects HaloPSA to Benji Pays and puts a payment link on every open invoice.</p>"
            f"<p>© {html.escape(PUBLISHER)}. Released under the {LICENSE_NAME} licence; "
            "the Licence and Third-party notices tabs have the full texts.</p>"
            f'<p><a href="{HOMEPAGE}">Home page and source</a> · '
            f'<a href="{ISSUES_URL}">Report a problem</a></p>'
            f"<p>{html.escape(versions_line())}</p>"
        )
        self.summary.setObjectName("aboutSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setOpenExternalLinks(True)
        self.summary.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.summary.setMargin(12)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.summary, "&About")
        self.texts: dict[str, QPlainTextEdit] = {}
        for name, title in zip(LEGAL_FILES, ("&Licence", "Third-party &notices"), strict=True):
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            view.setAccessibleName(title.replace("&", ""))
            view.setPlainText(legal(name) or MISSING.format(app=APP_NAME, name=name, url=HOMEPAGE))
            self.texts[name] = view
            self.tabs.addTab(view, title)
        layout.addWidget(self.tabs, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 520)


def about_button(window: QWidget) -> QPushButton:
    """An 'About' button for `window`'s button row; it and F1 open the dialog (window-modal)."""
    button = QPushButton("Ab&out")
    button.setObjectName("aboutButton")
    button.setAutoDefault(False)
    button.setToolTip("Version, licence and third-party notices (F1)")

    def open_about() -> None:
        dialog = AboutDialog(window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    button.clicked.connect(open_about)
    shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents), window)
    shortcut.activated.connect(open_about)
    return button
