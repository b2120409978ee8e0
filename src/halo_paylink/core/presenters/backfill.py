"""The Backfill and Done pages without widgets: the backfill's phases, what each one shows, and
the summary of what the assistant set up and changed.

`BackfillPresenter` owns the transitions of `WizardState.backfill` (`BackfillPhase`: idle →
planning → planned → running → cancelling → finished, cancelled or failed; finished → undoing →
undone; cancelled or failed → running again on Resume) and everything derived from them: which
buttons are enabled, the status and resume text, the live progress line, the counts breakdown,
the error banner and the log lines. The Qt page forwards clicks and task results here and
renders `BackfillPresenter.view()`; `done_summary` is what the Done page renders.

Nothing here imports Qt or does I/O. The backfill engine (`core.backfill`, which loads httpx) is
imported only where a job starts or a result the engine made is read, so the window still starts
without it; its types come in under `TYPE_CHECKING`. All of it is used on one thread (the GUI
thread, or a test's thread).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from halo_paylink.core.numbers import format_count, plural
from halo_paylink.core.wizard import (
    TOOL_LABELS,
    BackfillPhase,
    BackfillState,
    LinkState,
    WizardState,
    format_duration,
)

if TYPE_CHECKING:
    from halo_paylink.core.backfill import (
        CancelToken,
        Counts,
        PlannedChange,
        Progress,
        RunInfo,
        RunOptions,
        RunResult,
    )
    from halo_paylink.core.backfill.model import InvoiceSource
    from halo_paylink.storage.paths import AppPaths

#: Rows of the first-changes table.
TABLE_ROWS = 50

#: The busy indicator's text while a job runs.
BUSY_TEXT: dict[BackfillPhase, str] = {
    BackfillPhase.PLANNING: "Dry run: reading invoices…",
    BackfillPhase.RUNNING: "Adding payment links…",
    BackfillPhase.CANCELLING: "Stopping after the invoices being saved now…",
    BackfillPhase.UNDOING: "Undo: removing the Pay links…",
}

#: What Stop says it is doing, by what it stops (the phase the stop was asked in).
STOPPING_TEXT: dict[BackfillPhase, str] = {
    BackfillPhase.PLANNING: "Stopping the dry run (nothing has been written)…",
    BackfillPhase.RUNNING: "Stopping after the invoices being saved now…",
    BackfillPhase.UNDOING: "Stopping the undo after the invoices being restored now…",
}

#: The first line of the breakdown: a dry run's invoices to change, or a run's links saved.
WOULD_LINK_LABEL = "Would get a link"
SAVED_LABEL = "Link saved"
#: The first line of an undo's breakdown: invoices given back their value from before the run.
REMOVED_LABEL = "Pay link removed (previous value back)"
CONFLICT_LABEL = "Has a different link (left alone)"
REFUSED_LABEL = "Refused by Halo"
UNFINISHED_LABEL = "Unfinished (Resume finishes them)"


class Job(enum.Enum):
    """What the Backfill page runs. The value names the task (logs, `repr`)."""

    PLAN = "dry run"
    RUN = "backfill"
    RESUME = "resume"
    UNDO = "undo"

    @property
    def phase(self) -> BackfillPhase:
        """The phase while the job runs."""
        return _JOB_PHASES[self]

    @property
    def saves_profile(self) -> bool:
        """Whether the profile is saved once the job has a result (a real run)."""
        return self in (Job.RUN, Job.RESUME)


_JOB_PHASES = {
    Job.PLAN: BackfillPhase.PLANNING,
    Job.RUN: BackfillPhase.RUNNING,
    Job.RESUME: BackfillPhase.RUNNING,
    Job.UNDO: BackfillPhase.UNDOING,
}


@dataclass(frozen=True)
class JobRequest:
    """A job that may start now (`BackfillPresenter.request`); `run_id` is the run it resumes or
    undoes (None for a dry run or a new run)."""

    job: Job
    run_id: str | None = None


@dataclass(frozen=True)
class Problem:
    """What the error banner explains: `error` (the usual way for a Halo error), else `headline`
    and `detail` as they are."""

    headline: str = ""
    detail: str = ""
    error: BaseException | None = None


@dataclass(frozen=True)
class CountLine:
    """One line of the counts breakdown, e.g. ("Paid", 77)."""

    label: str
    count: int


@dataclass(frozen=True)
class ProgressView:
    """The live progress line: the bar's maximum and value, the rate and time left, the status."""

    maximum: int
    value: int
    rate: str
    status: str


