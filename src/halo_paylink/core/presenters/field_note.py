"""The one line a page shows under an input: a problem, a note, a confirmation, or nothing."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NoteKind(enum.Enum):
    """How the line under an input reads (the page spells the kind out in words, not colour)."""

    NONE = "none"  # nothing to say: the line is hidden
    ERROR = "error"  # "Problem: ..."
    NOTE = "note"  # "Note: ..."
    OK = "ok"  # "✓ ..."


@dataclass(frozen=True)
class FieldNote:
    """What to show under one input; `NONE` (or an empty text) hides the line."""

    kind: NoteKind = NoteKind.NONE
    text: str = ""

    @classmethod
    def error(cls, text: str | None) -> FieldNote:
        return cls(NoteKind.ERROR, text) if text else cls()

    @classmethod
    def note(cls, text: str | None) -> FieldNote:
        return cls(NoteKind.NOTE, text) if text else cls()

    @classmethod
    def ok(cls, text: str | None) -> FieldNote:
        return cls(NoteKind.OK, text) if text else cls()

    @property
    def shown(self) -> bool:
        return self.kind is not NoteKind.NONE and bool(self.text)
