"""`halo-paylink template show|insert|undo`: the Pay link in a Halo email template, done for you.

    show    the template's bodies and the change `insert` would make (changes nothing)
    insert  show the change, ask (or `--yes`), back up, save, read back
    undo    put the backed-up bodies back, byte for byte (`--force` when Halo's copy changed)

Asks Halo for `facts.TEMPLATE_SCOPE` in a token of its own (running these commands is the
opt-in). A refusal prints what to add to the API application; the guide's copy-and-paste still
works without it. Exit status: 0 done (or nothing to do), 1 Halo refused or failed or the
read-back differs, 2 usage (no link, no confirmation, a template or marker not found).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from halo_paylink.cli.terminal import say, say_json

if TYPE_CHECKING:
    from halo_paylink.core.admin_steps import NotPermitted
    from halo_paylink.halo.templates import HaloAdminClient

NOT_PERMITTED_EXIT = 1


def add_parser(subparsers: Any) -> None:
    from halo_paylink.cli.common import add_connection_arguments

    parser = subparsers.add_parser(
        "template",
        help="put the Pay link in a Halo email template (show, insert, undo)",
        description="Show, insert or undo the Benji Pay link in a Halo email template "
        "('Invoice Email Subject' unless --template names another). Needs the optional "
        "'admin' permission on the API application.",
    )
    parser.add_argument("action", choices=("show", "insert", "undo"))
    add_connection_arguments(parser)
    parser.add_argument("--link", metavar="TEMPLATE", help="the pay-now link with [Invoice No.]")
    parser.add_argument(
        "--numbering",
        choices=("halo", "accounting"),
        help="which invoice number the link carries (default: the profile's, else accounting)",
    )
    parser.add_argument("--template", metavar="NAME", default="", help="template name or #id")
    parser.add_argument(
        "--after", metavar="TEXT", default="", help="put the link after this text (default: end)"
    )
    parser.add_argument("--yes", action="store_true", help="save without asking")
    parser.add_argument(
        "--force", action="store_true", help="undo even though the template changed since"
    )


@asynccontextmanager
async def admin_session(args: argparse.Namespace) -> AsyncIterator[tuple[HaloAdminClient, str]]:
    """The admin client for the connection the arguments name, and the Halo's web address."""
    from halo_paylink.cli.common import CliError, open_connection
    from halo_paylink.errors import HaloError
    from halo_paylink.halo.session import discover_client
    from halo_paylink.halo.templates import admin_client_for

    async with open_connection(args) as (connection, http):
        try:
            main = await discover_client(
                http,
                connection.address,
                connection.credentials,
                tenant=connection.tenant,
                rate_limit=connection.rate_limit,
            )
        except HaloError as error:
            raise CliError.from_halo(error) from None
        yield admin_client_for(http, main, connection.credentials), main.endpoints.web_url


def print_not_permitted(refusal: NotPermitted, json_mode: bool) -> int:
    if json_mode:
        say_json({"ok": False, "not_permitted": refusal.to_json()})
    else:
        say(f"Not permitted: {refusal.message}", file=sys.stderr)
        say(f"  Halo said: {refusal.detail}", file=sys.stderr)
        say(f"  To allow it: {refusal.fix}", file=sys.stderr)
        say(f"  Note: {refusal.note}", file=sys.stderr)
    return NOT_PERMITTED_EXIT


def say_block(text: str) -> None:
    """Multi-line text holding Halo's data, each line made safe (CR of CRLF bodies dropped),
    then the unverified facts the result rests on."""
    from halo_paylink.halo import facts

    for line in text.splitlines():
        say(line.rstrip("\r"))
    for name in ("template_scope", "template_subject"):
        say(f"Note: {facts.UNVERIFIED_NOTES[name]}")


