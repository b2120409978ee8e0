"""Everything the CLI prints goes through here, so Halo's data cannot steer the terminal.

Client names, invoice numbers and server messages come from Halo, and anyone who can edit a
client record can put an ESC sequence (which moves the cursor, rewrites earlier lines, retitles
the window) or a bidi override (which shows a link or a number reversed) into them. `safe`
replaces every such character with a visible escape (`\\x1b`, `\\u202e`): C0 and C1 controls,
DEL, bidi embeddings, overrides, isolates and marks, other invisible format characters, and lone
surrogates (undecodable bytes, which would also make `print` raise). `safe_json` does the same
inside a JSON document, as JSON escapes, so the document still parses to the same values. `say`
is `print` with `safe` applied. Pure and thread-safe.

`make_output_safe` keeps the streams themselves from failing on a character their encoding
lacks: without it a client named "Dvořák" ends the run with UnicodeEncodeError on a Windows
console in code page 1252, or when `--json > out.json` writes in the locale's encoding.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import sys
import unicodedata
from typing import Any, TextIO

#: Bidi controls: LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI; LRM, RLM; ALM.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff\u2028\u2029]")


def _is_unsafe(ch: str) -> bool:
    return bool(_UNSAFE.match(ch)) or unicodedata.category(ch) == "Cf"


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def safe(text: object, *, keep_newlines: bool = False) -> str:
    """`text` (made a string) with every control, bidi or invisible character shown escaped.

    Args:
        keep_newlines: leave `\\n` as is (for our own multi-line text; never for Halo's data).
    """
    value = text if isinstance(text, str) else str(text)
    if value.isprintable() and value.isascii():
        return value  # the common case, fast
    out = []
    for ch in value:
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif _is_unsafe(ch):
            out.append(_visible(ch))
        else:
            out.append(ch)
    return "".join(out)


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if not _is_unsafe(ch):
        return ch
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells astral characters as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def safe_json(data: Any) -> str:
    """`json.dumps(data, ensure_ascii=False)` with the unsafe characters as JSON escapes.

    JSON already escapes C0 controls; in a JSON text the others can only occur inside strings,
    where `\\uXXXX` stands for the same character, so the parsed values are unchanged.
    """
    return re.sub(r"[^\x20-\x7e]", _json_escape, json.dumps(data, ensure_ascii=False))


def say_json(data: Any, *, file: TextIO | None = None, flush: bool = False) -> None:
    """Print `data` as one line of JSON made safe by `safe_json` (stdout unless `file`)."""
    print(safe_json(data), file=file or sys.stdout, flush=flush)


def say(*parts: object, file: TextIO | None = None, flush: bool = False) -> None:
    """`print(*parts)` with `safe` applied to each part (stdout unless `file`)."""
    print(*(safe(p) for p in parts), file=file or sys.stdout, flush=flush)


def make_output_safe(*streams: TextIO | None) -> None:
    """Let stdout and stderr (or `streams`) print any text without raising.

    A file or a pipe is switched to UTF-8, whatever the locale says, so `--json > out.json` is a
    valid JSON file and a CSV-minded tool sees the real names. A terminal keeps its encoding
    (Windows' console already takes every character; a terminal set to a legacy code page shows
    what it can) and prints a character it cannot show as a backslash escape instead of raising.
    Streams that are not text files (None under pythonw, a test's capture) are left alone.
    Call once at start-up, before the first output.
    """
    for stream in streams or (sys.stdout, sys.stderr):
        if not isinstance(stream, io.TextIOWrapper):
            continue
        try:
            tty = stream.isatty()
            utf8 = codecs.lookup(stream.encoding).name == "utf-8"
        except (LookupError, ValueError):  # unknown codec name, or a closed stream
            continue
        if tty or utf8:
            stream.reconfigure(errors="backslashreplace")
        else:
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
