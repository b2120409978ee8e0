"""Start the window: QApplication, the qasync loop, the crash dialog, the stores, the demo sandbox.

`run_app` is what `halo-paylink` (without a subcommand) and `halo-paylink-gui` call. Only what
the first page needs is imported before it paints; httpx, the Halo client, the sandbox (unless
`--demo`) and the backfill load when a later page first uses them.

Shutdown order (all on the GUI thread): the window closes (asking first, and stopping a running
backfill cleanly) -> every task is cancelled and awaited -> the HTTP client is closed -> the loop
stops -> the demo sandbox stops. Nothing async runs after that. Ctrl-C in the terminal that
started the window takes the same path (a running backfill stops cleanly, nothing is asked) and the
process exits with 130, the shell's code for an interrupt; a second Ctrl-C ends it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halo_paylink import APP_ID, APP_NAME

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from halo_paylink.sandbox import Sandbox
    from halo_paylink.sandbox.benji import BenjiSandbox
    from halo_paylink.ui.context import AppContext, DemoInfo
    from halo_paylink.ui.gc_control import GuiThreadGarbageCollector
    from halo_paylink.ui.shell import WizardWindow

log = logging.getLogger(__name__)

#: exit status after Ctrl-C (128 + SIGINT), as shells report an interrupted program
INTERRUPTED_EXIT = 130


def app_icon() -> QIcon | None:
    """The app icon with every bundled size (see `halo_paylink.resources`); None when absent."""
    from PySide6.QtGui import QIcon

    from halo_paylink.resources import icon_files

    files = icon_files()
    if not files:
        return None
    icon = QIcon()
    for path in files.values():
        icon.addFile(str(path))
    return None if icon.isNull() else icon


def set_windows_app_user_model_id(app_id: str = APP_ID, platform: str | None = None) -> bool:
    """Windows: give this process the app's AppUserModelID; True when Windows accepted it.

    The taskbar groups windows, pins them and finds their Start-menu shortcut by this id; a
    Python process otherwise gets python.exe's. It must be set before the first window shows,
    and it matches the id the installer puts on its shortcuts. Elsewhere it does nothing.
    """
    if (platform or sys.platform) != "win32":
        return False
    import ctypes

    windll: Any = getattr(ctypes, "windll", None)
    try:
        result = windll.shell32.SetCurrentProcessExplicitAppUserModelID(app_id)
    except (AttributeError, OSError) as error:  # very old Windows, or a stripped-down one
        log.warning("could not set the AppUserModelID: %s", error)
        return False
    return bool(result == 0)  # S_OK


def make_application() -> QApplication:
    """The QApplication with names, desktop file name, icon and colour scheme set.

    Reuses an existing QApplication. On Windows it also sets the process's AppUserModelID.
    """
    from PySide6.QtWidgets import QApplication

    from halo_paylink.ui.theme import SchemeFollower

    set_windows_app_user_model_id()
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("halo-paylink")
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName("halo-paylink")
    app.setDesktopFileName(APP_ID)
    if app.findChild(SchemeFollower) is None:
        SchemeFollower(app)  # owned by the app: light or dark with the desktop
    app.setQuitOnLastWindowClosed(False)  # we quit after the async clean-up, not before
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app


def start_demo_sandbox() -> tuple[Sandbox, DemoInfo]:
    """Start the built-in Halo sandbox on loopback (its own thread) with the demo application.
    Changes move `last_modified` and a save pushes a synced invoice (`last_synced`), as on a
    Halo linked to an accounting tool, so the pilot shows what a save moved."""
    from halo_paylink.sandbox import Sandbox, SandboxConfig
    from halo_paylink.ui.context import DemoInfo

    config = SandboxConfig(stamp_changes=True)
    sandbox = Sandbox(config)
    url = sandbox.start()
    return sandbox, DemoInfo(
        url=url,
        tenant=config.tenant,
        client_id=config.client_id,
        client_secret=config.client_secret,
    )


def start_demo_benji(halo: Sandbox, demo: DemoInfo) -> tuple[BenjiSandbox, DemoInfo]:
    """Start the built-in Benji sandbox beside the Halo one, knowing its invoices; `demo` with
    the Benji address and demo key added."""
    import dataclasses

    from halo_paylink.sandbox.benji import BenjiSandbox

    benji = BenjiSandbox.for_halo(halo)
    url = benji.start()
    return benji, dataclasses.replace(demo, benji_url=url, benji_key=benji.config.api_key)


def build_window(
    *,
    demo: DemoInfo | None,
    profile: str | None,
    paths_home: Path | None = None,
) -> tuple[AppContext, WizardWindow]:
    """The context (real stores) and the window. GUI thread, with the qasync loop installed.

    Args:
        demo: the running sandbox in demo mode (memory secret store, demo values prefilled).
        profile: the profile to preselect on the first page.
        paths_home: keep profiles, runs and reports below this folder (demo mode uses a
            throw-away folder so demo data never mixes with real profiles).
    """
    from PySide6.QtCore import QSettings

    from halo_paylink.storage.paths import AppPaths
    from halo_paylink.storage.profiles import ProfileStore
    from halo_paylink.storage.secrets import KeyringSecretStore, MemorySecretStore, SecretStore
    from halo_paylink.ui.context import AppContext
    from halo_paylink.ui.pages.welcome import WelcomePage
    from halo_paylink.ui.shell import WizardWindow, default_page_factories

    real_paths = AppPaths.default()
    paths = AppPaths.under(paths_home) if paths_home is not None else real_paths
    settings_file = real_paths.config_dir / "window.ini"
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    secrets: SecretStore = (
        MemorySecretStore("memory, for this demo session only")
        if demo is not None
        else KeyringSecretStore()
    )
    context = AppContext(
        paths=paths,
        profiles=ProfileStore(paths),
        secrets=secrets,
        demo=demo,
        settings=settings,
    )
    factories: list[Callable[[AppContext], object]] = list(default_page_factories())
    factories[0] = functools.partial(WelcomePage, preferred=profile)
    window = WizardWindow(context, factories)  # type: ignore[arg-type]
    return context, window


SMOKE_TEST_ENV = "HALO_PAYLINK_SMOKE_TEST"


def missing_display(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why the window cannot open here, in words for the user; None when it can try.

    On Linux and other X11/Wayland systems Qt needs DISPLAY or WAYLAND_DISPLAY; without one it
    aborts with a message that suggests reinstalling, which is wrong. An explicit QT_QPA_PLATFORM
    (e.g. offscreen for tests) is the user's choice and is respected.
    """
    if platform.startswith(("win", "darwin")) or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "Halo PayLink Assistant needs a desktop session to open its window, and none was found "
        "(DISPLAY and WAYLAND_DISPLAY are not set, e.g. over SSH).\n"
        "Run it from your desktop, or use the same operations in this terminal:\n"
        "  halo-paylink check --help\n  halo-paylink backfill --help\n  halo-paylink runs"
    )


