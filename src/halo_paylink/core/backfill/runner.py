"""The backfill entry points: stream invoices, decide, write in journaled batches, report.

The code is split in three modules:
- `model`   the public value types (`BackfillSettings`, `RunOptions`, `Plan`, `RunResult`, ...);
- `engine`  `Engine`, one attempt of a run: reading, deciding, batching, bisecting, journaling;
- `runner`  (this module) the entry points, which build an `Engine`, drive it and finish the
  journal and report.

Entry points (all coroutines, run on one asyncio loop, e.g. the GUI's qasync loop or the CLI's
`asyncio.run`; progress callbacks run on that same loop thread):

- `plan_backfill`   dry run: the full plan, zero writes.
- `run_backfill`    a new run (journal + report).
- `resume_run`      continue an interrupted, cancelled or failed run (backfill or undo).
- `undo_run`        restore the previous values a run replaced, where nobody changed them since.

How a run stays trustworthy:
- every invoice is classified client-side (`selection.decide`), whatever the server filter did;
- only `id` and the link are sent (`LinkTarget.build_update`);
- intents are fsynced to the journal before each POST and outcomes after it, so a crash leaves
  at most a few batches "unknown", which resume re-reads from Halo before deciding again;
- the already-has-this-link rule makes any re-run a no-op for finished invoices;
- a batch Halo rejects is bisected so that one bad invoice never sinks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from halo_paylink.core.backfill.engine import Engine
from halo_paylink.core.backfill.journal import (
    Footer,
    Header,
    JournalError,
    JournalWriter,
    Resume,
    RunKind,
    journal_path,
    utc_now,
)
from halo_paylink.core.backfill.learning import (
    READ_ONLY_DRY_RUN,
    TenantLearning,
    check_edit_without_saving,
)
from halo_paylink.core.backfill.lock import exclusive_run, note_run_id
from halo_paylink.core.backfill.model import (
    BackfillError,
    BackfillSettings,
    InvoiceSource,
    Plan,
    PlannedChange,
    RunOptions,
    RunResult,
    new_run_id,
    requests_of,
    web_url_of,
)
from halo_paylink.core.backfill.modes import BackfillMode, UndoMode
from halo_paylink.core.backfill.outcome import RunOutcome, outcome_for_error
from halo_paylink.core.backfill.progress import (
    CancelToken,
    Phase,
    ProgressCallback,
    ProgressThrottle,
)
from halo_paylink.core.backfill.replay import JournalState, replay
from halo_paylink.core.backfill.report import (
    CsvReport,
    LiveRunReport,
    ReportFiles,
    report_paths,
    write_run_report,
    write_summary,
)
from halo_paylink.core.backfill.selection import decider_for
from halo_paylink.core.backfill.target import parse_link_target
from halo_paylink.core.backfill.tenant import (
    forget_complete_run,
    link_settings,
    note_own_writes,
    tenant_file,
    utc_today,
)
from halo_paylink.domain import Numbering
from halo_paylink.errors import ErrorKind
from halo_paylink.halo import facts
from halo_paylink.halo.ratelimit import RateLimiter
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.preflight import check_folders

log = logging.getLogger(__name__)

WARN_RESYNC = (
    "Saving an invoice may make Halo sync it to your accounting tool again (unverified): "
    "check one invoice in the accounting tool after the first batches."
)
WARN_EDIT_POSTED = (
    "Halo refuses edits to posted invoices on this instance ('Do not allow editing of posted "
    "invoices'); every open invoice is posted, so nothing can be written until it is turned off."
)
WARN_UNKNOWN_NUMBER = (
    "Benji Pays shows a generic payment form for an invoice number it cannot find, unless "
    "'Do not allow payment to be made if the invoice is not found' is enabled in Benji Pays."
)


# --- public entry points ---------------------------------------------------------------------


async def _learning(
    client: InvoiceSource,
    paths: AppPaths | None,
    options: RunOptions,
    link: Header | BackfillSettings,
    *,
    now: Callable[[], dt.datetime] | None = None,
    resumed: bool = False,
) -> TenantLearning | None:
    """What this Halo taught earlier runs, loaded; None with Halo's own unpaid filter, which
    decides the read itself. `link`: the run's header, or a dry run's settings; `now`: the wall
    clock; `resumed`: a resumed run, which started when its header says."""
    if link.server_filter:
        return None
    if isinstance(link, Header):
        settings = link_settings(
            link.target, link.numbering, link.template, overwrite=link.overwrite
        )
    else:
        settings = link_settings(
            link.link_target().spec, link.numbering.value, link.template, overwrite=link.overwrite
        )
    path = tenant_file(paths, web_url_of(client)) if paths is not None else None
    learning = TenantLearning(
        client,
        path,
        full_read=options.full_read,
        page_size=options.page_size,
        link=settings,
        clock=now,
        started=link.started if resumed and isinstance(link, Header) else None,
    )
    await learning.load()
    return learning


async def _remember(
    learning: TenantLearning | None, engine: Engine, *, completed: bool = False
) -> tuple[str, ...]:
    """Keep what the attempt showed about the tenant (`completed`: the attempt ended
    completed); the notes for the run's warnings."""
    if learning is None:
        return ()
    listing = engine.listing
    whole = (
        engine.scope is None
        and engine.mode.needs_whole_listing
        and listing is not None
        and listing.consistent
        and engine.failure is None
        and engine.crash is None
        and not engine.cancel.cancelled
    )
    await learning.remember(engine.learner, read_whole_list=whole, completed=completed)
    return tuple(learning.notes)


