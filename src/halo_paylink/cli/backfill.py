"""`halo-paylink backfill` and `halo-paylink runs`: the backfill without a window.

    halo-paylink backfill (--profile NAME | --url URL --client-id ID [--tenant T])
        --link TEMPLATE [--numbering halo|accounting] [--link-field FIELD | custom:NAME]
        [--dry-run] [--overwrite] [--json]
    halo-paylink backfill --resume [RUN_ID]      (default: the latest interrupted run)
    halo-paylink backfill --undo RUN_ID
    halo-paylink runs [--json]

Profile values are defaults; flags override them. The client secret comes from HALO_CLIENT_SECRET
or the keyring (see `cli.common`); there is no prompt when stdin is not a terminal. A progress bar
goes to stderr only when stderr is a terminal; the summary goes to stdout (`--json`: one JSON
object). Exit 0 on success; otherwise the outcome's exit code (see `RunOutcome.exit_code`), 2 for
usage errors, 7 when another run against the same Halo is running, 17 (local_error) when a local
folder cannot be written or the disk is full (found before anything is sent to Halo).

Ctrl-C (or SIGTERM) stops the run within a second, even while it waits for Halo's rate limit
(`_Stopper`): it says "stopped, as you asked", exits 4 and prints the exact command that resumes
it; a stopped dry run changed nothing and prints the command that runs it again. Every command
printed carries the connection options it was given (never the secret) and names this program as
it can be started here (`cli.common.command_line`), so it works as printed.

With a Benji API key configured (`BENJI_API_KEY`, or the keyring for a profile; see
`cli.benji`), a dry run also reports Benji's invoice number check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from halo_paylink.cli.common import command_line, connection_flags
from halo_paylink.cli.terminal import say, say_json

if TYPE_CHECKING:
    from halo_paylink.core.backfill import Counts, Progress, RunResult
    from halo_paylink.core.benji_checks import NumberCheck

if TYPE_CHECKING:  # the modules themselves are imported when a command runs
    from halo_paylink.core.backfill import (
        BackfillSettings,
        CancelToken,
        Progress,
        RunOptions,
        RunResult,
    )
    from halo_paylink.core.backfill.estimate import RunEstimate
    from halo_paylink.core.backfill.pilot import PilotReport
    from halo_paylink.halo.client import HaloClient
    from halo_paylink.storage.paths import AppPaths
    from halo_paylink.storage.profiles import Profile

T = TypeVar("T")

DEFAULT_CONCURRENCY = 4
#: Exit code when another run against the same Halo is running (try again once it has finished).
BUSY_EXIT = 7
#: Exit code after Ctrl-C before a run started (128 + SIGINT, as shells report it).
INTERRUPTED_EXIT = 130
#: After Ctrl-C, how long the run may take to stop by itself (between batches, or at once in a
#: wait) before its task is cancelled; a second Ctrl-C cancels it at once.
STOP_GRACE_SECONDS = 0.5

#: How each run outcome reads in human output (`--json` keeps the outcome's value).
OUTCOME_WORDS: dict[str, str] = {
    "completed": "completed",
    "completed_with_failures": "completed, but Halo refused some invoices",
    "planned": "done; nothing was changed",
    "cancelled": "stopped",
    "incomplete": "not complete: Halo's invoice list changed while it was read",
    "interrupted": "interrupted (the program ended before the run finished)",
    "network_error": "stopped: Halo could not be reached",
    "auth_failed": "stopped: Halo refused the sign-in",
    "permission_denied": "stopped: Halo refused permission",
    "edit_posted_forbidden": "stopped: Halo does not allow editing posted invoices",
    "rate_limited": "stopped: Halo's rate limit was reached",
    "server_error": "stopped: Halo had a server error",
    "malformed_response": "stopped: Halo's answer could not be read",
    "local_error": "stopped: a file on this computer could not be written",
    "internal_error": "stopped: an internal error (see the log)",
}


def outcome_words(value: str) -> str:
    """The words for a `RunOutcome` value; the value itself for one this version does not know."""
    return OUTCOME_WORDS.get(value, value.replace("_", " "))


def add_parser(subparsers: Any) -> None:
    """Register both `backfill` and `runs`."""
    from halo_paylink.cli.common import add_connection_arguments
    from halo_paylink.halo import facts

    parser = subparsers.add_parser(
        "backfill",
        help="put the Benji Pays link on every open invoice (or --dry-run, --resume, --undo)",
        description="Add the Benji Pays pay-now link to every open Halo invoice. Every run is "
        "journaled: it can be resumed after an interruption and undone.",
    )
    add_connection_arguments(parser)
    parser.add_argument("--link", metavar="TEMPLATE", help="the pay-now link with [Invoice No.]")
    parser.add_argument(
        "--numbering",
        choices=("halo", "accounting"),
        help="fill the link with Halo's invoice number or the accounting tool's (default: the "
        "profile's, else accounting)",
    )
    parser.add_argument(
        "--link-field",
        metavar="FIELD",
        help=f"where the link goes: an invoice field (default {facts.DEFAULT_LINK_FIELD}) or "
        "custom:NAME for a custom field",
    )
    parser.add_argument("--dry-run", action="store_true", help="plan only; change nothing")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a different existing link"
    )
    parser.add_argument(
        "--server-filter",
        action="store_true",
        help="ask Halo for posted, non-credit invoices only (drafts and credit notes are not "
        "read; an open invoice is never either)",
    )
    parser.add_argument(
        "--incremental",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after a completed run, read only the invoices changed since it started (every "
        f"posted invoice is still read after {facts.FULL_READ_EVERY_RUNS} such runs or "
        f"{facts.FULL_READ_EVERY_DAYS} days). Default: on once this Halo has shown that such a "
        "read misses nothing (see `check`)",
    )
    parser.add_argument(
        "--narrow",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"on a list of {facts.NARROW_FROM_INVOICES:,} invoices or more, leave out the "
        "payment statuses proven paid on this Halo (still reading their invoices changed since; "
        f"every invoice is read again at least every {facts.FULL_READ_EVERY_DAYS} days). "
        "Default: on, unless this Halo was seen to change an invoice without moving its "
        "last_modified",
    )
    parser.add_argument(
        "--full-read",
        action="store_true",
        help="read every posted invoice this time, and check what was learned about this Halo "
        "(narrowed and incremental reads are skipped for this run)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="RUN_ID",
        help="continue an interrupted run (default: the latest)",
    )
    mode.add_argument("--undo", metavar="RUN_ID", help="restore the values a run replaced")
    mode.add_argument(
        "--pilot",
        nargs="?",
        const="",
        metavar="INVOICE_ID",
        help="write the link to one invoice first (default: the newest that needs one), read it "
        "back and say what changed",
    )
    mode.add_argument(
        "--pay-button",
        choices=("seen", "missing"),
        help="record what Halo's customer portal showed on the pilot invoice",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="REQ/SECONDS",
        help="e.g. 300/300 or 300/5m, 'hosted' or 'unlimited' (default: the profile's, else "
        "hosted Halo's budget for hosted Halo and none for self-hosted)",
    )
    parser.add_argument(
        "--confirm-numbering",
        action="store_true",
        help="run even though the last dry run's Benji number check found too few numbers",
    )
    parser.add_argument("--batch-size", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help=argparse.SUPPRESS
    )

    runs = subparsers.add_parser("runs", help="list past backfill runs")
    runs.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    if args.command == "runs":
        return _runs(args)
    from halo_paylink.cli.common import CliError, print_cli_error

    try:
        return asyncio.run(_backfill(args))
    except CliError as error:
        print_cli_error(error, json_mode=args.json)
        return error.exit_code
    except KeyboardInterrupt:  # before the run started (asking for the secret, signing in)
        say("Stopped before the run started; nothing was changed in Halo.", file=sys.stderr)
        return INTERRUPTED_EXIT


# --- runs ----------------------------------------------------------------------------------------


def _runs(args: argparse.Namespace) -> int:
    from halo_paylink.core.backfill.runs import list_runs
    from halo_paylink.storage.paths import AppPaths

    runs = list_runs(AppPaths.default())
    if args.json:
        say_json({"runs": [r.to_json() for r in runs]})
        return 0
    if not runs:
        say("No runs yet.")
        return 0
    say(f"{'RUN ID':<24} {'KIND':<8} {'STARTED':<16} {'STATUS':<23} COUNTS")
    for info in runs:
        status = "damaged" if info.damaged else _status_words(info.status.value)
        if info.running:
            status = "running"
        counts = "-" if info.damaged else _counts_line(info.counts)
        say(
            f"{info.run_id:<24} {info.kind.value:<8} {_local_minute(info.started):<16} "
            f"{status:<23} {counts}"
        )
        if info.damaged:
            say(f"  {info.damage}")
    return 0


def _status_words(value: str) -> str:
    """A run's status, short enough for the table's column: "stopped", "network error"."""
    return {"cancelled": "stopped", "internal_error": "internal error"}.get(
        value, value.replace("_", " ")
    )


def _local_minute(timestamp: str) -> str:
    """An ISO timestamp as local 'YYYY-MM-DD HH:MM' for the table; unchanged if unreadable."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return timestamp


