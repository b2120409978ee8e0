"""Fixtures for the window's tests (pytest-qt, offscreen, qasync).

- Every test here fails on any Qt warning (marker added below).
- `qloop`: a qasync loop on pytest-qt's `qapp`, marked running so coroutines can use asyncio;
  qtbot.waitUntil / waitSignal drive it (they spin the Qt event loop, which *is* the asyncio
  loop). At teardown nothing may still be running.
- `sandbox`: the real Halo sandbox on loopback.
- `make_window`: a context with an in-memory secret store and the window; torn down cleanly
  (window closed, tasks awaited, HTTP client closed).
- The root conftest already sends every app folder to a temp dir (`HALO_PAYLINK_HOME`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import qasync
from PySide6.QtCore import QSettings

from fakes import MemoryKeyring
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import ProfileStore
from halo_paylink.storage.secrets import MemorySecretStore, SecretStore
from halo_paylink.ui.app import install_asyncgen_hooks
from halo_paylink.ui.context import AppContext, DemoInfo
from halo_paylink.ui.shell import WizardWindow

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

UI_DIR = Path(__file__).parent
OFFSCREEN_NOISE = r"^This plugin does not support (propagateSizeHints|raise)\(\)$"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if UI_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            # the offscreen platform's own limitation when a dialog opens, not our warning
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def gui_thread_garbage_collection(qapp: Any) -> Iterator[None]:
    """Collect cycles on the GUI thread only, as the app does (see ui/gc_control.py): the
    sandbox's server threads must never be the ones that destroy a Qt object."""
    from halo_paylink.ui.gc_control import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    collector.start()
    yield
    collector.stop()
    collector.deleteLater()


@pytest.fixture(autouse=True)
def clear_clipboard_after_test(qapp: Any) -> Iterator[None]:
    """Empty the clipboard after each test.

    Qt's offscreen platform (tests only) segfaults at interpreter exit when its clipboard still
    holds a QMimeData that the app set (reproduced with PySide6 6.11.3: set text+HTML, exit). The
    real X11 platform does not, so this stays a test-environment fix, not an app change.
    """
    yield
    qapp.clipboard().clear()


@pytest.fixture
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    hooks = install_asyncgen_hooks(loop)
    yield loop
    still_running = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in still_running:
        task.cancel()
    # Not loop.stop(): qasync would call QApplication.exit(), and with no exec() running Qt
    # remembers that and makes every later QEventLoop.exec() (qtbot's waits) return at once.
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    sys.set_asyncgen_hooks(*hooks)
    loop.close()
    asyncio.set_event_loop(None)
    assert not still_running, f"tasks still running at the end of the test: {still_running}"


@pytest.fixture
def arun(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """Run a coroutine on the qasync loop to completion, driving Qt while waiting."""

    def run(coro: Coroutine[Any, Any, Any], timeout: int = 15000) -> Any:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    return run


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=120)) as box:
        yield box


@pytest.fixture
def demo(sandbox: Sandbox) -> DemoInfo:
    """The sandbox as the window's demo (prefilled address and credentials)."""
    c = sandbox.config
    return DemoInfo(sandbox.url, c.tenant, c.client_id, c.client_secret)


@pytest.fixture
def make_context(
    qloop: asyncio.AbstractEventLoop, arun: Callable[..., Any], tmp_path: Path
) -> Iterator[Callable[..., AppContext]]:
    made: list[AppContext] = []

    def make(*, demo: DemoInfo | None = None, secrets: SecretStore | None = None) -> AppContext:
        paths = AppPaths.default()
        settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
        context = AppContext(
            paths=paths,
            profiles=ProfileStore(paths),
            secrets=secrets or MemorySecretStore(),
            demo=demo,
            settings=settings,
        )
        made.append(context)
        return context

    yield make
    for context in made:
        arun(context.aclose())


@pytest.fixture
def make_window(
    qtbot: Any, make_context: Callable[..., AppContext]
) -> Iterator[Callable[..., WizardWindow]]:
    windows: list[WizardWindow] = []

    def make(context: AppContext | None = None, **kwargs: Any) -> WizardWindow:
        window = WizardWindow(context or make_context(**kwargs))
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        # the first page reads the saved profiles in the background; tests start once it has
        qtbot.waitUntil(lambda: window.current_page.busy_text() is None, timeout=5000)
        return window

    yield make
    for window in windows:
        if window.isVisible():
            window._force_close = True  # the test decided; don't ask
            window.close()
        window.deleteLater()


def go_to(qtbot: Any, window: WizardWindow, target: Any) -> None:
    """Press Next until `target` is current, running the Test on the API application page."""
    from halo_paylink.core.wizard import PageId

    for _ in range(10):
        if window.current_id is target:
            return
        page = window.current_page
        if window.current_id is PageId.APPLICATION and not window.next_button.isEnabled():
            qtbot.waitUntil(page.test_button.isEnabled, timeout=15000)
            page.test_button.click()
        qtbot.waitUntil(window.next_button.isEnabled, timeout=15000)
        window.next_button.click()
    assert window.current_id is target


@pytest.fixture
def goto(qtbot: Any) -> Callable[[WizardWindow, Any], None]:
    """`goto(window, PageId.X)`: press Next (and Test) until page X is current."""
    return lambda window, target: go_to(qtbot, window, target)


@pytest.fixture
def demo_window(make_window: Any, make_context: Any, demo: DemoInfo) -> Any:
    """A window on the sandbox with the demo values prefilled (like `halo-paylink --demo`)."""
    return make_window(make_context(demo=demo))


@pytest.fixture
def confirm_pilot() -> Callable[[Sandbox], None]:
    """`confirm_pilot(sandbox)`: record that a pilot on `sandbox` showed the Pay button (in
    this test's app folders), so the Backfill page's bulk write starts without a pilot, as on
    a confirmed profile."""
    from halo_paylink.core.backfill.pilot import record_pay_button

    def confirm(sandbox: Sandbox) -> None:
        record_pay_button(AppPaths.default(), sandbox.url, True, invoice="a pilot invoice")

    return confirm