def _wall_now(now: Callable[[], dt.datetime] | None = None) -> str:
    return (now() if now is not None else dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")


async def _note_own_writes(
    engine: Engine,
    paths: AppPaths,
    client: InvoiceSource,
    now: Callable[[], dt.datetime] | None = None,
) -> None:
    """After an attempt that may have saved invoices (any run that writes: a backfill, with
    Halo's filter or not, a pilot, an undo), keep when: changes Halo stamped before then may be
    ours, so they are no evidence about what Halo stamps (see `witnesses.ChangeWitness`)."""
    if engine.mode.writes:
        path = tenant_file(paths, web_url_of(client))
        await asyncio.to_thread(note_own_writes, path, _wall_now(now))


def _limiter_of(client: InvoiceSource) -> RateLimiter | None:
    found = getattr(client, "limiter", None)
    return found if isinstance(found, RateLimiter) else None


def _throttle(
    client: InvoiceSource,
    on_progress: ProgressCallback | None,
    options: RunOptions,
    clock: Callable[[], float],
) -> ProgressThrottle:
    """The run's progress throttle; with the client's limiter, so waits count in time left."""
    return ProgressThrottle(
        on_progress, interval=options.progress_interval, clock=clock, limiter=_limiter_of(client)
    )


@contextlib.contextmanager
def _stop_wakes_waits(engine: Engine) -> Iterator[None]:
    """While the attempt runs, Stop wakes a rate-limit wait at once (`RateLimiter.interrupt`):
    the wait ends within the moment, not when it would have."""
    limiter = _limiter_of(engine.client)
    if limiter is None:
        yield
        return
    engine.cancel.add_listener(limiter.interrupt)
    try:
        yield
    finally:
        engine.cancel.remove_listener(limiter.interrupt)


#: The detail of a run stopped as asked (resumable), and of a dry run stopped so.
STOPPED_DETAIL = "Stopped as asked; resume to continue (nothing is written twice)."
PLAN_STOPPED_DETAIL = (
    "Stopped as asked; nothing was written. Run the dry run again to see the whole plan."
)


def _filters(settings_filter: bool) -> Mapping[str, str] | None:
    """The listing's filters: with the server-side filter, only what cannot hide an open
    invoice (posted, no credits). Never a list of unpaid codes: the codes differ per tenant,
    and a code not on the list would hide its open invoices."""
    return dict(facts.SAFE_LISTING_FILTERS) if settings_filter else None


def _final_phase(outcome: RunOutcome) -> Phase:
    if outcome in (RunOutcome.COMPLETED, RunOutcome.PLANNED, RunOutcome.COMPLETED_WITH_FAILURES):
        return Phase.DONE
    if outcome is RunOutcome.CANCELLED:
        return Phase.CANCELLED
    return Phase.FAILED


def _attempt_outcome(engine: Engine, crash: BaseException | None = None) -> tuple[RunOutcome, str]:
    """The attempt's named outcome: "completed" only with the evidence for it.

    Completed means: nothing stopped the attempt, the listing was shown consistent (or, for an
    undo, every invoice to restore was looked at), no write is unfinished, and every invoice
    seen is in exactly one bucket.
    """
    crash = crash or engine.crash
    if crash is not None:
        if isinstance(crash, OSError | JournalError):
            return RunOutcome.LOCAL_ERROR, f"Local file problem: {type(crash).__name__}: {crash}"
        return RunOutcome.INTERNAL_ERROR, (
            f"Internal error ({type(crash).__name__}); nothing is lost: resume to continue."
        )
    if engine.cancel.cancelled:  # a stop asked for during a wait may also end in a failure
        return RunOutcome.CANCELLED, STOPPED_DETAIL
    if engine.failure is not None:
        return outcome_for_error(engine.failure), engine.failure.summary
    if not engine.accounted:
        log.error(
            "backfill counts do not add up: %d counted, %d seen",
            engine.tally.done,
            len(engine.handled) + len(engine.odd_keys),
        )
        return RunOutcome.INTERNAL_ERROR, (
            "The run's counts do not add up, so it cannot be called complete; resume to re-check."
        )
    if engine.incomplete is not None:
        missed = engine.incomplete.possibly_missed
        log.info("invoice list did not add up: %s", engine.incomplete.summary())
        return RunOutcome.INCOMPLETE, (
            "Halo's invoice list kept changing while it was read (invoices were added, removed "
            "or paid meanwhile), so the run cannot show it saw every open invoice: "
            f"up to {missed} open invoice{'s' if missed != 1 else ''} may be missing: "
            "run again later (resume covers them; nothing is written twice)."
        )
    if engine.unfinished:
        return RunOutcome.INCOMPLETE, (
            f"{engine.unfinished} write(s) are unfinished; resume to settle them."
        )
    return RunOutcome.COMPLETED, ""


def _plan_outcome(engine: Engine) -> tuple[RunOutcome, str]:
    """A dry run's outcome: as an attempt's, in a dry run's words (it is run again, never
    resumed), and PLANNED where a run would be COMPLETED."""
    outcome, detail = _attempt_outcome(engine)
    if outcome is RunOutcome.INCOMPLETE:
        detail = detail.replace(
            "(resume covers them; nothing is written twice)", "(run the dry run again)"
        )
    if outcome is RunOutcome.CANCELLED:
        detail = PLAN_STOPPED_DETAIL
    if outcome is RunOutcome.COMPLETED:
        outcome = RunOutcome.PLANNED
    return outcome, detail


async def plan_backfill(
    client: InvoiceSource,
    settings: BackfillSettings,
    *,
    paths: AppPaths | None = None,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] | None = None,  # the wall clock (UTC), for tenant facts
) -> RunResult:
    """Dry run: read and classify every invoice, write nothing to Halo.

    With `paths`, the plan is also saved as a report (`plan-<id>.csv/.json`). When
    `options.check_edit_permission`, one edit is validated with Halo's validate-only flag (no
    save) to warn when editing posted invoices is forbidden.

    Raises:
        BackfillError: the template or target is unusable.
    """
    settings.check()
    options = options or RunOptions()
    cancel = cancel or CancelToken()
    throttle = _throttle(client, on_progress, options, clock)
    plan_id = f"plan-{new_run_id()}"
    csv_report: CsvReport | None = None
    files: ReportFiles | None = None
    if paths is not None:
        await asyncio.to_thread(check_folders, paths, journals=False)  # local pre-flight; no lock
        await asyncio.to_thread(paths.ensure)
        files = report_paths(paths.reports_dir, plan_id)
        csv_report = await asyncio.to_thread(CsvReport, files.csv)
    target = settings.link_target()

    decider = decider_for(
        target=target,
        template=settings.template,
        numbering=settings.numbering,
        overwrite=settings.overwrite,
    )
    learning = await _learning(client, paths, options, settings, now=now)
    engine = Engine(
        client,
        target=target,
        mode=BackfillMode(decider, writes=False),
        journal=None,
        options=options,
        progress=throttle,
        cancel=cancel,
        clock=clock,
        on_row=csv_report.add if csv_report else None,
        narrow=learning.narrow if learning and learning.wants_narrow(options.narrow) else None,
        learner=learning.learner if learning else None,
        witness=learning.witness if learning else None,
        changes=learning.changes if learning else None,
    )
    try:
        with _stop_wakes_waits(engine):
            await engine.run(_filters(settings.server_filter))
    finally:
        if csv_report is not None:
            await asyncio.to_thread(csv_report.close)
    notes = await _remember(learning, engine)
    outcome, detail = _plan_outcome(engine)
    warnings: list[str] = []
    sent = READ_ONLY_DRY_RUN
    if engine.tally.written:
        warnings.append(WARN_RESYNC)
        if options.check_edit_permission and engine.sample and outcome is RunOutcome.PLANNED:
            sent = await _check_one_edit(client, engine.sample[0], paths, warnings)
    warnings.append(WARN_UNKNOWN_NUMBER)
    warnings.extend(notes)
    if settings.target == facts.DEFAULT_LINK_FIELD:
        warnings.append(facts.UNVERIFIED_NOTES["link_field"])
    counts = engine.tally.counts()
    plan = Plan(
        counts=counts,
        to_write=engine.tally.written,
        sample=tuple(engine.sample),
        conflict_sample=tuple(engine.conflict_sample),
        warnings=tuple(warnings),
        total=engine.total,
    )
    if files is not None:
        summary = {
            "run_id": plan_id,
            "kind": "plan",
            "web_url": web_url_of(client),
            "target": settings.target,
            "template": settings.template,
            "numbering": settings.numbering.value,
            "overwrite": settings.overwrite,
            "outcome": outcome.value,
            "detail": detail,
            "counts": counts.to_json(),
            "to_write": plan.to_write,
            "warnings": list(warnings),
            "sent": sent,
            "csv": str(files.csv),
        }
        await asyncio.to_thread(write_summary, files.json, summary)
    engine.emit(_final_phase(outcome), force=True)
    return RunResult(
        outcome=outcome,
        counts=counts,
        report=files,
        plan=plan,
        error=engine.failure,
        detail=detail,
        requests=requests_of(client),
        warnings=tuple(warnings),
        sent=sent,
    )


