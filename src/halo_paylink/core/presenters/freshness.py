"""The rule that a shown result is never older than its inputs.

A result, a confirmation or a badge is kept together with the inputs that produced it
(`Stamped`). Before it is shown, the page's presenter asks whether it is still `fresh_for` the
inputs now entered; when they have changed the result is dropped (or shown marked out of date),
never shown as if it still held. Presenters keep their results this way so that no page can
show a test for an old tenant, a "✓ copied" for a link that has since changed, or what was found
at an address the admin has since edited.

The inputs are any hashable value (a tuple of the fields the result depends on); a secret is
stamped by its hash, never kept. Plain Python, one thread.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Stamped(Generic[T]):
    """A result and the inputs it was produced for."""

    value: T
    inputs: Hashable

    def fresh_for(self, inputs: Hashable) -> bool:
        """Whether the result still holds for `inputs` (the inputs as they are now)."""
        return self.inputs == inputs


def current(stamped: Stamped[T] | None, inputs: Hashable) -> T | None:
    """The stamped value while it is fresh for `inputs`; None once they have changed."""
    if stamped is None or not stamped.fresh_for(inputs):
        return None
    return stamped.value


class Confirmation:
    """One confirmation line ("✓ copied") that holds only while its inputs are unchanged.

    `confirm` records the text for the inputs of the moment; `text_for` answers it for as long as
    the inputs are the same, and forgets it (for good) the first time they differ, so changing a
    link and changing it back does not bring an old confirmation back.
    """

    def __init__(self) -> None:
        self._shown: Stamped[str] | None = None

    def confirm(self, text: str, inputs: Hashable) -> None:
        self._shown = Stamped(text, inputs)

    def clear(self) -> None:
        self._shown = None

    def text_for(self, inputs: Hashable) -> str | None:
        text = current(self._shown, inputs)
        if text is None:
            self._shown = None
        return text