def _counts_line(counts: Counts) -> str:
    parts = [f"written {counts.written}"]
    if counts.overwritten:
        parts.append(f"(overwritten {counts.overwritten})")
    parts += [f"skipped {counts.skipped_total}", f"conflicts {counts.conflicts}"]
    parts.append(f"failed {counts.failed}")
    if counts.unknown or counts.not_written:
        parts.append(f"unfinished {counts.unknown + counts.not_written}")
    return ", ".join(parts)


# --- backfill ------------------------------------------------------------------------------------


class ProgressBar:
    """One redrawn line on a terminal (stderr). Called on the loop thread."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawn = False

    def __call__(self, progress: Progress) -> None:
        from halo_paylink.core.numbers import format_count
        from halo_paylink.core.wizard import format_duration

        width = 28
        fraction = progress.fraction
        if fraction is None:
            bar = " " * width
            pct = "  ?%"
        else:
            filled = int(fraction * width)
            bar = "#" * filled + "." * (width - filled)
            pct = f"{fraction * 100:3.0f}%"
        n = format_count
        total = "?" if progress.total is None else n(progress.total)
        eta = "" if not progress.eta_seconds else f" · {format_duration(progress.eta_seconds)} left"
        wait = progress.wait_line
        if wait:  # what it waits for and until when, before anything else is cut off
            eta = f" · {wait}{eta}"
        line = (
            f"\r{progress.phase.value:<9} [{bar}] {pct} {n(progress.done)}/{total}{eta} · "
            f"written {n(progress.written)} skipped {n(progress.skipped_total)} "
            f"conflicts {n(progress.conflicts)} failed {n(progress.failed)}"
        )
        self.stream.write(line[:160] + "\x1b[K")
        self.stream.flush()
        self.drawn = True
        if progress.phase.final:
            self.stream.write("\n")
            self.stream.flush()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _settings(args: argparse.Namespace, profile: Profile | None) -> BackfillSettings:
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.backfill import BackfillError, BackfillSettings
    from halo_paylink.domain import Numbering

    link = getattr(profile, "link", None)
    template = args.link or (link.template if link else "")
    if not template:
        raise CliError(
            "No pay-now link was given.",
            next_step="Give --link with the Benji Pays link containing [Invoice No.], or save it "
            "in the profile.",
        )
    numbering = (
        Numbering(args.numbering)
        if args.numbering
        else (link.numbering if link else Numbering.ACCOUNTING)
    )
    target = _link_field(args, profile)
    settings = BackfillSettings(
        template=template,
        numbering=numbering,
        target=target,
        overwrite=args.overwrite,
        server_filter=args.server_filter,
    )
    _check_link(template, from_profile=not args.link)
    try:
        settings.check()
    except BackfillError as exc:  # the link field: its own words lead
        raise CliError(str(exc), next_step=_LINK_FIELD_NEXT_STEP) from None
    return settings


_LINK_FIELD_NEXT_STEP = (
    "Give --link-field with an invoice field's name, or custom:NAME for a custom field."
)


def _check_link(template: str, *, from_profile: bool) -> None:
    """A pay-now link that cannot be used: its first problem leads (CliError), the rest follow."""
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.links import template_errors

    problems = [p.message for p in template_errors(template)]
    if not problems:
        return
    where = "the saved connection's link" if from_profile else "--link"
    raise CliError(
        problems[0],
        detail=" ".join(problems[1:]),
        next_step=f"Correct {where}: the pay-now link exactly as Benji Pays shows it, with "
        "[Invoice No.] where the invoice number goes.",
    )


def _check_run_id_argument(args: argparse.Namespace) -> None:
    """`--resume RUN_ID` / `--undo RUN_ID` name a run in the runs folder, nothing else."""
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.backfill.journal import is_run_id

    for flag, value in (("--undo", args.undo), ("--resume", args.resume)):
        if value and not is_run_id(value):
            raise CliError(
                f"{flag} needs a run id, such as 20261201-081200-123abcd; {value!r} is not one.",
                next_step=f"List the runs with `{command_line('runs')}` and copy an id from there.",
            )


def _apply_run_profile(args: argparse.Namespace, paths: AppPaths) -> None:
    """For --resume/--undo without connection flags: use the profile the run was made with."""
    if args.profile or args.url or args.client_id:
        return
    from halo_paylink.core.backfill.journal import journal_path, read_header
    from halo_paylink.core.backfill.runs import latest_resumable

    run_id = args.undo or args.resume
    if not run_id:
        info = latest_resumable(paths)
        run_id = info.run_id if info else None
    if not run_id:
        return
    path = journal_path(paths.journals_dir, run_id)
    try:
        header = read_header(path)
    except Exception:  # a missing or damaged journal: the runner says so
        return
    if header.profile:
        args.profile = header.profile
        return
    from halo_paylink.cli.common import CliError

    raise CliError(
        f"Run {run_id} was made without a saved connection, so this command needs its "
        "connection options.",
        next_step=f"Add --url {header.web_url} and the --client-id the run was made with (the "
        "command printed at the end of the run has them).",
    )


def _mode(args: argparse.Namespace) -> str:
    """ "undo", "resume", "plan" (a dry run) or "run"."""
    if args.undo:
        return "undo"
    if args.resume is not None:
        return "resume"
    if args.pilot is not None:
        return "pilot"
    if args.pay_button:
        return "pay-button"
    return "plan" if args.dry_run else "run"


def _check_mode_arguments(args: argparse.Namespace, mode: str, paths: AppPaths) -> None:
    """Refuse flags that do not go together (CliError); for --resume/--undo, use the run's
    profile when no connection was given."""
    from halo_paylink.cli.common import CliError

    if mode in ("pilot", "pay-button") and args.dry_run:
        raise CliError(f"--dry-run cannot be combined with --{mode}.")
    if mode == "pilot" and args.pilot and not args.pilot.isdigit():
        raise CliError(
            f"--pilot takes an invoice id (a number), not {args.pilot!r}.",
            next_step="Give the id Halo shows for the invoice, or leave it out to pilot the "
            "newest invoice that needs a link.",
        )
    if mode in ("undo", "resume"):
        if args.dry_run:
            raise CliError("--dry-run cannot be combined with --resume or --undo.")
        _check_run_id_argument(args)
        _apply_run_profile(args, paths)
    if (args.batch_size is not None and args.batch_size < 1) or args.concurrency < 1:
        raise CliError("--batch-size and --concurrency must be at least 1.")


class _Stopper:
    """Ctrl-C and SIGTERM while a run is going: a stop the user asked for.

    The first signal asks the run to stop (`CancelToken`: it stops between batches, and at once
    while it waits for Halo's rate limit) and says so; if the run has not stopped within
    `STOP_GRACE_SECONDS`, or on a second signal, the run's task is cancelled: the journal is
    closed as cancelled and writes still in flight stay "unknown" for resume to settle.
    """

    def __init__(self, cancel: CancelToken, bar: ProgressBar | None = None) -> None:
        self.cancel = cancel
        self.bar = bar
        self.asked = False
        self.task: asyncio.Future[Any] | None = None

    def __call__(self) -> None:
        if self.asked:
            self._cancel_task()
            return
        self.asked = True
        self.cancel.cancel()
        if self.bar is not None and self.bar.drawn:
            sys.stderr.write("\n")
        say("Stopping... (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
        asyncio.get_running_loop().call_later(STOP_GRACE_SECONDS, self._cancel_task)

    def _cancel_task(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def run(self, work: Awaitable[T]) -> T:
        """Await `work` as a task this stopper may cancel, with the signals handled meanwhile.

        Raises:
            asyncio.CancelledError: the task was cancelled after a signal.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)
        self.task = task
        handled: list[signal.Signals] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self)
                handled.append(signum)
        try:
            return await task
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)