async def _check_one_edit(
    client: InvoiceSource, first: PlannedChange, paths: AppPaths | None, warnings: list[str]
) -> str:
    """The dry run's validate-only check of the first planned change (see
    learning.check_edit_without_saving): its warning, if any, goes to `warnings`; returns the
    words for what the dry run sent."""
    path = tenant_file(paths, web_url_of(client)) if paths is not None else None
    check = await check_edit_without_saving(
        client, first.id, first.number or str(first.id), path, today=utc_today()
    )
    error = check.error
    if error is not None:
        if error.kind is ErrorKind.EDIT_POSTED_FORBIDDEN:
            warnings.append(WARN_EDIT_POSTED)
        else:
            warnings.append(f"An edit check failed: {error.summary}")
    return check.sent


async def execute_attempt(
    engine: Engine,
    *,
    journal: JournalWriter,
    run_id: str,
    paths: AppPaths,
    filters: Mapping[str, str] | None,
    client: InvoiceSource,
    prior_failed: int = 0,
    learning: TenantLearning | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> RunResult:
    """Run one attempt to its end, close the journal with a footer, write the report. `now`:
    the wall clock (UTC) the tenant's facts are dated by.

    The report comes from `engine.live` when set and the journal was written without a hitch,
    else it is built by reading the journal back.
    """
    crash: BaseException | None = None
    live = engine.live
    try:
        with _stop_wakes_waits(engine):
            await engine.run(filters)  # raises only its own cancellation
    except asyncio.CancelledError:
        # The task itself was cancelled (e.g. the window closed): close the journal consistently
        # (in-flight writes stay "unknown" for resume), then let the cancellation through.
        with contextlib.suppress(Exception):
            journal.append([Footer(RunOutcome.CANCELLED.value, utc_now(), "task cancelled")])
        journal.close()
        if engine.mode.writes:
            with contextlib.suppress(Exception):
                note_own_writes(tenant_file(paths, web_url_of(client)), _wall_now(now))
        if live is not None:
            with contextlib.suppress(Exception):
                live.discard()
        raise
    except Exception as exc:
        log.exception("backfill attempt failed")
        crash = exc
    outcome, detail = _attempt_outcome(engine, crash)
    if outcome is RunOutcome.COMPLETED and (engine.tally.failed or prior_failed):
        outcome = RunOutcome.COMPLETED_WITH_FAILURES
        detail = "Halo refused some invoices; see the report."
    footer = Footer(outcome.value, utc_now(), detail)
    live_ok = live is not None and crash is None
    try:
        await asyncio.to_thread(journal.append, [footer], sync=True)
    except OSError as exc:
        if outcome is not RunOutcome.LOCAL_ERROR:  # keep the first local problem's words
            outcome, detail = RunOutcome.LOCAL_ERROR, f"Could not finish the journal: {exc}"
        # The live report holds every record the attempt appended: with the journal unusable
        # (deleted, disk full), it is the record of what was done.
        footer = Footer(outcome.value, utc_now(), detail)
    finally:
        await asyncio.to_thread(journal.close)
    # Only a run the journal closed as completed is one a later read may start from.
    notes = await _remember(learning, engine, completed=outcome is RunOutcome.COMPLETED)
    await _note_own_writes(engine, paths, client, now)
    files: ReportFiles | None = None
    counts = engine.tally.counts()
    try:
        if live is not None and live_ok:
            live.feed([footer])
            files, state = await asyncio.to_thread(live.finish)
        else:
            if live is not None:
                await asyncio.to_thread(live.discard)
            files, state = await asyncio.to_thread(
                write_run_report, journal.path, paths.reports_dir
            )
        counts = state.counts
    except (OSError, JournalError) as exc:
        log.warning("report not written: %s", exc)
        detail = f"{detail} (report not written: {exc})".strip()
    engine.emit(_final_phase(outcome), force=True)
    return RunResult(
        outcome=outcome,
        counts=counts,
        run_id=run_id,
        journal=journal.path,
        report=files,
        error=engine.failure,
        detail=detail,
        requests=requests_of(client),
        warnings=notes,
    )


@exclusive_run("backfill")  # local pre-flight + one run per Halo (see `lock`)
async def run_backfill(
    client: InvoiceSource,
    settings: BackfillSettings,
    paths: AppPaths,
    *,
    profile: str | None = None,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] | None = None,  # the wall clock (UTC), for tenant facts
) -> RunResult:
    """Start a new backfill run: journal in `paths.journals_dir`, report in `paths.reports_dir`.

    Never raises for Halo failures: they end the run with a named `RunOutcome` (resumable).

    Raises:
        BackfillError: the template or target is unusable.
    """
    settings.check()
    options = options or RunOptions()
    header, journal = await open_backfill_journal(client, settings, paths, profile=profile)
    run_id, path = header.run_id, journal.path
    learning = await _learning(client, paths, options, header, now=now)
    filters = _filters(header.server_filter)
    if learning is not None and learning.wants_incremental(options.incremental):
        filters = await learning.incremental() or filters
    engine = _backfill_engine(
        client, header, journal, options, on_progress, cancel, clock, None, learning
    )
    try:
        # The report is written as the run goes (see LiveRunReport); if it cannot even be
        # opened, it is built from the journal at the end as usual.
        engine.live = await asyncio.to_thread(LiveRunReport, header, path, paths.reports_dir)
    except OSError as exc:
        log.warning("live report not opened: %s", exc)
    return await execute_attempt(
        engine,
        journal=journal,
        run_id=run_id,
        paths=paths,
        filters=filters,
        client=client,
        learning=learning,
        now=now,
    )


