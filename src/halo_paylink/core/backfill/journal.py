"""The run journal: an append-only JSON Lines file that makes a backfill crash-safe.

One file per run, `AppPaths.journals_dir/<run_id>.jsonl`, owner-only, one JSON object per line
with its type in `"t"`. Invoices are journaled in groups (a batch, or the skips of a page or so),
each item a JSON array whose columns are listed below. Records, in order:

- `header`   once: what the run does (target, template, numbering, overwrite, Halo address,
             journal version).
- `skips`    invoices left alone: `{"t":"skips","items":[[id, reason, number, client, old, new],
             ...]}`; `reason` is a `SkipReason` value (conflicts included); `old` is the target's
             value as Halo sent it, `new` the link it would have got (or null).
- `odd`      rows of the listing without a usable invoice id, skipped as unreadable:
             `{"t":"odd","items":[[key, number, client, detail], ...]}`; `key` names the row
             (its id and number as Halo sent them) so a resumed run counts it once.
- `intents`  BEFORE a batch is sent: `{"t":"intents","batch":N,"items":[[id, old, new, number,
             client], ...]}`, one record per batch (POST), fsynced before the POST leaves.
- `outcomes` AFTER Halo answered (or the run stopped): `{"t":"outcomes","batch":N,
             "written":[id, ...],"failed":[[id, reason], ...],"not_written":[[id, reason], ...]}`
             (empty lists are left out). `written`: Halo saved it; `failed`: Halo refused this
             invoice and the run went on; `not_written`: the run stopped and Halo certainly did
             not apply it. With `"recovered":true` (and batch 0) the outcomes were settled while
             resuming, by re-reading invoices whose earlier write had no recorded outcome. A batch
             that is bisected after a rejection may get several `outcomes` records.
- `resume`   each time a run is resumed.
- `footer`   when an attempt ends (completed, cancelled, or a named failure). A later `resume`
             supersedes it.

An intent without an outcome means "unknown whether Halo applied it": resume re-reads that invoice
and decides again. A torn last line (the process was killed mid-write) is tolerated on reading and
cut off before appending; since a batch's intents are one line, a torn `intents` line is a batch
that was never sent. Nothing secret is ever written here (no tokens, no client secret).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from halo_paylink.storage.atomic import PRIVATE_FILE_MODE, chmod_quietly, ensure_private_dir

JOURNAL_VERSION = 2  # 2: invoices journaled per batch/group
JOURNAL_SUFFIX = ".jsonl"


class JournalError(Exception):
    """The journal cannot be read (corrupt in the middle, not a journal, wrong version).

    Attributes:
        line: the 1-based line of the journal at fault, when one is.
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class JournalLost(JournalError, OSError):
    """The journal file was deleted (or replaced) while the run was writing it.

    Writing on would record into a file nobody can read again, so resume and undo would be
    blind: the run must stop as a local error. An `OSError` too, so every place that handles
    a failing journal write as a local problem handles this one the same way.
    """


class RunKind(enum.Enum):
    BACKFILL = "backfill"
    UNDO = "undo"


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
    pilot: bool = False  # a pilot: one invoice written before the first bulk write
    version: int = JOURNAL_VERSION


class Skip(NamedTuple):
    """One invoice left alone: an item of a `Skips` record (a JSON array in that order)."""

    id: int
    reason: str
    number: str = ""
    client: str = ""
    old: Any = None
    new: str | None = None
    detail: str = ""  # for an unreadable record: what is wrong with it


class Oddity(NamedTuple):
    """A listed row without a usable invoice id: an item of an `Oddities` record."""

    key: str
    number: str = ""
    client: str = ""
    detail: str = ""


class Intent(NamedTuple):
    """One invoice about to be written: an item of an `Intents` record."""

    id: int
    old: Any
    new: str | None
    number: str = ""
    client: str = ""


class Failure(NamedTuple):
    """An invoice that was not written, and why: an item of `Outcomes.failed`/`not_written`."""

    id: int
    reason: str


@dataclass(frozen=True)
class Skips:
    items: Sequence[Skip]


@dataclass(frozen=True)
class Oddities:
    items: Sequence[Oddity]


@dataclass(frozen=True)
class Intents:
    batch: int
    items: Sequence[Intent]


@dataclass(frozen=True)
class Outcomes:
    """What became of (part of) a batch; see the module docstring."""

    batch: int
    written: Sequence[int] = ()
    failed: Sequence[Failure] = ()  # Halo refused these invoices; the run went on
    not_written: Sequence[Failure] = ()  # the run stopped; Halo certainly did not apply these
    recovered: bool = False  # settled on resume by re-reading the invoices (batch 0)

    def __len__(self) -> int:
        return len(self.written) + len(self.failed) + len(self.not_written)


@dataclass(frozen=True)
class Resume:
    at: str


@dataclass(frozen=True)
class Footer:
    outcome: str
    finished: str
    detail: str = ""


Record = Header | Skips | Oddities | Intents | Outcomes | Resume | Footer


#: One encoder for every record: `json.dumps` with options builds a new encoder per call. The C
#: encoder writes tuples (so the NamedTuple items) as arrays. Stateless, so shared across threads.
_TO_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(record: Record) -> bytes:
    """One record as a JSON line (UTF-8, newline-terminated)."""
    data: dict[str, Any]
    if isinstance(record, Skips):
        data = {"t": "skips", "items": record.items}
    elif isinstance(record, Oddities):
        data = {"t": "odd", "items": record.items}
    elif isinstance(record, Intents):
        data = {"t": "intents", "batch": record.batch, "items": record.items}
    elif isinstance(record, Outcomes):
        data = {"t": "outcomes", "batch": record.batch}
        for key in ("written", "failed", "not_written"):
            value = getattr(record, key)
            if value:
                data[key] = value
        if record.recovered:
            data["recovered"] = True
    else:
        data = {"t": _TAGS[type(record)]}
        for key, value in vars(record).items():
            data[key] = value.value if isinstance(value, enum.Enum) else value
    return (_TO_JSON(data) + "\n").encode("utf-8")


