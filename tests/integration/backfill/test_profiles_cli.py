"""`halo-paylink profiles` as a real process: a connection created on a fresh machine works with
every `--profile` command, the file stays the window's format both ways, and the secret never
reaches the file."""

from __future__ import annotations

import argparse
import json

from halo_paylink.cli import build_parser
from halo_paylink.cli.profiles import Stores
from halo_paylink.cli.profiles import run as run_profiles
from halo_paylink.domain import AccountingTool, Numbering, SecretMode
from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import LinkSettings, Profile, ProfileStore
from halo_paylink.storage.secrets import MemorySecretStore

from .cli_helpers import cli_env, run_cli
from .conftest import snapshot


def test_a_created_profile_serves_check_and_backfill(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=40)
    secret = box.config.client_secret
    env = cli_env(tmp_path, secret)
    empty = run_cli(["profiles", "list"], env)
    assert empty.returncode == 0 and "No connections are saved yet" in empty.stdout
    create = [
        "profiles",
        "create",
        "acme",
        "--url",
        box.url,
        "--client-id",
        box.config.client_id,
        "--link",
        DEMO_BENJI_TEMPLATE,
        "--numbering",
        "halo",
        "--accounting-tool",
        "xero",
    ]
    created = run_cli(create, env)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "Saved the connection 'acme'" in created.stdout
    profiles_file = tmp_path / "config" / "profiles.json"
    assert secret not in profiles_file.read_text(encoding="utf-8")

    listed = json.loads(run_cli(["profiles", "list", "--json"], env).stdout)["profiles"]
    assert [(p["name"], p["web_url"], p["client_id"]) for p in listed] == [
        ("acme", box.url, box.config.client_id)
    ]
    shown = run_cli(["profiles", "show", "acme"], env)
    assert "Halo's invoice number" in shown.stdout and "Xero" in shown.stdout

    check = run_cli(["check", "--profile", "acme", "--json"], env)
    assert check.returncode == 0, check.stdout + check.stderr
    before = snapshot(box)
    plan = run_cli(["backfill", "--profile", "acme", "--dry-run"], env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.startswith("Dry run: done; nothing was changed")
    assert snapshot(box) == before

    again = run_cli(create, env)
    assert again.returncode == 2 and "--replace" in again.stderr
    assert run_cli([*create, "--replace"], env).returncode == 0
    removed = run_cli(["profiles", "remove", "acme", "--json"], env)
    assert json.loads(removed.stdout)["removed"] == "acme"
    assert json.loads(run_cli(["profiles", "list", "--json"], env).stdout)["profiles"] == []
    gone = run_cli(["backfill", "--profile", "acme", "--dry-run"], env)
    assert gone.returncode == 2 and "profiles create acme" in gone.stderr


def test_bad_input_leads_with_its_cause(tmp_path) -> None:
    env = cli_env(tmp_path, "a-secret")
    base = ["profiles", "create", "x", "--client-id", "abc"]
    bad_url = run_cli([*base, "--url", "http://"], env)
    assert bad_url.returncode == 2
    assert bad_url.stderr.startswith("Error: That doesn't look like a Halo web address.")
    bad_link = run_cli(
        [*base, "--url", "acme.halopsa.com", "--link", "http://b/[Invoice No.]"], env
    )
    assert bad_link.stderr.startswith("Error: The link must start with https://.")
    no_secret = run_cli([*base, "--url", "acme.halopsa.com"], cli_env(tmp_path, ""))
    assert no_secret.returncode == 2 and "HALO_CLIENT_SECRET" in no_secret.stderr
    assert "Traceback" not in bad_url.stderr + bad_link.stderr + no_secret.stderr
    assert not (tmp_path / "config" / "profiles.json").exists()


def _args(*argv: str) -> argparse.Namespace:
    return build_parser(["halo_paylink.cli.profiles"]).parse_args(["profiles", *argv])


def test_the_window_and_the_cli_read_each_others_profiles(tmp_path, capsys) -> None:
    paths = AppPaths.under(tmp_path)
    store = ProfileStore(paths)
    secrets = MemorySecretStore()
    stores = Stores(store, secrets, {"HALO_CLIENT_SECRET": "s3cret-value"}, interactive=False)
    # What the window saves (with a key from a newer version) is what the CLI shows.
    store.save(
        Profile(
            name="from the window",
            web_url="https://acme.halopsa.com",
            client_id="abc",
            link=LinkSettings(DEMO_BENJI_TEMPLATE, Numbering.HALO, AccountingTool.XERO),
        )
    )
    doc = json.loads(store.path.read_text(encoding="utf-8"))
    doc["profiles"]["from the window"]["newer_key"] = 1
    store.path.write_text(json.dumps(doc), encoding="utf-8")
    assert run_profiles(_args("show", "from the window", "--json"), stores) == 0
    shown = json.loads(capsys.readouterr().out)["profile"]
    assert shown["link"]["numbering"] == "halo" and shown["client_id"] == "abc"

    # What the CLI creates is what the window loads; the secret goes to the store only.
    argv = ("create", "cli", "--url", "https://acme.halopsa.com/", "--client-id", " abc ")
    assert run_profiles(_args(*argv, "--tenant", "acme", "--rate-limit", "300/5m"), stores) == 0
    assert store.get("cli") == Profile(
        name="cli",
        web_url="https://acme.halopsa.com",
        tenant="acme",
        client_id="abc",
        secret_mode=SecretMode.KEYRING,
        rate_limit="300/5m",
    )
    assert secrets.get("cli") == "s3cret-value"
    assert "s3cret-value" not in store.path.read_text(encoding="utf-8")
    assert (
        json.loads(store.path.read_text(encoding="utf-8"))["profiles"]["from the window"][
            "newer_key"
        ]
        == 1
    )
    assert run_profiles(_args("remove", "cli"), stores) == 0
    assert secrets.get("cli") is None and store.names() == ["from the window"]
