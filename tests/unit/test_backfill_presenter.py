"""The Backfill and Done pages' flow and shown state, without Qt (core/presenters/backfill.py).

Every transition the page has (idle → planning → planned → running → stopping → finished /
stopped / failed / incomplete → undoing → undone, plus resume), what each one shows, and the
Done page's summary. Results are real `core.backfill` values, built by hand.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.backfill import (
    Counts,
    Phase,
    Plan,
    PlannedChange,
    Progress,
    RunInfo,
    RunOutcome,
    RunResult,
    SkipReason,
)
from halo_paylink.core.backfill.journal import RunKind
from halo_paylink.core.backfill.outcome import make_counts
from halo_paylink.core.backfill.report import ReportFiles
from halo_paylink.core.presenters.backfill import (
    BUSY_TEXT,
    TABLE_ROWS,
    BackfillPresenter,
    CountLine,
    Job,
    JobRequest,
    Problem,
    breakdown,
    done_summary,
    outcome_headline,
    run_job,
)
from halo_paylink.core.wizard import BackfillPhase, WizardState
from halo_paylink.halo import facts
from halo_paylink.halo.models import HaloEndpoints

WEB_URL = "https://acme.halopsa.com"
REPORT = ReportFiles(csv=Path("/reports/run.csv"), json=Path("/reports/run.json"))
PLAN_REPORT = ReportFiles(csv=Path("/reports/plan.csv"), json=Path("/reports/plan.json"))


class HaloDown(Exception):
    """Stands in for a `HaloError`: the presenter hands it to the banner as it is."""


def make_state(*, link_complete: bool = True) -> WizardState:
    state = WizardState()
    if link_complete:
        state.link.template = "https://acme.benjipays.com/pay/?InvoiceNumber=[Invoice No.]"
        state.link.generated = "https://acme.benjipays.com/pay/?InvoiceNumber=$INVOICEID"
    state.connect.endpoints = HaloEndpoints(
        web_url=WEB_URL,
        auth_url=f"{WEB_URL}/auth",
        resource_url=f"{WEB_URL}/api",
        tenant="acme",
        hosted=True,
    )
    return state


class Harness:
    """A presenter on a fresh state, with the log it writes."""

    def __init__(self, *, link_complete: bool = True) -> None:
        self.state = make_state(link_complete=link_complete)
        self.log: list[str] = []
        self.p = BackfillPresenter(self.state, log=self.log.append)

    @property
    def b(self) -> Any:
        return self.state.backfill

    def start(self, job: Job) -> JobRequest:
        request = self.p.request(job)
        assert request is not None
        self.p.started(request)
        return request

    def plan(self, to_write: int = 3, **counts: Any) -> RunResult:
        """Run a dry run to PLANNED."""
        self.start(Job.PLAN)
        result = planned(to_write, **counts)
        self.p.finished(result)
        self.p.ended()
        return result

    def run(self, outcome: RunOutcome = RunOutcome.COMPLETED, **kwargs: Any) -> RunResult:
        """Plan, then run the commit step to `outcome`."""
        self.plan()
        self.start(Job.RUN)
        result = ran(outcome, **kwargs)
        self.p.finished(result)
        self.p.ended()
        return result


def counts(**kwargs: Any) -> Counts:
    fields = dict(
        written=0, overwritten=0, failed=0, conflicts=0, skipped={}, unknown=0, not_written=0
    )
    fields.update(kwargs)
    return make_counts(**fields)


def change(n: int, old: str | None = None) -> PlannedChange:
    return PlannedChange(
        id=n, number=f"INV-{n}", client=f"Client {n}", old=old, new=f"https://pay/{n}"
    )


def planned(
    to_write: int = 3, *, sample: tuple[PlannedChange, ...] | None = None, **kwargs: Any
) -> RunResult:
    c = counts(written=to_write, **kwargs)
    plan = Plan(
        counts=c,
        to_write=to_write,
        sample=tuple(change(n) for n in range(to_write)) if sample is None else sample,
        conflict_sample=(),
        warnings=("Check one invoice.", "Links are unverified."),
        total=c.seen,
    )
    return RunResult(outcome=RunOutcome.PLANNED, counts=c, report=PLAN_REPORT, plan=plan)


def ran(
    outcome: RunOutcome = RunOutcome.COMPLETED,
    *,
    run_id: str | None = "run-1",
    detail: str = "",
    error: BaseException | None = None,
    report: ReportFiles | None = REPORT,
    **kwargs: Any,
) -> RunResult:
    c = counts(**({"written": 3} | kwargs))
    return RunResult(
        outcome=outcome,
        counts=c,
        run_id=run_id,
        report=report,
        detail=detail,
        error=error,  # type: ignore[arg-type]
    )


def info(
    run_id: str = "run-1", web_url: str = WEB_URL, status: RunOutcome = RunOutcome.CANCELLED
) -> RunInfo:
    return RunInfo(
        run_id=run_id,
        kind=RunKind.BACKFILL,
        started="2026-12-01T08:12:00",
        finished=None,
        status=status,
        counts=counts(written=40),
        web_url=web_url,
        profile="Acme",
        target=facts.DEFAULT_LINK_FIELD,
        undo_of=None,
        attempts=1,
        path=Path("/journals/run-1.jsonl"),
    )


def lines(h: Harness) -> dict[str, int]:
    return {line.label: line.count for line in h.p.count_lines()}


# --- before anything runs ------------------------------------------------------------------------
def test_idle_offers_the_dry_run_only() -> None:
    h = Harness()
    v = h.p.view()
    assert (v.plan_enabled, v.commit_enabled, v.cancel_enabled, v.undo_enabled) == (
        True,
        False,
        False,
        False,
    )
    assert v.plan_text == "&Dry run"
    assert v.commit_text == "&Add payment links"
    assert v.status == "Start with the dry run."
    assert not v.resume_visible and v.resume_text == ""
    assert v.counts == () and v.changes == () and v.warnings == "" and v.report == ""
    assert not v.open_folder_enabled and not v.save_csv_enabled
    assert v.busy is None and v.problem is None and v.clear_rate  # nothing runs: no rate line
    assert h.p.entered()


def test_idle_without_a_link_sends_the_admin_back() -> None:
    h = Harness(link_complete=False)
    v = h.p.view()
    assert not v.plan_enabled
    assert v.status == "Go back and paste your Benji Pays link first."


def test_jobs_that_cannot_start_change_nothing() -> None:
    h = Harness()
    for job in (Job.RUN, Job.RESUME, Job.UNDO):
        assert h.p.request(job) is None
    assert h.log == []
    assert h.b.phase is BackfillPhase.IDLE
    h.start(Job.PLAN)
    assert h.p.request(Job.PLAN) is None  # one job at a time
    assert h.p.request(Job.RUN) is None


def test_each_job_has_its_phase_and_only_real_runs_save_the_profile() -> None:
    assert [job.phase for job in Job] == [
        BackfillPhase.PLANNING,
        BackfillPhase.RUNNING,
        BackfillPhase.RUNNING,
        BackfillPhase.UNDOING,
    ]
    assert [job for job in Job if job.saves_profile] == [Job.RUN, Job.RESUME]


# --- the dry run --------------------------------------------------------------------------------
def test_planning_is_busy_and_can_only_be_stopped() -> None:
    h = Harness()
    h.plan(2)
    assert len(h.p.view().changes) == 2
    h.log.clear()
    request = h.p.request(Job.PLAN)
    assert request == JobRequest(Job.PLAN)
    assert h.log == ["Dry run started: reading every invoice (nothing is written)."]
    assert h.p.view().changes == ()  # the old table goes as the dry run starts
    h.p.started(request)
    v = h.p.view()
    assert h.b.phase is BackfillPhase.PLANNING and h.p.job is Job.PLAN
    assert v.busy == BUSY_TEXT[BackfillPhase.PLANNING] == "Dry run: reading invoices…"
    assert v.cancel_enabled and not v.plan_enabled and not v.commit_enabled
    assert v.status is None  # the live progress line stays
    assert v.plan_text == "Run the &dry run again"
    assert not h.p.entered()


def test_stopping_a_dry_run_says_it_stops_reading_then_returns_to_idle() -> None:
    h = Harness()
    h.start(Job.PLAN)
    assert h.p.cancel()
    assert h.b.phase is BackfillPhase.CANCELLING
    v = h.p.view()
    assert not v.cancel_enabled  # asked once
    assert v.busy == h.log[-1] == "Stopping the dry run (nothing has been written)…"
    h.p.cancelled()
    assert h.b.phase is BackfillPhase.IDLE
    assert not h.p.ended()


def test_dry_run_finished_shows_counts_table_warnings_and_report() -> None:
    h = Harness()
    h.plan(3, conflicts=2, skipped={"paid": 4})
    b, v = h.b, h.p.view()
    assert b.phase is BackfillPhase.PLANNED and b.to_change == 3 and b.counts_planned
    assert v.counts == (
        CountLine("Would get a link", 3),
        CountLine("Has a different link (left alone)", 2),
        CountLine("Paid", 4),
    )
    assert v.commit_enabled and v.commit_text == "&Add payment links to 3 open invoices"
    assert v.plan_enabled and v.plan_text == "Run the &dry run again"
    assert v.status == "The dry run found 3 open invoices to update. Review, then add."
    assert v.changes == tuple(
        (f"INV-{n}", f"Client {n}", "(empty)", f"https://pay/{n}") for n in range(3)
    )
    assert v.warnings == "Note: Check one invoice.\nNote: Links are unverified."
    assert v.report == "Report: /reports/plan.csv" and b.report_path == "/reports/plan.csv"
    assert h.p.report_csv == Path("/reports/plan.csv")
    assert v.open_folder_enabled and v.save_csv_enabled
    assert v.busy is None and v.problem is None and not b.complete
    assert h.log[-1] == "Dry run finished: 3 invoices would get a link, 6 left alone."


def test_the_table_shows_the_first_rows_only_and_an_empty_current_link_in_words() -> None:
    h = Harness()
    h.start(Job.PLAN)
    result = planned(TABLE_ROWS + 20)
    h.p.finished(result)
    assert len(h.p.view().changes) == TABLE_ROWS == 50
    h.start(Job.PLAN)
    h.p.finished(planned(1, sample=(change(7, old="https://other"),)))
    assert h.p.view().changes == (("INV-7", "Client 7", "https://other", "https://pay/7"),)


def test_a_dry_run_with_nothing_to_do_completes_the_page() -> None:
    h = Harness()
    h.plan(0, skipped={"already_linked": 5})
    v = h.p.view()
    assert h.b.complete and not v.commit_enabled
    assert v.commit_text == "&Add payment links to 0 open invoices"
    assert v.status == "✓ Every open invoice already has its Pay link. Nothing to do: click Next."
    assert v.counts[0] == CountLine("Would get a link", 0)  # the lead line shows even at zero


def test_a_dry_run_that_fails_returns_to_idle_with_the_reason() -> None:
    h = Harness()
    h.start(Job.PLAN)
    error = HaloDown("Halo is down")
    h.p.finished(ran(RunOutcome.SERVER_ERROR, run_id=None, detail="HTTP 500", error=error))
    assert h.b.phase is BackfillPhase.IDLE
    assert h.p.view().problem == Problem(error=error)
    assert h.b.error == "HTTP 500"
    assert h.log[-1] == "Stopped: HTTP 500"
    assert h.p.view().report == ""  # a failed dry run shows no report
    h.start(Job.PLAN)
    assert h.p.view().problem is None and h.b.error is None  # a new start clears the banner
    h.p.finished(ran(RunOutcome.INCOMPLETE, run_id=None))
    assert h.p.view().problem == Problem("The run stopped.", "It ended incomplete.")
    assert h.b.error is None
    assert h.log[-1] == "Stopped: incomplete"


def test_a_dry_run_that_raises_returns_to_idle() -> None:
    h = Harness()
    h.start(Job.PLAN)
    error = HaloDown("no route to host")
    h.p.failed(error)
    assert h.b.phase is BackfillPhase.IDLE
    assert h.p.view().problem == Problem(error=error)
    assert h.log[-1] == "Could not run: no route to host"
    assert not h.p.ended()
    h.run(RunOutcome.COMPLETED)
    h.start(Job.PLAN)  # a dry run again, after a run
    h.p.failed(error)
    assert h.b.phase is BackfillPhase.IDLE and h.b.run_id == "run-1"


def test_a_refusal_to_start_is_shown_in_its_own_words() -> None:
    from halo_paylink.core.backfill.model import BackfillError

    h = Harness()
    h.start(Job.PLAN)
    h.p.failed(BackfillError("Run 1 is not resumed: start a new run instead."))
    assert h.p.view().problem == Problem("Run 1 is not resumed: start a new run instead.")


def test_a_stopped_dry_run_returns_to_idle_and_keeps_what_was_shown() -> None:
    h = Harness()
    h.plan(2)
    shown = h.p.view()
    h.start(Job.PLAN)
    h.p.cancel()
    stopped = planned(5)
    h.p.finished(RunResult(outcome=RunOutcome.CANCELLED, counts=stopped.counts, plan=stopped.plan))
    v = h.p.view()
    assert h.b.phase is BackfillPhase.IDLE and h.b.to_change == 2
    assert v.counts == shown.counts and v.report == shown.report
    assert v.problem is None  # a stop the admin asked for is no error
    assert h.log[-1] == (
        "Dry run stopped: nothing was written. Run it again to see the whole plan."
    )
    assert v.plan_enabled and v.plan_text == "Run the &dry run again"
    assert v.status.startswith("Stopped: the dry run read ")
    assert "nothing was written. Run the dry run again" in v.status
    assert not v.resume_visible  # a dry run is run again, never resumed


# --- the commit step ---------------------------------------------------------------------------
def test_running_zeroes_progress_and_can_be_stopped_once() -> None:
    h = Harness()
    h.plan(3)
    h.b.done, h.b.total, h.b.failed = 9, 9, 1
    request = h.p.request(Job.RUN)
    assert request == JobRequest(Job.RUN)
    assert (h.b.done, h.b.total, h.b.failed) == (0, 0, 0)
    assert h.log[-1] == "Adding payment links to 3 open invoices."
    h.p.started(request)
    v = h.p.view()
    assert h.b.phase is BackfillPhase.RUNNING
    assert v.busy == "Adding payment links…"
    assert v.cancel_enabled and not v.plan_enabled and not v.commit_enabled
    assert not v.save_csv_enabled and v.open_folder_enabled  # no copy while a run writes
    assert h.p.cancel()
    v = h.p.view()
    assert h.b.phase is BackfillPhase.CANCELLING
    assert v.busy == "Stopping after the invoices being saved now…" and not v.cancel_enabled
    assert v.status is None


def test_cancel_when_nothing_runs_does_nothing() -> None:
    h = Harness()
    assert not h.p.cancel()
    h.plan()
    assert not h.p.cancel()
    assert h.b.phase is BackfillPhase.PLANNED
    assert h.log[-1].startswith("Dry run finished")


def test_a_finished_run_is_done_and_can_be_undone() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=3, skipped={"paid": 2})
    b, v = h.b, h.p.view()
    assert b.phase is BackfillPhase.FINISHED and b.run_id == "run-1" and b.complete
    assert not b.counts_planned and b.resumable_run_id is None
    assert v.counts == (CountLine("Link saved", 3), CountLine("Paid", 2))
    b.done = 5
    assert h.p.view().status == "✓ Done: 3 payment links saved, 5 invoices looked at."
    assert v.clear_rate and v.undo_enabled and not v.commit_enabled and not v.resume_visible
    assert v.commit_text == "&Add payment links"
    assert v.report == "Report: /reports/run.csv"
    assert h.log[-1] == "Finished: 3 links saved, 0 refused by Halo."
    assert h.p.job is None


def test_a_run_with_refusals_is_finished_and_lists_them() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED_WITH_FAILURES, written=3, failed=2)
    assert h.b.phase is BackfillPhase.FINISHED
    assert lines(h) == {"Link saved": 3, "Refused by Halo": 2}
    assert h.log[-1] == "Finished: 3 links saved, 2 refused by Halo."
    assert outcome_headline(h.b) == (
        "Every open invoice has a Pay link, except 2 that Halo refused; see the report."
    )


def test_a_stopped_run_offers_resume() -> None:
    h = Harness()
    h.run(RunOutcome.CANCELLED, written=1, not_written=2)
    v = h.p.view()
    assert h.b.phase is BackfillPhase.CANCELLED and h.b.resumable_run_id == "run-1"
    assert v.status == (
        "Stopped as you asked, after 1 link saved. Resume continues where the run stopped; "
        "nothing is written twice."
    )
    assert v.problem is None  # "Stopped", not an error
    assert v.resume_visible and not v.undo_enabled and v.clear_rate
    assert v.resume_text == (
        "Run run-1 stopped before it finished. Resume continues where it stopped; nothing is "
        "written twice."
    )
    assert lines(h)["Unfinished (Resume finishes them)"] == 2
    assert h.log[-1] == "Stopped. Nothing is lost: Resume continues where the run stopped."
    assert not h.b.complete
    assert h.p.request(Job.UNDO) is None  # only a finished run is undone


def test_an_incomplete_run_says_so_and_offers_resume() -> None:
    h = Harness()
    h.run(RunOutcome.INCOMPLETE, detail="up to 1 open invoice may be missing")
    v = h.p.view()
    assert h.b.phase is BackfillPhase.FAILED and h.b.incomplete
    assert h.b.resumable_run_id == "run-1"
    assert v.problem == Problem(
        "Not every open invoice could be shown linked yet.", "up to 1 open invoice may be missing"
    )
    assert h.b.error == "up to 1 open invoice may be missing"
    assert v.status == "Not everything could be checked yet (see above). Resume a little later."
    assert v.resume_visible
    assert h.log[-1] == "Incomplete: up to 1 open invoice may be missing"
    assert not h.b.complete


def test_a_run_stopped_by_an_error_offers_resume() -> None:
    h = Harness()
    error = HaloDown("token rejected")
    h.run(RunOutcome.AUTH_FAILED, detail="HTTP 401", error=error)
    v = h.p.view()
    assert h.b.phase is BackfillPhase.FAILED and not h.b.incomplete
    assert v.problem == Problem(error=error)
    assert v.status == "The run stopped on an error (see above). Fix it, then Resume."
    assert v.resume_visible and h.b.resumable_run_id == "run-1"
    assert h.log[-1] == "Stopped: HTTP 401"


def test_an_internal_error_without_details_names_the_outcome() -> None:
    h = Harness()
    h.run(RunOutcome.INTERNAL_ERROR)
    assert h.b.phase is BackfillPhase.FAILED
    assert h.p.view().problem == Problem("The run stopped.", "It ended internal error.")
    assert h.b.error is None
    assert h.log[-1] == "Stopped: internal_error"


def test_a_run_that_raises_fails_only_once_it_has_a_run_id() -> None:
    h = Harness()
    h.plan()
    h.start(Job.RUN)
    h.p.failed(HaloDown("disk full"))
    assert h.b.phase is BackfillPhase.IDLE  # no run yet: nothing to resume
    assert h.log[-1] == "Could not run: disk full"
    assert not h.p.ended()
    h.run(RunOutcome.CANCELLED)
    h.start(Job.RESUME)
    h.p.failed(HaloDown("disk full"))
    assert h.b.phase is BackfillPhase.FAILED and h.b.resumable_run_id == "run-1"
    assert h.p.ended()


def test_a_cancelled_task_counts_as_stopped() -> None:
    h = Harness()
    h.plan()
    h.start(Job.RUN)
    h.p.cancelled()
    assert h.b.phase is BackfillPhase.CANCELLED
    assert h.p.ended()


# --- resume ------------------------------------------------------------------------------------
def test_a_resumed_run_finishes_and_clears_incomplete() -> None:
    h = Harness()
    h.run(RunOutcome.INCOMPLETE, detail="list changed")
    h.b.done, h.b.total = 7, 9
    request = h.p.request(Job.RESUME)
    assert request == JobRequest(Job.RESUME, "run-1")
    assert (h.b.done, h.b.total) == (7, 9)  # a resume keeps the progress shown so far
    assert h.log[-1] == "Resuming run run-1."
    h.p.started(request)
    assert h.b.phase is BackfillPhase.RUNNING and h.b.error is None
    assert h.p.view().problem is None and not h.p.view().resume_visible
    h.p.finished(ran(RunOutcome.COMPLETED, written=9))
    assert not h.p.ended()
    assert h.b.phase is BackfillPhase.FINISHED and not h.b.incomplete
    assert h.b.resumable_run_id is None and lines(h)["Link saved"] == 9


def test_a_resumable_run_on_this_halo_is_offered_with_its_details() -> None:
    h = Harness()
    h.p.resumable_found(info(web_url=WEB_URL.upper() + "/"))
    v = h.p.view()
    assert h.b.resumable_run_id == "run-1" and v.resume_visible
    assert v.resume_text == (
        "Run run-1 (started 2026-12-01T08:12:00) stopped as asked, with 40 links saved. "
        "Resume continues where it stopped; nothing is written twice."
    )
    assert h.p.request(Job.RESUME) == JobRequest(Job.RESUME, "run-1")
    h.log.clear()
    h.start(Job.PLAN)
    assert h.p.request(Job.RESUME) is None  # not while a dry run reads
    assert h.log == ["Dry run started: reading every invoice (nothing is written)."]
    h.p.resumable_found(info("run-2", status=RunOutcome.AUTH_FAILED))
    h.p.cancelled()
    h.p.resumable_found(info("run-2", status=RunOutcome.AUTH_FAILED))
    assert h.p.view().resume_text.startswith("Run run-2 (started 2026-12-01T08:12:00) stopped ")
    assert "stopped (auth failed), with 40 links saved" in h.p.view().resume_text


def test_a_resumable_run_elsewhere_or_none_is_not_offered() -> None:
    h = Harness()
    h.p.resumable_found(info(web_url="https://other.halopsa.com"))
    assert h.b.resumable_run_id is None and not h.p.view().resume_visible
    h.p.resumable_found(info())
    h.p.resumable_found(None)
    assert h.b.resumable_run_id is None


def test_a_stopped_run_keeps_its_resume_whatever_the_lookup_finds() -> None:
    h = Harness()
    h.run(RunOutcome.CANCELLED, run_id="run-9")
    h.p.resumable_found(None)
    assert h.b.resumable_run_id == "run-9"
    h.p.resumable_found(info("run-9", web_url="https://other.halopsa.com"))
    assert h.b.resumable_run_id == "run-9"


def test_a_lookup_that_answers_mid_run_offers_nothing() -> None:
    h = Harness()
    h.plan()
    h.start(Job.RUN)
    h.p.resumable_found(info())
    assert h.b.resumable_run_id is None


def test_the_resume_box_falls_back_when_the_details_are_for_another_run() -> None:
    h = Harness()
    h.p.resumable_found(info("run-1"))
    h.b.resumable_run_id = "run-2"
    assert h.p.view().resume_text.startswith("Run run-2 stopped before it finished.")


# --- undo --------------------------------------------------------------------------------------
def test_undo_restores_and_says_so() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=3)
    request = h.p.request(Job.UNDO)
    assert request == JobRequest(Job.UNDO, "run-1")
    assert h.log[-1] == "Undoing run run-1: restoring the previous values."
    h.p.started(request)
    v = h.p.view()
    assert h.b.phase is BackfillPhase.UNDOING and v.busy == "Undo: removing the Pay links…"
    assert not v.undo_enabled and v.cancel_enabled
    undo_report = ReportFiles(csv=Path("/reports/undo.csv"), json=Path("/reports/undo.json"))
    h.p.finished(ran(RunOutcome.COMPLETED, run_id="undo-1", written=2, report=undo_report))
    v = h.p.view()
    assert h.b.phase is BackfillPhase.UNDONE and h.b.run_id == "run-1"
    assert v.status == (
        "Undone: the Pay link was removed from 2 invoices and the previous values are back. "
        "Run the dry run again to start over."
    )
    assert h.log[-1] == "Undo finished: 2 invoices restored."
    assert v.report == "Report: /reports/undo.csv"
    assert lines(h) == {"Pay link removed (previous value back)": 2}  # what undo did
    assert not v.undo_enabled and not v.resume_visible and not h.b.complete


def test_an_undo_that_fails_leaves_the_run_standing() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED)
    h.start(Job.UNDO)
    h.p.finished(ran(RunOutcome.NETWORK_ERROR, run_id="undo-1", detail="timed out"))
    assert h.b.phase is BackfillPhase.FINISHED and h.p.view().undo_enabled
    assert h.p.view().problem == Problem("The run stopped.", "timed out")
    assert h.log[-1] == "Stopped: timed out"


# --- progress -----------------------------------------------------------------------------------
def test_progress_while_running_names_saved_refused_and_conflicts() -> None:
    h = Harness()
    h.plan()
    h.start(Job.RUN)
    p = Progress(
        phase=Phase.WRITING,
        done=1234,
        total=5000,
        written=1000,
        conflicts=3,
        failed=2,
        rate=41.25,
        eta_seconds=200,
        message="Batch 3 saved",
    )
    view = h.p.progress(p)
    assert (h.b.done, h.b.total, h.b.failed) == (1234, 5000, 2)
    assert (view.maximum, view.value) == (5000, 1234)
    assert view.rate == "41.2 invoices/s · about 3 min 20 s left"
    assert view.status == (
        "1,234 of 5,000 invoices looked at · 1,000 links saved · 2 refused · "
        "3 with a different link"
    )
    assert h.log[-1] == "Batch 3 saved"
    h.p.progress(p)
    assert h.log.count("Batch 3 saved") == 1  # a repeated message is logged once


def test_progress_of_a_dry_run_before_the_total_is_known() -> None:
    h = Harness()
    h.start(Job.PLAN)
    view = h.p.progress(Progress(phase=Phase.PLANNING, done=0, written=0))
    assert (view.maximum, view.value) == (1, 0)
    assert view.rate == "starting…"  # no pace, no time left, before anything is decided
    assert view.status == "0 of ? invoices read · 0 would get a link"
    assert h.b.total == 0
    view = h.p.progress(Progress(phase=Phase.PLANNING, done=7, total=5, written=2))
    assert view.maximum == 7  # never below what is done


def test_progress_shows_the_wait_on_a_second_line() -> None:
    h = Harness()
    h.plan()
    h.start(Job.RUN)
    view = h.p.progress(
        Progress(
            phase=Phase.WRITING, done=5, total=40, wait_seconds=252, wait_reason="Halo's limit"
        )
    )
    assert view.status.endswith("\nHalo's limit: resuming in 4:12")
    ends = 1_800_000_000.0
    view = h.p.progress(
        Progress(
            phase=Phase.WRITING,
            done=5,
            total=40,
            wait_seconds=238,
            wait_reason="Halo's rate limit",
            wait_ends_at=ends,
        )
    )
    at = datetime.fromtimestamp(ends)
    assert view.status.endswith(f"\nHalo's rate limit: resuming at {at:%H:%M} (in 3:58)")


def test_a_new_job_logs_a_message_the_last_job_ended_on() -> None:
    h = Harness()
    h.start(Job.PLAN)
    h.p.progress(Progress(phase=Phase.DONE, message="Done."))
    h.p.finished(planned())
    h.p.ended()
    h.start(Job.PLAN)
    h.p.progress(Progress(phase=Phase.DONE, message="Done."))
    assert h.log.count("Done.") == 2


# --- the report ---------------------------------------------------------------------------------
def test_saving_the_report_logs_or_shows_the_error() -> None:
    h = Harness()
    h.plan()
    h.p.report_saved("/home/me/copy.csv")
    assert h.log[-1] == "Report saved as /home/me/copy.csv"
    error = OSError("read-only")
    h.p.report_not_saved(error)
    assert h.p.view().problem == Problem(error=error)


def test_a_run_without_a_report_shows_none() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, report=None)
    v = h.p.view()
    assert h.p.report_csv is None and h.b.report_path is None
    assert v.report == "" and not v.open_folder_enabled and not v.save_csv_enabled


# --- the counts breakdown -----------------------------------------------------------------------
def test_breakdown_labels_and_order() -> None:
    c = counts(
        written=5,
        conflicts=1,
        failed=2,
        unknown=1,
        not_written=3,
        skipped={"unreadable": 1, "not_an_invoice": 2, "from_the_future": 4},
    )
    assert breakdown(c, planned=False) == (
        CountLine("Link saved", 5),
        CountLine("Has a different link (left alone)", 1),
        CountLine("From_the_future", 4),  # an unknown reason shows as it is, capitalised
        CountLine("Not an invoice (recurring template)", 2),
        CountLine("Unreadable record", 1),
        CountLine("Refused by Halo", 2),
        CountLine("Unfinished (Resume finishes them)", 4),
    )
    assert breakdown(c, planned=True)[0] == CountLine("Would get a link", 5)


SKIP_VALUES = st.sampled_from([r.value for r in SkipReason])
COUNT = st.integers(min_value=0, max_value=10**7)


@given(
    written=COUNT,
    failed=COUNT,
    conflicts=COUNT,
    unknown=COUNT,
    not_written=COUNT,
    skipped=st.dictionaries(SKIP_VALUES, st.integers(min_value=1, max_value=10**7)),
    planned=st.booleans(),
)
def test_breakdown_adds_up_and_hides_empty_lines(
    written: int,
    failed: int,
    conflicts: int,
    unknown: int,
    not_written: int,
    skipped: dict[str, int],
    planned: bool,
) -> None:
    c = counts(
        written=written,
        failed=failed,
        conflicts=conflicts,
        unknown=unknown,
        not_written=not_written,
        skipped=skipped,
    )
    shown = breakdown(c, planned=planned)
    assert sum(line.count for line in shown) == c.seen
    assert shown[0] == CountLine("Would get a link" if planned else "Link saved", written)
    assert all(line.count > 0 for line in shown[1:])  # only the lead line may show a zero
    assert len(shown) == 1 + bool(conflicts) + len(skipped) + bool(failed) + bool(
        unknown or not_written
    )
    assert len({line.label for line in shown}) == len(shown)


# --- the Done page ------------------------------------------------------------------------------
def summary_rows(state: WizardState, location: str | None = "macOS Keychain") -> dict[str, str]:
    return dict(done_summary(state, profile_name="Acme", secret_location=location).rows)


def test_done_summary_after_a_finished_run() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=3)
    h.state.application.client_id = "client-1"
    summary = done_summary(h.state, profile_name="Acme", secret_location="macOS Keychain")
    assert summary.headline == "✓ Every open invoice has a Pay link."
    assert summary.rows == (
        ("Profile", "Acme"),
        ("Halo", WEB_URL),
        ("Instance", "Halo-hosted"),
        ("Tenant", "acme"),
        ("API application (client ID)", "client-1"),
        ("Client secret", "kept in macOS Keychain"),
        ("Accounting tool", "QuickBooks Online"),
        ("Email template link", h.state.link.generated),
        ("Changed in Halo", "3 invoices got a payment link (run run-1)"),
        ("Report", "/reports/run.csv"),
    )


def test_done_summary_before_anything_ran() -> None:
    state = make_state(link_complete=False)
    state.connect.endpoints = None
    state.connect.address = "acme.example"
    state.application.remember = False
    summary = done_summary(state, profile_name="Acme", secret_location=None)
    assert summary.headline == "The assistant is set up; the backfill has not finished."
    assert dict(summary.rows) == {
        "Profile": "Acme",
        "Halo": "acme.example",
        "Instance": "—",
        "Tenant": "—",
        "API application (client ID)": "—",
        "Client secret": "not saved (asked each time)",
        "Accounting tool": "QuickBooks Online",
        "Email template link": "—",
        "Changed in Halo": "no invoices were changed",
    }


def test_done_summary_names_the_keyring_when_the_store_has_not_said() -> None:
    state = make_state()
    assert summary_rows(state, None)["Client secret"] == "kept in the keyring"
    assert summary_rows(state, "")["Client secret"] == "kept in the keyring"
    state.application.keyring_ok = False
    assert summary_rows(state)["Client secret"] == "not saved (asked each time)"
    state.connect.endpoints = HaloEndpoints(
        web_url="https://halo.acme.example",
        auth_url="https://halo.acme.example/auth",
        resource_url="https://halo.acme.example/api",
        tenant=None,
        hosted=False,
    )
    state.connect.tenant = "typed"
    rows = summary_rows(state)
    assert (rows["Instance"], rows["Tenant"]) == ("Self-hosted", "typed")


def test_done_summary_when_the_dry_run_found_nothing_to_do() -> None:
    h = Harness()
    h.plan(0, conflicts=2)
    summary = done_summary(h.state, profile_name="Acme", secret_location=None)
    assert dict(summary.rows)["Changed in Halo"] == (
        "nothing: every open invoice already had its link"
    )
    assert summary.headline == (
        "✓ Every open invoice has a Pay link, except 2 that already had a different link (left "
        "alone); see the report."
    )


def test_done_summary_after_an_undo() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=3)
    h.start(Job.UNDO)
    h.p.finished(ran(RunOutcome.COMPLETED, run_id="undo-1", written=3))
    summary = done_summary(h.state, profile_name="Acme", secret_location=None)
    assert dict(summary.rows)["Changed in Halo"] == (
        "nothing any more: the run was undone (3 links removed)"
    )
    assert not summary.headline.startswith("✓")


def test_done_summary_counts_no_saved_links_from_a_dry_run() -> None:
    h = Harness()
    h.plan(4)
    h.b.phase = BackfillPhase.FINISHED  # counts still the dry run's
    rows = summary_rows(h.state)
    assert rows["Changed in Halo"] == "no invoices were changed"
    assert h.p.view().status == "✓ Done: 0 payment links saved, 0 invoices looked at."


def test_the_headline_names_unreadable_records_conflicts_and_refusals() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, skipped={"unreadable": 2, "paid": 5})
    assert outcome_headline(h.b) == (
        "Every open invoice has a Pay link, except 2 records Halo sent that could not be read; "
        "see the report."
    )
    h.run(
        RunOutcome.COMPLETED_WITH_FAILURES,
        written=1200,
        conflicts=1001,
        failed=1,
        skipped={"unreadable": 2},
    )
    assert outcome_headline(h.b) == (
        "Every open invoice has a Pay link, except 2 records Halo sent that could not be read "
        "and 1,001 that already had a different link (left alone) and 1 that Halo refused; see "
        "the report."
    )


# --- the engine call for each job ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_", "called", "args"),
    [
        (JobRequest(Job.PLAN), "plan_backfill", ("client", "settings")),
        (JobRequest(Job.RUN), "run_backfill", ("client", "settings", "paths")),
        (JobRequest(Job.RESUME, "run-1"), "resume_run", ("client", "paths", "run-1")),
        (JobRequest(Job.UNDO, "run-1"), "undo_run", ("client", "paths", "run-1")),
    ],
)
def test_run_job_calls_the_engine_entry_point_for_the_job(
    monkeypatch: pytest.MonkeyPatch, request_: JobRequest, called: str, args: tuple[str, ...]
) -> None:
    import halo_paylink.core.backfill as backfill

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    result = ran()
    for name in ("plan_backfill", "run_backfill", "resume_run", "undo_run"):

        async def entry(*a: Any, _name: str = name, **kw: Any) -> RunResult:
            calls.append((_name, a, kw))
            return result

        monkeypatch.setattr(backfill, name, entry)
    link = make_state().link
    got = asyncio.run(
        run_job(
            request_,
            "client",  # type: ignore[arg-type]
            "paths",  # type: ignore[arg-type]
            link=link,
            link_field=None,
            profile="Acme",
            on_progress=print,
            cancel="cancel",  # type: ignore[arg-type]
            options=None,
        )
    )
    assert got is result
    [(name, a, kw)] = calls
    assert name == called
    settings = backfill.BackfillSettings(
        template=link.template, numbering=link.numbering, target=facts.DEFAULT_LINK_FIELD
    )
    values = {"client": "client", "paths": "paths", "run-1": "run-1", "settings": settings}
    assert a == tuple(values[arg] for arg in args)
    expected = {"on_progress": print, "cancel": "cancel", "options": None}
    if request_.job is Job.PLAN:
        expected["paths"] = "paths"
    if request_.job is Job.RUN:
        expected["profile"] = "Acme"
    assert kw == expected


def test_run_job_writes_to_the_profiles_field_and_needs_a_run_to_resume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import halo_paylink.core.backfill as backfill

    seen: list[Any] = []

    async def plan_backfill(client: Any, settings: Any, **kw: Any) -> None:
        seen.append(settings.target)

    monkeypatch.setattr(backfill, "plan_backfill", plan_backfill)

    def job(request: JobRequest, link_field: str | None) -> Any:
        return run_job(
            request,
            "client",  # type: ignore[arg-type]
            "paths",  # type: ignore[arg-type]
            link=make_state().link,
            link_field=link_field,
            profile=None,
            on_progress=print,
            cancel="cancel",  # type: ignore[arg-type]
            options=None,
        )

    asyncio.run(job(JobRequest(Job.PLAN), "custom:PayLink"))
    asyncio.run(job(JobRequest(Job.PLAN), ""))
    assert seen == ["custom:PayLink", ""]
    for kind in (Job.RESUME, Job.UNDO):
        with pytest.raises(ValueError, match="names its run"):
            asyncio.run(job(JobRequest(kind), None))


def test_importing_the_presenter_loads_neither_qt_nor_the_engine() -> None:
    """The window imports it at start-up; the engine (and httpx) must wait for the first job."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "import halo_paylink.core.presenters.backfill\n"
        "heavy = ['PySide6', 'halo_paylink.core.backfill', 'httpx']\n"
        "print(json.dumps({m: m in sys.modules for m in heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "PySide6": False,
        "halo_paylink.core.backfill": False,
        "httpx": False,
    }