@dataclass(frozen=True)
class BackfillView:
    """Everything the Backfill page shows, derived from the state.

    Attributes:
        status: the status line; None while a job runs (the live progress line stays).
        clear_rate: empty the rate line (the run finished).
        resume_text: the resume box's text; "" when the box is hidden.
        changes: the first-changes table, as (invoice, client, current link, new link).
        busy: the busy indicator's text; None when idle.
        problem: the error banner; None when there is none.
    """

    plan_enabled: bool
    plan_text: str
    commit_enabled: bool
    commit_text: str
    cancel_enabled: bool
    undo_enabled: bool
    resume_visible: bool
    resume_text: str
    counts: tuple[CountLine, ...]
    status: str | None
    clear_rate: bool
    report: str
    open_folder_enabled: bool
    save_csv_enabled: bool
    changes: tuple[tuple[str, str, str, str], ...]
    warnings: str
    busy: str | None
    problem: Problem | None


def breakdown(counts: Counts, *, planned: bool, undo: bool = False) -> tuple[CountLine, ...]:
    """The counts as the page lists them, by reason; the lines add up to `counts.seen`.

    `counts.written` leads: the invoices a dry run would change (`planned`), the links a run
    saved, or the links an `undo` removed (the previous value put back). Conflicts, refusals
    and unfinished writes are listed only when there are any; every skip reason the counts hold
    is listed, under its label.
    """
    from halo_paylink.core.backfill.selection import skip_label  # loaded: it made `counts`

    first = WOULD_LINK_LABEL if planned else REMOVED_LABEL if undo else SAVED_LABEL
    lines = {first: counts.written}
    if counts.conflicts:
        lines[CONFLICT_LABEL] = counts.conflicts
    for value, n in counts.skipped.items():
        label = skip_label(value)
        lines[label[:1].upper() + label[1:]] = n
    if counts.failed:
        lines[REFUSED_LABEL] = counts.failed
    if counts.unknown or counts.not_written:
        lines[UNFINISHED_LABEL] = counts.unknown + counts.not_written
    return tuple(CountLine(label, n) for label, n in lines.items())


@dataclass(frozen=True)
class Question:
    """A question asked before a bulk change in Halo (or before stopping one).

    Attributes:
        title: the dialog's title.
        text: the question, with the count and the Halo instance it changes.
        detail: what happens then, and how to take it back.
        accept: the button that goes ahead (with its mnemonic).
        reject: the button that leaves everything as it is.
    """

    title: str
    text: str
    detail: str
    accept: str
    reject: str


def halo_host(state: WizardState) -> str:
    """The Halo instance's host name as the admin knows it (e.g. "acme.halopsa.com")."""
    e = state.connect.endpoints
    address = (e.web_url if e else "") or state.connect.address.strip()
    host = urlsplit(address if "//" in address else f"//{address}").hostname
    return host or address or "this Halo"


def stop_question(state: WizardState) -> Question:
    """The question before closing the window mid-job: it names what is going on now."""
    b = state.backfill
    doing = b.stopping if b.phase is BackfillPhase.CANCELLING and b.stopping else b.phase
    host = halo_host(state)
    if doing is BackfillPhase.PLANNING:
        return Question(
            "Stop the dry run?",
            f"The dry run is reading the invoices on {host} right now (nothing is written).",
            "Stop it and close? Nothing was changed in Halo; run the dry run again the next "
            "time you open the assistant.",
            "&Stop and close",
            "&Keep reading",
        )
    if doing is BackfillPhase.UNDOING:
        return Question(
            "Stop the undo?",
            f"Pay links are being removed from the invoices on {host} right now (Undo).",
            "Stop after the invoices being restored now, and close? Nothing is lost: the "
            "links not yet removed stay, and you can undo again the next time you open the "
            "assistant.",
            "&Stop and close",
            "&Keep running",
        )
    return Question(
        "Stop the backfill?",
        f"Payment links are being added to the invoices on {host} right now.",
        "Stop after the invoices being saved now, and close? Nothing is lost: you can resume "
        "the run the next time you open the assistant.",
        "&Stop and close",
        "&Keep running",
    )


