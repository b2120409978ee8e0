"""The app's log: a rotating file in `AppPaths.log_dir`, with every secret masked.

Redaction is attached to our *handlers* (as `RedactingFilter` plus `RedactingFormatter`), not to a
logger: a logger's filters do not see records that propagate from child loggers such as `httpx`, but
a handler's filters see every record it writes. Tracebacks are formatted and redacted before they
reach the file.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from types import TracebackType
from typing import TextIO

from halo_paylink.redact import redact, register_secret
from halo_paylink.storage.atomic import PRIVATE_FILE_MODE, chmod_quietly, ensure_private_dir
from halo_paylink.storage.paths import AppPaths

__all__ = [
    "LOG_FORMAT",
    "RedactingFilter",
    "RedactingFormatter",
    "register_secret",
    "setup_logging",
    "shutdown_logging",
]

LOG_FORMAT = "%(asctime)s %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
#: Marks the handlers `setup_logging` installed, so a second call replaces rather than duplicates.
_OURS = "_halo_paylink_handler"


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments, traceback and stack (see `redact`).

    The message is rendered once (`msg % args`) and replaced by its redacted text; a traceback is
    formatted now and stored redacted in `exc_text`, which formatters use instead of re-formatting.
    Never drops a record. Any thread.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the record; log what we have
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose final text is redacted once more (belt and braces for custom fields)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens every log file (also after a rollover) owner-only."""

    def _open(self):  # type: ignore[no-untyped-def]
        stream = super()._open()
        chmod_quietly(self.baseFilename, PRIVATE_FILE_MODE)
        return stream


def _make_handler(handler: logging.Handler, level: int) -> logging.Handler:
    handler.setLevel(level)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter())
    setattr(handler, _OURS, True)
    return handler


def shutdown_logging(logger: logging.Logger | None = None) -> None:
    """Remove and close the handlers `setup_logging` installed on `logger` (default: root)."""
    target = logger or logging.getLogger()
    for handler in list(target.handlers):
        if getattr(handler, _OURS, False):
            target.removeHandler(handler)
            handler.close()


def setup_logging(
    paths: AppPaths,
    *,
    level: int = logging.INFO,
    console: TextIO | None = None,
    console_level: int = logging.WARNING,
    logger: logging.Logger | None = None,
) -> None:
    """Log to `paths.log_file` (1 MB x 5 rotating, owner-only), redacted. Idempotent.

    Call once at start-up (main thread). A second call replaces the handlers of the first.

    Args:
        paths: where the log folder is (created 0700 when missing).
        level: the lowest level written to the file.
        console: also write to this stream (e.g. `sys.stderr` for the CLI), redacted too.
        console_level: the lowest level written to `console`.
        logger: the logger to attach to (default: the root logger, which `httpx` propagates to).
    """
    target = logger or logging.getLogger()
    shutdown_logging(target)
    ensure_private_dir(paths.log_dir)
    file_handler = _PrivateRotatingFileHandler(
        paths.log_file, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    target.addHandler(_make_handler(file_handler, level))
    if console is not None:
        target.addHandler(_make_handler(logging.StreamHandler(console), console_level))
    lowest = min(level, console_level) if console is not None else level
    if target.level == logging.NOTSET or target.level > lowest:
        target.setLevel(lowest)
    # httpcore's DEBUG output is a byte-level trace of every request; it adds nothing for users.
    logging.getLogger("httpcore").setLevel(max(logging.INFO, level))
    logging.captureWarnings(True)


def log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """A `sys.excepthook`: logs the crash and prints it to stderr, both redacted."""
    logging.getLogger("halo_paylink").critical("Uncaught exception", exc_info=(exc_type, exc, tb))
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(redact(text))
