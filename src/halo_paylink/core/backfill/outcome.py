"""Named outcomes and counts of a backfill (or undo) run."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from halo_paylink.errors import ErrorCategory, ErrorKind, HaloError


class RunOutcome(enum.Enum):
    """How a run (or one attempt of it) ended. Values are stable: journals and `--json` use them."""

    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"  # Halo refused some invoices
    PLANNED = "planned"  # a dry run
    CANCELLED = "cancelled"
    # Halo's listing could not be shown consistent (rows shifted, repeated or missing between
    # page reads, even after re-reading): some open invoices may not have been seen.
    INCOMPLETE = "incomplete"
    INTERRUPTED = "interrupted"  # no footer: the process died (listing only)
    NETWORK_ERROR = "network_error"
    AUTH_FAILED = "auth_failed"
    PERMISSION_DENIED = "permission_denied"
    EDIT_POSTED_FORBIDDEN = "edit_posted_forbidden"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    MALFORMED_RESPONSE = "malformed_response"
    LOCAL_ERROR = "local_error"  # the journal or report could not be written
    INTERNAL_ERROR = "internal_error"

    @property
    def success(self) -> bool:
        return self in (RunOutcome.COMPLETED, RunOutcome.PLANNED)

    @property
    def resumable(self) -> bool:
        return self not in (
            RunOutcome.COMPLETED,
            RunOutcome.COMPLETED_WITH_FAILURES,
            RunOutcome.PLANNED,
        )

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]


_EXIT_CODES = {
    RunOutcome.COMPLETED: 0,
    RunOutcome.PLANNED: 0,
    RunOutcome.COMPLETED_WITH_FAILURES: 3,
    RunOutcome.CANCELLED: 4,
    RunOutcome.INCOMPLETE: 6,
    RunOutcome.INTERRUPTED: 5,
    RunOutcome.NETWORK_ERROR: 10,
    RunOutcome.AUTH_FAILED: 11,
    RunOutcome.PERMISSION_DENIED: 12,
    RunOutcome.EDIT_POSTED_FORBIDDEN: 13,
    RunOutcome.RATE_LIMITED: 14,
    RunOutcome.SERVER_ERROR: 15,
    RunOutcome.MALFORMED_RESPONSE: 16,
    RunOutcome.LOCAL_ERROR: 17,
    RunOutcome.INTERNAL_ERROR: 18,
}


def outcome_for_error(error: HaloError) -> RunOutcome:
    """The run outcome a Halo failure ends in."""
    if error.kind is ErrorKind.EDIT_POSTED_FORBIDDEN:
        return RunOutcome.EDIT_POSTED_FORBIDDEN
    if error.kind is ErrorKind.MALFORMED_RESPONSE:
        return RunOutcome.MALFORMED_RESPONSE
    category = error.kind.category
    if category in (ErrorCategory.CONNECTION, ErrorCategory.ADDRESS):
        return RunOutcome.NETWORK_ERROR
    if category is ErrorCategory.AUTHENTICATION:
        return RunOutcome.AUTH_FAILED
    if category is ErrorCategory.PERMISSION:
        return RunOutcome.PERMISSION_DENIED
    if category is ErrorCategory.RATE_LIMIT:
        return RunOutcome.RATE_LIMITED
    if category is ErrorCategory.SERVER:
        return RunOutcome.SERVER_ERROR
    if category is ErrorCategory.BAD_DATA:
        return RunOutcome.MALFORMED_RESPONSE
    return RunOutcome.LOCAL_ERROR


#: Failures after which Halo certainly did not apply the request (it was refused before saving,
#: or never sent). Anything else (dropped connection, timeout, 5xx, unreadable answer) may have
#: been applied, so the write stays "unknown" in the journal and resume re-reads the invoice.
DEFINITELY_NOT_APPLIED: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.BAD_ADDRESS,
        ErrorKind.INSECURE_ADDRESS,
        ErrorKind.DNS,
        ErrorKind.REFUSED,
        ErrorKind.TLS,
        ErrorKind.INVALID_TENANT,
        ErrorKind.INVALID_CLIENT_ID,
        ErrorKind.INVALID_SECRET,
        ErrorKind.UNAUTHORIZED,
        ErrorKind.MISSING_SCOPE,
        ErrorKind.AGENT_LACKS_INVOICE_PERMISSION,
        ErrorKind.FORBIDDEN,
        ErrorKind.EDIT_POSTED_FORBIDDEN,
        ErrorKind.RATE_LIMITED,
    }
)


def _frozen(mapping: Mapping[str, int] | None = None) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted((mapping or {}).items())))


@dataclass(frozen=True)
class Counts:
    """What a run did, per invoice.

    Attributes:
        seen: invoices decided (every other count adds up to this).
        written: links saved (including `overwritten`).
        overwritten: of those, invoices whose different link was replaced (overwrite on).
        failed: invoices Halo refused.
        conflicts: invoices holding a different link, left alone.
        skipped: per skip reason (value of `SkipReason`), conflicts excluded.
        unknown: writes sent whose result is not known yet (resume settles them).
        not_written: writes the run stopped before Halo applied (resume retries them).
    """

    seen: int = 0
    written: int = 0
    overwritten: int = 0
    failed: int = 0
    conflicts: int = 0
    skipped: Mapping[str, int] = field(default_factory=_frozen)
    unknown: int = 0
    not_written: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "written": self.written,
            "overwritten": self.overwritten,
            "failed": self.failed,
            "conflicts": self.conflicts,
            "skipped": dict(self.skipped),
            "skipped_total": self.skipped_total,
            "unknown": self.unknown,
            "not_written": self.not_written,
        }


def make_counts(
    *,
    written: int,
    overwritten: int,
    failed: int,
    conflicts: int,
    skipped: Mapping[str, int],
    unknown: int,
    not_written: int,
) -> Counts:
    seen = written + failed + conflicts + sum(skipped.values()) + unknown + not_written
    return Counts(
        seen=seen,
        written=written,
        overwritten=overwritten,
        failed=failed,
        conflicts=conflicts,
        skipped=_frozen(skipped),
        unknown=unknown,
        not_written=not_written,
    )