def outcome_headline(b: BackfillState) -> str:
    """One honest sentence for the Done page: what is true of the open invoices now."""
    if not b.complete:
        return "The assistant is set up; the backfill has not finished."
    from halo_paylink.core.backfill.selection import SkipReason  # loaded: it made the counts

    counts = b.counts
    left_alone = counts.conflicts if counts is not None else 0
    refused = counts.failed if counts is not None else 0
    unreadable = counts.skipped.get(SkipReason.UNREADABLE.value, 0) if counts is not None else 0
    if not left_alone and not refused and not unreadable:
        return "Every open invoice has a Pay link."
    exceptions = []
    if unreadable:
        exceptions.append(f"{plural(unreadable, 'record')} Halo sent that could not be read")
    if left_alone:
        exceptions.append(
            f"{format_count(left_alone)} that already had a different link (left alone)"
        )
    if refused:
        exceptions.append(f"{format_count(refused)} that Halo refused")
    return (
        "Every open invoice has a Pay link, except "
        + " and ".join(exceptions)
        + "; see the report."
    )


@dataclass(frozen=True)
class DoneSummary:
    """What the Done page shows: the headline (marked ✓ when the backfill is complete) and the
    summary's (label, value) rows."""

    headline: str
    rows: tuple[tuple[str, str], ...]


def done_summary(
    state: WizardState, *, profile_name: str, secret_location: str | None
) -> DoneSummary:
    """The Done page's summary of the profile and of what the backfill changed.

    `secret_location` is where the secret store keeps secrets, in words; None or "" when not
    known yet ("the keyring" is said then).
    """
    e = state.connect.endpoints
    a = state.application
    b = state.backfill
    where = secret_location or "the keyring"
    rows = [
        ("Profile", profile_name),
        ("Halo", e.web_url if e else state.connect.address),
        ("Instance", ("Halo-hosted" if e.hosted else "Self-hosted") if e else "—"),
        ("Tenant", state.connect.tenant or (e.tenant if e else "") or "—"),
        ("API application (client ID)", a.client_id or "—"),
        (
            "Client secret",
            f"kept in {where}" if a.remember and a.keyring_ok else "not saved (asked each time)",
        ),
        ("Accounting tool", TOOL_LABELS[state.link.tool]),
        ("Email template link", state.link.generated or "—"),
    ]
    changed = _changed_in_halo(b)
    rows.append(("Changed in Halo", changed))
    if b.report_path:
        rows.append(("Report", b.report_path))
    mark = "✓ " if b.complete else ""
    return DoneSummary(headline=mark + outcome_headline(b), rows=tuple(rows))


def _changed_in_halo(b: BackfillState) -> str:
    """The Done page's "Changed in Halo": links that stand now, and what an undo took back."""
    removed = f"; Undo put back the previous value on {plural(b.links_removed, 'invoice')}"
    if b.phase is BackfillPhase.UNDONE and b.links_standing == 0:
        return f"nothing any more: the run was undone ({plural(b.links_removed, 'link')} removed)"
    if b.links_saved:
        changed = f"{plural(b.links_saved, 'invoice')} got a payment link"
        if b.run_id:
            changed += f" (run {b.run_id})"
        return changed + (removed if b.links_removed else "")
    if b.phase is BackfillPhase.PLANNED and b.to_change == 0:
        return "nothing: every open invoice already had its link"
    return "no invoices were changed"


