"""Running coroutines from Qt slots on the qasync loop, with a handle to cancel them.

Everything here runs on the GUI thread: the qasync loop *is* the Qt event loop, so a coroutine
started with `TaskRunner.start` runs its steps between Qt events, and its callbacks run there too.
Never call these from another thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal

T = TypeVar("T")
log = logging.getLogger(__name__)


class TaskHandle(Generic[T]):
    """One coroutine started by `TaskRunner.start`.

    `cancel()` asks the coroutine to stop (it sees `CancelledError` at its next await); the
    `on_cancelled` callback then runs instead of `on_result` / `on_error`.
    """

    def __init__(self, task: asyncio.Task[T], name: str) -> None:
        self.task = task
        self.name = name

    def cancel(self) -> None:
        """Request cancellation; harmless when already finished. GUI thread."""
        if not self.task.done():
            self.task.cancel()

    @property
    def running(self) -> bool:
        return not self.task.done()

    async def wait(self) -> None:
        """Wait until the coroutine has finished (in any way); never raises its exception."""
        if not self.task.done():
            # asyncio.wait never raises the task's exception and never cancels the task
            await asyncio.wait({self.task})

    def __repr__(self) -> str:
        return f"TaskHandle({self.name!r}, running={self.running})"


class TaskRunner(QObject):
    """Starts coroutines on the GUI's asyncio loop and keeps a handle to each until it ends.

    Callbacks (`on_result`, `on_error`, `on_cancelled`, `on_finally`) run on the GUI thread, in
    the loop's done-callback for the task, so they may touch widgets. An exception that no
    `on_error` handles (or one raised by a callback) goes to the loop's exception handler, which
    the app maps to the crash dialog.

    Signals:
        activeChanged(int): the number of running tasks changed.
    """

    activeChanged = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handles: set[TaskHandle[Any]] = set()
        self._closed = False

    def start(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        name: str = "",
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_finally: Callable[[], None] | None = None,
        owner: QObject | None = None,
    ) -> TaskHandle[T]:
        """Schedule `coro` on the running qasync loop and return its handle.

        Args:
            coro: the coroutine; it runs on the GUI thread, so it must never block.
            name: for logs and `repr`.
            on_result: called with the result when it returns normally.
            on_error: called with the exception when it raises (Exception subclasses only).
            on_cancelled: called when it was cancelled.
            on_finally: called after any of the above.
            owner: a widget the callbacks touch; when it is destroyed first, the task is
                cancelled and no callback runs (so none touches a deleted widget).

        Raises:
            RuntimeError: after `shutdown()` (nothing async may start once the app is quitting).
        """
        if self._closed:
            coro.close()
            raise RuntimeError("The task runner is shut down; no new work may start.")
        loop = asyncio.get_event_loop()
        task = loop.create_task(coro, name=name or None)
        handle: TaskHandle[T] = TaskHandle(task, name)
        self._handles.add(handle)
        self.activeChanged.emit(len(self._handles))

        if owner is not None:
            owner.destroyed.connect(handle.cancel)

        def done(finished: asyncio.Task[T]) -> None:
            self._handles.discard(handle)
            if owner is not None and not shiboken6.isValid(owner):
                if not finished.cancelled() and finished.exception() is not None:
                    self._report(finished.exception(), name)  # type: ignore[arg-type]
                return
            if owner is not None:
                owner.destroyed.disconnect(handle.cancel)
            try:
                if finished.cancelled():
                    if on_cancelled is not None:
                        on_cancelled()
                else:
                    error = finished.exception()
                    if error is None:
                        if on_result is not None:
                            on_result(finished.result())
                    elif on_error is not None and isinstance(error, Exception):
                        on_error(error)
                    else:
                        self._report(error, name)
            except Exception as callback_error:  # a bug in a callback: show it, don't lose it
                self._report(callback_error, f"{name} (callback)")
            finally:
                try:
                    if on_finally is not None:
                        on_finally()
                finally:
                    if not self._closed:
                        self.activeChanged.emit(len(self._handles))

        task.add_done_callback(done)
        return handle

    @staticmethod
    def _report(error: BaseException, name: str) -> None:
        loop = asyncio.get_event_loop()
        loop.call_exception_handler(
            {"message": f"Unhandled error in task {name!r}", "exception": error}
        )

    @property
    def active(self) -> list[TaskHandle[Any]]:
        """Handles of the tasks still running."""
        return [h for h in self._handles if h.running]

    def cancel_all(self) -> None:
        for handle in list(self._handles):
            handle.cancel()

    async def shutdown(self) -> None:
        """Cancel every task, wait for all of them to end, and refuse new ones. Awaited at quit."""
        self._closed = True
        handles = list(self._handles)
        for handle in handles:
            handle.cancel()
        for handle in handles:
            await handle.wait()