def quit_after_first_paint(window: WizardWindow, started: float) -> None:
    """Smoke-test mode: once the first page has painted, say when, and close the window normally.

    Used by `packaging/smoke_test.py` (HALO_PAYLINK_SMOKE_TEST=1) to prove a built bundle starts,
    shows its first page and shuts down cleanly with exit status 0.
    """
    import time

    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                print(f"first page painted after {time.perf_counter() - started:.3f} s", flush=True)
                QTimer.singleShot(0, window.close)
            return False

    watcher = FirstPaint(window)
    window.installEventFilter(watcher)


def install_asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> Any:
    """Let `loop` finalize async generators, as asyncio's own loops do; returns the old hooks.

    qasync's loop skips asyncio's start-up step that installs these, so an async generator left
    unfinished (e.g. a page stream when a run is cancelled) would be closed synchronously by the
    garbage collector, where its `finally: await ...` cannot run.
    """
    old = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    return old


@contextlib.contextmanager
def gui_loop(
    app: QApplication,
) -> Iterator[tuple[asyncio.AbstractEventLoop, GuiThreadGarbageCollector]]:
    """The app's event-loop set-up, shared by `run_app` and the benchmarks (GUI thread).

    A qasync loop on `app` that finalizes async generators, and garbage collection on the GUI
    thread only (call `collector.settle()` once start-up data exists). All undone on exit.
    """
    import qasync

    from halo_paylink.ui.gc_control import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(app)
    collector.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    old_hooks = install_asyncgen_hooks(loop)
    try:
        yield loop, collector
    finally:
        collector.stop()
        sys.set_asyncgen_hooks(*old_hooks)
        asyncio.set_event_loop(None)


