"""`halo-paylink check`: every connection check, printed as pass/fail with the fix.

Exit status 0 only when every required check passes; 1 when one failed; 2 for usage errors. The
optional row (the email-template scope) is reported, with its fix, but never changes the status:
without it the guide's copy-and-paste still works.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from halo_paylink.cli.terminal import say, say_json
from halo_paylink.core.checks import CheckReport, CheckResult, CheckState, run_checks

if TYPE_CHECKING:
    from halo_paylink.core.backfill.learned import LearnedLine

SYMBOLS = {
    CheckState.PASS: "PASS",
    CheckState.FAIL: "FAIL",
    CheckState.SKIPPED: "SKIP",
    CheckState.BUSY: "....",
    CheckState.PENDING: "    ",
}


def add_parser(subparsers: Any) -> None:
    from halo_paylink.cli.common import add_connection_arguments

    parser = subparsers.add_parser(
        "check",
        help="check the connection and permissions (changes no data)",
        description="Check discovery, the token, read:invoices, edit:invoices (without changing "
        "any data) and the agent's invoice access. The secret comes from HALO_CLIENT_SECRET or "
        "the system keyring.",
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--template-scope",
        action="store_true",
        help="also check the optional permission for the email template and client button "
        "(asked for only with this option or when the saved connection opted in)",
    )


def result_to_json(result: CheckResult) -> dict[str, Any]:
    return {
        "id": result.id.value,
        "title": result.title,
        "state": result.state.value,
        "message": result.message,
        "fix": result.fix,
        "note": result.note,
        "error": result.error.code if result.error else None,
    }


def report_to_json(report: CheckReport, learned: list[LearnedLine]) -> dict[str, Any]:
    endpoints = report.endpoints
    return {
        "learned": [line.to_json() for line in learned],
        "ok": report.all_passed,
        "endpoints": None
        if endpoints is None
        else {
            "web_url": endpoints.web_url,
            "auth_url": endpoints.auth_url,
            "resource_url": endpoints.resource_url,
            "tenant": endpoints.tenant,
            "hosted": endpoints.hosted,
        },
        "agent": report.agent_name,
        "checks": [result_to_json(r) for r in report.results],
        "optional": [result_to_json(r) for r in report.optional],
    }


def print_learned(learned: list[LearnedLine]) -> None:
    from halo_paylink.core.presenters.pilot import LEARNED_TITLE

    say()
    say(f"{LEARNED_TITLE}:")
    for line in learned:
        say(f"  {line.topic}: {line.finding}")
        say(f"       ({line.source})")


def print_human(report: CheckReport, learned: list[LearnedLine]) -> None:
    for result in (*report.results, *report.optional):
        say(f"[{SYMBOLS[result.state]}] {result.title}")
        if result.message:
            say(f"       {result.message}")
        if result.state is CheckState.FAIL and result.fix:
            say(f"       Fix: {result.fix}")
        if result.note:
            say(f"       Note: {result.note}")
    print_learned(learned)
    say()
    say("All checks passed." if report.all_passed else "Some checks failed; see the fixes above.")


async def _check(args: argparse.Namespace) -> int:
    from halo_paylink.cli.common import open_connection
    from halo_paylink.core.backfill.learned import learned_lines
    from halo_paylink.core.backfill.tenant import load_tenant_facts, tenant_file
    from halo_paylink.storage.paths import AppPaths

    async with open_connection(args) as (connection, http):
        report = await run_checks(
            http,
            connection.address,
            connection.credentials,
            tenant=connection.tenant,
            rate_limit=connection.rate_limit,
            template_scope=bool(getattr(args, "template_scope", False))
            or bool(connection.profile and connection.profile.template_scope),
        )
    web_url = report.endpoints.web_url if report.endpoints else connection.address
    path = tenant_file(AppPaths.default(), web_url)
    learned = learned_lines(await asyncio.to_thread(load_tenant_facts, path))
    if args.json:
        say_json(report_to_json(report, learned))
    else:
        print_human(report, learned)
    return 0 if report.all_passed else 1


def run(args: argparse.Namespace) -> int:
    from halo_paylink.cli.common import CliError, print_cli_error

    try:
        return asyncio.run(_check(args))
    except CliError as error:
        print_cli_error(error, json_mode=args.json)
        return 2
    except KeyboardInterrupt:
        say("Interrupted.", file=sys.stderr)
        return 130