async def open_backfill_journal(
    client: InvoiceSource,
    settings: BackfillSettings,
    paths: AppPaths,
    *,
    profile: str | None,
    pilot: bool = False,
) -> tuple[Header, JournalWriter]:
    """A new run's journal, created with its header (fsynced) before anything is sent."""
    await asyncio.to_thread(paths.ensure)
    run_id = new_run_id()
    note_run_id(run_id)
    header = Header(
        run_id=run_id,
        kind=RunKind.BACKFILL,
        started=utc_now(),
        web_url=web_url_of(client),
        target=settings.link_target().spec,
        template=settings.template.strip(),
        numbering=settings.numbering.value,
        overwrite=settings.overwrite,
        profile=profile,
        server_filter=settings.server_filter and not pilot,
        pilot=pilot,
    )
    journal = await asyncio.to_thread(
        JournalWriter, journal_path(paths.journals_dir, run_id), create=True
    )
    await asyncio.to_thread(journal.append, [header], sync=True)
    return header, journal


def _backfill_engine(
    client: InvoiceSource,
    header: Header,
    journal: JournalWriter,
    options: RunOptions,
    on_progress: ProgressCallback | None,
    cancel: CancelToken | None,
    clock: Callable[[], float],
    prior: JournalState | None,
    learning: TenantLearning | None,
) -> Engine:
    target = parse_link_target(header.target)
    decider = decider_for(
        target=target,
        template=header.template,
        numbering=Numbering(header.numbering),
        overwrite=header.overwrite,
    )
    return Engine(
        client,
        target=target,
        mode=BackfillMode(decider, writes=True),
        journal=journal,
        options=options,
        progress=_throttle(client, on_progress, options, clock),
        cancel=cancel or CancelToken(),
        clock=clock,
        prior=prior,
        narrow=learning.narrow
        if learning and learning.wants_narrow(options.narrow) and learning.changed_since is None
        else None,
        learner=learning.learner if learning else None,
        witness=learning.witness if learning else None,
        changes=learning.changes if learning else None,
    )