def _work(
    mode: str,
    args: argparse.Namespace,
    client: HaloClient,
    settings: BackfillSettings | None,
    paths: AppPaths,
    profile_name: str | None,
    stopper: _Stopper,
) -> Awaitable[RunResult]:
    """The runner call for `mode` (plan, run, resume or undo), not yet started."""
    from halo_paylink.core.backfill import (
        plan_backfill,
        resume_run,
        run_backfill,
        undo_run,
    )

    options = run_options(args)
    bar, cancel = stopper.bar, stopper.cancel
    if mode == "resume":
        return resume_run(
            client, paths, args.resume or None, options=options, on_progress=bar, cancel=cancel
        )
    if mode == "undo":
        return undo_run(client, paths, args.undo, options=options, on_progress=bar, cancel=cancel)
    assert settings is not None
    if mode == "plan":
        return plan_backfill(
            client, settings, paths=paths, options=options, on_progress=bar, cancel=cancel
        )
    return run_backfill(
        client,
        settings,
        paths,
        profile=profile_name,
        options=options,
        on_progress=bar,
        cancel=cancel,
    )


async def _pilot(
    args: argparse.Namespace,
    client: HaloClient,
    settings: BackfillSettings,
    paths: AppPaths,
    profile_name: str | None,
) -> int:
    """Run the pilot and say what it showed, and what to do next; exit 0 when the link saved."""
    from halo_paylink.core.backfill import CancelToken, RunOptions
    from halo_paylink.core.backfill.pilot import run_pilot

    cancel = CancelToken()
    report: PilotReport = await _Stopper(cancel).run(
        run_pilot(
            client,
            settings,
            paths,
            invoice_id=int(args.pilot) if args.pilot else None,
            profile=profile_name,
            options=RunOptions(concurrency=1),
            cancel=cancel,
        )
    )
    moved = report.synced_moved
    pushed = (
        "no last_synced in Halo's answer: whether saving pushes to the accounting tool is unknown"
        if moved is None
        else "moved: saving the link pushed the invoice to the accounting tool"
        if moved
        else "did not move: saving the link did not push the invoice to the accounting tool"
    )
    if args.json:
        say_json(
            {
                "ok": report.saved,
                "pilot": {
                    "run_id": report.result.run_id,
                    "invoice_id": report.invoice_id,
                    "invoice_number": report.invoice_number,
                    "field": report.field,
                    "before": report.before,
                    "after": report.after,
                    "last_synced_before": report.synced_before,
                    "last_synced_after": report.synced_after,
                    "last_synced_moved": moved,
                    "outcome": report.result.outcome.value,
                },
            }
        )
        return 0 if report.saved else report.result.outcome.exit_code
    say(f"Pilot: invoice {report.invoice_number or report.invoice_id} (id {report.invoice_id})")
    say(f"  {report.field}: {report.before or '(empty)'} -> {report.after or '(empty)'}")
    say(f"  last_synced: {pushed}")
    if not report.saved:
        words = outcome_words(report.result.outcome.value)
        say(f"  The link did not save ({words}): {report.result.detail}")
        return report.result.outcome.exit_code
    flags = connection_flags(args)
    # The answer is kept for the field the pilot wrote, so the commands name it.
    answer = [*flags, "--link-field", report.field, "--pay-button"]
    say(f"Next: {report.portal_hint} Then record what you saw:")
    say(f"  {command_line('backfill', *answer, 'seen')}")
    say(f"  {command_line('backfill', *answer, 'missing')}")
    if report.result.run_id:
        say("To undo the pilot alone:")
        say(f"  {command_line('backfill', *flags, '--undo', report.result.run_id)}")
    return 0