def _same_halo(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def _change_row(change: PlannedChange) -> tuple[str, str, str, str]:
    return (
        str(change.number),
        str(change.client),
        str(change.old or "(empty)"),
        str(change.new or ""),
    )


class BackfillPresenter:
    """The Backfill page's flow over `state.backfill`, and what the page shows.

    The page calls, in order for one job: `request` (on a click; None means nothing starts),
    `started` (once its task exists), then `progress` (any number of times), exactly one of
    `finished` / `failed` / `cancelled`, and `ended`. `cancel` may come while the job runs.
    After each call the page renders `view()`. Lines for the page's log go to `log`.
    """

    def __init__(self, state: WizardState, log: Callable[[str], None]) -> None:
        self.state = state
        self._log = log
        self._job: Job | None = None
        self._last_message = ""
        self._problem: Problem | None = None
        self._resumable: RunInfo | None = None
        self._changes: tuple[tuple[str, str, str, str], ...] = ()
        self._warnings = ""
        #: The shown report's CSV file (open its folder, save a copy), once a job wrote one.
        self.report_csv: Path | None = None

    @property
    def job(self) -> Job | None:
        """The job started last, until it has ended."""
        return self._job

    # -- starting and stopping -------------------------------------------------------------------
    def request(self, job: Job) -> JobRequest | None:
        """A click on one of the page's job buttons. None when `job` cannot start now (nothing
        changes); otherwise the job to run, with its opening log line written."""
        b = self.state.backfill
        if job is Job.PLAN:
            if b.active:
                return None
            self._changes = ()
            b.plan_stopped = False
            self._log("Dry run started: reading every invoice (nothing is written).")
            return JobRequest(job)
        if job is Job.RUN:
            if not b.can_commit:
                return None
            b.done, b.total, b.failed = 0, 0, 0
            self._log(f"Adding payment links to {plural(b.to_change, 'open invoice')}.")
            return JobRequest(job)
        if job is Job.RESUME:
            if not b.can_resume or b.resumable_run_id is None:
                return None
            self._log(f"Resuming run {b.resumable_run_id}.")
            return JobRequest(job, b.resumable_run_id)
        if not b.can_undo or b.run_id is None:
            return None
        self._log(f"Undoing run {b.run_id}: restoring the previous values.")
        return JobRequest(job, b.run_id)

    def confirmation(self, job: Job) -> Question | None:
        """The question to ask before `job` changes invoices in Halo in bulk; None when it
        changes nothing (a dry run, a resume of a run already confirmed) or cannot start now."""
        b = self.state.backfill
        host = halo_host(self.state)
        if job is Job.RUN and b.can_commit and not b.active:
            return Question(
                "Add payment links?",
                f"Add a Pay link to {plural(b.to_change, 'open invoice')} on {host}?",
                "Each invoice is saved in Halo with its link, in batches. You can stop at any "
                "time and resume later, and undo the run once it has finished.",
                "&Add payment links",
                "Cancel",
            )
        if job is Job.UNDO and b.can_undo and not b.active:
            return Question(
                "Undo the run?",
                f"Remove the Pay link from {plural(b.links_standing, 'invoice')} on {host}?",
                "Each invoice gets back the value it had before the run, where the link is still "
                "the one the run saved (an invoice changed since is left alone).",
                "&Remove the links",
                "Cancel",
            )
        return None

    def started(self, request: JobRequest) -> None:
        """The requested job's task exists: its phase begins and the last error is cleared."""
        b = self.state.backfill
        self._job = request.job
        b.phase = request.job.phase
        b.stopping = None
        b.error = None
        self._problem = None
        self._last_message = ""

    def cancel(self) -> bool:
        """Stop was clicked. False when nothing runs; otherwise the job is stopping (the page
        signals its cancel token) and True."""
        b = self.state.backfill
        if not b.active:
            return False
        if b.phase is not BackfillPhase.CANCELLING:
            b.stopping = b.phase
            b.phase = BackfillPhase.CANCELLING
        self._log(self.stopping_text())
        return True

    def stopping_text(self) -> str:
        """What Stop is doing: it names what is being stopped (reading, adding or removing)."""
        b = self.state.backfill
        return STOPPING_TEXT.get(b.stopping or b.phase, STOPPING_TEXT[BackfillPhase.RUNNING])

    @property
    def _reading(self) -> bool:
        """A dry run is going on (or being stopped)."""
        b = self.state.backfill
        return BackfillPhase.PLANNING in (b.phase, b.stopping)

    # -- while a job runs -------------------------------------------------------------------------
    def progress(self, progress: Progress) -> ProgressView:
        """Engine progress (throttled by the engine to ~10 per second): the live line to show."""
        b = self.state.backfill
        b.done = progress.done
        b.total = progress.total or 0
        b.failed = progress.failed
        n = format_count
        total = n(progress.total) if progress.total else "?"
        if self._reading:
            status = (
                f"{n(progress.done)} of {total} invoices read · "
                f"{n(progress.written)} would get a link"
            )
        elif self._job is Job.UNDO:
            status = (
                f"{n(progress.done)} of {total} invoices looked at · "
                f"{plural(progress.written, 'link')} removed · {n(progress.failed)} refused"
            )
        else:
            status = (
                f"{n(progress.done)} of {total} invoices looked at · "
                f"{plural(progress.written, 'link')} saved · {n(progress.failed)} refused · "
                f"{n(progress.conflicts)} with a different link"
            )
        wait = progress.wait_line
        stopping = b.phase is BackfillPhase.CANCELLING
        if progress.message and progress.message != self._last_message and not stopping:
            self._last_message = progress.message
            self._log(progress.message)
        return ProgressView(
            maximum=max(progress.total or 0, progress.done, 1),
            value=progress.done,
            rate=_rate_line(progress),
            status=f"{status}\n{wait}" if wait else status,
        )

    # -- how a job ended --------------------------------------------------------------------------
    def finished(self, result: RunResult) -> None:
        """The job returned its result (any outcome, good or bad)."""
        if self._job is Job.PLAN:
            self._planned(result)
        elif self._job is Job.UNDO:
            self._undone(result)
        else:
            self._ran(result)

    def failed(self, error: BaseException) -> None:
        """The job raised instead of returning a result."""
        b = self.state.backfill
        b.phase = BackfillPhase.IDLE if self._reading else BackfillPhase.FAILED
        b.stopping = None
        if b.phase is BackfillPhase.FAILED and b.run_id is None:
            b.phase = BackfillPhase.IDLE
        from halo_paylink.core.backfill.model import BackfillError

        if isinstance(error, BackfillError):  # a refusal that says what to do, not a crash
            self._problem = Problem(headline=str(error))
        else:
            self._problem = Problem(error=error)
        self._log(f"Could not run: {error}")

    def cancelled(self) -> None:
        """The job's task was cancelled (the window closed mid-run)."""
        b = self.state.backfill
        b.phase = BackfillPhase.IDLE if self._reading else BackfillPhase.CANCELLED
        b.stopping = None

    def ended(self) -> bool:
        """The job's task is over, however it ended. True when the page should look for a
        resumable run (`resumable_found`): this one stopped short."""
        self._job = None
        return self.state.backfill.phase in (BackfillPhase.CANCELLED, BackfillPhase.FAILED)

    def entered(self) -> bool:
        """The page is shown. True when it should look for a resumable run (nothing runs)."""
        return not self.state.backfill.active

    def _planned(self, result: RunResult) -> None:
        from halo_paylink.core.backfill.outcome import RunOutcome

        b = self.state.backfill
        plan = result.plan
        if result.outcome is RunOutcome.CANCELLED:
            b.phase, b.stopping, b.plan_stopped = BackfillPhase.IDLE, None, True
            self._log("Dry run stopped: nothing was written. Run it again to see the whole plan.")
            return
        if result.outcome is not RunOutcome.PLANNED or plan is None:
            b.phase = BackfillPhase.IDLE
            self._show_failure(result)
            return
        b.phase = BackfillPhase.PLANNED
        b.to_change = plan.to_write
        b.counts, b.counts_planned, b.counts_undo = plan.counts, True, False
        self._changes = tuple(_change_row(change) for change in plan.sample[:TABLE_ROWS])
        self._warnings = "\n".join(f"Note: {w}" for w in plan.warnings)
        self._set_report(result)
        self._log(
            f"Dry run finished: {plural(plan.to_write, 'invoice')} would get a link, "
            f"{format_count(plan.counts.seen - plan.to_write)} left alone."
        )

    def _ran(self, result: RunResult) -> None:
        from halo_paylink.core.backfill.outcome import RunOutcome

        b = self.state.backfill
        b.run_id = result.run_id
        b.incomplete = False
        b.stopping = None
        b.counts, b.counts_planned, b.counts_undo = result.counts, False, False
        b.links_saved, b.links_removed = result.counts.written, 0
        self._set_report(result)
        if result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES):
            b.phase = BackfillPhase.FINISHED
            b.resumable_run_id = None
            self._log(
                f"Finished: {plural(result.counts.written, 'link')} saved, "
                f"{format_count(result.counts.failed)} refused by Halo."
            )
        elif result.outcome is RunOutcome.CANCELLED:
            b.phase = BackfillPhase.CANCELLED
            b.resumable_run_id = result.run_id
            self._log("Stopped. Nothing is lost: Resume continues where the run stopped.")
        elif result.outcome is RunOutcome.INCOMPLETE:
            b.phase = BackfillPhase.FAILED
            b.incomplete = True
            b.resumable_run_id = result.run_id
            self._problem = Problem(
                "Not every open invoice could be shown linked yet.", result.detail
            )
            b.error = result.detail
            self._log(f"Incomplete: {result.detail}")
        else:
            b.phase = BackfillPhase.FAILED
            b.resumable_run_id = result.run_id
            self._show_failure(result)

    def _undone(self, result: RunResult) -> None:
        from halo_paylink.core.backfill.outcome import RunOutcome

        b = self.state.backfill
        self._set_report(result)
        b.stopping = None
        b.counts, b.counts_planned, b.counts_undo = result.counts, False, True
        b.links_removed = min(b.links_removed + result.counts.written, b.links_saved)
        if result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES):
            b.phase = BackfillPhase.UNDONE
            self._log(f"Undo finished: {plural(result.counts.written, 'invoice')} restored.")
        elif result.outcome is RunOutcome.CANCELLED:
            b.phase = BackfillPhase.FINISHED  # the links not yet removed stand; undo again
            self._log(
                f"Undo stopped after restoring {plural(result.counts.written, 'invoice')}; "
                "Undo again restores the rest."
            )
        else:
            b.phase = BackfillPhase.FINISHED  # the original run still stands; undo can be retried
            self._show_failure(result)

    def _show_failure(self, result: RunResult) -> None:
        if result.error is not None:
            self._problem = Problem(error=result.error)
        else:
            words = result.outcome.value.replace("_", " ")
            self._problem = Problem("The run stopped.", result.detail or f"It ended {words}.")
        self.state.backfill.error = result.detail or None
        self._log(f"Stopped: {result.detail or result.outcome.value}")

    def _set_report(self, result: RunResult) -> None:
        csv = result.report.csv if result.report is not None else None
        self.report_csv = csv
        self.state.backfill.report_path = str(csv) if csv is not None else None

    # -- around a job -----------------------------------------------------------------------------
    def resumable_found(self, info: RunInfo | None) -> None:
        """The latest resumable run on this computer (None: there is none). Offered only when it
        is against the Halo this profile connects to."""
        b = self.state.backfill
        endpoints = self.state.connect.endpoints
        if (
            info is not None
            and endpoints is not None
            and _same_halo(info.web_url, endpoints.web_url)
            and not b.active
        ):
            b.resumable_run_id = info.run_id
            self._resumable = info
        elif b.phase not in (BackfillPhase.CANCELLED, BackfillPhase.FAILED):
            b.resumable_run_id = None
            self._resumable = None

    def report_saved(self, target: str) -> None:
        """A copy of the report was written to `target`."""
        self._log(f"Report saved as {target}")

    def report_not_saved(self, error: BaseException) -> None:
        """The copy of the report could not be written."""
        self._problem = Problem(error=error)

    # -- what the page shows ----------------------------------------------------------------------
    def view(self) -> BackfillView:
        b = self.state.backfill
        active = b.active
        show_resume = b.can_resume and not active
        has_report = self.report_csv is not None
        return BackfillView(
            plan_enabled=not active and self.state.link.complete,
            plan_text=(
                "Run the &dry run again"
                if b.phase is not BackfillPhase.IDLE or b.plan_stopped
                else "&Dry run"
            ),
            commit_enabled=b.can_commit and not active,
            commit_text=(
                f"&Add payment links to {plural(b.to_change, 'open invoice')}"
                if b.phase is BackfillPhase.PLANNED
                else "&Add payment links"
            ),
            cancel_enabled=active and b.phase is not BackfillPhase.CANCELLING,
            undo_enabled=b.can_undo and not active,
            resume_visible=show_resume,
            resume_text=self._resume_text() if show_resume else "",
            counts=self.count_lines(),
            status=None if active else self._status_text(),
            clear_rate=not active,
            report=f"Report: {b.report_path}" if b.report_path else "",
            open_folder_enabled=has_report,
            save_csv_enabled=has_report and not active,
            changes=self._changes,
            warnings=self._warnings,
            busy=self.stopping_text()
            if b.phase is BackfillPhase.CANCELLING
            else BUSY_TEXT.get(b.phase),
            problem=self._problem,
        )

    def count_lines(self) -> tuple[CountLine, ...]:
        """The breakdown of the counts shown (the dry run's or the last run's); () before any."""
        b = self.state.backfill
        if b.counts is None:
            return ()
        return breakdown(b.counts, planned=b.counts_planned, undo=b.counts_undo)

    def _resume_text(self) -> str:
        b = self.state.backfill
        info = self._resumable
        if info is not None and info.run_id == b.resumable_run_id:
            from halo_paylink.core.backfill.outcome import RunOutcome  # loaded: it made `info`

            how = (
                "as asked"
                if info.status is RunOutcome.CANCELLED
                else f"({info.status.value.replace('_', ' ')})"
            )
            return (
                f"Run {info.run_id} (started {info.started}) stopped {how}, with "
                f"{plural(info.counts.written, 'link')} saved. Resume continues where it "
                "stopped; nothing is written twice."
            )
        return (
            f"Run {b.resumable_run_id} stopped before it finished. Resume continues "
            "where it stopped; nothing is written twice."
        )

    def _status_text(self) -> str:
        b = self.state.backfill
        if b.phase is BackfillPhase.IDLE:
            if not self.state.link.complete:
                return "Go back and paste your Benji Pays link first."
            if b.plan_stopped:
                return (
                    f"Stopped: the dry run read {format_count(b.done)} of "
                    f"{format_count(b.total) if b.total else '?'} invoices; nothing was "
                    "written. Run the dry run again to see the whole plan."
                )
            return "Start with the dry run."
        if b.phase is BackfillPhase.PLANNED:
            if b.to_change == 0:
                return "✓ Every open invoice already has its Pay link. Nothing to do: click Next."
            return (
                f"The dry run found {plural(b.to_change, 'open invoice')} to update. "
                "Review, then add."
            )
        if b.phase is BackfillPhase.FINISHED:
            saved = b.links_standing
            if b.links_removed:
                return (
                    f"Undo stopped: {plural(b.links_removed, 'invoice')} restored, "
                    f"{plural(saved, 'link')} of the run still in place. Undo again to "
                    "restore the rest."
                )
            return (
                f"✓ Done: {plural(saved, 'payment link')} saved, "
                f"{plural(b.done, 'invoice')} looked at."
            )
        if b.phase is BackfillPhase.CANCELLED:
            return (
                f"Stopped as you asked, after {plural(b.links_saved, 'link')} saved. Resume "
                "continues where the run stopped; nothing is written twice."
            )
        if b.phase is BackfillPhase.FAILED and b.incomplete:
            return "Not everything could be checked yet (see above). Resume a little later."
        if b.phase is BackfillPhase.FAILED:
            return "The run stopped on an error (see above). Fix it, then Resume."
        if b.phase is BackfillPhase.UNDONE:
            return (
                f"Undone: the Pay link was removed from {plural(b.links_removed, 'invoice')} "
                "and the previous values are back. Run the dry run again to start over."
            )
        return ""