_TAGS: dict[type, str] = {Header: "header", Resume: "resume", Footer: "footer"}


def encode_all(records: Iterable[Record]) -> bytes:
    """The JSON Lines bytes of `records`, in order (what `JournalWriter.write` takes)."""
    return b"".join(encode(r) for r in records)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"not an invoice id: {value!r}")
    return value


def _rows(value: Any) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError("expected a list of arrays")
    return value


def _failures(value: Any) -> tuple[Failure, ...]:
    return tuple(Failure(_int(i), str(reason)) for i, reason in _rows(value))


def decode(data: dict[str, Any]) -> Record:
    """The record a parsed JSON line holds. Raises JournalError for anything malformed."""
    tag = data.pop("t", None)
    try:
        if tag == "header":
            if data.get("version") != JOURNAL_VERSION:
                raise JournalError(f"unsupported journal version {data.get('version')!r}")
            data["kind"] = RunKind(data["kind"])
            return Header(**data)
        if tag == "skips":
            items = tuple(Skip(*row) for row in _rows(data["items"]))
            for item in items:
                _int(item.id)
            return Skips(items)
        if tag == "odd":
            return Oddities(
                tuple(Oddity(*(str(cell) for cell in row)) for row in _rows(data["items"]))
            )
        if tag == "intents":
            intents = tuple(Intent(*row) for row in _rows(data["items"]))
            for intent in intents:
                _int(intent.id)
            return Intents(_int(data["batch"]), intents)
        if tag == "outcomes":
            return Outcomes(
                batch=_int(data["batch"]),
                written=tuple(_int(i) for i in data.get("written", ())),
                failed=_failures(data.get("failed", [])),
                not_written=_failures(data.get("not_written", [])),
                recovered=bool(data.get("recovered", False)),
            )
        if tag == "resume":
            return Resume(**data)
        if tag == "footer":
            return Footer(**data)
    except (TypeError, ValueError, KeyError) as exc:
        raise JournalError(f"bad {tag} record: {exc}") from exc
    raise JournalError(f"unknown record type {tag!r}")


#: The shape `model.new_run_id` makes: UTC date-time to the millisecond, then 4 hex digits.
RUN_ID_PATTERN = re.compile(r"\d{8}-\d{6}-\d{3}[0-9a-f]{4}")


def is_run_id(text: object) -> bool:
    """True for a run id as `new_run_id` makes them; nothing else can name a journal (so a
    run id from the command line or a journal can never reach outside the runs folder)."""
    return isinstance(text, str) and RUN_ID_PATTERN.fullmatch(text) is not None


def journal_path(journals_dir: Path, run_id: str) -> Path:
    """The journal of `run_id`, always directly inside `journals_dir`.

    Raises:
        JournalError: `run_id` is not a run id (a path, `..`, separators, anything else).
    """
    if not is_run_id(run_id):
        raise JournalError(
            f"{run_id!r} is not a run id (they look like 20261201-081200-123abcd; see "
            "`halo-paylink runs`)"
        )
    return journals_dir / f"{run_id}{JOURNAL_SUFFIX}"


def read_records(path: Path) -> Iterator[Record]:
    """Stream a journal's records, tolerating a torn (unterminated, unparsable) last line.

    Raises:
        JournalError: a damaged line before the end, or the first record is not a header.
        OSError: the file cannot be read.
    """
    first = True
    with open(path, "rb") as handle:
        pending: int | None = None  # the number of a line that did not parse
        for number, line in enumerate(handle, start=1):
            if pending is not None:
                # A line that did not parse, followed by more lines: real damage, not a torn tail.
                raise JournalError(
                    f"{path.name}: damaged record at line {pending}, in the middle of the journal",
                    line=pending,
                )
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except (ValueError, RecursionError):
                pending = number
                continue
            try:
                record = decode(data)
            except JournalError as exc:
                raise JournalError(f"{path.name}: line {number}: {exc}", line=number) from None
            if first and not isinstance(record, Header):
                raise JournalError(f"{path.name}: does not start with a header", line=number)
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
        """fsync: everything written so far is on disk when this returns. Blocking.

        Raises:
            JournalLost: the journal's file was deleted or replaced since it was opened (the
                data went to a file no one can read again).
            OSError: the disk refused (full, failing).
        """
        with self._sync_lock:
            if not self._closed:
                fd = self._handle.fileno()
                os.fsync(fd)
                self._check_still_there(fd)

    def _check_still_there(self, fd: int) -> None:
        """Raise JournalLost when the open file is no longer the one at `self.path`."""
        mine = os.fstat(fd)
        if mine.st_nlink == 0:
            raise JournalLost(f"the run journal {self.path} was deleted while the run wrote it")
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            raise JournalLost(
                f"the run journal {self.path} was moved or deleted while the run wrote it"
            ) from None
        if (
            mine.st_ino
            and named.st_ino
            and (mine.st_ino, mine.st_dev)
            != (
                named.st_ino,
                named.st_dev,
            )
        ):
            raise JournalLost(
                f"the run journal {self.path} was replaced by another file while the run wrote it"
            )

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
