"""The client secret: in the OS keyring, or in memory for "ask each time" sessions.

Never in a file. `KeyringSecretStore` uses the `keyring` package (service "halo-paylink", user
name = the profile name) and refuses backends that are not a real system keyring: keyring's
`fail` and `null` backends, a chainer with nothing viable behind it, and any plaintext/"alt"
backend (e.g. from `keyrings.alt`). Its `status()` says plainly why and what to do, so the UI can
offer "ask each time" (`SecretMode.ASK` + `MemorySecretStore`) instead; there is
no silent plaintext fallback.

All keyring calls block (DBus, Keychain, Credential Manager) and may prompt the user to unlock: the
GUI runs them in an executor, never on the event loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from halo_paylink.domain import SecretMode
from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.redact import redact, register_secret
from halo_paylink.storage.profiles import Profile

#: The keyring service name every secret is stored under.
KEYRING_SERVICE = "halo-paylink"

_INSECURE_MODULE_PREFIXES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")
_INSECURE_NAME_MARKERS = ("plaintext", "plain_text", "file")  # file-based stores

#: Backend module (prefix) -> where the secret ends up, in words the user recognises.
_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("keyring.backends.SecretService", "GNOME Keyring (Secret Service)"),
    ("keyring.backends.libsecret", "GNOME Keyring (Secret Service, via libsecret)"),
    ("keyring.backends.kwallet", "KDE Wallet (KWallet)"),
    ("keyring.backends.macOS", "macOS Keychain"),
    ("keyring.backends.Windows", "Windows Credential Manager"),
)

_WHAT_TO_DO = (
    "The secret is asked for each time it is needed instead. To have it remembered, set up a "
    "system keyring (on Linux: GNOME Keyring or KWallet in a desktop session, unlocked) and try "
    "again."
)


@dataclass(frozen=True)
class StoreStatus:
    """Whether a secret store may be used, in words for the user.

    Attributes:
        secure: True when secrets may be stored here.
        backend_name: the technical name (e.g. "SecretService Keyring"), for logs and support.
        location: where the secret is kept, in words ("macOS Keychain"); "" when nowhere.
        reason: when not secure, why and what to do; "" when secure.
    """

    secure: bool
    backend_name: str
    location: str
    reason: str = ""


def profile_key(profile: str | Profile) -> str:
    """The keyring user name for a profile: its name."""
    name = profile if isinstance(profile, str) else profile.name
    if not name:
        raise ValueError("A profile needs a name before its secret can be stored.")
    return name


class SecretStore(Protocol):
    """Where a profile's client secret lives. Methods may block: call them off the GUI loop."""

    def status(self) -> StoreStatus: ...

    def get(self, profile: str | Profile) -> str | None: ...

    def set(self, profile: str | Profile, secret: str) -> None: ...

    def delete(self, profile: str | Profile) -> None: ...


class MemorySecretStore:
    """Secrets held in this process only: "ask each time" sessions, and tests.

    Forgotten when the app exits. Thread-safe.
    """

    def __init__(self, location: str = "this session only (asked each time, never saved)") -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._location = location

    def status(self) -> StoreStatus:
        return StoreStatus(secure=True, backend_name="memory", location=self._location)

    def get(self, profile: str | Profile) -> str | None:
        with self._lock:
            return self._values.get(profile_key(profile))

    def set(self, profile: str | Profile, secret: str) -> None:
        register_secret(secret)
        with self._lock:
            self._values[profile_key(profile)] = secret

    def delete(self, profile: str | Profile) -> None:
        with self._lock:
            self._values.pop(profile_key(profile), None)

    def __repr__(self) -> str:  # never show the values
        return f"MemorySecretStore({len(self._values)} secret(s))"


def _backend_id(backend: Any) -> tuple[str, str]:
    cls = type(backend)
    return cls.__module__, cls.__name__


def _is_insecure_backend(backend: Any) -> bool:
    module, name = _backend_id(backend)
    if module.startswith(_INSECURE_MODULE_PREFIXES):
        return True
    lowered = f"{module}.{name}".lower()
    return any(marker in lowered for marker in _INSECURE_NAME_MARKERS)


def _backend_name(backend: Any) -> str:
    try:
        return str(backend.name)
    except Exception:  # a third-party backend's name property may fail; the class name will do
        module, name = _backend_id(backend)
        return f"{module}.{name}"


def _location_for(backend: Any) -> str:
    module, _ = _backend_id(backend)
    for prefix, words in _LOCATIONS:
        if module.startswith(prefix):
            return words
    return f"the system keyring ({_backend_name(backend)})"


def _is_chainer(backend: Any) -> bool:
    from keyring.backends.chainer import ChainerBackend

    return isinstance(backend, ChainerBackend)