def run_options(args: argparse.Namespace) -> RunOptions:
    """The run's tuning, as the command line gives it."""
    from halo_paylink.core.backfill import RunOptions

    return RunOptions(
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        incremental=getattr(args, "incremental", None),
        narrow=getattr(args, "narrow", None),
        full_read=getattr(args, "full_read", False),
    )


def _link_field(args: argparse.Namespace, profile: Profile | None) -> str:
    """Where the link goes: `--link-field`, else the profile's, else the default field."""
    from halo_paylink.halo import facts

    link = profile.link if profile is not None else None
    return args.link_field or (link.link_field if link else facts.DEFAULT_LINK_FIELD)


def _record_pay_button(
    args: argparse.Namespace, paths: AppPaths, web_url: str, profile: Profile | None
) -> int:
    from halo_paylink.core.backfill.pilot import record_pay_button
    from halo_paylink.core.backfill.target import parse_link_target

    seen = args.pay_button == "seen"
    target = parse_link_target(_link_field(args, profile)).spec
    record_pay_button(paths, web_url, seen, invoice="the pilot invoice", target=target)
    if args.json:
        say_json({"ok": True, "pay_button_shown": seen})
        return 0
    if seen:
        say("Recorded: the portal shows the Pay button. Later runs on this Halo skip the pilot.")
        return 0
    say(
        "Recorded: the portal did not show the Pay button. Choose a custom field the portal "
        "shows (--link-field custom:NAME) and pilot again, or stop here."
    )
    pilot = _latest_pilot(paths, web_url)
    if pilot:
        say("To undo the pilot:")
        say(f"  {command_line('backfill', *connection_flags(args), '--undo', pilot)}")
    return 0


