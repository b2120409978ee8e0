"""Light or dark: the window follows the desktop's colour scheme and stays readable in both.

Qt reports the desktop's scheme (`QStyleHints.colorScheme`, Qt 6.5+) on Windows, macOS, GNOME
(through the desktop portal) and KDE, but not every style then draws with a matching palette:
Windows' classic style stays light in dark mode, and a bundle without the GTK platform theme may
report Dark and still hand out a light palette. `SchemeFollower` closes that gap: whenever the
scheme is known and the palette does not match it, it switches to the Fusion style with one of
the two palettes below, whose text and background roles keep WCAG AA contrast. When the palette
already matches, it leaves the platform's own colours alone.

`HALO_PAYLINK_COLOR_SCHEME=light|dark` overrides what the desktop says (for desktops that do not
report a scheme, and for screenshots). Widgets use palette roles only, never fixed colours, so a
palette change restyles every page. GUI thread only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption

SCHEME_ENV = "HALO_PAYLINK_COLOR_SCHEME"

Role = QPalette.ColorRole

#: Active-group colours of the two palettes (text roles first, then their backgrounds).
LIGHT: Mapping[QPalette.ColorRole, str] = {
    Role.WindowText: "#1b1c1e",
    Role.Text: "#1b1c1e",
    Role.ButtonText: "#1b1c1e",
    Role.ToolTipText: "#1b1c1e",
    Role.HighlightedText: "#ffffff",
    Role.BrightText: "#ffffff",
    Role.PlaceholderText: "#696b70",
    Role.Link: "#0b57b0",
    Role.LinkVisited: "#6b3fa0",
    Role.Window: "#f3f3f4",
    Role.Base: "#ffffff",
    Role.AlternateBase: "#e8e9eb",
    Role.Button: "#e6e7e9",
    Role.ToolTipBase: "#fff4cc",
    Role.Highlight: "#1f5fbf",
    Role.Light: "#ffffff",
    Role.Midlight: "#f0f0f1",
    Role.Mid: "#b9bbbf",
    Role.Dark: "#8d9095",
    Role.Shadow: "#505256",
}
DARK: Mapping[QPalette.ColorRole, str] = {
    Role.WindowText: "#e8e8ea",
    Role.Text: "#e8e8ea",
    Role.ButtonText: "#e8e8ea",
    Role.ToolTipText: "#f2f2f2",
    Role.HighlightedText: "#ffffff",
    Role.BrightText: "#ffffff",
    Role.PlaceholderText: "#9a9ca1",
    Role.Link: "#8ab8ff",
    Role.LinkVisited: "#c7a4f2",
    Role.Window: "#2b2d31",
    Role.Base: "#1e1f22",
    Role.AlternateBase: "#25272b",
    Role.Button: "#3a3d42",
    Role.ToolTipBase: "#4a4030",
    Role.Highlight: "#2f6fd0",
    Role.Light: "#4a4d53",
    Role.Midlight: "#404348",
    Role.Mid: "#2f3135",
    Role.Dark: "#1a1b1e",
    Role.Shadow: "#0d0d0e",
}
_DISABLED_TEXT = {Qt.ColorScheme.Light: "#8a8c91", Qt.ColorScheme.Dark: "#7c7f85"}

#: (foreground, background, minimum contrast) pairs that must stay readable in both palettes.
READABLE_PAIRS: tuple[tuple[QPalette.ColorRole, QPalette.ColorRole, float], ...] = (
    (Role.WindowText, Role.Window, 4.5),
    (Role.WindowText, Role.AlternateBase, 4.5),
    (Role.Text, Role.Base, 4.5),
    (Role.Text, Role.AlternateBase, 4.5),
    (Role.ButtonText, Role.Button, 4.5),
    (Role.HighlightedText, Role.Highlight, 4.5),
    (Role.ToolTipText, Role.ToolTipBase, 4.5),
    (Role.Link, Role.Base, 4.5),
    (Role.Link, Role.Window, 4.5),
    (Role.PlaceholderText, Role.Base, 3.0),
)


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1.0 (none) to 21.0 (black on white)."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

        return (
            0.2126 * channel(colour.redF())
            + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF())
        )

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def palette_for(scheme: Qt.ColorScheme) -> QPalette:
    """The app's palette for `scheme` (Light for anything but Dark)."""
    dark = scheme == Qt.ColorScheme.Dark
    palette = QPalette()
    for role, colour in (DARK if dark else LIGHT).items():
        palette.setColor(role, QColor(colour))
    disabled = QColor(_DISABLED_TEXT[Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light])
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def palette_scheme(palette: QPalette) -> Qt.ColorScheme:
    """Whether `palette` draws light or dark: dark text on a light window, or the reverse."""
    window = palette.color(Role.Window)
    text = palette.color(Role.WindowText)
    return Qt.ColorScheme.Dark if window.lightness() < text.lightness() else Qt.ColorScheme.Light


