"""What users look for in a desktop app: an About dialog, light and dark, Ctrl-C, the taskbar id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QPushButton

from halo_paylink import APP_ID, PUBLISHER, __version__
from halo_paylink.ui import app as app_module
from halo_paylink.ui import theme
from halo_paylink.ui.about import AboutDialog, about_button

ROOT = Path(__file__).resolve().parents[2]


# --- About ------------------------------------------------------------------------------------


def test_about_dialog_shows_version_licence_and_notices(qtbot: Any) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    summary = dialog.summary.text()
    assert __version__ in summary and "MIT" in summary and PUBLISHER in summary
    assert "Qt " in summary and "PySide6 " in summary
    licence = dialog.texts["LICENSE"].toPlainText()
    assert licence == (ROOT / "LICENSE").read_text(encoding="utf-8")
    notices = dialog.texts["THIRD_PARTY_NOTICES.md"].toPlainText()
    assert "PySide6" in notices and "LGPL-3.0" in notices and "certifi" in notices
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == [
        "&About",
        "&Licence",
        "Third-party &notices",
    ]


def test_about_dialog_says_where_missing_files_are(qtbot: Any) -> None:
    dialog = AboutDialog(legal=lambda name: None)
    qtbot.addWidget(dialog)
    assert "does not include LICENSE" in dialog.texts["LICENSE"].toPlainText()


def test_window_has_an_about_button(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    button = window.findChild(QPushButton, "aboutButton")
    assert button is not None and button.isVisible()
    button.click()
    qtbot.waitUntil(lambda: window.findChild(AboutDialog) is not None)
    dialog = window.findChild(AboutDialog)
    assert (dialog.isVisible() and dialog.isModal() is False) or dialog.windowModality()
    dialog.reject()


def test_about_button_alone(qtbot: Any) -> None:
    from PySide6.QtWidgets import QWidget

    host = QWidget()
    qtbot.addWidget(host)
    button = about_button(host)
    assert button.text() == "Ab&out"


# --- light and dark ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_palettes_are_readable(scheme: Qt.ColorScheme) -> None:
    palette = theme.palette_for(scheme)
    assert theme.palette_scheme(palette) == scheme
    for foreground, background, minimum in theme.READABLE_PAIRS:
        ratio = theme.contrast(palette.color(foreground), palette.color(background))
        assert ratio >= minimum, f"{foreground.name} on {background.name}: {ratio:.2f}"


def test_follower_matches_the_scheme_and_its_changes(qapp: QApplication) -> None:
    original_palette, original_style = QPalette(qapp.palette()), qapp.style().name()
    wanted = [Qt.ColorScheme.Dark]
    follower = theme.SchemeFollower(qapp, scheme=lambda: wanted[0], environ={})
    try:
        assert follower.applied == Qt.ColorScheme.Dark
        assert theme.palette_scheme(qapp.palette()) == Qt.ColorScheme.Dark
        assert theme.style_name(qapp.style()).lower() == "fusion"
        assert isinstance(qapp.style(), theme.ReadableIconStyle)
        wanted[0] = Qt.ColorScheme.Light  # the desktop switched back
        follower.update()
        assert theme.palette_scheme(qapp.palette()) == Qt.ColorScheme.Light
        assert follower.applied is None  # the platform's light palette already matched
        assert theme.style_name(qapp.style()) == original_style
        wanted[0] = Qt.ColorScheme.Unknown
        follower.update()
        assert follower.applied is None
    finally:
        follower.deleteLater()
        qapp.setPalette(original_palette)
        qapp.setStyle(original_style)


def test_environment_overrides_the_desktop(qapp: QApplication) -> None:
    original_palette, original_style = QPalette(qapp.palette()), qapp.style().name()
    follower = theme.SchemeFollower(
        qapp, scheme=lambda: Qt.ColorScheme.Light, environ={theme.SCHEME_ENV: "dark"}
    )
    try:
        assert theme.palette_scheme(qapp.palette()) == Qt.ColorScheme.Dark
    finally:
        follower.deleteLater()
        qapp.setPalette(original_palette)
        qapp.setStyle(original_style)


def test_ui_code_uses_no_fixed_colours() -> None:
    """Colours come from the palette, so both schemes restyle every page."""
    offenders = []
    for path in sorted((ROOT / "src" / "halo_paylink" / "ui").rglob("*.py")):
        if path.name == "theme.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in ("setStyleSheet", "QColor(", "Qt.GlobalColor"):
            if pattern in text:
                offenders.append(f"{path.name}: {pattern}")
    assert not offenders


# --- Windows taskbar id -----------------------------------------------------------------------


class FakeShell32:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def SetCurrentProcessExplicitAppUserModelID(self, app_id: str) -> int:
        self.ids.append(app_id)
        return 0


def test_app_user_model_id_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes
    from types import SimpleNamespace

    shell32 = FakeShell32()
    monkeypatch.setattr(ctypes, "windll", SimpleNamespace(shell32=shell32), raising=False)
    assert app_module.set_windows_app_user_model_id(platform="win32") is True
    assert shell32.ids == [APP_ID]
    assert app_module.set_windows_app_user_model_id(platform="linux") is False
    assert shell32.ids == [APP_ID]


def test_make_application_sets_the_app_user_model_id(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(app_module, "set_windows_app_user_model_id", lambda *a: calls.append(a))
    assert app_module.make_application() is qapp
    assert calls == [()]
    assert qapp.desktopFileName() == APP_ID


# --- Ctrl-C -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_closes_the_window_cleanly(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HALO_PAYLINK_HOME=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    env.pop("HALO_PAYLINK_SMOKE_TEST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "halo_paylink", "--demo"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        log = tmp_path / "logs"
        while not any(log.glob("*.log")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # the window is up and the loop idles in Qt
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == app_module.INTERRUPTED_EXIT, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "Interrupted: closing the window." in err


# --- the windowed entry point -----------------------------------------------------------------


def test_gui_entry_point_opens_the_window_with_its_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    opened: list[tuple[bool, str | None]] = []
    monkeypatch.setattr(app_module, "run_app", lambda demo, profile: opened.append((demo, profile)))
    monkeypatch.setattr(sys, "argv", ["halo-paylink-gui", "--demo", "--profile", "acme"])
    main_module = importlib.import_module("halo_paylink.__main__")
    main_module.gui_main()
    assert opened == [(True, "acme")]
    monkeypatch.setattr(sys, "argv", ["halo-paylink-gui", "backfill"])
    with pytest.raises(SystemExit):  # the window's options only: no subcommands
        main_module.gui_main()