def _rate_line(progress: Progress) -> str:
    """ "12.5 invoices/s · about 3 min 20 s left"; no time left once nothing is left (or the
    job is over), and no rate before this attempt has decided anything."""
    if progress.phase.final:
        return ""
    rate = f"{progress.rate:,.1f} invoices/s" if progress.rate > 0 else "starting…"
    if progress.eta_seconds is None or progress.eta_seconds <= 0:
        return rate
    return f"{rate} · about {format_duration(progress.eta_seconds)} left"


async def run_job(
    request: JobRequest,
    client: InvoiceSource,
    paths: AppPaths,
    *,
    link: LinkState,
    link_field: str | None,
    profile: str | None,
    on_progress: Callable[[Progress], None],
    cancel: CancelToken,
    options: RunOptions | None,
) -> RunResult:
    """Do `request` with the engine (on the loop that awaits this; see `core.backfill.runner`).

    A dry run and a new run use `link` (template and numbering) and write to `link_field` (the
    profile's; None: the default field); a real run is recorded as `profile`'s.
    """
    from halo_paylink.core.backfill import (
        BackfillSettings,
        plan_backfill,
        resume_run,
        run_backfill,
        undo_run,
    )
    from halo_paylink.halo import facts

    job, run_id = request.job, request.run_id
    if job is Job.RESUME or job is Job.UNDO:
        if run_id is None:
            raise ValueError(f"a {job.value} job names its run")
        call = resume_run if job is Job.RESUME else undo_run
        return await call(
            client, paths, run_id, on_progress=on_progress, cancel=cancel, options=options
        )
    settings = BackfillSettings(
        template=link.template,
        numbering=link.numbering,
        target=facts.DEFAULT_LINK_FIELD if link_field is None else link_field,
    )
    if job is Job.PLAN:
        return await plan_backfill(
            client, settings, paths=paths, on_progress=on_progress, cancel=cancel, options=options
        )
    return await run_backfill(
        client,
        settings,
        paths,
        profile=profile,
        on_progress=on_progress,
        cancel=cancel,
        options=options,
    )
