"""The run journal: an append-only JSON Lines file that makes a backfill crash-safe.

One file per run, `AppPaths.journals_dir/<run_id>.jsonl`, owner-only. Records, in order:

- `header`  once: what the run does (target, template, numbering, overwrite, Halo address).
- `skip`    an invoice left alone, with the reason (conflicts included).
- `intent`  BEFORE a write is sent: invoice id, old value, new value, batch number. Intents of one
            batch are appended together and fsynced before the POST leaves.
- `outcome` AFTER the answer: written / failed (Halo refused this invoice) / not_written (the run
            stopped and Halo certainly did not apply it), plus a reason.
- `resume`  each time a run is resumed.
- `footer`  when an attempt ends (completed, cancelled, or a named failure). A later `resume`
            supersedes it.

An intent without an outcome means "unknown whether Halo applied it": resume re-reads that invoice
and decides again. A torn last line (the process was killed mid-write) is tolerated on reading and
cut off before appending. Nothing secret is ever written here (no tokens, no client secret).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halo_paylink.storage.atomic import PRIVATE_FILE_MODE, chmod_quietly, ensure_private_dir

JOURNAL_VERSION = 1
JOURNAL_SUFFIX = ".jsonl"


class JournalError(Exception):
    """The journal cannot be read (corrupt in the middle, not a journal, wrong version)."""


class RunKind(enum.Enum):
    BACKFILL = "backfill"
    UNDO = "undo"


class OutcomeStatus(enum.Enum):
    WRITTEN = "written"
    FAILED = "failed"  # Halo refused this invoice; the run went on
    NOT_WRITTEN = "not_written"  # the run stopped before/while sending; Halo did not apply it


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Header:
    run_id: str
    kind: RunKind
    started: str
    web_url: str
    target: str
    template: str
    numbering: str
    overwrite: bool
    profile: str | None = None
    server_filter: bool = True
    undo_of: str | None = None
    version: int = JOURNAL_VERSION


@dataclass(frozen=True)
class Skip:
    id: int
    reason: str
    number: str = ""
    client: str = ""
    old: Any = None
    new: str | None = None


@dataclass(frozen=True)
class Intent:
    id: int
    batch: int
    old: Any
    new: str | None
    number: str = ""
    client: str = ""


@dataclass(frozen=True)
class Outcome:
    id: int
    batch: int
    status: OutcomeStatus
    reason: str = ""
    recovered: bool = False  # confirmed on resume by re-reading the invoice


@dataclass(frozen=True)
class Resume:
    at: str


@dataclass(frozen=True)
class Footer:
    outcome: str
    finished: str
    detail: str = ""


Record = Header | Skip | Intent | Outcome | Resume | Footer

_TAGS: dict[type, str] = {
    Header: "header",
    Skip: "skip",
    Intent: "intent",
    Outcome: "outcome",
    Resume: "resume",
    Footer: "footer",
}


#: One encoder for every record: `json.dumps` with options builds a new encoder per call, which
#: costs more than encoding a small record. Stateless, so sharing it is safe across threads.
_TO_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(record: Record) -> bytes:
    data: dict[str, Any] = {"t": _TAGS[type(record)]}
    # vars() rather than asdict(): records hold only flat values, and this runs for every invoice.
    for key, value in vars(record).items():
        data[key] = value.value if isinstance(value, enum.Enum) else value
    return (_TO_JSON(data) + "\n").encode("utf-8")


def encode_all(records: Iterable[Record]) -> bytes:
    """The JSON Lines bytes of `records`, in order (what `JournalWriter.write` takes)."""
    return b"".join(encode(r) for r in records)


def decode(data: dict[str, Any]) -> Record:
    tag = data.pop("t", None)
    try:
        if tag == "header":
            if data.get("version") != JOURNAL_VERSION:
                raise JournalError(f"unsupported journal version {data.get('version')!r}")
            data["kind"] = RunKind(data["kind"])
            return Header(**data)
        if tag == "skip":
            return Skip(**data)
        if tag == "intent":
            return Intent(**data)
        if tag == "outcome":
            data["status"] = OutcomeStatus(data["status"])
            return Outcome(**data)
        if tag == "resume":
            return Resume(**data)
        if tag == "footer":
            return Footer(**data)
    except (TypeError, ValueError, KeyError) as exc:
        raise JournalError(f"bad {tag} record: {exc}") from exc
    raise JournalError(f"unknown record type {tag!r}")


def journal_path(journals_dir: Path, run_id: str) -> Path:
    return journals_dir / f"{run_id}{JOURNAL_SUFFIX}"


def read_records(path: Path) -> Iterator[Record]:
    """Stream a journal's records, tolerating a torn (unterminated, unparsable) last line.

    Raises:
        JournalError: a damaged line before the end, or the first record is not a header.
        OSError: the file cannot be read.
    """
    first = True
    with open(path, "rb") as handle:
        pending: bytes | None = None
        for line in handle:
            if pending is not None:
                # A line that did not parse, followed by more lines: real damage, not a torn tail.
                raise JournalError(f"{path.name}: damaged record in the middle of the journal")
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except ValueError:
                pending = line
                continue
            record = decode(data)
            if first and not isinstance(record, Header):
                raise JournalError(f"{path.name}: does not start with a header")
            first = False
            yield record
        if first:
            raise JournalError(f"{path.name}: empty journal")


def read_header(path: Path) -> Header:
    for record in read_records(path):
        assert isinstance(record, Header)
        return record
    raise JournalError(f"{path.name}: empty journal")  # pragma: no cover (read_records raises)


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (and add a missing newline) so appends start on a clean line."""
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        # Find the start of the last line.
        chunk = 4096
        pos = size
        tail = b""
        while pos > 0:
            step = min(chunk, pos)
            pos -= step
            handle.seek(pos)
            tail = handle.read(step) + tail
            cut = tail.rfind(b"\n", 0, len(tail) - 1)
            if cut >= 0:
                start = pos + cut + 1
                break
        else:
            start = 0
        handle.seek(start)
        last = handle.read()
        try:
            complete = isinstance(json.loads(last), dict)
        except ValueError:
            complete = False
        if last.endswith(b"\n"):
            if not complete and last.strip():
                # A whole line that does not parse is damage, not a torn write: refuse to append.
                raise JournalError(f"{path.name}: the last record is damaged")
        elif complete:
            handle.seek(0, os.SEEK_END)
            handle.write(b"\n")
        else:
            handle.truncate(start)  # torn by a kill or power loss mid-write
        handle.flush()
        os.fsync(handle.fileno())


