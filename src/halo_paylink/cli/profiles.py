"""`halo-paylink profiles`: the saved connections, without the window.

    halo-paylink profiles list [--json]
    halo-paylink profiles show NAME [--json]
    halo-paylink profiles create NAME --url ADDRESS --client-id ID [--tenant T] [--link TEMPLATE]
        [--numbering halo|accounting] [--accounting-tool quickbooks|xero] [--link-field FIELD]
        [--rate-limit REQ/SECONDS] [--ca-file PATH] [--replace] [--json]
    halo-paylink profiles remove NAME [--json]

The same file the window keeps its connections in (`storage.profiles`): a connection created here
opens in the window, and one saved in the window is listed here. The address is read as the
Connect page reads it (`halo.discovery.parse_address`). The client secret never goes into the
file: `create` takes it from HALO_CLIENT_SECRET or a hidden prompt (in a terminal) and stores it
in the system keyring; without a usable keyring the connection is saved to ask for the secret
each time (HALO_CLIENT_SECRET or the prompt). `remove` deletes the keyring entry too.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halo_paylink.cli.common import (
    SECRET_ENV,
    CliError,
    command_line,
    is_clean_text,
    print_cli_error,
)
from halo_paylink.cli.terminal import say, say_json
from halo_paylink.domain import AccountingTool, Numbering, SecretMode
from halo_paylink.errors import HaloError, LocalError

if TYPE_CHECKING:
    from halo_paylink.storage.profiles import Profile, ProfileStore
    from halo_paylink.storage.secrets import SecretStore

NUMBERING_WORDS = {
    Numbering.ACCOUNTING: "the accounting tool's invoice number",
    Numbering.HALO: "Halo's invoice number",
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="list, show, create or remove saved connections",
        description="Saved connections (profiles), shared with the window. A saved connection "
        "is used with --profile NAME by `check` and `backfill`.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the saved connections")
    show = actions.add_parser("show", help="show one saved connection")
    show.add_argument("name", metavar="NAME")
    create = actions.add_parser(
        "create",
        help="save a connection (the secret goes to the system keyring)",
        description=f"Save a connection. The client secret comes from {SECRET_ENV} or a hidden "
        "prompt and is stored in the system keyring, never in the profiles file.",
    )
    create.add_argument("name", metavar="NAME")
    _add_create_options(create)
    remove = actions.add_parser("remove", help="remove a saved connection and its secret")
    remove.add_argument("name", metavar="NAME")
    for sub in (listing, show, create, remove):
        sub.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _add_create_options(create: argparse.ArgumentParser) -> None:
    create.add_argument(
        "--url", required=True, metavar="ADDRESS", help="the Halo web address, as you open Halo"
    )
    create.add_argument("--client-id", required=True, metavar="ID", help="the API client ID")
    create.add_argument("--tenant", metavar="T", help="the Halo tenant (when Halo needs one)")
    create.add_argument("--link", metavar="TEMPLATE", help="the pay-now link with [Invoice No.]")
    create.add_argument(
        "--numbering",
        choices=[n.value for n in Numbering],
        default=Numbering.ACCOUNTING.value,
        help="which invoice number fills the link (default: accounting)",
    )
    create.add_argument(
        "--accounting-tool",
        choices=[t.value for t in AccountingTool],
        default=AccountingTool.QUICKBOOKS.value,
        help="the accounting tool Benji Pays reads invoices from (default: quickbooks)",
    )
    create.add_argument(
        "--link-field", metavar="FIELD", help="the invoice field for the link, or custom:NAME"
    )
    create.add_argument("--rate-limit", metavar="REQ/SECONDS", help="e.g. 300/300 or unlimited")
    create.add_argument(
        "--ca-file", metavar="PATH", help="an extra CA certificate (PEM), for self-hosted Halo"
    )
    create.add_argument(
        "--replace", action="store_true", help="replace a saved connection of the same name"
    )


@dataclass
class Stores:
    """Where `run` reads and writes (the real ones by default; tests pass their own)."""

    profiles: ProfileStore
    secrets: SecretStore
    environ: Mapping[str, str]
    interactive: bool
    prompt: Callable[[str], str] = getpass.getpass

    @classmethod
    def default(cls) -> Stores:
        from halo_paylink.storage.paths import AppPaths
        from halo_paylink.storage.profiles import ProfileStore
        from halo_paylink.storage.secrets import KeyringSecretStore

        try:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        except (AttributeError, ValueError):
            interactive = False
        return cls(ProfileStore(AppPaths.default()), KeyringSecretStore(), os.environ, interactive)


def run(args: argparse.Namespace, stores: Stores | None = None) -> int:
    actions: dict[str, Callable[[argparse.Namespace, Stores], int]] = {
        "list": _list,
        "show": _show,
        "create": _create,
        "remove": _remove,
    }
    try:
        return actions[args.action](args, stores or Stores.default())
    except CliError as error:
        print_cli_error(error, json_mode=args.json)
        return error.exit_code
    except LocalError as error:  # an unreadable profiles file, a folder that cannot be written
        print_cli_error(error, json_mode=args.json)
        return 1


def profile_json(profile: Profile) -> dict[str, Any]:
    """A profile as the profiles file holds it, with its name: the stable machine form."""
    from halo_paylink.storage.profiles import profile_to_json

    return {"name": profile.name, **profile_to_json(profile)}


def _list(args: argparse.Namespace, stores: Stores) -> int:
    profiles = stores.profiles.list()
    if args.json:
        say_json({"profiles": [profile_json(p) for p in profiles]})
        return 0
    if not profiles:
        say("No connections are saved yet. Save one with:")
        say(
            "  "
            + command_line(
                "profiles", "create", "NAME", "--url", "ADDRESS", "--client-id", "CLIENT_ID"
            )
        )
        return 0
    width = max(len(p.name) for p in profiles)
    for profile in profiles:
        say(f"{profile.name:<{width}}  {profile.web_url or '(no address yet)'}")
    return 0


def _get(stores: Stores, name: str) -> Profile:
    try:
        return stores.profiles.get(name)
    except KeyError:
        names = stores.profiles.names()
        raise CliError(
            f"There is no saved connection named '{name}'.",
            next_step=f"Saved connections: {', '.join(names)}."
            if names
            else f"Save one with `{command_line('profiles', 'create', name, '--help')}`.",
        ) from None


def _show(args: argparse.Namespace, stores: Stores) -> int:
    from halo_paylink.core.wizard import TOOL_LABELS

    profile = _get(stores, args.name)
    if args.json:
        say_json({"profile": profile_json(profile)})
        return 0
    link = profile.link
    secret = (
        "the system keyring"
        if profile.secret_mode is SecretMode.KEYRING
        else f"asked when needed (or {SECRET_ENV})"
    )
    rows = [
        ("Halo address", profile.web_url or "(none yet)"),
        ("tenant", profile.tenant or "(from the address)"),
        ("client ID", profile.client_id or "(none yet)"),
        ("client secret", secret),
        ("pay-now link", link.template or "(none yet)"),
        ("link carries", NUMBERING_WORDS[link.numbering]),
        ("accounting tool", TOOL_LABELS[link.accounting_tool]),
        ("link goes in", link.link_field),
        ("rate limit", profile.rate_limit or "(the default for this Halo)"),
        ("CA file", profile.ca_file or "(none)"),
    ]
    say(f"Connection '{profile.name}'" + (" (demo)" if profile.demo else ""))
    for label, value in rows:
        say(f"  {label + ':':<17}{value}")
    return 0


def _create(args: argparse.Namespace, stores: Stores) -> int:
    from halo_paylink.storage.profiles import validate_profile_name

    problem = validate_profile_name(args.name)
    if problem:
        raise CliError(f"'{args.name}' cannot be a connection's name: {problem}")
    if args.name in stores.profiles.names() and not args.replace:
        raise CliError(
            f"A connection named '{args.name}' is saved already.",
            next_step="Give --replace to replace it, or choose another name.",
        )
    profile = _new_profile(args)
    secret = _secret(args, stores)
    stored, note = _store_secret(stores.secrets, profile.name, secret)
    profile.secret_mode = SecretMode.KEYRING if stored else SecretMode.ASK
    try:
        stores.profiles.save(profile)
    except OSError as exc:
        from halo_paylink.storage.preflight import folder_error

        error = folder_error(stores.profiles.path.parent, exc, what="profiles")
        raise CliError.from_halo(error) from None
    if args.json:
        say_json({"ok": True, "profile": profile_json(profile), "secret_stored": stored})
        return 0
    say(f"Saved the connection '{profile.name}' ({profile.web_url}).")
    say(f"  {note}")
    say("Check it with:")
    say(f"  {command_line('check', '--profile', profile.name)}")
    return 0


def _new_profile(args: argparse.Namespace) -> Profile:
    """The profile the options describe, each checked as the window checks it (CliError)."""
    from halo_paylink.halo import facts
    from halo_paylink.storage.profiles import LinkSettings, Profile

    for option, value in (("--client-id", args.client_id), ("--tenant", args.tenant)):
        if value is not None and (not value.strip() or not is_clean_text(value)):
            raise CliError(f"{option} must be plain text, exactly as Halo shows it.")
    return Profile(
        name=args.name,
        web_url=_web_url(args.url),
        tenant=(args.tenant or "").strip() or None,
        client_id=args.client_id.strip(),
        ca_file=_ca_file(args.ca_file),
        rate_limit=_rate_limit(args.rate_limit),
        link=LinkSettings(
            template=_link(args.link),
            numbering=Numbering(args.numbering),
            accounting_tool=AccountingTool(args.accounting_tool),
            link_field=_link_field(args.link_field) or facts.DEFAULT_LINK_FIELD,
        ),
    )


def _web_url(address: str) -> str:
    from halo_paylink.halo.discovery import parse_address

    try:
        return parse_address(address).web_url
    except HaloError as exc:
        raise CliError.from_halo(exc, exit_code=2) from None


def _link(template: str | None) -> str:
    from halo_paylink.core.links import template_errors

    if not template:
        return ""
    problems = [p.message for p in template_errors(template)]
    if problems:
        raise CliError(
            problems[0],
            detail=" ".join(problems[1:]),
            next_step="Give --link the pay-now link exactly as Benji Pays shows it, with "
            "[Invoice No.] where the invoice number goes.",
        )
    return template.strip()


def _link_field(spec: str | None) -> str | None:
    from halo_paylink.core.backfill.target import parse_link_target

    if not spec:
        return None
    try:
        return parse_link_target(spec).spec
    except ValueError as exc:
        raise CliError(
            str(exc), next_step="Give --link-field a field's name or custom:NAME."
        ) from None


def _rate_limit(spec: str | None) -> str | None:
    from halo_paylink.halo.ratelimit import parse_rate_limit

    if not spec:
        return None
    try:
        parse_rate_limit(spec)
    except ValueError as exc:
        raise CliError(
            str(exc), next_step="Give --rate-limit as e.g. 300/300, 300/5m or unlimited."
        ) from None
    return spec.strip()


def _ca_file(path: str | None) -> str | None:
    if not path:
        return None
    full = Path(path).expanduser()
    if not full.is_file():
        raise CliError(
            f"The CA file {full} does not exist or is not a file.",
            next_step="Give --ca-file the PEM file of the certificate your Halo server uses.",
        )
    return str(full.resolve())


def _secret(args: argparse.Namespace, stores: Stores) -> str:
    """The client secret from the environment or a hidden prompt; CliError when there is none."""
    value = stores.environ.get(SECRET_ENV, "")
    if not value and stores.interactive:
        try:
            value = stores.prompt(f"Client secret for {args.client_id} (input hidden): ").strip()
        except (EOFError, KeyboardInterrupt):
            value = ""
    if not value:
        raise CliError(
            "No client secret was given.",
            next_step=f"Set {SECRET_ENV} to the API application's client secret, or run the "
            "command in a terminal to be asked for it.",
        )
    if not is_clean_text(value):
        raise CliError("The client secret holds bytes that are not text, or control characters.")
    from halo_paylink.redact import register_secret

    register_secret(value)
    return value


def _store_secret(secrets: SecretStore, name: str, secret: str) -> tuple[bool, str]:
    """Keep the secret in the keyring: (stored?, the sentence that says where it is)."""
    try:
        secrets.set(name, secret)
    except LocalError as exc:
        why = (exc.detail or exc.headline).split(". ")[0].rstrip(".")
        return False, (
            f"The client secret was not saved ({why}): commands with --profile {name} take it "
            f"from {SECRET_ENV}, or ask for it in a terminal."
        )
    return True, f"The client secret is in {secrets.status().location or 'the system keyring'}."


def _remove(args: argparse.Namespace, stores: Stores) -> int:
    profile = _get(stores, args.name)
    stores.profiles.delete(profile.name)
    secret_removed = True
    try:
        stores.secrets.delete(profile.name)
    except LocalError:
        secret_removed = False
    if args.json:
        say_json({"ok": True, "removed": profile.name, "secret_removed": secret_removed})
        return 0
    say(f"Removed the connection '{profile.name}'.")
    if not secret_removed and profile.secret_mode is SecretMode.KEYRING:
        say("  Its client secret could not be removed from the system keyring; remove it there.")
    return 0
