"""Crash-safe, owner-only file writes.

A reader sees either the old file or the new one, never a half-written file: data goes to a
temporary file in the same folder, is flushed to disk, then renamed over the target with
`os.replace` (atomic on POSIX and Windows when both are on one volume, which the same folder
guarantees).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Owner-only permissions for folders and files we create.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _posix() -> bool:
    # Windows only maps chmod to the read-only flag; its ACLs already keep user profiles private.
    return os.name != "nt"


def chmod_quietly(path: str | os.PathLike[str], mode: int) -> None:
    """Set `mode` on POSIX; do nothing on Windows or on file systems that refuse (e.g. FAT, SMB)."""
    if not _posix():
        return
    with contextlib.suppress(NotImplementedError, PermissionError, OSError):
        os.chmod(path, mode)


def ensure_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` (and missing parents) and make the folder itself owner-only (0700).

    Parents that already exist keep their permissions (they may be shared, like `~/.config`).
    """
    folder = Path(path)
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    chmod_quietly(folder, PRIVATE_DIR_MODE)
    return folder


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; directories cannot be opened this way on Windows.
    if not _posix():
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(
    path: str | os.PathLike[str], data: bytes | str, *, mode: int = PRIVATE_FILE_MODE
) -> None:
    """Replace the file at `path` with `data`, atomically and with permissions `mode`.

    `str` data is written as UTF-8. The parent folder is created (owner-only) when missing. The
    temporary file is created owner-only from the start, so the data is never readable by others,
    not even for a moment. If anything fails before the rename, the old file is untouched and the
    temporary file is removed. Blocking: call from a worker thread/executor in the GUI.

    Raises:
        OSError: when the file cannot be written (disk full, permission denied, ...).
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    folder = target.parent
    if not folder.exists():
        ensure_private_dir(folder)
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        chmod_quietly(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_dir(folder)