async def _estimate(
    mode: str, args: argparse.Namespace, client: HaloClient, paths: AppPaths
) -> RunEstimate | None:
    """The run's cost before it starts, said on the terminal (and kept for --json); None when
    Halo could not be asked (the run then names the failure itself), and for modes other than a
    run or a dry run."""
    from halo_paylink.core.backfill.estimate import estimate_run
    from halo_paylink.core.backfill.tenant import load_tenant_facts, tenant_file
    from halo_paylink.errors import HaloError

    if mode not in ("run", "plan"):
        return None
    tenant = load_tenant_facts(tenant_file(paths, client.endpoints.web_url))
    try:
        found = await estimate_run(
            client, tenant=tenant, options=run_options(args), dry_run=mode == "plan"
        )
    except HaloError:
        return None
    if not args.json:  # before the run, beside its progress: the summary stays on stdout
        say(
            ("Before the dry run: " if mode == "plan" else "Before the run: ") + found.text(),
            file=sys.stderr,
            flush=True,
        )
    return found


def _pilot_command(args: argparse.Namespace, *, link_field: str | None = None) -> str:
    """The pilot for the same connection and link (or `link_field`), as a command that works
    as printed."""
    if link_field is not None:
        args = argparse.Namespace(**{**vars(args), "link_field": link_field})
    return command_line("backfill", *connection_flags(args), *_link_flags(args), "--pilot")