def _lock_exclusive(handle: Any) -> None:
    """Hold an exclusive advisory lock on the journal while a run writes it, so two processes
    can never resume the same run at once. The OS drops it when the process dies (even kill -9).
    POSIX only; on Windows nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def is_locked(path: Path) -> bool:
    """True when some process is writing this journal right now (POSIX; False elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        return False
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


class JournalWriter:
    """Appends records durably.

    `append(records, sync=True)` returns only after the data is on disk (fsync), which is what makes
    "intent before write" hold across a crash or power loss. The runner splits that in two so the
    event loop never waits on the disk: `write` (a plain write to the OS, microseconds; call it
    from one thread at a time, the loop thread) and then `sync` (the fsync, in a worker thread).
    Bytes written before `sync` starts are on disk when it returns. `write` never waits for a
    `sync` in progress; `close` waits for both.
    """

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        self._lock = threading.Lock()  # guards writes
        self._sync_lock = threading.Lock()  # guards fsync, so close never races it
        self._closed = False
        ensure_private_dir(path.parent)
        if create:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
            os.close(fd)
            chmod_quietly(path, PRIVATE_FILE_MODE)
        else:
            if not path.exists():
                raise JournalError(f"no journal at {path}")
            _repair_tail(path)
        # Unbuffered: every write goes to the OS at once (a killed process loses nothing written).
        self._handle = open(path, "ab", buffering=0)  # noqa: SIM115 (kept open; see close())
        try:
            _lock_exclusive(self._handle)
        except BlockingIOError:
            self._handle.close()
            raise JournalError(
                f"run {path.stem} is in progress in another window or process"
            ) from None

    def write(self, payload: bytes) -> None:
        """Hand `payload` (from `encode_all`) to the OS, without fsync."""
        if not payload:
            return
        view = memoryview(payload)
        with self._lock:
            fd = self._handle.fileno()
            while view:
                view = view[os.write(fd, view) :]

    def sync(self) -> None:
        """fsync: everything written so far is on disk when this returns. Blocking."""
        with self._sync_lock:
            if not self._closed:
                os.fsync(self._handle.fileno())

    def append(self, records: Iterable[Record], *, sync: bool = True) -> None:
        self.write(encode_all(records))
        if sync:
            self.sync()

    def close(self) -> None:
        with self._sync_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                os.fsync(self._handle.fileno())
            with contextlib.suppress(OSError):
                self._handle.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