def describe_backend(backend: Any) -> StoreStatus:
    """Classify a `keyring` backend object as secure or not, with a location and reason in words."""
    module, _ = _backend_id(backend)
    name = _backend_name(backend)
    if _is_chainer(backend):
        chained = list(getattr(backend, "backends", ()) or ())
        usable = [b for b in chained if not _is_insecure_backend(b)]
        if not usable:
            skipped = ", ".join(_backend_name(b) for b in chained) or "none"
            return StoreStatus(
                secure=False,
                backend_name=name,
                location="",
                reason=(
                    f"No secure system keyring was found (available backends: {skipped}). "
                    + _WHAT_TO_DO
                ),
            )
        # The chainer writes to the first backend that accepts the secret.
        return StoreStatus(secure=True, backend_name=name, location=_location_for(usable[0]))
    if module.startswith("keyring.backends.fail"):
        return StoreStatus(
            secure=False,
            backend_name=name,
            location="",
            reason="No system keyring is available on this computer. " + _WHAT_TO_DO,
        )
    if module.startswith("keyring.backends.null"):
        return StoreStatus(
            secure=False,
            backend_name=name,
            location="",
            reason="The system keyring is turned off (keyring's 'null' backend is configured). "
            + _WHAT_TO_DO,
        )
    if _is_insecure_backend(backend):
        return StoreStatus(
            secure=False,
            backend_name=name,
            location="",
            reason=(
                f"The configured keyring backend ({name}) keeps secrets in a file on disk, which "
                "is not secure enough for an API secret, so Halo PayLink will not use it. "
                + _WHAT_TO_DO
            ),
        )
    return StoreStatus(secure=True, backend_name=name, location=_location_for(backend))


def _keyring_error(action: str, exc: BaseException) -> LocalError:
    text = str(exc).strip() or type(exc).__name__
    return LocalError(
        ErrorKind.KEYRING_UNAVAILABLE,
        redact(f"Could not {action} the system keyring: {type(exc).__name__}: {text}"),
    )


def outlives_the_session(store: SecretStore) -> bool:
    """Whether a secret set in `store` is still there after the app exits (the keyring, or a
    store of its own kind), rather than held in memory for this session only. Never blocks."""
    return not isinstance(store, MemorySecretStore)


class KeyringSecretStore:
    """The client secret in the OS keyring (service "halo-paylink", user name = profile name).

    Args:
        backend: a `keyring` backend to use; default: whatever `keyring.get_keyring()` returns
            at the time of each call (so `keyring.set_keyring` in tests takes effect).

    Every method blocks and may show an unlock prompt: call from a worker thread/executor.
    """

    def __init__(self, backend: Any | None = None, *, service: str = KEYRING_SERVICE) -> None:
        self._backend = backend
        self._service = service

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring  # imported when first needed: backend discovery is slow and may touch DBus

        try:
            return keyring.get_keyring()
        except Exception as exc:  # backend discovery can fail in odd environments
            raise _keyring_error("open", exc) from None

    def status(self) -> StoreStatus:
        """Whether the keyring is secure, where secrets go, and (if not) why and what to do.

        Never raises for an unusable keyring: that is reported as `secure=False`.
        """
        try:
            backend = self._keyring()
        except LocalError as exc:
            return StoreStatus(
                secure=False,
                backend_name="unknown",
                location="",
                reason=f"{exc.detail} {_WHAT_TO_DO}",
            )
        return describe_backend(backend)

    def _require_secure(self) -> Any:
        backend = self._keyring()
        status = describe_backend(backend)
        if not status.secure:
            raise LocalError(ErrorKind.KEYRING_UNAVAILABLE, status.reason)
        return backend

    def get(self, profile: str | Profile) -> str | None:
        """The stored secret, or None when none is stored.

        Raises:
            LocalError(KEYRING_UNAVAILABLE): no secure keyring, or the keyring failed (locked,
                DBus).
        """
        key = profile_key(profile)
        backend = self._require_secure()
        try:
            value = backend.get_password(self._service, key)
        except Exception as exc:  # KeyringError, KeyringLocked, DBus/jeepney/secretstorage errors
            raise _keyring_error("read from", exc) from None
        if value:
            register_secret(value)
        return value or None

    def set(self, profile: str | Profile, secret: str) -> None:
        """Store `secret` for `profile`, replacing any earlier one.

        Raises:
            LocalError(KEYRING_UNAVAILABLE): no secure keyring, or the keyring failed.
            ValueError: empty secret or profile name.
        """
        if not secret:
            raise ValueError("The client secret is empty.")
        register_secret(secret)
        key = profile_key(profile)
        backend = self._require_secure()
        try:
            backend.set_password(self._service, key, secret)
        except Exception as exc:
            raise _keyring_error("save to", exc) from None

    def delete(self, profile: str | Profile) -> None:
        """Remove the stored secret; no-op when none is stored or no secure keyring exists.

        Raises:
            LocalError(KEYRING_UNAVAILABLE): the keyring failed while deleting.
        """
        backend = self._keyring()
        if not describe_backend(backend).secure:
            return  # we never store anything in an insecure backend, so there is nothing to delete
        key = profile_key(profile)
        try:
            import keyring.errors

            try:
                backend.delete_password(self._service, key)
            except keyring.errors.PasswordDeleteError:
                return  # not stored: the wanted end state already
        except Exception as exc:
            raise _keyring_error("delete from", exc) from None

    def __repr__(self) -> str:
        return f"KeyringSecretStore(service={self._service!r})"


def store_for(
    mode: SecretMode, *, keyring_store: SecretStore, session_store: MemorySecretStore
) -> SecretStore:
    """The store a profile's secret lives in: the keyring, or this session's memory for ASK."""
    return keyring_store if mode is SecretMode.KEYRING else session_store


#: The keyring service the Benji Pays API key is stored under (user name = the profile name), so
#: it never collides with the profile's Halo client secret.
BENJI_KEYRING_SERVICE = "halo-paylink-benji"


def benji_key_store(backend: Any | None = None) -> KeyringSecretStore:
    """The store of each profile's optional Benji Pays API key: the OS keyring, never a file."""
    return KeyringSecretStore(backend, service=BENJI_KEYRING_SERVICE)