def _check_pilot(args: argparse.Namespace, paths: AppPaths, web_url: str, target: str) -> None:
    """Refuse the first bulk write with links in `target` on a Halo whose pilot of that field is
    not confirmed (CliError); a local folder problem is reported first (LocalError), as the run
    itself would."""
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.backfill.pilot import PilotGate, pilot_gate
    from halo_paylink.storage.preflight import check_folders

    check_folders(paths)
    gate = pilot_gate(paths, web_url, target)
    if gate is PilotGate.NEEDED:
        raise CliError(
            f"No pilot with the link in {target} on this Halo yet: write one invoice first and "
            "check its Pay button.",
            next_step=f"Run `{_pilot_command(args)}`, open that invoice in Halo's customer "
            "portal, and record what you saw with the command the pilot prints.",
        )
    if gate is PilotGate.NO_BUTTON:
        raise CliError(
            "The pilot invoice showed no Pay button in Halo's customer portal, so no bulk "
            "write starts.",
            next_step="Choose a custom field the portal shows and pilot it: "
            f"`{_pilot_command(args, link_field='custom:NAME')}` (NAME: the field's name), or "
            "stop here.",
        )


def _latest_pilot(paths: AppPaths, web_url: str) -> str | None:
    """The id of the latest pilot run on `web_url`, if its journal can be read."""
    from halo_paylink.core.backfill.journal import JournalError, journal_path, read_header
    from halo_paylink.core.backfill.runs import list_runs

    for info in reversed(list_runs(paths)):
        if info.damaged or info.web_url != web_url:
            continue
        try:
            if read_header(journal_path(paths.journals_dir, info.run_id)).pilot:
                return info.run_id
        except (JournalError, OSError):
            continue
    return None


async def _pilot_mode(
    args: argparse.Namespace,
    client: HaloClient,
    settings: BackfillSettings,
    paths: AppPaths,
    profile_name: str | None,
) -> int:
    """`--pilot`: the pilot, its failure in words, or a stop by Ctrl-C said as one."""
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.backfill import BackfillError
    from halo_paylink.core.backfill.outcome import RunOutcome

    try:
        return await _pilot(args, client, settings, paths, profile_name)
    except BackfillError as exc:
        raise CliError(str(exc)) from None
    except asyncio.CancelledError:  # stopped by Ctrl-C mid-request
        say("Pilot: stopped, as you asked.")
        say(f"  See what it did with: {command_line('runs')}")
        return RunOutcome.CANCELLED.exit_code


async def _backfill(args: argparse.Namespace) -> int:
    from halo_paylink.cli.common import CliError, open_connection
    from halo_paylink.core.backfill import BackfillError, CancelToken
    from halo_paylink.core.backfill.lock import RunLockedError
    from halo_paylink.core.backfill.outcome import RunOutcome
    from halo_paylink.errors import HaloError, LocalError
    from halo_paylink.halo.session import discover_client
    from halo_paylink.storage.paths import AppPaths

    paths = AppPaths.default()
    mode = _mode(args)
    _check_mode_arguments(args, mode, paths)
    async with open_connection(args, paths=paths) as (connection, http):
        settings = _settings(args, connection.profile) if mode in ("run", "plan") else None
        try:
            client = await discover_client(
                http,
                connection.address,
                connection.credentials,
                tenant=connection.tenant,
                rate_limit=connection.rate_limit,
            )
        except HaloError as exc:
            raise CliError.from_halo(exc) from None
        profile_name = connection.profile.name if connection.profile else None
        if mode == "pay-button":
            return _record_pay_button(args, paths, client.endpoints.web_url, connection.profile)
        if mode == "pilot":
            settings = _settings(args, connection.profile)
            return await _pilot_mode(args, client, settings, paths, profile_name)
        web_url = client.endpoints.web_url
        if mode == "run" and settings is not None and not args.confirm_numbering:
            from halo_paylink.cli.benji import refuse_blocked_run

            refuse_blocked_run(paths, web_url, settings)  # Benji's number check, if it blocked
        stopper = _Stopper(
            CancelToken(),
            ProgressBar(sys.stderr) if _stderr_is_terminal() and not args.json else None,
        )
        before = _journal_ids(paths)
        try:
            if mode == "run":
                assert settings is not None
                _check_pilot(args, paths, client.endpoints.web_url, settings.link_target().spec)
            estimate = (
                await _estimate(mode, args, client, paths) if mode in ("run", "plan") else None
            )
            result = await stopper.run(
                _work(mode, args, client, settings, paths, profile_name, stopper)
            )
        except asyncio.CancelledError:  # stopped by Ctrl-C (or SIGTERM) mid-request
            return _print_stopped(args, mode, paths, before)
        except RunLockedError as exc:
            raise CliError(
                str(exc), next_step=f"See `{command_line('runs')}`.", exit_code=BUSY_EXIT
            ) from None
        except BackfillError as exc:
            raise CliError(str(exc), next_step=f"See `{command_line('runs')}`.") from None
        except LocalError as exc:  # the local pre-flight: a folder or disk problem, found first
            raise CliError.from_halo(exc, exit_code=RunOutcome.LOCAL_ERROR.exit_code) from None
        benji = None
        if mode == "plan" and settings is not None:  # Benji's number check, when a key is kept
            from halo_paylink.cli.benji import number_check_after_dry_run

            benji = await number_check_after_dry_run(
                connection.profile, http, result, settings, paths=paths, web_url=web_url
            )
    _print_result(result, mode, args, benji=benji, estimate=estimate)
    return int(result.outcome.exit_code)


