"""Test doubles shared by the suites (importable because pytest puts tests/ on the path)."""

from __future__ import annotations

import asyncio

import keyring.backend
import keyring.errors


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it (or a test sets `now`).

    Pass the instance as `clock=` and its `sleep` as `sleep=`; `sleeps` records every wait, so a
    test can assert how long the code under test chose to wait without waiting at all.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring so no test touches the real system keyring.

    Never chosen automatically (its priority raises); install it with `keyring.set_keyring`.
    """

    @keyring.backend.properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test-only backend; never chosen automatically")

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.values[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("not found") from None