def _undo_engine(
    client: InvoiceSource,
    header: Header,
    changes: Mapping[int, tuple[Any, str | None]],
    journal: JournalWriter,
    options: RunOptions,
    on_progress: ProgressCallback | None,
    cancel: CancelToken | None,
    clock: Callable[[], float],
    prior: JournalState | None,
) -> Engine:
    target = parse_link_target(header.target)
    return Engine(
        client,
        target=target,
        mode=UndoMode(target, changes),
        journal=journal,
        options=options,
        progress=_throttle(client, on_progress, options, clock),
        cancel=cancel or CancelToken(),
        clock=clock,
        prior=prior,
    )


def _changes_to_undo(original: Path) -> dict[int, tuple[Any, str | None]]:
    """(old, new) of every write of a run, including writes whose result is unknown."""
    state = replay(original, collect_written=True)
    if state.header.kind is not RunKind.BACKFILL:
        raise BackfillError(f"{state.header.run_id} is an undo run; it cannot be undone")
    changes = dict(state.written_changes or {})
    for intent in state.unknown.values():
        changes.setdefault(intent.id, (intent.old, intent.new))
    return changes


def _check_same_halo(client: InvoiceSource, header: Header) -> None:
    ours, theirs = web_url_of(client).rstrip("/").lower(), header.web_url.rstrip("/").lower()
    if ours and theirs and ours != theirs:
        raise BackfillError(
            f"Run {header.run_id} was made against {header.web_url}, not {web_url_of(client)}."
        )