def _journal_ids(paths: AppPaths) -> set[str]:
    from halo_paylink.core.backfill.journal import JOURNAL_SUFFIX

    folder = paths.journals_dir
    return {p.stem for p in folder.glob(f"*{JOURNAL_SUFFIX}")} if folder.is_dir() else set()


def _stopped_run(args: argparse.Namespace, mode: str, paths: AppPaths, before: set[str]) -> str:
    """After a cancelled task: the run it was (a new journal, or the one resumed); "" for none."""
    new = sorted(_journal_ids(paths) - before)
    if new:
        return new[-1]
    if mode == "resume":
        from halo_paylink.core.backfill.runs import latest_resumable

        if args.resume:
            return str(args.resume)
        info = latest_resumable(paths)
        return info.run_id if info else ""
    return ""


def _print_stopped(args: argparse.Namespace, mode: str, paths: AppPaths, before: set[str]) -> int:
    """Say that the run stopped as asked, and how to go on; the exit code of a cancelled run."""
    from halo_paylink.core.backfill.outcome import RunOutcome

    run_id = "" if mode == "plan" else _stopped_run(args, mode, paths, before)
    follow_up = _follow_up(args, mode, run_id)
    if args.json:
        say_json(
            {
                "ok": False,
                "mode": mode,
                "outcome": RunOutcome.CANCELLED.value,
                "exit_code": RunOutcome.CANCELLED.exit_code,
                "run_id": run_id or None,
                "next": follow_up,
            }
        )
    else:
        say(f"{_TITLES[mode]}: stopped, as you asked" + (f" (run {run_id})" if run_id else ""))
        if mode == "plan":
            say("  Nothing was changed in Halo.")
        elif run_id:
            say(f"  so far: {_run_counts(paths, run_id)}")
        if follow_up:
            say(f"  {_FOLLOW_UP_WORDS[mode]}: {follow_up}")
    return RunOutcome.CANCELLED.exit_code


def _run_counts(paths: AppPaths, run_id: str) -> str:
    """What the run's journal says it did so far, as the `runs` table shows it."""
    from halo_paylink.core.backfill.journal import JournalError, journal_path
    from halo_paylink.core.backfill.runs import read_run

    try:
        return _counts_line(read_run(journal_path(paths.journals_dir, run_id)).counts)
    except (JournalError, OSError):
        return "see `" + command_line("runs") + "`"


_TITLES = {"plan": "Dry run", "run": "Backfill", "resume": "Resumed run", "undo": "Undo"}
_FOLLOW_UP_WORDS = {
    "plan": "run it again with",
    "run": "resume with",
    "resume": "resume with",
    "undo": "resume with",
}


def _follow_up(args: argparse.Namespace, mode: str, run_id: str) -> str:
    """The exact command that goes on after a stop: the same dry run again, or the resume."""
    if mode == "plan":
        return command_line("backfill", *connection_flags(args), *_link_flags(args), "--dry-run")
    if not run_id:
        return ""
    return command_line("backfill", "--resume", run_id, *connection_flags(args))


