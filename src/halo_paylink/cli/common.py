"""Shared helpers for the subcommands that talk to Halo (`check`, `backfill`): thin on purpose.

`add_connection_arguments` adds the connection options; `resolve_connection` turns them (plus a
saved profile, the environment and the keyring) into a typed `Connection`; `open_connection` also
builds the HTTP client, on which `halo.session` builds the Halo client; `print_error` /
`print_cli_error` explain a failure: the headline, what Halo (or the system) said, and the next
step. Everything printed is redacted.

Where the client secret comes from, in order: the `HALO_CLIENT_SECRET` environment variable; the
system keyring, for a saved profile that keeps its secret there; a hidden prompt, only when stdin
is a terminal. Never from a command-line argument (it would show in the process list and shell
history).
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from halo_paylink.cli.terminal import say, say_json
from halo_paylink.domain import SecretMode
from halo_paylink.errors import (
    ErrorKind,
    HaloError,
    LocalError,
    PaylinkError,
    UsageError,
    explain,
)
from halo_paylink.halo.discovery import parse_address
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.ratelimit import parse_rate_limit
from halo_paylink.redact import redact, register_secret
from halo_paylink.storage.paths import AppPaths, program_command
from halo_paylink.storage.profiles import Profile, ProfileStore

if TYPE_CHECKING:
    import httpx

    from halo_paylink.storage.secrets import SecretStore

#: Environment variable the CLI reads the client secret from (for scripts and CI).
SECRET_ENV = "HALO_CLIENT_SECRET"

USAGE_EXIT = 2
FAILURE_EXIT = 1


class CliError(UsageError):
    """A failure the CLI explains and exits on: a `UsageError` with an exit code, or the CLI's
    wrapping of any other `PaylinkError` (`from_halo`), which then explains it.

    Attributes:
        headline: what went wrong, one sentence.
        detail: what Halo or the system said (redacted); may be empty.
        next_step: what the user should do.
        exit_code: 2 for usage problems (bad options, no secret), 1 otherwise.
        error: the underlying `HaloError` or `LocalError`, when there is one.
    """

    def __init__(
        self,
        headline: str,
        *,
        detail: str = "",
        next_step: str = "",
        exit_code: int = USAGE_EXIT,
        error: PaylinkError | None = None,
    ) -> None:
        self.exit_code = exit_code
        self.error = error
        super().__init__(headline, next_step, redact(detail))

    @classmethod
    def from_halo(cls, error: PaylinkError, *, exit_code: int = FAILURE_EXIT) -> CliError:
        return cls(
            error.headline,
            detail=error.detail,
            next_step=error.next_step,
            exit_code=exit_code,
            error=error,
        )


@dataclass(frozen=True)
class Connection:
    """Everything needed to talk to one Halo instance. The secret stays out of `repr`.

    Attributes:
        address: the Halo web address (as typed or saved; `halo.discovery` parses it).
        tenant: an explicit tenant, or None to let discovery decide.
        credentials: client id and secret.
        ca_file: an extra CA certificate file to trust, or None.
        profile: the saved profile used, or None for `--url`.
        rate_limit: the rate-limit override in force (`--rate-limit` where the command has it,
            else the profile's), already checked; None for `halo.ratelimit.choose_limiter`'s
            default.
        secret_source: where the secret came from: "environment", "keyring" or "prompt".
    """

    address: str
    tenant: str | None
    credentials: Credentials
    ca_file: str | None
    profile: Profile | None = None
    rate_limit: str | None = None
    secret_source: str = ""


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--profile NAME | --url URL --client-id ID [--tenant T]`, `--ca-file` and `--json`."""
    group = parser.add_argument_group(
        "connection",
        "Use a saved connection (--profile) or give one (--url and --client-id). The client "
        f"secret comes from the {SECRET_ENV} environment variable, else the system keyring (saved "
        "connections), else a hidden prompt when run in a terminal.",
    )
    group.add_argument("--profile", metavar="NAME", help="a saved connection's name")
    group.add_argument(
        "--url", metavar="URL", help="the Halo web address, e.g. https://acme.halopsa.com"
    )
    group.add_argument("--client-id", metavar="ID", help="the API application's client ID")
    group.add_argument("--tenant", metavar="T", help="the Halo tenant (when Halo needs one)")
    group.add_argument(
        "--ca-file",
        metavar="PATH",
        help="an extra CA certificate (PEM) to trust, for self-hosted Halo",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def command_line(*arguments: str) -> str:
    """A command the user can paste as printed: this program (`storage.paths.program_command`:
    `halo-paylink`, or this Python with `-m halo_paylink` when that name is not on PATH) and
    `arguments`, each quoted for the shell."""
    return f"{program_command()} {shlex.join(arguments)}"


def connection_flags(args: argparse.Namespace) -> list[str]:
    """The connection options as given (`--profile`, or `--url` and `--client-id`, and any
    `--tenant`, `--ca-file`, `--rate-limit`), for a printed follow-up command that must reach the
    same Halo. Never the secret: there is no option for it."""
    flags: list[str] = []
    for option, attribute in (
        ("--profile", "profile"),
        ("--url", "url"),
        ("--client-id", "client_id"),
        ("--tenant", "tenant"),
        ("--ca-file", "ca_file"),
        ("--rate-limit", "rate_limit"),
    ):
        value = getattr(args, attribute, None)
        if value:
            flags += [option, str(value)]
    return flags


def _usage(headline: str, next_step: str = "") -> CliError:
    return CliError(
        headline,
        next_step=next_step
        or "Give --profile NAME for a saved connection, or --url URL and --client-id ID.",
    )


def is_clean_text(value: str) -> bool:
    """True when `value` is valid Unicode text (no lone surrogates from undecodable bytes) with
    no control characters: what a client ID, tenant or secret must be."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value)


def _check_text_option(name: str, value: str | None) -> None:
    if value is not None and not is_clean_text(value):
        raise _usage(
            f"{name} holds bytes that are not UTF-8 text, or control characters.",
            f"Type {name} again as plain text, exactly as Halo shows it.",
        )


def _stdin_is_terminal() -> bool:
    stream = sys.stdin
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def _find_profile(profiles: ProfileStore, name: str) -> Profile:
    try:
        return profiles.get(name)
    except KeyError:
        names = ", ".join(profiles.names())
        hint = (
            f"Saved connections: {names}. Use one of them with --profile, or give --url and "
            "--client-id."
            if names
            else "No connections are saved yet: give --url and --client-id, or save one with "
            f"`{command_line('profiles', 'create', name, '--help')}` (or in the window)."
        )
        raise _usage(f"There is no saved connection named '{name}'.", hint) from None
    except LocalError as exc:  # e.g. a corrupt profiles file
        raise CliError.from_halo(exc) from None


def _secret(
    client_id: str,
    profile: Profile | None,
    secrets: SecretStore | None,
    environ: Mapping[str, str],
    interactive: bool,
    prompt: Callable[[str], str],
) -> tuple[str, str]:
    """The secret and where it came from; raises CliError when there is none."""
    value = environ.get(SECRET_ENV, "")
    if value:
        if not is_clean_text(value):
            # Python decodes undecodable environment bytes to lone surrogates: they would fail
            # deep in the HTTP layer. The value itself is never echoed.
            raise CliError.from_halo(
                LocalError(
                    ErrorKind.BAD_SECRET_TEXT,
                    f"{SECRET_ENV} holds bytes that are not UTF-8 text, or control characters.",
                ),
                exit_code=USAGE_EXIT,
            )
        return value, "environment"
    keyring_problem = ""
    if profile is not None and profile.secret_mode is SecretMode.KEYRING:
        if secrets is None:
            from halo_paylink.storage.secrets import KeyringSecretStore

            secrets = KeyringSecretStore()
        try:
            stored = secrets.get(profile.name)
        except LocalError as exc:  # no secure keyring, locked, DBus trouble: try the prompt
            keyring_problem = exc.detail or exc.headline
        else:
            if stored:
                return stored, "keyring"
            keyring_problem = f"No secret is stored in the system keyring for '{profile.name}'."
    if interactive:
        try:
            typed = prompt(f"Client secret for {client_id} (input hidden): ").strip()
        except (EOFError, KeyboardInterrupt):
            typed = ""
        if typed:
            return typed, "prompt"
    raise CliError(
        "No client secret is available.",
        detail=keyring_problem,
        next_step=f"Set the {SECRET_ENV} environment variable to the API application's client "
        "secret, or run this command in a terminal to be asked for it, or keep it in the system "
        f"keyring by saving the connection (`{command_line('profiles', 'create', '--help')}`).",
    )


def resolve_connection(
    args: argparse.Namespace,
    paths: AppPaths | None = None,
    profiles: ProfileStore | None = None,
    secrets: SecretStore | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> Connection:
    """Turn the connection arguments into a `Connection` (blocking: may read the keyring or prompt).

    Args:
        args: parsed arguments from a parser given `add_connection_arguments`.
        paths: app folders (default `AppPaths.default()`), for the profile store.
        profiles: the profile store (default: one on `paths`).
        secrets: the secret store (default: the system keyring), used for profiles only.
        environ: the environment (default `os.environ`).
        interactive: whether a hidden prompt may be shown (default: stdin is a terminal).
        prompt: reads the secret without echo (default `getpass.getpass`).

    Raises:
        CliError: bad or missing options, unknown profile, unreadable profiles, a rate limit that
            cannot be read, no secret.
    """
    env = os.environ if environ is None else environ
    can_prompt = _stdin_is_terminal() if interactive is None else interactive
    given = _Given.of(args)
    profile: Profile | None = None
    if given.profile:
        if given.url or given.client_id:
            raise _usage("Use either --profile or --url/--client-id, not both.")
        if profiles is None:
            profiles = ProfileStore(paths or AppPaths.default())
        profile = _find_profile(profiles, given.profile)
        target = given.over_profile(profile)
    else:
        target = given.without_profile()
    _check_before_the_secret(target)
    secret, source = _secret(target.client_id, profile, secrets, env, can_prompt, prompt)
    register_secret(secret)  # from here on, logs and error texts mask it
    return Connection(
        address=target.address,
        tenant=target.tenant,
        credentials=Credentials(client_id=target.client_id, client_secret=secret),
        ca_file=target.ca_file,
        profile=profile,
        rate_limit=target.rate_limit,
        secret_source=source,
    )


@dataclass(frozen=True)
class _Target:
    """Where to connect, from the flags or a saved profile, before the secret is known."""

    address: str
    client_id: str
    tenant: str | None
    ca_file: str | None
    rate_limit: str | None


@dataclass(frozen=True)
class _Given:
    """The connection options as given on the command line (None when not given)."""

    profile: str | None
    url: str | None
    client_id: str | None
    tenant: str | None
    ca_file: str | None
    rate_limit: str | None

    @classmethod
    def of(cls, args: argparse.Namespace) -> _Given:
        """Read the options (a command without one, e.g. `check` and --rate-limit, gives None)
        and refuse text that is not plain: CliError."""
        given = cls(
            profile=getattr(args, "profile", None),
            url=getattr(args, "url", None),
            client_id=getattr(args, "client_id", None),
            tenant=getattr(args, "tenant", None) or None,
            ca_file=getattr(args, "ca_file", None) or None,
            rate_limit=getattr(args, "rate_limit", None) or None,
        )
        for name, value in (
            ("--profile", given.profile),
            ("--url", given.url),
            ("--client-id", given.client_id),
            ("--tenant", given.tenant),
        ):
            _check_text_option(name, value)
        return given

    def over_profile(self, profile: Profile) -> _Target:
        """The saved connection, with the flags given overriding it."""
        if not profile.web_url or not profile.client_id:
            raise _usage(
                f"The saved connection '{profile.name}' has no address or client ID yet.",
                "Finish it in the window, or save it again with "
                f"`{command_line('profiles', 'create', profile.name, '--replace', '--help')}`, or "
                "give --url and --client-id instead.",
            )
        return _Target(
            address=profile.web_url,
            client_id=profile.client_id,
            tenant=self.tenant or profile.tenant,
            ca_file=self.ca_file or profile.ca_file,
            rate_limit=self.rate_limit or profile.rate_limit,
        )

    def without_profile(self) -> _Target:
        """The connection the flags describe: --url and --client-id are both needed."""
        if not self.url and not self.client_id:
            raise _usage("No Halo connection was given.")
        if not self.url:
            raise _usage("--client-id needs --url (the Halo web address).")
        if not self.client_id:
            raise _usage("--url needs --client-id (the API application's client ID).")
        return _Target(
            self.url.strip(), self.client_id.strip(), self.tenant, self.ca_file, self.rate_limit
        )


def _check_before_the_secret(target: _Target) -> None:
    """A mistyped address or a rate limit that cannot be read is reported before anyone is asked
    for a secret."""
    try:
        parse_address(target.address)
    except HaloError as exc:
        raise CliError.from_halo(exc, exit_code=USAGE_EXIT) from None
    try:
        if target.rate_limit:
            parse_rate_limit(target.rate_limit)
    except ValueError as exc:
        raise CliError("The rate limit cannot be used.", detail=str(exc)) from None


@asynccontextmanager
async def open_connection(
    args: argparse.Namespace,
    *,
    paths: AppPaths | None = None,
    profiles: ProfileStore | None = None,
    secrets: SecretStore | None = None,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> AsyncIterator[tuple[Connection, httpx.AsyncClient]]:
    """`resolve_connection`, then an HTTP client for it, closed on exit. For `asyncio.run` mains.

    The resolution runs on the loop's thread before any other task exists (it may prompt), which
    is fine for a CLI with nothing else running.

    Raises:
        CliError: as `resolve_connection`, or when the CA file cannot be used.
    """
    from halo_paylink.halo.http import make_http_client

    connection = resolve_connection(
        args,
        paths,
        profiles,
        secrets,
        environ=environ,
        interactive=interactive,
        prompt=prompt,
    )
    try:
        http = make_http_client(ca_file=connection.ca_file)
    except LocalError as exc:  # an unreadable CA file
        raise CliError.from_halo(exc) from None
    async with http:
        yield connection, http


def _error_fields(error: PaylinkError) -> dict[str, Any]:
    status = getattr(error, "status", None)
    retry_after = getattr(error, "retry_after", None)
    return {
        "kind": error.kind.code,
        "category": error.kind.category.value,
        "headline": error.headline,
        "detail": redact(error.detail),
        "next_step": error.next_step,
        "status": status,
        "retry_after": retry_after,
    }


def print_error(err: PaylinkError, json_mode: bool, *, stream: TextIO | None = None) -> None:
    """Explain `err` (see `errors.explain`): headline, the detail and the next step; redacted.

    Human mode writes to stderr; JSON mode writes `{"ok": false, "error": {...}}` to stdout (so a
    script reading stdout always gets one JSON document). `stream` overrides either (tests).
    """
    fields = _error_fields(err)
    if json_mode:
        say_json({"ok": False, "error": fields}, file=stream or sys.stdout)
        return
    out = stream or sys.stderr
    explained = explain(err)
    status = f" (HTTP {fields['status']})" if fields["status"] else ""
    say(f"Error: {explained.headline}{status}", file=out)
    if explained.detail:
        say(f"  {explained.detail}", file=out)
    if explained.next_step:
        say(f"  Next step: {explained.next_step}", file=out)
    if fields["retry_after"]:
        say(f"  Halo asked to wait {fields['retry_after']:.0f} s.", file=out)


def print_cli_error(
    error: PaylinkError, json_mode: bool = False, *, stream: TextIO | None = None
) -> None:
    """Like `print_error`; a `CliError` that wraps a Halo or local failure explains that."""
    if isinstance(error, CliError) and error.error is not None:
        error = error.error
    print_error(error, json_mode, stream=stream)
