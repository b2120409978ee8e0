"""`halo-paylink benji`: Benji Pays' side, checked from the command line.

    halo-paylink benji check [--profile NAME] [--tool quickbooks|xero] [--remember-key] [--json]
    halo-paylink benji numbers (--profile NAME | --url URL --client-id ID) [--link TEMPLATE]
        [--numbering halo|accounting] [--budget N] [--json]

`check` reads Benji's settings, prints the two settings checks (pass/fail with the fix) and the
pay-now link built from them. `numbers` runs a dry run against Halo (nothing is written) and asks
Benji whether it knows the numbers the links would carry: "Benji found 48 of 50".

Where the Benji API key comes from, in order: the `BENJI_API_KEY` environment variable; the system
keyring, for a saved profile whose key was stored (`--remember-key`, or the window's Options page);
a hidden prompt, only when stdin is a terminal. Never from a command-line argument (it would show in
the process list and shell history). The API address is Benji's own unless `--benji-url` or
`HALO_PAYLINK_BENJI_URL` names another (the sandbox).

`backfill --dry-run` calls `number_check_after_dry_run` when a key is configured (environment or
keyring; it never prompts), and reports the check with the plan. Its verdict (and that of
`numbers`) is kept per Halo, link and numbering; a live `backfill` with the same settings refuses
to start while it blocks (`refuse_blocked_run`), until the numbering changes or
`--confirm-numbering` is given.

Exit status: 0 when every required check passes (`numbers`: the numbering looks right); 1 when a
check failed or Benji could not be asked; 2 for usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from halo_paylink.cli.terminal import say, say_json

if TYPE_CHECKING:
    import httpx

    from halo_paylink.benji.client import BenjiClient
    from halo_paylink.core.backfill import BackfillSettings, RunResult
    from halo_paylink.core.benji_checks import NumberCheck, SettingsReport
    from halo_paylink.storage.paths import AppPaths
    from halo_paylink.storage.profiles import Profile
    from halo_paylink.storage.secrets import SecretStore

#: Environment variable the CLI reads the Benji API key from.
KEY_ENV = "BENJI_API_KEY"
#: Environment variable naming another Benji API address (the sandbox's).
URL_ENV = "HALO_PAYLINK_BENJI_URL"

SYMBOL = {True: "PASS", False: "FAIL", None: "????"}


def add_parser(subparsers: Any) -> None:
    """Register `benji check` and `benji numbers`."""
    from halo_paylink.cli.common import add_connection_arguments

    parser = subparsers.add_parser(
        "benji",
        help="check Benji Pays' settings and the invoice numbers (needs a Benji API key)",
        description="Check Benji Pays' side with its merchant API: the settings the guide asks "
        f"for, the pay-now link, and the invoice numbers. The key comes from {KEY_ENV}, the "
        "system keyring (saved profiles) or a hidden prompt.",
    )
    commands = parser.add_subparsers(dest="benji_command", metavar="CHECK", required=True)
    check = commands.add_parser(
        "check", help="the settings checks and the pay-now link built from them"
    )
    check.add_argument("--profile", metavar="NAME", help="a saved connection's name")
    check.add_argument(
        "--tool",
        choices=("quickbooks", "xero"),
        help="the accounting tool (default: the profile's, else quickbooks)",
    )
    check.add_argument(
        "--remember-key",
        action="store_true",
        help="store the key in the system keyring for --profile once Benji accepted it",
    )
    check.add_argument("--json", action="store_true", help="print machine-readable JSON")
    numbers = commands.add_parser(
        "numbers", help="a dry run, then whether Benji knows the numbers the links would carry"
    )
    add_connection_arguments(numbers)
    numbers.add_argument("--link", metavar="TEMPLATE", help="the pay-now link with [Invoice No.]")
    numbers.add_argument(
        "--numbering",
        choices=("halo", "accounting"),
        help="Halo's invoice number or the accounting tool's (default: the profile's)",
    )
    numbers.add_argument("--link-field", metavar="FIELD", help=argparse.SUPPRESS)
    numbers.add_argument(
        "--budget",
        type=_budget,
        default=None,
        metavar="N",
        help="ask Benji about at most N numbers (default 50)",
    )
    numbers.set_defaults(overwrite=False, server_filter=False)
    for sub in (check, numbers):
        sub.add_argument(
            "--benji-url",
            metavar="URL",
            help=f"Benji's API address (default https://api.benjipays.com/v2, or {URL_ENV})",
        )


def _budget(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not from 1 to 1000")
    return value


# --- the key -------------------------------------------------------------------------------------


def stored_key(profile: str | None, store: SecretStore | None = None) -> str | None:
    """The key kept in the keyring for `profile`, or None (none kept, or no usable keyring)."""
    from halo_paylink.errors import LocalError
    from halo_paylink.storage.secrets import benji_key_store

    if not profile:
        return None
    try:
        return (store or benji_key_store()).get(profile)
    except LocalError:
        return None


def configured_key(
    profile: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    store: SecretStore | None = None,
) -> tuple[str, str] | None:
    """The key and where it came from ("environment" or "keyring"), without asking; or None."""
    from halo_paylink.redact import register_secret

    env = os.environ if environ is None else environ
    value = env.get(KEY_ENV, "").strip()
    if value:
        register_secret(value)
        return value, "environment"
    kept = stored_key(profile, store)
    return (kept, "keyring") if kept else None


def resolve_key(
    profile: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    store: SecretStore | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> tuple[str, str]:
    """The key from the environment, the keyring or a hidden prompt, and where it came from.

    Raises:
        CliError: no key is available.
    """
    from halo_paylink.cli.common import CliError, is_clean_text
    from halo_paylink.redact import register_secret

    found = configured_key(profile, environ=environ, store=store)
    if found is not None:
        if not is_clean_text(found[0]):
            raise CliError(
                "The Benji API key is not valid text.",
                next_step=f"Set {KEY_ENV} again to the key exactly as Benji Pays shows it.",
            )
        return found
    can_prompt = (
        sys.stdin is not None and sys.stdin.isatty() if interactive is None else interactive
    )
    if can_prompt:
        try:
            typed = prompt("Benji Pays API key (input hidden): ").strip()
        except (EOFError, KeyboardInterrupt):
            typed = ""
        if typed:
            register_secret(typed)
            return typed, "prompt"
    raise CliError(
        "No Benji Pays API key is available.",
        next_step=f"Set the {KEY_ENV} environment variable to the merchant API key from Benji "
        "Pays, or store it with --profile NAME --remember-key (or on the window's Options page), "
        "or run this command in a terminal to be asked for it.",
    )


def _base_url(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str:
    from halo_paylink.benji import facts

    env = os.environ if environ is None else environ
    return getattr(args, "benji_url", None) or env.get(URL_ENV) or facts.DEFAULT_BASE_URL


def _client(http: httpx.AsyncClient, key: str, base_url: str) -> BenjiClient:
    from halo_paylink.benji.client import BenjiClient
    from halo_paylink.cli.common import CliError
    from halo_paylink.errors import BenjiError

    try:
        return BenjiClient(http, key, base_url=base_url)
    except BenjiError as exc:
        raise CliError.from_halo(exc, exit_code=2) from None


# --- benji check ---------------------------------------------------------------------------------


def _profile(name: str | None) -> Profile | None:
    from halo_paylink.cli.common import CliError
    from halo_paylink.errors import LocalError
    from halo_paylink.storage.paths import AppPaths
    from halo_paylink.storage.profiles import ProfileStore

    if not name:
        return None
    try:
        return ProfileStore(AppPaths.default()).get(name)
    except KeyError:
        raise CliError(f"There is no saved connection named '{name}'.") from None
    except LocalError as exc:
        raise CliError.from_halo(exc) from None


def print_settings(report: SettingsReport) -> None:
    for check in report.checks:
        needed = "" if check.required else " (recommended)"
        say(f"[{SYMBOL[check.passed]}] {check.label}{needed}")
        say(f"       {check.detail}")
        if check.fix:
            say(f"       Fix: {check.fix}")
    link = report.link
    if link.template:
        say(f"[{SYMBOL[link.usable]}] Pay-now link (from the {link.source}): {link.template}")
    else:
        say(f"[{SYMBOL[False]}] Pay-now link: none could be built")
    for problem in link.problems:
        say(f"       {problem.severity.value}: {problem.message}")
    for note in report.notes:
        say(f"Note: {note}")
    say()
    say(
        "Benji's side is set up as the guide asks."
        if report.passed
        else "Some checks failed; see the fixes above."
    )


async def _check(args: argparse.Namespace) -> int:
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.benji_checks import check_settings
    from halo_paylink.domain import AccountingTool
    from halo_paylink.errors import BenjiError
    from halo_paylink.halo.http import make_http_client

    profile = _profile(args.profile)
    if args.remember_key and profile is None:
        raise CliError("--remember-key needs --profile NAME (the key is kept per connection).")
    tool = (
        AccountingTool(args.tool)
        if args.tool
        else (profile.link.accounting_tool if profile else AccountingTool.QUICKBOOKS)
    )
    key, source = resolve_key(profile.name if profile else None)
    async with make_http_client() as http:
        try:
            report = await check_settings(_client(http, key, _base_url(args)), tool)
        except BenjiError as exc:
            raise CliError.from_halo(exc) from None
    if args.remember_key and profile is not None and source != "keyring":
        await asyncio.to_thread(_remember, profile.name, key)
    if args.json:
        say_json({"ok": report.passed, "key_source": source, **report.to_json()})
    else:
        print_settings(report)
    return 0 if report.passed else 1


def _remember(profile: str, key: str) -> None:
    from halo_paylink.cli.common import CliError
    from halo_paylink.errors import LocalError
    from halo_paylink.storage.secrets import benji_key_store

    try:
        benji_key_store().set(profile, key)
    except LocalError as exc:
        raise CliError.from_halo(exc) from None


# --- benji numbers, and the dry run's hook -------------------------------------------------------


def print_numbers(check: NumberCheck) -> None:
    from halo_paylink.benji import facts

    say(f"Benji number check ({check.numbering.value} numbering): {check.headline}")
    if check.missing:
        say(f"  not found: {', '.join(check.missing)}")
    if check.advice:
        say(f"  {check.advice}")
    say(f"  Note: {facts.LOOKUP_NOTE}")


async def _numbers_of(
    result: RunResult,
    settings: BackfillSettings,
    http: httpx.AsyncClient,
    key: str,
    base_url: str,
    budget: int,
) -> NumberCheck | None:
    from halo_paylink.core.benji_checks import check_plan_numbers

    if result.plan is None:
        return None
    return await check_plan_numbers(
        _client(http, key, base_url),
        [change.new for change in result.plan.sample],
        template=settings.template,
        numbering=settings.numbering,
        to_write=result.plan.to_write,
        budget=budget,
    )


async def number_check_after_dry_run(
    profile: Profile | None,
    http: httpx.AsyncClient,
    result: RunResult,
    settings: BackfillSettings,
    *,
    paths: AppPaths,
    web_url: str,
) -> NumberCheck | None:
    """The number check for `backfill --dry-run`, when a Benji key is configured (the
    environment or the keyring; never a prompt); None when none is. The verdict is kept for the
    live run (`refuse_blocked_run`)."""
    from halo_paylink.core.benji_checks import NUMBER_CHECK_BUDGET

    found = configured_key(profile.name if profile else None)
    if found is None:
        return None
    check = await _numbers_of(
        result, settings, http, found[0], _base_url(argparse.Namespace()), NUMBER_CHECK_BUDGET
    )
    await _keep_verdict(check, paths, web_url, settings)
    return check


async def _keep_verdict(
    check: NumberCheck | None, paths: AppPaths, web_url: str, settings: BackfillSettings
) -> None:
    from halo_paylink.core.benji_checks import save_verdict, verdict_file

    if check is None or check.error is not None or not check.checked:
        return
    path = verdict_file(paths.state_dir, web_url, settings.template, settings.numbering)
    try:
        await asyncio.to_thread(save_verdict, path, check)
    except OSError as exc:  # the check was still shown; only the reminder is lost
        say(f"warning: the number check could not be kept ({exc.strerror or exc})", file=sys.stderr)


def refuse_blocked_run(paths: AppPaths, web_url: str, settings: BackfillSettings) -> None:
    """Refuse a live run whose links the last dry run's number check found mostly unknown to
    Benji, with these same settings (Halo, link, numbering).

    Raises:
        CliError: the check blocked; switch the numbering, or confirm with --confirm-numbering.
    """
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.benji_checks import PASS_RATE, blocking_verdict, verdict_file

    why = blocking_verdict(
        verdict_file(paths.state_dir, web_url, settings.template, settings.numbering)
    )
    if why is None:
        return
    other = "accounting" if settings.numbering.value == "halo" else "halo"
    raise CliError(
        f"The last dry run's number check blocks this run: {why} (below {PASS_RATE:.0%}).",
        next_step=f"Switch the numbering (--numbering {other}) and run the dry run again, or, "
        "once you have opened one of the links and seen the right invoice, run again with "
        "--confirm-numbering.",
    )


async def _numbers(args: argparse.Namespace) -> int:
    from halo_paylink.cli.backfill import _settings  # the same settings as `backfill`
    from halo_paylink.cli.common import CliError, open_connection
    from halo_paylink.core.backfill import BackfillError, RunOptions, plan_backfill
    from halo_paylink.core.benji_checks import NUMBER_CHECK_BUDGET
    from halo_paylink.errors import HaloError
    from halo_paylink.halo.session import discover_client
    from halo_paylink.storage.paths import AppPaths

    budget = args.budget or NUMBER_CHECK_BUDGET
    async with open_connection(args) as (connection, http):
        settings = _settings(args, connection.profile)
        key, _ = resolve_key(connection.profile.name if connection.profile else None)
        try:
            client = await discover_client(
                http,
                connection.address,
                connection.credentials,
                tenant=connection.tenant,
                rate_limit=connection.rate_limit,
            )
            result = await plan_backfill(
                client, settings, options=RunOptions(sample_size=max(budget, 50))
            )
        except HaloError as exc:
            raise CliError.from_halo(exc) from None
        except BackfillError as exc:
            raise CliError(str(exc)) from None
        check = await _numbers_of(result, settings, http, key, _base_url(args), budget)
        await _keep_verdict(check, AppPaths.default(), client.endpoints.web_url, settings)
    assert check is not None  # a dry run always has a plan
    if args.json:
        say_json(
            {
                "ok": not check.blocks and check.error is None,
                "dry_run": {"outcome": result.outcome.value, "to_write": check.to_write},
                "numbers": check.to_json(),
            }
        )
    else:
        say(f"Dry run (nothing was changed): {check.to_write} links would be written.")
        print_numbers(check)
    return 1 if check.blocks or check.error is not None else 0


def run(args: argparse.Namespace) -> int:
    from halo_paylink.cli.common import CliError, print_cli_error

    command = _check if args.benji_command == "check" else _numbers
    try:
        return asyncio.run(command(args))
    except CliError as error:
        print_cli_error(error, json_mode=args.json)
        return error.exit_code
    except KeyboardInterrupt:
        say("Interrupted.", file=sys.stderr)
        return 130