def confirm(args: argparse.Namespace, question: str) -> None:
    """Ask on a terminal unless `--yes`; without a terminal, `--yes` is required.

    Raises:
        CliError: not confirmed.
    """
    from halo_paylink.cli.common import CliError, _stdin_is_terminal

    if args.yes:
        return
    if not args.json and _stdin_is_terminal():
        try:
            answer = input(f"{question} [y/N] ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer in ("y", "yes"):
            return
        raise CliError("Nothing was changed.", next_step="Run it again and answer y to save.")
    raise CliError(
        "Nothing was changed: the change was not confirmed.",
        next_step="Look at the change (the show action), then add --yes to save it.",
    )


def _snippet(args: argparse.Namespace, profile_link: Any) -> Any:
    from halo_paylink.cli.common import CliError
    from halo_paylink.core.links import email_snippet, template_errors
    from halo_paylink.domain import Numbering

    link = args.link or (profile_link.template if profile_link else "")
    problems = template_errors(link or "")
    if problems:
        raise CliError(
            f"The pay-now link cannot be used: {problems[0].message}",
            next_step="Give --link with the pay-now link from Benji Pays (with [Invoice No.]).",
        )
    numbering = (
        Numbering(args.numbering)
        if args.numbering
        else (profile_link.numbering if profile_link else Numbering.ACCOUNTING)
    )
    return email_snippet(link, numbering)


def _profile_link(args: argparse.Namespace) -> Any:
    if not args.profile:
        return None
    from halo_paylink.storage.paths import AppPaths
    from halo_paylink.storage.profiles import ProfileStore

    try:
        return ProfileStore(AppPaths.default()).get(args.profile).link
    except (KeyError, OSError, ValueError):
        return None  # open_connection explains an unknown or unreadable profile


async def _template(args: argparse.Namespace) -> int:
    from halo_paylink.core import email_template
    from halo_paylink.core.admin_steps import record_path
    from halo_paylink.core.template_body import Placement
    from halo_paylink.storage.paths import AppPaths

    placement = Placement.AFTER_MARKER if args.after else Placement.END
    async with admin_session(args) as (admin, web_url):
        if args.action == "undo":
            templates = await admin.email_templates()
            chosen = email_template.find_template(templates, args.template)
            backup = record_path(AppPaths.default(), web_url, f"template{chosen.id}")
            result = await email_template.undo(admin, backup, force=args.force)
            return _print_saved(args, result, "put back")
        snippet = _snippet(args, _profile_link(args))
        chosen = email_template.find_template(await admin.email_templates(), args.template)
        plan = email_template.plan_template(chosen, snippet, placement, args.after)
        if args.action == "show" or not plan.changed:
            if args.json:
                say_json({"ok": True, "plan": plan.to_json()})
            else:
                say_block(plan.preview())
            return 0
        if not args.json:
            say_block(plan.preview())
        confirm(args, "Save this change in Halo?")
        backup = record_path(AppPaths.default(), web_url, f"template{chosen.id}")
        result = await email_template.insert(admin, plan, backup, web_url=web_url)
        return _print_saved(args, result, "saved")


def _print_saved(args: argparse.Namespace, result: Any, verb: str) -> int:
    if args.json:
        say_json({"ok": bool(result.confirmed), "result": result.to_json()})
    elif result.confirmed:
        say(f"The template '{result.template.name}' was {verb} and read back as sent.")
        if verb == "saved":
            say(f"Backup: {result.backup} (halo-paylink template undo puts it back).")
    else:
        say(
            f"Halo accepted the change of '{result.template.name}', but reading it back shows "
            "something else: look at the template in Halo.",
            file=sys.stderr,
        )
    return 0 if result.confirmed else 1


def run_admin(args: argparse.Namespace, step: str, body: Any) -> int:
    """Run one admin-step command: explain refusals, usage problems and failures."""
    from halo_paylink.cli.common import CliError, print_cli_error
    from halo_paylink.core.admin_steps import not_permitted
    from halo_paylink.errors import HaloError, UsageError

    try:
        return int(asyncio.run(body(args)))
    except CliError as error:
        print_cli_error(error, json_mode=args.json)
        return error.exit_code
    except HaloError as error:
        refusal = not_permitted(error, step)
        if refusal is not None:
            return print_not_permitted(refusal, args.json)
        print_cli_error(error, json_mode=args.json)
        return 1
    except UsageError as error:
        print_cli_error(error, json_mode=args.json)
        return 2
    except OSError as error:
        from halo_paylink.storage.paths import AppPaths
        from halo_paylink.storage.preflight import folder_error

        print_cli_error(
            folder_error(AppPaths.default().admin_steps_dir, error, what="state"),
            json_mode=args.json,
        )
        return 1
    except KeyboardInterrupt:
        say("Interrupted.", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    return run_admin(args, "edit the email template", _template)
