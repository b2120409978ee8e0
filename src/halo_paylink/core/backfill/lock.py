"""One run at a time per Halo: an OS lock held for the whole of a backfill, resume or undo.

Two runs writing the same Halo from the same app folder would POST every open invoice twice and
interleave two journals' views of it. So each entry point that writes to Halo holds an exclusive
lock on `state_dir/locks/<key>.lock`, where the key is a hash of the normalised Halo web address,
from before its first local write until it returns. The lock is an OS lock on an open file
(`fcntl.flock` on POSIX, `msvcrt.locking` on Windows): the OS drops it when the process dies,
even on `kill -9` or a power cut, so a stale lock can never block a later run. The lock file is
never deleted (deleting a lock file another process holds would let a third one in).

Who holds the lock is written next to it (`<key>.json`: run id, kind, address, start time, pid),
so a refusal can name the running run. The run id is known only once the entry point has chosen
it: `note_run_id` records it then.

A dry run (`plan_backfill`) takes no lock: it writes nothing to Halo, so one alongside a real run
is harmless (it just reads a list that is changing under it, as any reader of Halo does).

`exclusive_run` is the decorator the entry points wear; it also runs the local pre-flight
(`storage.preflight.check_folders`) first, so a read-only or full disk is reported before the
lock, the journal or Halo is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import inspect
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from halo_paylink.core.backfill.journal import is_locked, journal_path
from halo_paylink.core.backfill.model import BackfillError, InvoiceSource, web_url_of
from halo_paylink.errors import HaloError
from halo_paylink.storage.atomic import PRIVATE_FILE_MODE, ensure_private_dir, write_atomic
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.preflight import check_folders, folder_error

LOCKS_DIR_NAME = "locks"

P = ParamSpec("P")
R = TypeVar("R")


class RunLockedError(BackfillError):
    """Another run against the same Halo holds the lock (or the run asked for is running).

    Attributes:
        holder: what the lock file says about the running run (may be empty fields).
    """

    def __init__(self, message: str, holder: Holder) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Holder:
    """Who holds a run lock, as its sidecar file says (best effort: fields may be empty)."""

    run_id: str = ""
    kind: str = ""
    web_url: str = ""
    started: str = ""
    pid: int | None = None


def normalise_web_url(web_url: str) -> str:
    """The form two spellings of one Halo share: parsed like a typed address, lower-cased."""
    from halo_paylink.halo.discovery import parse_address

    text = (web_url or "").strip()
    try:
        text = parse_address(text).web_url
    except HaloError:
        text = text.rstrip("/")
    return text.lower()


def lock_key(web_url: str) -> str:
    return hashlib.sha256(normalise_web_url(web_url).encode("utf-8", "replace")).hexdigest()[:24]


def locks_dir(paths: AppPaths) -> Path:
    return paths.state_dir / LOCKS_DIR_NAME


def _try_lock(fd: int) -> bool:
    """Take an exclusive, non-blocking OS lock on `fd`; False when another holder has it."""
    if sys.platform == "win32":  # pragma: no cover (tested on Windows only)
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _local_time(timestamp: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(timestamp).astimezone()
    except (TypeError, ValueError):
        return ""
    today = dt.datetime.now().astimezone().date()
    return moment.strftime("%H:%M" if moment.date() == today else "%Y-%m-%d %H:%M")


def _read_holder(path: Path) -> Holder:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Holder()
    if not isinstance(data, dict):
        return Holder()
    pid = data.get("pid")
    return Holder(
        run_id=str(data.get("run_id") or ""),
        kind=str(data.get("kind") or ""),
        web_url=str(data.get("web_url") or ""),
        started=str(data.get("started") or ""),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
    )


def busy_message(holder: Holder, web_url: str, *, wanted: str | None = None) -> str:
    """The refusal: which run is running, against which Halo, since when, and what to do.

    `wanted` is the run the refused call wanted to resume, if any: when it is the running one,
    the message says that this very run is still running.
    """
    address = holder.web_url or web_url or "this Halo"
    since = _local_time(holder.started)
    started = f" (started {since})" if since else ""
    if wanted and holder.run_id == wanted:
        return (
            f"Run {wanted} is still running against {address}{started}; it cannot be resumed "
            "while it runs. Wait for it to finish, or stop it (Cancel in its window, Ctrl-C in "
            "its terminal) and then resume it."
        )
    who = f"Run {holder.run_id}" if holder.run_id else "Another run"
    if holder.kind == "undo" and holder.run_id:
        who = f"Undo run {holder.run_id}"
    return (
        f"{who} is running against {address}{started}; wait for it or stop it (Cancel in its "
        "window, Ctrl-C in its terminal), then try again."
    )


class RunLock:
    """An exclusive run lock on one Halo address, held until `release` (or process death)."""

    def __init__(
        self, fd: int, path: Path, info_path: Path, holder: Holder, *, journals_dir: Path
    ) -> None:
        self._fd: int | None = fd
        self.journals_dir = journals_dir
        self.path = path
        self.info_path = info_path
        self.holder = holder

    @classmethod
    def acquire(
        cls, paths: AppPaths, web_url: str, *, kind: str, run_id: str | None = None
    ) -> RunLock:
        """Take the lock for `web_url`, or refuse naming the run that holds it. Blocking.

        Raises:
            RunLockedError: another run against the same Halo holds it.
            LocalError(FOLDER_NOT_WRITABLE | DISK_FULL): the lock file cannot be written.
        """
        folder = locks_dir(paths)
        key = lock_key(web_url)
        path, info_path = folder / f"{key}.lock", folder / f"{key}.json"
        try:
            ensure_private_dir(folder)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        except OSError as exc:
            raise folder_error(folder, exc, what="state") from None
        if not _try_lock(fd):
            os.close(fd)
            holder = _read_holder(info_path)
            wanted = run_id if kind == "resume" else None
            raise RunLockedError(busy_message(holder, web_url, wanted=wanted), holder)
        holder = Holder(
            run_id=run_id or "",
            kind=kind,
            web_url=web_url,
            started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            pid=os.getpid(),
        )
        lock = cls(fd, path, info_path, holder, journals_dir=paths.journals_dir)
        try:
            lock._write_info()
        except OSError as exc:
            lock.release()
            raise folder_error(folder, exc, what="state") from None
        return lock

    def _write_info(self) -> None:
        data = {
            "run_id": self.holder.run_id,
            "kind": self.holder.kind,
            "web_url": self.holder.web_url,
            "started": self.holder.started,
            "pid": self.holder.pid,
        }
        write_atomic(self.info_path, json.dumps(data))

    def note_run_id(self, run_id: str) -> None:
        """Record the run id once it is chosen, so a refused run can name this one. Blocking."""
        self.holder = Holder(
            run_id=run_id,
            kind=self.holder.kind,
            web_url=self.holder.web_url,
            started=self.holder.started,
            pid=self.holder.pid,
        )
        with contextlib.suppress(OSError):  # naming is a courtesy; the lock itself holds
            self._write_info()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock (closing the file releases it). Idempotent; never raises."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_CURRENT: contextvars.ContextVar[RunLock | None] = contextvars.ContextVar(
    "halo_paylink_run_lock", default=None
)


def note_run_id(run_id: str) -> None:
    """Tell the lock the current entry point holds which run it is (no-op without a lock).

    Blocking but instant (one small atomic file write). For a resume, also refuses when that
    run's journal is being written by another process (one that holds no run lock, e.g. an
    older version of the app).

    Raises:
        RunLockedError: the run being resumed is still running.
    """
    lock = _CURRENT.get()
    if lock is None:
        return
    lock.note_run_id(run_id)
    if lock.holder.kind == "resume" and is_locked(journal_path(lock.journals_dir, run_id)):
        holder = Holder(run_id=run_id, kind="backfill", web_url=lock.holder.web_url)
        raise RunLockedError(busy_message(holder, lock.holder.web_url, wanted=run_id), holder)


async def _acquire(paths: AppPaths, web_url: str, *, kind: str, run_id: str | None) -> RunLock:
    """`RunLock.acquire` in a worker thread; a lock taken after the caller was cancelled is
    released at once rather than held until the process ends."""
    future = asyncio.ensure_future(
        asyncio.to_thread(RunLock.acquire, paths, web_url, kind=kind, run_id=run_id)
    )
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(_release_result)
        raise


def _release_result(future: asyncio.Future[RunLock]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().release()


def exclusive_run(kind: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate a run entry point `f(client, ..., paths, ..., run_id=...)`: pre-flight the local
    folders, then hold the run lock for `client`'s Halo while `f` runs.

    The entry point's `client` and `paths` arguments are found by name. A refusal names the run
    that holds the lock; when the run being resumed is itself the one running, it says so.

    Raises (besides whatever `f` raises):
        RunLockedError: another run against the same Halo is running.
        LocalError(FOLDER_NOT_WRITABLE | DISK_FULL): the pre-flight failed; nothing was written.
    """

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        async def entry(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            client: InvoiceSource = bound.arguments["client"]
            paths: AppPaths = bound.arguments["paths"]
            # An undo's `run_id` is the run it undoes, not its own: only a resume is known yet.
            run_id = (bound.arguments.get("run_id") or None) if kind == "resume" else None
            web_url = web_url_of(client)
            await asyncio.to_thread(check_folders, paths)
            lock = await _acquire(paths, web_url, kind=kind, run_id=run_id)
            try:
                token = _CURRENT.set(lock)
                try:
                    return await func(*args, **kwargs)
                finally:
                    _CURRENT.reset(token)
            finally:
                lock.release()

        return entry

    return decorate
