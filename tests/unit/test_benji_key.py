"""Where the CLI's Benji API key comes from: the environment, the keyring, a hidden prompt; never
an argument, and never the Halo client secret's keyring entry."""

from __future__ import annotations

import pytest

from halo_paylink.cli.benji import KEY_ENV, configured_key, resolve_key
from halo_paylink.cli.common import CliError
from halo_paylink.redact import redact
from halo_paylink.storage.secrets import (
    BENJI_KEYRING_SERVICE,
    KEYRING_SERVICE,
    MemorySecretStore,
    benji_key_store,
)


def test_the_environment_wins_then_the_keyring() -> None:
    store = MemorySecretStore()
    store.set("acme", "kept-benji-key-1234")
    assert configured_key("acme", environ={KEY_ENV: " env-benji-key-5678 "}, store=store) == (
        "env-benji-key-5678",
        "environment",
    )
    assert configured_key("acme", environ={}, store=store) == ("kept-benji-key-1234", "keyring")
    assert configured_key(None, environ={}, store=store) is None
    assert (
        redact("key kept-benji-key-1234 and env-benji-key-5678") == "key [REDACTED] and [REDACTED]"
    )


def test_a_prompt_only_in_a_terminal() -> None:
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed-benji-key-9012"

    store = MemorySecretStore()
    key = resolve_key("acme", environ={}, store=store, interactive=True, prompt=prompt)
    assert key == ("typed-benji-key-9012", "prompt") and "hidden" in asked[0]
    with pytest.raises(CliError) as caught:
        resolve_key("acme", environ={}, store=store, interactive=False, prompt=prompt)
    assert "No Benji Pays API key" in caught.value.headline
    assert KEY_ENV in caught.value.next_step and len(asked) == 1


def test_a_key_that_is_not_text_is_refused() -> None:
    with pytest.raises(CliError, match="not valid text"):
        resolve_key(None, environ={KEY_ENV: "bad\x07key-value"}, interactive=False)


def test_the_key_has_its_own_keyring_service() -> None:
    assert BENJI_KEYRING_SERVICE != KEYRING_SERVICE
    assert repr(benji_key_store()) == f"KeyringSecretStore(service={BENJI_KEYRING_SERVICE!r})"


def test_no_command_takes_the_key_as_an_argument() -> None:
    from halo_paylink.cli import build_parser

    parser = build_parser(["halo_paylink.cli.benji"])
    with pytest.raises(SystemExit):
        parser.parse_args(["benji", "check", "--api-key", "x"])
    options = parser.format_help()
    assert "--api-key" not in options and "--key" not in options