@exclusive_run("undo")  # local pre-flight + one run per Halo (see `lock`)
async def undo_run(
    client: InvoiceSource,
    paths: AppPaths,
    run_id: str,
    *,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunResult:
    """Restore each invoice's previous value from run `run_id`'s journal, only where the link is
    still the one that run wrote (else skipped as `changed_since`). The undo is a journaled run
    of its own (kind "undo"), resumable like any other.

    Raises:
        BackfillError: no such run, an undo of an undo, or a different Halo.
    """
    options = options or RunOptions()
    await asyncio.to_thread(paths.ensure)
    original = journal_path(paths.journals_dir, run_id)
    if not original.exists():
        raise BackfillError(f"No run {run_id} in {paths.journals_dir}")
    try:
        changes = await asyncio.to_thread(_changes_to_undo, original)
        orig_header = replay(original).header
    except JournalError as exc:
        raise BackfillError(f"Run {run_id} cannot be read: {exc}") from exc
    _check_same_halo(client, orig_header)
    # The links the last completed run vouched for may go now (raises LocalError when the
    # tenant's facts cannot say so).
    await asyncio.to_thread(forget_complete_run, tenant_file(paths, web_url_of(client)))
    undo_id = new_run_id()
    note_run_id(undo_id)
    header = Header(
        run_id=undo_id,
        kind=RunKind.UNDO,
        started=utc_now(),
        web_url=orig_header.web_url or web_url_of(client),
        target=orig_header.target,
        template=orig_header.template,
        numbering=orig_header.numbering,
        overwrite=False,
        profile=orig_header.profile,
        server_filter=False,
        undo_of=run_id,
    )
    path = journal_path(paths.journals_dir, undo_id)
    journal = await asyncio.to_thread(JournalWriter, path, create=True)
    await asyncio.to_thread(journal.append, [header], sync=True)
    engine = _undo_engine(
        client, header, changes, journal, options, on_progress, cancel, clock, None
    )
    # Undo reads every invoice (no filter): restored invoices may have been paid since.
    return await execute_attempt(
        engine, journal=journal, run_id=undo_id, paths=paths, filters=None, client=client
    )


def _refuse_resume_after_undo(paths: AppPaths, header: Header) -> None:
    """A backfill's journal says which invoices already had the link when it read them; an undo
    on the same Halo since then may have taken links away, so that record no longer holds and a
    resume could say completed over invoices without the link. Raises BackfillError then (a new
    run reads everything again; nothing is written twice). Blocking."""
    from halo_paylink.core.backfill.runs import list_runs

    for info in list_runs(paths):
        if (
            info.kind is RunKind.UNDO
            and info.web_url == header.web_url
            and info.started > header.started
        ):
            raise BackfillError(
                f"Run {header.run_id} is not resumed: run {info.run_id} undid links on this Halo "
                "after it started, so what it recorded as already linked may no longer be. "
                "Start a new run instead: it reads every invoice again, and an invoice that has "
                "its link keeps it."
            )


@exclusive_run("resume")  # local pre-flight + one run per Halo (see `lock`)
async def resume_run(
    client: InvoiceSource,
    paths: AppPaths,
    run_id: str | None = None,
    *,
    options: RunOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] | None = None,  # the wall clock (UTC), for tenant facts
) -> RunResult:
    """Continue run `run_id` (default: the latest resumable one) where its journal ends.

    Writes whose result was never recorded are settled first by what Halo now holds (a write that
    landed is recorded, not repeated); then the selection runs again, skipping every invoice the
    journal already settled.

    Raises:
        BackfillError: nothing to resume, the run already completed, or a different Halo.
    """
    from halo_paylink.core.backfill.runs import latest_resumable

    options = options or RunOptions()
    await asyncio.to_thread(paths.ensure)
    if run_id is None:
        info = await asyncio.to_thread(latest_resumable, paths)
        if info is None:
            raise BackfillError("There is no interrupted run to resume.")
        run_id = info.run_id
    note_run_id(run_id)
    path = journal_path(paths.journals_dir, run_id)
    if not path.exists():
        raise BackfillError(f"No run {run_id} in {paths.journals_dir}")
    try:
        state: JournalState = await asyncio.to_thread(replay, path)
    except JournalError as exc:
        raise BackfillError(f"Run {run_id} cannot be read: {exc}") from exc
    header = state.header
    if header.pilot:
        raise BackfillError(
            f"Run {run_id} is a pilot of one invoice and is not resumed: run the pilot again "
            "(the invoice is read first, so nothing is written twice)."
        )
    if not state.status.resumable:
        raise BackfillError(f"Run {run_id} already finished ({state.status.value}).")
    _check_same_halo(client, header)
    if header.kind is RunKind.UNDO:  # it takes links away: no read may start from before it
        await asyncio.to_thread(forget_complete_run, tenant_file(paths, web_url_of(client)))
    else:
        await asyncio.to_thread(_refuse_resume_after_undo, paths, header)
    try:
        journal = await asyncio.to_thread(JournalWriter, path, create=False)
    except JournalError as exc:
        raise BackfillError(str(exc)) from exc
    await asyncio.to_thread(journal.append, [Resume(at=utc_now())], sync=True)
    if header.kind is RunKind.UNDO:
        assert header.undo_of is not None
        changes = await asyncio.to_thread(
            _changes_to_undo, journal_path(paths.journals_dir, header.undo_of)
        )
        engine = _undo_engine(
            client, header, changes, journal, options, on_progress, cancel, clock, state
        )
        filters = None
        learning = None
    else:
        learning = await _learning(client, paths, options, header, now=now, resumed=True)
        engine = _backfill_engine(
            client, header, journal, options, on_progress, cancel, clock, state, learning
        )
        filters = _filters(header.server_filter)
    prior = state.counts
    return await execute_attempt(
        engine,
        journal=journal,
        run_id=run_id,
        paths=paths,
        filters=filters,
        client=client,
        prior_failed=prior.failed,
        learning=learning,
        now=now,
    )
