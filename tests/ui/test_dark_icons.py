"""Disabled icons stay visible in the dark palette (Stop and Undo on the Backfill page)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication, QPushButton, QStyle, QStyleFactory

from halo_paylink.ui import theme


def glyph_contrast(icon: QIcon, background: QColor) -> float:
    """The contrast of the icon's most visible opaque pixel against `background`."""
    image = icon.pixmap(32, 32, QIcon.Mode.Disabled).toImage()
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    best = 1.0
    for y in range(image.height()):
        for x in range(image.width()):
            colour = image.pixelColor(x, y)
            if colour.alpha() > 200:
                best = max(best, theme.contrast(colour, background))
    return best


@pytest.fixture
def dark_app(qapp: QApplication) -> Any:
    palette, style = QPalette(qapp.palette()), QStyleFactory.create(theme.style_name(qapp.style()))
    qapp.setPalette(theme.palette_for(Qt.ColorScheme.Dark))
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)


@pytest.mark.parametrize(
    "which", [QStyle.StandardPixmap.SP_MediaStop, QStyle.StandardPixmap.SP_ArrowBack]
)
def test_a_disabled_stop_or_undo_icon_is_visible_on_the_dark_window(
    dark_app: QApplication, qtbot: Any, which: QStyle.StandardPixmap
) -> None:
    dark_app.setStyle(theme.readable_style("Fusion"))
    button = QPushButton("Stop")
    qtbot.addWidget(button)
    button.setIcon(button.style().standardIcon(which))
    button.setEnabled(False)
    palette = dark_app.palette()
    background = palette.color(QPalette.ColorRole.Button)
    label = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    # at least as visible as the disabled button's own text
    assert glyph_contrast(button.icon(), background) >= theme.contrast(label, background) - 0.01


def test_plain_fusion_loses_them_which_is_why_the_style_exists(
    dark_app: QApplication, qtbot: Any
) -> None:
    dark_app.setStyle("Fusion")
    icon = dark_app.style().standardIcon(QStyle.StandardPixmap.SP_MediaStop)
    palette = dark_app.palette()
    background = palette.color(QPalette.ColorRole.Button)
    label = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    assert glyph_contrast(icon, background) < 1.6 < theme.contrast(label, background)


@pytest.mark.parametrize(
    "which", [QStyle.StandardPixmap.SP_ArrowBack, QStyle.StandardPixmap.SP_MediaPlay]
)
def test_an_enabled_glyph_shows_in_both_schemes(
    dark_app: QApplication, qtbot: Any, which: QStyle.StandardPixmap
) -> None:
    from halo_paylink.ui.widgets.common import std_icon

    dark_app.setStyle(theme.readable_style("Fusion"))
    button = QPushButton("Undo")
    qtbot.addWidget(button)
    icon = std_icon(button, which)
    plain = button.style().standardIcon(which)
    for scheme in (Qt.ColorScheme.Dark, Qt.ColorScheme.Light):
        dark_app.setPalette(theme.palette_for(scheme))
        background = dark_app.palette().color(QPalette.ColorRole.Button)
        shown = icon.pixmap(32, 32)
        assert theme.glyph_contrast(shown, background) >= theme.GLYPH_MIN_CONTRAST, scheme
        assert shown.size() == plain.pixmap(32, 32).size()
    # the plain glyph is what the engine is for: it does not show on the dark button
    dark_app.setPalette(theme.palette_for(Qt.ColorScheme.Dark))
    background = dark_app.palette().color(QPalette.ColorRole.Button)
    assert theme.glyph_contrast(plain.pixmap(32, 32), background) < theme.GLYPH_MIN_CONTRAST
