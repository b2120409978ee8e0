"""Local pre-flight: can the app write the files a run needs, before anything is sent to Halo?

A backfill that could not write its journal, its report or its log would either stop half-way
or write to Halo without a record to resume or undo from. `check_folders` finds that out first:
it creates each folder (owner-only), creates, writes, fsyncs and removes a small probe file in
it, and checks the free space on its disk. Every failure becomes a `LocalError`
(`FOLDER_NOT_WRITABLE`, `DISK_FULL`) that names the folder and says what to do; never a bare
`OSError`. Blocking: call from a worker thread in the GUI (`asyncio.to_thread`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.storage.atomic import PRIVATE_FILE_MODE, ensure_private_dir
from halo_paylink.storage.paths import AppPaths

#: Below this much free space a run refuses to start: a large run's journal and report take a few
#: megabytes, and a disk that fills mid-run leaves a run that stopped on a local error.
MIN_FREE_BYTES = 32 * 1024 * 1024
#: What the probe writes: enough to need a real block on disk, small enough to be instant.
_PROBE_BYTES = b"halo-paylink write check\n" * 160

_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_READ_ONLY = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def folder_error(folder: Path, exc: OSError, *, what: str = "") -> LocalError:
    """The `LocalError` for an `OSError` met while writing in `folder` (no secret in it)."""
    label = f"The {what} folder" if what else "The folder"
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _FULL:
        return LocalError(ErrorKind.DISK_FULL, f"{label} {folder} could not be written: {reason}.")
    if exc.errno == errno.EROFS:
        hint = "its disk is mounted read-only"
    elif exc.errno in _READ_ONLY:
        hint = "your user may not write there"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        hint = "a file of that name is in the way"
    else:
        hint = reason
    return LocalError(
        ErrorKind.FOLDER_NOT_WRITABLE, f"{label} {folder} cannot be written ({hint}: {reason})."
    )


def _probe(folder: Path) -> None:
    """Create, write, fsync and remove a small file in `folder`. Raises OSError."""
    probe = folder / f".write-check-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        view = memoryview(_PROBE_BYTES)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)


def check_folder(folder: Path, *, what: str = "", min_free: int = MIN_FREE_BYTES) -> None:
    """Create `folder` if needed and prove it writable, with at least `min_free` bytes free.

    Raises:
        LocalError(FOLDER_NOT_WRITABLE | DISK_FULL): naming the folder and what to do.
    """
    try:
        ensure_private_dir(folder)
        _probe(folder)
    except OSError as exc:
        raise folder_error(folder, exc, what=what) from None
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # the space cannot be measured (some network file systems): the probe passed
        return
    if free < min_free:
        raise LocalError(
            ErrorKind.DISK_FULL,
            f"Only {free // (1024 * 1024)} MB are free on the disk holding {folder}; a run needs "
            f"at least {min_free // (1024 * 1024)} MB.",
        )


def run_folders(paths: AppPaths, *, journals: bool = True) -> list[tuple[Path, str]]:
    """The folders a run writes to, each with the name used in messages."""
    folders = [(paths.reports_dir, "reports"), (paths.log_dir, "log")]
    if journals:
        folders.insert(0, (paths.journals_dir, "run journals"))
    return folders


def check_folders(
    paths: AppPaths, *, journals: bool = True, min_free: int = MIN_FREE_BYTES
) -> None:
    """Pre-flight for a run: every folder it writes is writable and has room. Blocking.

    Args:
        paths: the app folders.
        journals: also check the journals folder (a dry run writes no journal).
        min_free: the least free space accepted on each folder's disk.

    Raises:
        LocalError(FOLDER_NOT_WRITABLE | DISK_FULL): the first folder that fails.
    """
    check_each(run_folders(paths, journals=journals), min_free=min_free)


def check_each(folders: Iterable[tuple[Path, str]], *, min_free: int = MIN_FREE_BYTES) -> None:
    for folder, what in folders:
        check_folder(folder, what=what, min_free=min_free)
