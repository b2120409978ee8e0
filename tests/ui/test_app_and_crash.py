"""The app entry point (demo start and clean quit, lazy imports) and the crash dialog."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from halo_paylink.redact import register_secret
from halo_paylink.ui.crash import CrashReporter


def test_uncaught_exception_shows_a_redacted_report(
    qtbot: Any, qloop: Any, expect_log_warning: Any
) -> None:
    expect_log_warning(r"^Uncaught exception")  # the crash reporter logs what it shows
    secret = "s3cret-value-that-must-not-show"
    register_secret(secret)
    reporter = CrashReporter()
    try:
        raise RuntimeError(f"boom with client_secret={secret} inside")
    except RuntimeError as error:
        with qtbot.waitSignal(reporter.reported, timeout=3000) as blocker:
            reporter.excepthook(type(error), error, error.__traceback__)
    text = blocker.args[0]
    assert "RuntimeError: boom" in text and secret not in text
    dialog = reporter.dialog
    assert dialog is not None and dialog.isVisible()
    assert "RuntimeError" in dialog.report.toPlainText()
    assert secret not in dialog.report.toPlainText()
    dialog.copy_button.click()
    assert QApplication.clipboard().text() == dialog.report.toPlainText()
    dialog.reject()
    qtbot.waitUntil(lambda: reporter.dialog is None)


def test_asyncio_task_errors_reach_the_dialog(
    qtbot: Any, qloop: Any, expect_log_warning: Any
) -> None:
    expect_log_warning(r"^Uncaught exception")  # the crash reporter logs what it shows
    reporter = CrashReporter()
    reporter.install(qloop)
    try:

        async def broken() -> None:
            raise ValueError("task failed")

        from halo_paylink.ui.tasks import TaskRunner

        runner = TaskRunner()
        with qtbot.waitSignal(reporter.reported, timeout=3000) as blocker:
            runner.start(broken(), name="broken")
        assert "ValueError: task failed" in blocker.args[0]
        assert "broken" in blocker.args[0]
        # a report from another thread is shown on the GUI thread
        with qtbot.waitSignal(reporter.reported, timeout=3000):
            threading.Thread(target=reporter.report, args=("from a thread",)).start()
        assert "from a thread" in reporter.dialog.report.toPlainText()
        reporter.dialog.reject()
    finally:
        reporter.uninstall()
    assert sys.excepthook is not reporter.excepthook


def test_run_app_demo_starts_sandbox_and_quits_cleanly(
    qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from halo_paylink.ui import app as app_module
    from halo_paylink.ui.shell import WizardWindow

    started: list[Any] = []
    real_start = app_module.start_demo_sandbox

    def spy_start() -> Any:
        sandbox, info = real_start()
        started.append(sandbox)
        return sandbox, info

    monkeypatch.setattr(app_module, "start_demo_sandbox", spy_start)
    seen: dict[str, Any] = {}

    def close_soon() -> None:
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, WizardWindow)]
        window = windows[-1]
        if window.current_page.busy_text() is not None:  # still reading the saved profiles
            QTimer.singleShot(20, close_soon)
            return
        seen["badge"] = window.demo_badge.isVisible()
        seen["name"] = window.current_page.name_edit.text()
        window.close()

    QTimer.singleShot(300, close_soon)
    assert app_module.run_app(demo=True, profile=None) == 0
    assert seen == {"badge": True, "name": "Demo"}
    assert started and not started[0].running  # the sandbox stopped on quit
    assert asyncio.get_event_loop_policy()  # nothing left bound to a closed loop
    leftover = [t for t in threading.enumerate() if t.name.startswith("halo-sandbox")]
    assert leftover == []


def test_first_page_needs_no_network_modules(tmp_path: Any) -> None:
    """Start-up imports only what the first page needs (httpx etc. load when used)."""
    code = (
        "import sys, json\n"
        "from halo_paylink.ui import app\n"
        "import qasync, asyncio\n"
        "qapp = app.make_application()\n"
        "loop = qasync.QEventLoop(qapp); asyncio.set_event_loop(loop)\n"
        "ctx, window = app.build_window(demo=None, profile=None)\n"
        "window.show()\n"
        "heavy = ['httpx', 'halo_paylink.sandbox', 'halo_paylink.core.backfill',"
        " 'halo_paylink.halo.client', 'keyring']\n"
        "print(json.dumps({m: m in sys.modules for m in heavy}))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HALO_PAYLINK_HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == dict.fromkeys(loaded, False)


def test_smoke_test_mode_paints_the_first_page_and_exits_cleanly(tmp_path):
    """The packaged-bundle smoke test relies on this: first page painted, then exit status 0."""
    import os
    import subprocess
    import sys

    env = dict(
        os.environ,
        HALO_PAYLINK_SMOKE_TEST="1",
        QT_QPA_PLATFORM="offscreen",
        HALO_PAYLINK_HOME=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-m", "halo_paylink"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "first page painted after" in done.stdout


def test_no_display_is_explained_instead_of_qts_reinstall_advice() -> None:
    from halo_paylink.ui.app import missing_display

    problem = missing_display({}, platform="linux", program="halo-paylink")
    assert problem is not None
    assert "desktop session" in problem and "halo-paylink check" in problem

    def answers(kind: str, value: str, environ: object) -> bool:
        return True

    assert missing_display({"DISPLAY": ":0"}, platform="linux", reachable=answers) is None
    assert (
        missing_display({"WAYLAND_DISPLAY": "wayland-0"}, platform="linux", reachable=answers)
        is None
    )
    assert missing_display({"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert missing_display({}, platform="win32") is None
    assert missing_display({}, platform="darwin") is None


def test_the_window_command_without_a_display_exits_2_with_the_explanation(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["HALO_PAYLINK_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "halo_paylink"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "needs a desktop session" in done.stderr
    assert "Reinstalling" not in done.stderr
