"""cli.common: connection arguments, where the secret comes from, and how errors are printed."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from halo_paylink.cli.common import (
    SECRET_ENV,
    CliError,
    add_connection_arguments,
    open_connection,
    print_cli_error,
    print_error,
    resolve_connection,
)
from halo_paylink.domain import SecretMode
from halo_paylink.errors import ErrorKind, HaloError, LocalError
from halo_paylink.redact import forget_secrets, redact
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import Profile, ProfileStore
from halo_paylink.storage.secrets import MemorySecretStore, StoreStatus


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    yield
    forget_secrets()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path)


@pytest.fixture
def profiles(paths: AppPaths) -> ProfileStore:
    store = ProfileStore(paths)
    store.save(
        Profile(
            name="acme",
            web_url="https://acme.halopsa.com",
            tenant="acme",
            client_id="cid",
            ca_file="/ca.pem",
            rate_limit="300/300",
        )
    )
    store.save(
        Profile(name="asker", web_url="https://h", client_id="c2", secret_mode=SecretMode.ASK)
    )
    return store


class BrokenStore:
    def status(self) -> StoreStatus:
        return StoreStatus(False, "fail Keyring", "", "No system keyring is available.")

    def get(self, profile: object) -> str | None:
        raise LocalError(ErrorKind.KEYRING_UNAVAILABLE, "No system keyring is available.")

    def set(self, profile: object, secret: str) -> None:
        raise AssertionError("not used")

    def delete(self, profile: object) -> None:
        raise AssertionError("not used")


def no_prompt(text: str) -> str:
    raise AssertionError("must not prompt")


def test_arguments_parse() -> None:
    args = parse(
        "--url", "https://h", "--client-id", "c", "--tenant", "t", "--ca-file", "x.pem", "--json"
    )
    assert (args.url, args.client_id, args.tenant, args.ca_file, args.json) == (
        "https://h",
        "c",
        "t",
        "x.pem",
        True,
    )
    assert parse("--profile", "p").profile == "p" and parse().json is False


def test_url_with_env_secret(paths: AppPaths) -> None:
    conn = resolve_connection(
        parse("--url", " https://h ", "--client-id", "c", "--tenant", "t"),
        paths,
        environ={SECRET_ENV: "env-secret-123"},
        interactive=False,
        prompt=no_prompt,
    )
    assert conn.address == "https://h" and conn.tenant == "t" and conn.profile is None
    assert conn.credentials.client_id == "c"
    assert conn.credentials.client_secret == "env-secret-123"
    assert conn.secret_source == "environment"
    assert "env-secret-123" not in repr(conn)
    assert "env-secret-123" not in redact("leak env-secret-123")  # registered for redaction


def test_profile_from_keyring(paths: AppPaths, profiles: ProfileStore) -> None:
    secrets = MemorySecretStore()
    secrets.set("acme", "kr-secret-456")
    conn = resolve_connection(
        parse("--profile", "acme"), paths, profiles, secrets, environ={}, interactive=False
    )
    assert conn.profile is not None and conn.profile.name == "acme"
    assert (conn.address, conn.tenant, conn.ca_file, conn.rate_limit) == (
        "https://acme.halopsa.com",
        "acme",
        "/ca.pem",
        "300/300",
    )
    assert conn.credentials == type(conn.credentials)("cid", "kr-secret-456")
    assert conn.secret_source == "keyring"


def test_env_wins_over_keyring_and_overrides_apply(paths: AppPaths, profiles: ProfileStore) -> None:
    secrets = MemorySecretStore()
    secrets.set("acme", "kr-secret-456")
    conn = resolve_connection(
        parse("--profile", "acme", "--tenant", "other", "--ca-file", "mine.pem"),
        paths,
        profiles,
        secrets,
        environ={SECRET_ENV: "env-wins-789"},
        interactive=False,
    )
    assert conn.credentials.client_secret == "env-wins-789"
    assert conn.tenant == "other" and conn.ca_file == "mine.pem"


def parse_with_rate_limit(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    parser.add_argument("--rate-limit")  # as `backfill` has it
    return parser.parse_args(list(argv))


def test_rate_limit_flag_beats_the_profiles(paths: AppPaths, profiles: ProfileStore) -> None:
    conn = resolve_connection(
        parse_with_rate_limit("--profile", "acme", "--rate-limit", "10/1m"),
        paths,
        profiles,
        environ={SECRET_ENV: "env-secret-123"},
        interactive=False,
        prompt=no_prompt,
    )
    assert conn.rate_limit == "10/1m"
    conn = resolve_connection(
        parse_with_rate_limit("--profile", "acme"),
        paths,
        profiles,
        environ={SECRET_ENV: "env-secret-123"},
        interactive=False,
        prompt=no_prompt,
    )
    assert conn.rate_limit == "300/300"


@pytest.mark.parametrize("where", ["flag", "profile"])
def test_a_rate_limit_that_cannot_be_read_is_a_usage_error_before_the_secret(
    paths: AppPaths, profiles: ProfileStore, where: str
) -> None:
    profiles.save(
        Profile(name="odd", web_url="https://acme.halopsa.com", client_id="c", rate_limit="fast")
    )
    argv = ("--profile", "odd") if where == "profile" else ("--profile", "acme")
    extra = ("--rate-limit", "fast") if where == "flag" else ()
    with pytest.raises(CliError) as caught:
        resolve_connection(
            parse_with_rate_limit(*argv, *extra),
            paths,
            profiles,
            BrokenStore(),  # never reached
            environ={},
            interactive=True,
            prompt=no_prompt,
        )
    assert caught.value.headline == "The rate limit cannot be used."
    assert "write REQUESTS/SECONDS" in caught.value.detail
    assert caught.value.exit_code == 2


def test_prompt_only_on_a_terminal(paths: AppPaths, profiles: ProfileStore) -> None:
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return " typed-secret-1 "

    conn = resolve_connection(
        parse("--profile", "asker"),
        paths,
        profiles,
        MemorySecretStore(),
        environ={},
        interactive=True,
        prompt=prompt,
    )
    assert conn.credentials.client_secret == "typed-secret-1"
    assert conn.secret_source == "prompt"
    assert prompts and "c2" in prompts[0]


def test_ask_profile_never_reads_keyring(paths: AppPaths, profiles: ProfileStore) -> None:
    secrets = MemorySecretStore()
    secrets.set("asker", "should-not-be-used")
    with pytest.raises(CliError) as caught:
        resolve_connection(
            parse("--profile", "asker"), paths, profiles, secrets, environ={}, interactive=False
        )
    assert SECRET_ENV in caught.value.next_step


def test_no_secret_non_interactive(paths: AppPaths, profiles: ProfileStore) -> None:
    with pytest.raises(CliError) as caught:
        resolve_connection(
            parse("--profile", "acme"),
            paths,
            profiles,
            BrokenStore(),
            environ={},
            interactive=False,
            prompt=no_prompt,
        )
    err = caught.value
    assert err.headline == "No client secret is available."
    assert SECRET_ENV in err.next_step and "keyring" in err.next_step
    assert "No system keyring" in err.detail  # says why the keyring did not help
    assert err.exit_code == 2


def test_broken_keyring_falls_back_to_prompt(paths: AppPaths, profiles: ProfileStore) -> None:
    conn = resolve_connection(
        parse("--profile", "acme"),
        paths,
        profiles,
        BrokenStore(),
        environ={},
        interactive=True,
        prompt=lambda _: "typed-2-secret",
    )
    assert conn.credentials.client_secret == "typed-2-secret"


def test_empty_prompt_is_no_secret(paths: AppPaths) -> None:
    with pytest.raises(CliError, match="No client secret"):
        resolve_connection(
            parse("--url", "https://h", "--client-id", "c"),
            paths,
            environ={},
            interactive=True,
            prompt=lambda _: "",
        )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "No Halo connection"),
        (("--url", "https://h"), "--url needs --client-id"),
        (("--client-id", "c"), "--client-id needs --url"),
        (("--profile", "acme", "--url", "https://h"), "not both"),
        (("--profile", "missing"), "no saved connection named 'missing'"),
    ],
)
def test_usage_errors(
    paths: AppPaths, profiles: ProfileStore, argv: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CliError) as caught:
        resolve_connection(
            parse(*argv),
            paths,
            profiles,
            MemorySecretStore(),
            environ={SECRET_ENV: "xxxxxx"},
            interactive=False,
        )
    assert message in caught.value.headline
    assert caught.value.exit_code == 2
    if "missing" in argv:
        assert "acme" in caught.value.next_step  # lists the saved ones


def test_unknown_profile_when_none_saved(paths: AppPaths) -> None:
    with pytest.raises(CliError) as caught:
        resolve_connection(parse("--profile", "x"), paths, environ={}, interactive=False)
    assert "No connections are saved yet" in caught.value.next_step


def test_corrupt_profiles_become_cli_error(paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_text("{oops")
    with pytest.raises(CliError) as caught:
        resolve_connection(parse("--profile", "a"), paths, environ={}, interactive=False)
    assert caught.value.error is not None
    assert caught.value.error.kind is ErrorKind.PROFILES_CORRUPT


def test_print_error_human_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    err = HaloError(
        ErrorKind.MISSING_SCOPE, "scope edit:invoices Bearer abcdefgh123 denied", status=403
    )
    print_error(err, json_mode=False)
    out, errout = capsys.readouterr()
    assert out == ""
    assert errout.splitlines()[0] == f"Error: {err.headline} (HTTP 403)"
    assert "Halo said: scope edit:invoices" in errout
    assert "abcdefgh123" not in errout
    assert f"Next step: {err.next_step}" in errout


def test_print_error_json_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    err = HaloError(ErrorKind.RATE_LIMITED, "slow down", status=429, retry_after=30.0)
    print_error(err, json_mode=True)
    out, errout = capsys.readouterr()
    doc = json.loads(out)
    assert doc == {
        "ok": False,
        "error": {
            "kind": "rate_limited",
            "category": "rate limit",
            "headline": err.headline,
            "detail": "slow down",
            "next_step": err.next_step,
            "status": 429,
            "retry_after": 30.0,
        },
    }
    assert errout == ""


def test_print_local_error_labels_detail() -> None:
    stream = io.StringIO()
    print_error(LocalError(ErrorKind.KEYRING_UNAVAILABLE, "DBus said no"), False, stream=stream)
    assert "Details: DBus said no" in stream.getvalue()
    assert "Halo said" not in stream.getvalue()


def test_print_cli_error_both_modes() -> None:
    err = CliError(
        "No client secret is available.", detail="client_secret=zzz-leak", next_step="Set it."
    )
    human, machine = io.StringIO(), io.StringIO()
    print_cli_error(err, json_mode=False, stream=human)
    print_cli_error(err, json_mode=True, stream=machine)
    assert "Error: No client secret is available." in human.getvalue()
    assert "Next step: Set it." in human.getvalue()
    assert "zzz-leak" not in human.getvalue() + machine.getvalue()
    assert json.loads(machine.getvalue())["error"]["kind"] == "usage"
    wrapped = CliError.from_halo(HaloError(ErrorKind.TLS, "bad ca"))
    print_cli_error(wrapped, json_mode=True, stream=(out := io.StringIO()))
    assert json.loads(out.getvalue())["error"]["kind"] == "tls"


@pytest.mark.anyio
async def test_open_connection_closes_client(paths: AppPaths) -> None:
    args = parse("--url", "http://127.0.0.1:9", "--client-id", "c")
    async with open_connection(
        args, paths=paths, environ={SECRET_ENV: "oc-secret-1"}, interactive=False
    ) as (
        conn,
        http,
    ):
        assert conn.credentials.client_secret == "oc-secret-1"
        assert not http.is_closed
    assert http.is_closed


@pytest.mark.anyio
async def test_open_connection_bad_ca_file(paths: AppPaths, tmp_path: Path) -> None:
    args = parse("--url", "https://h", "--client-id", "c", "--ca-file", str(tmp_path / "none.pem"))
    with pytest.raises(CliError) as caught:
        async with open_connection(
            args, paths=paths, environ={SECRET_ENV: "oc-secret-2"}, interactive=False
        ):
            pass
    assert caught.value.error is not None
    assert caught.value.error.kind is ErrorKind.CA_FILE_UNREADABLE