def _link_flags(args: argparse.Namespace) -> list[str]:
    """The link options as given, to repeat a dry run exactly."""
    flags: list[str] = []
    for option, value in (
        ("--link", args.link),
        ("--numbering", args.numbering),
        ("--link-field", args.link_field),
    ):
        if value:
            flags += [option, value]
    flags += [
        f
        for f, on in (
            ("--overwrite", args.overwrite),
            ("--server-filter", args.server_filter),
            ("--full-read", args.full_read),
        )
        if on
    ]
    for option, asked in (("narrow", args.narrow), ("incremental", args.incremental)):
        if asked is not None:
            flags.append(f"--{option}" if asked else f"--no-{option}")
    return flags


def result_to_json(result: RunResult, mode: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ok": result.outcome.success,
        "mode": mode,
        "outcome": result.outcome.value,
        "exit_code": result.outcome.exit_code,
        "run_id": result.run_id,
        "detail": result.detail,
        "counts": result.counts.to_json(),
        "requests": result.requests,
        "warnings": list(result.warnings),
        "sent": result.sent or None,
        "journal": str(result.journal) if result.journal else None,
        "report": None
        if result.report is None
        else {"csv": str(result.report.csv), "json": str(result.report.json)},
        "error": None
        if result.error is None
        else {
            "kind": result.error.kind.code,
            "headline": result.error.headline,
            "next_step": result.error.next_step,
            "status": result.error.status,
        },
    }
    if result.plan is not None:
        data["to_write"] = result.plan.to_write
        data["total"] = result.plan.total
        data["sample"] = [
            {
                "id": c.id,
                "number": c.number,
                "client": c.client,
                "old": c.old,
                "new": c.new,
                "overwrite": c.overwrite,
            }
            for c in result.plan.sample
        ]
    return data


def _result_json(
    result: RunResult, mode: str, *, benji: NumberCheck | None, estimate: RunEstimate | None
) -> dict[str, Any]:
    """The `--json` answer: the run, and Benji's number check and the estimate when there are."""
    data = result_to_json(result, mode)
    if benji is not None:
        data["benji_numbers"] = benji.to_json()
    if estimate is not None:
        data["estimate"] = {
            "invoices": estimate.invoices,
            "to_write": estimate.to_write,
            "requests": estimate.requests,
            "seconds": estimate.seconds,
            "text": estimate.text(),
        }
    return data


def _print_result(
    result: RunResult,
    mode: str,
    args: argparse.Namespace,
    *,
    benji: NumberCheck | None = None,
    estimate: RunEstimate | None = None,
) -> None:
    from halo_paylink.core.backfill.outcome import RunOutcome

    if args.json:
        say_json(_result_json(result, mode, benji=benji, estimate=estimate))
        return
    stopped = result.outcome is RunOutcome.CANCELLED
    words = "stopped, as you asked" if stopped else outcome_words(result.outcome.value)
    run = f" (run {result.run_id})" if result.run_id and mode != "plan" else ""
    say(f"{_TITLES[mode]}: {words}{run}")
    _print_counts(result)
    if benji is not None:
        from halo_paylink.cli.benji import print_numbers

        print_numbers(benji)
    if result.error is not None:
        say(f"  {result.error.headline} {result.error.next_step}")
    elif result.detail and not stopped:
        say(f"  {result.detail}")
    if result.report is not None:
        say(f"  report: {result.report.csv}")
    if mode == "plan" and stopped:
        say("  Nothing was changed in Halo.")
        say(f"  {_FOLLOW_UP_WORDS[mode]}: {_follow_up(args, mode, '')}")
    elif mode != "plan" and result.outcome.resumable and result.run_id:
        say(f"  resume with: {_follow_up(args, 'resume', result.run_id)}")


def _print_counts(result: RunResult) -> None:
    """The counts, the planned changes and the warnings of a summary."""
    from halo_paylink.core.backfill.selection import skip_label

    counts = result.counts
    if result.sent:
        say(f"  {result.sent}")
    if result.plan is not None:
        say(f"  would write:  {result.plan.to_write}")
    else:
        say(
            f"  written:      {counts.written}"
            + (f" (of which overwritten {counts.overwritten})" if counts.overwritten else "")
        )
    say(f"  conflicts:    {counts.conflicts} (a different link; left alone)")
    say(f"  failed:       {counts.failed}")
    for reason, number in counts.skipped.items():
        say(f"  skipped:      {number} {skip_label(reason)}")
    if counts.unknown or counts.not_written:
        say(f"  unfinished:   {counts.unknown + counts.not_written} (resume to finish)")
    if result.plan is not None and result.plan.sample:
        say("  first changes:")
        for change in result.plan.sample[:10]:
            say(f"    {change.number} ({change.client}): {change.new}")
    for warning in result.warnings:
        say(f"  warning: {warning}")