def requested_scheme(environ: Mapping[str, str]) -> Qt.ColorScheme | None:
    """The scheme asked for with HALO_PAYLINK_COLOR_SCHEME (light/dark), or None."""
    value = environ.get(SCHEME_ENV, "").strip().lower()
    return {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(value)


def system_scheme() -> Qt.ColorScheme:
    """What the desktop says (Unknown where the platform cannot tell, e.g. offscreen)."""
    return QGuiApplication.styleHints().colorScheme()


def tinted(pixmap: QPixmap, colour: QColor) -> QPixmap:
    """`pixmap`'s shape (its alpha) filled with `colour`."""
    out = QPixmap(pixmap.size())
    out.setDevicePixelRatio(pixmap.devicePixelRatio())
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.drawPixmap(0, 0, pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(out.rect(), colour)
    painter.end()
    return out


#: A glyph less visible than this on the button colour (`contrast` of its most visible pixel)
#: is drawn in the button text colour instead: a black arrow on a dark button, for one.
GLYPH_MIN_CONTRAST = 2.0


def glyph_contrast(pixmap: QPixmap, background: QColor) -> float:
    """The contrast against `background` of the pixmap's most visible opaque pixel."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    best = 1.0
    for y in range(image.height()):
        for x in range(image.width()):
            colour = image.pixelColor(x, y)
            if colour.alpha() > 200:
                best = max(best, contrast(colour, background))
    return best


class GlyphIconEngine(QIconEngine):
    """Draws a standard icon as the current palette needs it: a glyph that would not show on
    the palette's button colour (Undo's black arrow in the dark scheme) is drawn in the button
    text colour, at paint time, so a change of scheme is followed without rebuilding icons.
    Disabled icons are left to `ReadableIconStyle`."""

    def __init__(self, icon: QIcon) -> None:
        super().__init__()
        self._icon = icon
        self._visible: dict[tuple[int, int], bool] = {}  # (pixmap, background) -> shows as is

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        base = self._icon.pixmap(size, mode, state)
        if mode == QIcon.Mode.Disabled or base.isNull():
            return base
        palette = QGuiApplication.palette()
        background = palette.color(QPalette.ColorRole.Button)
        key = (base.cacheKey(), background.rgba())
        visible = self._visible.get(key)
        if visible is None:
            if len(self._visible) > 64:
                self._visible.clear()
            visible = self._visible[key] = glyph_contrast(base, background) >= GLYPH_MIN_CONTRAST
        return base if visible else tinted(base, palette.color(QPalette.ColorRole.ButtonText))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return self._icon.actualSize(size, mode, state)

    def availableSizes(
        self, mode: QIcon.Mode = QIcon.Mode.Normal, state: QIcon.State = QIcon.State.Off
    ) -> list[QSize]:
        return self._icon.availableSizes(mode, state)

    def clone(self) -> QIconEngine:
        return GlyphIconEngine(self._icon)


def visible_icon(icon: QIcon) -> QIcon:
    """`icon`, drawn so that it shows in the current scheme (see `GlyphIconEngine`)."""
    return QIcon(GlyphIconEngine(icon))


class ReadableIconStyle(QProxyStyle):
    """A style whose disabled icons are drawn in the palette's disabled text colour.

    The base styles grey a disabled icon by darkening it, so a dark glyph (Stop, Undo) on a dark
    window disappears; in the disabled text colour it stays as visible as a disabled label, in
    light and dark alike.
    """

    def generatedIconPixmap(
        self, mode: QIcon.Mode, pixmap: QPixmap | QImage, option: QStyleOption
    ) -> QPixmap:
        if isinstance(pixmap, QImage):
            pixmap = QPixmap.fromImage(pixmap)
        if mode != QIcon.Mode.Disabled or pixmap.isNull():
            return super().generatedIconPixmap(mode, pixmap, option)
        palette = option.palette if option is not None else QGuiApplication.palette()
        return tinted(pixmap, palette.color(QPalette.ColorGroup.Disabled, Role.ButtonText))


def style_name(style: QStyle) -> str:
    """The style's name, seen through a proxy (which has no name of its own)."""
    if isinstance(style, QProxyStyle) and not style.name():
        base = style.baseStyle()
        return base.name() if base is not None else ""
    return style.name()


def readable_style(name: str = "Fusion") -> ReadableIconStyle:
    """The style `name` (Fusion by default), with disabled icons that stay visible."""
    return ReadableIconStyle(name)


class SchemeFollower(QObject):
    """Keeps the application's palette in step with the colour scheme, now and on every change.

    Args:
        app: the application whose palette and style are managed.
        scheme: where the scheme comes from (the desktop by default; tests pass their own).
        environ: read for the HALO_PAYLINK_COLOR_SCHEME override.
    """

    def __init__(
        self,
        app: QApplication,
        scheme: Callable[[], Qt.ColorScheme] = system_scheme,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(app)
        self._app = app
        self._scheme = scheme
        self._override = requested_scheme(os.environ if environ is None else environ)
        self._platform_style = style_name(app.style())
        self._platform_palette = QPalette(app.palette())
        self.applied: Qt.ColorScheme | None = None  # our palette in use, or None: the platform's
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.update)
        self.update()

    def wanted(self) -> Qt.ColorScheme:
        return self._override if self._override is not None else self._scheme()

    def update(self, *_: object) -> None:
        """Match the palette to the scheme (a slot for `colorSchemeChanged`)."""
        wanted = self.wanted()
        if self.applied is None:  # the platform's palette may have changed with the scheme
            self._platform_palette = QPalette(self._app.palette())
        if wanted == Qt.ColorScheme.Unknown or palette_scheme(self._platform_palette) == wanted:
            if self.applied is not None:  # back to the platform's own look
                self._set_style(self._platform_style)
                self._app.setPalette(self._platform_palette)
                self.applied = None
            return
        if self.applied != wanted:
            self._set_style("Fusion")  # every style draws Fusion's palette faithfully
            self._app.setPalette(palette_for(wanted))
            self.applied = wanted

    def _set_style(self, name: str) -> None:
        if name.lower() == "fusion":
            if not isinstance(self._app.style(), ReadableIconStyle):
                self._app.setStyle(readable_style(name))
        elif style_name(self._app.style()).lower() != name.lower():
            self._app.setStyle(name)  # an unknown name leaves the style as it is
