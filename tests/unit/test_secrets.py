"""storage.secrets: secure/insecure keyring detection, errors, and the in-memory store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from fakes import MemoryKeyring
from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.redact import forget_secrets, redact
from halo_paylink.storage.profiles import Profile
from halo_paylink.storage.secrets import (
    KEYRING_SERVICE,
    KeyringSecretStore,
    MemorySecretStore,
    describe_backend,
    store_for,
)


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"cannot store {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class DBusException(Exception):
    """Stands in for jeepney / secretstorage / dbus-python errors, which are not KeyringErrors."""


class DBusBrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise DBusException("org.freedesktop.DBus.Error.ServiceUnknown: no Secret Service")


# Backends that look like keyrings.alt / plaintext ones, without depending on keyrings.alt.
PlaintextKeyring = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})
AltEncrypted = type("EncryptedKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})
OtherPlaintext = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "somevendor.store"})


def make_like(module: str, name: str = "Keyring") -> Any:
    return type(name, (MemoryKeyring,), {"__module__": module})()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)
        forget_secrets()


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_round_trip_in_secure_keyring(memory_keyring: MemoryKeyring) -> None:
    store = KeyringSecretStore()
    status = store.status()
    assert status.secure and status.reason == ""
    store.set("Acme", "s3cret-value")
    assert memory_keyring.values == {(KEYRING_SERVICE, "Acme"): "s3cret-value"}
    assert store.get("Acme") == "s3cret-value"
    assert store.get(Profile(name="Acme")) == "s3cret-value"  # a Profile works as the key too
    assert store.get("Other") is None
    store.delete("Acme")
    assert store.get("Acme") is None
    store.delete("Acme")  # deleting what is not there is fine


def test_set_registers_secret_for_redaction(memory_keyring: MemoryKeyring) -> None:
    KeyringSecretStore().set("Acme", "zz-Registered-Secret-zz")
    assert "zz-Registered-Secret-zz" not in redact("oops zz-Registered-Secret-zz leaked")


def test_fail_backend_is_not_secure(fail_keyring: None) -> None:
    store = KeyringSecretStore()
    status = store.status()
    assert not status.secure
    assert status.location == ""
    assert "No system keyring" in status.reason
    assert "asked for each time" in status.reason  # says what to do
    with pytest.raises(LocalError) as caught:
        store.set("Acme", "x-secret-x")
    assert caught.value.kind is ErrorKind.KEYRING_UNAVAILABLE
    assert "asked for each time" in caught.value.detail
    with pytest.raises(LocalError):
        store.get("Acme")
    store.delete("Acme")  # nothing stored, nothing to do: no error


def test_null_backend_is_not_secure() -> None:
    status = describe_backend(null.Keyring())
    assert not status.secure and "turned off" in status.reason


@pytest.mark.parametrize("backend_cls", [PlaintextKeyring, AltEncrypted, OtherPlaintext])
def test_plaintext_and_alt_backends_are_refused(backend_cls: type) -> None:
    backend = backend_cls()
    store = KeyringSecretStore(backend)
    status = store.status()
    assert not status.secure
    assert "not secure" in status.reason and "asked for each time" in status.reason
    with pytest.raises(LocalError) as caught:
        store.set("Acme", "never-in-plaintext")
    assert caught.value.kind is ErrorKind.KEYRING_UNAVAILABLE
    assert backend.values == {}  # nothing was written to the insecure store
    backend.values[(KEYRING_SERVICE, "Acme")] = "old"
    with pytest.raises(LocalError):
        store.get("Acme")  # not even read


@pytest.mark.parametrize(
    ("module", "name", "location"),
    [
        ("keyring.backends.SecretService", "Keyring", "GNOME Keyring (Secret Service)"),
        ("keyring.backends.libsecret", "Keyring", "GNOME Keyring (Secret Service, via libsecret)"),
        ("keyring.backends.kwallet", "DBusKeyring", "KDE Wallet (KWallet)"),
        ("keyring.backends.macOS", "Keyring", "macOS Keychain"),
        ("keyring.backends.Windows", "WinVaultKeyring", "Windows Credential Manager"),
    ],
)
def test_locations_in_words(module: str, name: str, location: str) -> None:
    status = describe_backend(make_like(module, name))
    assert status.secure
    assert status.location == location


def test_unknown_secure_backend_names_itself() -> None:
    status = describe_backend(MemoryKeyring())
    assert status.secure and "system keyring" in status.location


class FakeChainer(chainer.ChainerBackend):
    """A chainer over a fixed list (the real one discovers backends from the environment)."""

    def __init__(self, rings: list[Any]) -> None:
        super().__init__()
        self._rings = rings

    @property
    def backends(self) -> list[Any]:  # type: ignore[override]
        return self._rings


def test_chainer_with_nothing_viable_is_not_secure() -> None:
    status = describe_backend(FakeChainer([]))
    assert not status.secure and "No secure system keyring" in status.reason
    status = describe_backend(FakeChainer([PlaintextKeyring(), fail.Keyring()]))
    assert not status.secure


def test_chainer_with_a_real_backend_is_secure() -> None:
    mac = make_like("keyring.backends.macOS")
    status = describe_backend(FakeChainer([PlaintextKeyring(), mac]))
    assert status.secure and status.location == "macOS Keychain"


def test_locked_keyring_becomes_halo_error() -> None:
    store = KeyringSecretStore(LockedKeyring())
    assert store.status().secure  # looks fine until used
    with pytest.raises(LocalError) as caught:
        store.get("Acme")
    assert caught.value.kind is ErrorKind.KEYRING_UNAVAILABLE
    assert "KeyringLocked" in caught.value.detail and "unlock" in caught.value.detail
    with pytest.raises(LocalError) as caught:
        store.set("Acme", "the-secret-in-error")
    assert "PasswordSetError" in caught.value.detail
    assert "the-secret-in-error" not in caught.value.detail  # redacted even in the error
    assert "the-secret-in-error" not in str(caught.value)
    with pytest.raises(LocalError):
        store.delete("Acme")
    forget_secrets()


def test_dbus_error_becomes_halo_error() -> None:
    with pytest.raises(LocalError) as caught:
        KeyringSecretStore(DBusBrokenKeyring()).get("Acme")
    assert caught.value.kind is ErrorKind.KEYRING_UNAVAILABLE
    assert "ServiceUnknown" in caught.value.detail


def test_backend_discovery_failure_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise keyring.errors.InitError("cannot load backend")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    status = KeyringSecretStore().status()
    assert not status.secure and "cannot load backend" in status.reason


def test_empty_secret_or_name_refused(memory_keyring: MemoryKeyring) -> None:
    store = KeyringSecretStore()
    with pytest.raises(ValueError):
        store.set("Acme", "")
    with pytest.raises(ValueError):
        store.set("", "abcdef")


def test_memory_store() -> None:
    store = MemorySecretStore()
    assert store.status().secure and "session" in store.status().location
    store.set("a", "mem-secret-1")
    assert store.get("a") == "mem-secret-1"
    assert "mem-secret-1" not in repr(store)
    store.delete("a")
    store.delete("a")
    assert store.get("a") is None
    forget_secrets()


def test_repr_never_shows_secret(memory_keyring: MemoryKeyring) -> None:
    store = KeyringSecretStore()
    store.set("a", "repr-secret-xyz")
    assert "repr-secret-xyz" not in repr(store)


def test_store_for_mode() -> None:
    from halo_paylink.domain import SecretMode

    ring, session = KeyringSecretStore(MemoryKeyring()), MemorySecretStore()
    assert store_for(SecretMode.KEYRING, keyring_store=ring, session_store=session) is ring
    assert store_for(SecretMode.ASK, keyring_store=ring, session_store=session) is session


def test_only_the_memory_store_forgets_when_the_app_exits() -> None:
    from halo_paylink.storage.secrets import (
        KeyringSecretStore,
        MemorySecretStore,
        outlives_the_session,
    )

    assert not outlives_the_session(MemorySecretStore())
    assert outlives_the_session(KeyringSecretStore())