def _drain(reader: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while reader.recv(64):
            pass


@contextlib.contextmanager
def ctrl_c_closes(close: Callable[[], None]) -> Iterator[Callable[[], bool]]:
    """While inside, Ctrl-C (SIGINT) calls `close` once, on the GUI loop; yields "was there one?".

    Qt's loop waits in C++, where Python's signal handlers never get a turn, so the signal also
    writes a byte to a socket a QSocketNotifier watches: that wakes the loop, Python runs the
    handler, and the handler leaves the real work to a zero-delay timer (Qt calls are not safe in
    the middle of whatever Python code the signal interrupted). A second Ctrl-C exits at once
    with `INTERRUPTED_EXIT`. Main thread only; elsewhere signals cannot be handled and this does
    nothing.
    """
    from PySide6.QtCore import QSocketNotifier, QTimer

    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, frame: object) -> None:
        if seen:
            print("Interrupted again: quitting at once.", file=sys.stderr, flush=True)
            os._exit(INTERRUPTED_EXIT)
        seen.append(True)
        print("Interrupted: closing the window.", file=sys.stderr, flush=True)
        QTimer.singleShot(0, close)

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda *_: _drain(reader))
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    old_handler = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(seen)
    finally:
        signal.signal(signal.SIGINT, old_handler)
        signal.set_wakeup_fd(old_fd)
        notifier.setEnabled(False)
        reader.close()
        writer.close()


def run_app(demo: bool, profile: str | None) -> int:
    """Open the assistant window and run until it is closed; returns the process exit code.

    Args:
        demo: start the built-in sandbox in-process on loopback and open the window on it, with
            a visible Demo marker and the demo credentials prefilled; the sandbox stops on quit.
        profile: preselect this saved profile on the first page.

    Returns 0 when the window was closed, `INTERRUPTED_EXIT` after Ctrl-C in the terminal.
    """
    try:
        return _run_app(demo, profile)
    except KeyboardInterrupt:  # Ctrl-C before the window's own handler was in place
        return INTERRUPTED_EXIT


def _run_app(demo: bool, profile: str | None) -> int:
    import time

    problem = missing_display(os.environ)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2

    from halo_paylink.storage.logs import setup_logging, shutdown_logging
    from halo_paylink.storage.paths import AppPaths
    from halo_paylink.ui.crash import CrashReporter

    started = time.perf_counter()
    app = make_application()
    try:
        setup_logging(AppPaths.default())
    except OSError as error:  # a read-only home must not keep the window from opening
        print(f"Logging disabled: {error}", file=sys.stderr)
    window_ref: list[WizardWindow] = []
    crash = CrashReporter(lambda: window_ref[0] if window_ref else None)
    sandbox: Sandbox | None = None
    benji: BenjiSandbox | None = None
    demo_home: Path | None = None

    def on_interrupt() -> None:
        if window_ref:
            window_ref[0].close_without_asking()

    try:
        with gui_loop(app) as (loop, collector), ctrl_c_closes(on_interrupt) as interrupted:
            crash.install(loop)
            demo_info: DemoInfo | None = None
            if demo:
                sandbox, demo_info = start_demo_sandbox()
                benji, demo_info = start_demo_benji(sandbox, demo_info)
                demo_home = Path(tempfile.mkdtemp(prefix="halo-paylink-demo-"))
            context, window = build_window(demo=demo_info, profile=profile, paths_home=demo_home)
            collector.settle()  # start-up data (and the demo sandbox's invoices) never rescanned
            window_ref.append(window)
            closed: asyncio.Future[None] = loop.create_future()

            def on_closed() -> None:
                if not closed.done():
                    closed.set_result(None)

            window.closed.connect(on_closed)
            if os.environ.get(SMOKE_TEST_ENV) == "1":
                quit_after_first_paint(window, started)
            window.show()
            if interrupted():  # Ctrl-C while the window was being built
                window.close_without_asking()

            async def main() -> None:
                await closed
                await context.aclose()
                await loop.shutdown_asyncgens()

            with loop:  # type: ignore[attr-defined]
                loop.run_until_complete(main())
        return INTERRUPTED_EXIT if interrupted() else 0
    finally:
        crash.uninstall()
        if benji is not None:
            benji.stop()
        if sandbox is not None:
            sandbox.stop()
        if demo_home is not None:
            shutil.rmtree(demo_home, ignore_errors=True)
        shutdown_logging()
