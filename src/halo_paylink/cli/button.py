"""`halo-paylink button show|create|remove`: the client-record button linking back to Benji Pays.

    show    the button `create` would make, and whether Halo already has it (changes nothing)
    create  show it, ask (or `--yes`), create it, remember its id, read it back
    remove  delete the button the assistant created (only that one)

Same permission, exit statuses and opt-in as `halo-paylink template`.
"""

from __future__ import annotations

import argparse
from typing import Any

from halo_paylink.cli.terminal import say, say_json


def add_parser(subparsers: Any) -> None:
    from halo_paylink.cli.common import add_connection_arguments

    parser = subparsers.add_parser(
        "button",
        help="add the Benji Pays button to Halo's client records (show, create, remove)",
        description="Show, create or remove a custom button on Halo's client record that opens "
        "the Benji Pays portal. Needs the optional 'admin' permission on the API application.",
    )
    parser.add_argument("action", choices=("show", "create", "remove"))
    add_connection_arguments(parser)
    parser.add_argument("--link", metavar="TEMPLATE", help="the pay-now link from Benji Pays")
    parser.add_argument("--yes", action="store_true", help="create without asking")


def _link(args: argparse.Namespace) -> str:
    from halo_paylink.cli.template import _profile_link

    link = _profile_link(args)
    return str(args.link or (link.template if link else ""))


async def _button(args: argparse.Namespace) -> int:
    from halo_paylink.cli.template import admin_session, confirm
    from halo_paylink.core import client_button
    from halo_paylink.core.admin_steps import record_path
    from halo_paylink.storage.paths import AppPaths

    async with admin_session(args) as (admin, web_url):
        record = record_path(AppPaths.default(), web_url, "client-button")
        if args.action == "remove":
            result = await client_button.remove(admin, record)
            if args.json:
                say_json({"ok": result.confirmed, "result": result.to_json()})
            else:
                say(
                    "The client button was removed."
                    if result.confirmed
                    else "Halo still lists the button: look at Configuration > Custom Buttons."
                )
            return 0 if result.confirmed else 1
        plan = await client_button.plan_button(admin, _link(args))
        if args.action == "show" or plan.existing is not None:
            if args.json:
                say_json({"ok": True, "plan": plan.to_json()})
            else:
                say(plan.preview())
            return 0
        if not args.json:
            say(plan.preview())
        confirm(args, "Create this button in Halo?")
        made = await client_button.create(admin, plan, record, web_url=web_url)
        if args.json:
            say_json({"ok": made.confirmed, "result": made.to_json()})
        elif made.confirmed and made.button is not None:
            say(f"Created the client button #{made.button.id} and read it back.")
            say("halo-paylink button remove takes it away again.")
        else:
            say("Halo accepted the button, but reading it back shows something else.")
        return 0 if made.confirmed else 1


def run(args: argparse.Namespace) -> int:
    from halo_paylink.cli.template import run_admin

    return run_admin(args, "add the client button", _button)
