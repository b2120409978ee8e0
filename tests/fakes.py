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


class VirtualClock:
    """A monotonic clock whose sleeps last until a test moves time on (`advance`).

    Unlike `FakeClock`, a sleep here really waits (on virtual time): a test can stop something
    in the middle of a five-minute wait and see how much virtual time passed before it ended.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + max(0.0, seconds), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, waking every sleep that ends by then."""
        self.now += seconds
        due = [(at, f) for at, f in self._sleepers if at <= self.now]
        self._sleepers = [(at, f) for at, f in self._sleepers if at > self.now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    @property
    def sleeping(self) -> int:
        """Sleeps not yet woken (cancelled ones included until the next `advance`)."""
        return sum(1 for _, f in self._sleepers if not f.done())


def answer_question(parent: object, name: str, *, accept: bool) -> str:
    """Answer the open question box `name` under `parent` (see `ui.widgets.question.ask`) by
    clicking its accept or its reject button; returns the question's text.

    The box is opened window-modally (`QMessageBox.open`), so no nested loop runs: a test finds
    it and clicks, as a user would."""
    from PySide6.QtWidgets import QMessageBox, QWidget

    assert isinstance(parent, QWidget)
    # An answered box is deleted later (deleteLater): only the one shown now counts.
    shown = [b for b in parent.findChildren(QMessageBox, name) if b.isVisible()]
    assert len(shown) == 1, f"{len(shown)} questions {name!r} are open, not one"
    box = shown[0]
    yes = (QMessageBox.ButtonRole.AcceptRole, QMessageBox.ButtonRole.DestructiveRole)
    roles = yes if accept else (QMessageBox.ButtonRole.RejectRole,)
    button = next(b for b in box.buttons() if box.buttonRole(b) in roles)
    text = box.text()
    button.click()
    return text
