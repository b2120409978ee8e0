"""Where the Pay link goes in an email template's body: the planned change, and its preview.

Pure functions, no I/O, safe on any thread. A body is Halo's `body_html` or `body_text`; the link
is the email-template link (`core.links.email_snippet`: the Benji link with Halo's `$`-variable
in place of the placeholder). Rules:

- A body that already holds the link is left as it is (never inserted twice).
- An earlier Benji link in the body (a Benji host, or the host of the new link, e.g. a custom
  domain) is replaced in place, every occurrence, and nothing else changes.
- Otherwise the snippet is inserted where the admin chose: at the end (in HTML, before the
  closing `</body>` when there is one) or right after the first occurrence of a marker text.
- An empty body stays empty (a template without an HTML body is a plain-text one).

Everything else in the body is kept byte for byte, line endings included.
"""

from __future__ import annotations

import difflib
import enum
import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from halo_paylink.core.links import EmailSnippet, is_benji_host
from halo_paylink.errors import UsageError

#: A web address in a body: up to the first space, quote or angle bracket.
_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class Placement(enum.Enum):
    END = "end"  # at the end of the body (HTML: before </body>)
    AFTER_MARKER = "after"  # right after the first occurrence of a marker text


class BodyKind(enum.Enum):
    HTML = "body_html"
    TEXT = "body_text"

    @property
    def label(self) -> str:
        return "HTML body" if self is BodyKind.HTML else "plain-text body"


class Action(enum.Enum):
    INSERTED = "inserted"
    REPLACED = "replaced"  # an earlier Benji link was replaced
    ALREADY_THERE = "already_there"
    EMPTY = "empty"  # the body is empty and stays so


@dataclass(frozen=True)
class BodyChange:
    """The planned change of one body.

    Attributes:
        kind: which body.
        before, after: the body now, and as it will be saved.
        action: what the plan does.
        replaced: the earlier links replaced (for REPLACED).
    """

    kind: BodyKind
    before: str
    after: str
    action: Action
    replaced: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the change ("" when nothing changes)."""
        if not self.changed:
            return ""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{self.kind.label} (now)",
            tofile=f"{self.kind.label} (after)",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def summary(self) -> str:
        """One sentence for the preview."""
        if self.action is Action.INSERTED:
            return f"The {self.kind.label} gets the Pay link."
        if self.action is Action.REPLACED:
            return f"The earlier Benji link in the {self.kind.label} is replaced by the new one."
        if self.action is Action.ALREADY_THERE:
            return f"The {self.kind.label} already holds this Pay link: it stays as it is."
        return f"The {self.kind.label} is empty: it stays as it is."


def link_forms(link: str, kind: BodyKind) -> tuple[str, ...]:
    """How `link` appears in a body of that kind (HTML may hold it escaped)."""
    if kind is BodyKind.TEXT:
        return (link,)
    return tuple(dict.fromkeys((link, html.escape(link, quote=True))))


def earlier_links(body: str, link: str) -> tuple[str, ...]:
    """The distinct Benji links in `body` other than `link` (in order of appearance)."""
    own_host = (urlsplit(link).hostname or "").lower()
    found: list[str] = []
    for match in _URL.finditer(body):
        url = match.group(0).rstrip(".,;:!?)")
        host = (urlsplit(html.unescape(url)).hostname or "").lower()
        if (is_benji_host(host) or (own_host and host == own_host)) and url not in found:
            found.append(url)
    return tuple(u for u in found if u not in link_forms(link, BodyKind.HTML))


def _newline(body: str) -> str:
    return "\r\n" if "\r\n" in body else "\n"


def snippet_for(kind: BodyKind, snippet: EmailSnippet) -> str:
    """What is inserted in a body of that kind."""
    if kind is BodyKind.HTML:
        return f"<p>{snippet.html}</p>"
    return snippet.text


def _insert(body: str, kind: BodyKind, piece: str, placement: Placement, marker: str) -> str:
    nl = _newline(body)
    if placement is Placement.AFTER_MARKER:
        if not marker:
            raise UsageError(
                "No marker text was given.", "Type text from the template to put the link after."
            )
        at = body.find(marker)
        if at < 0:
            raise UsageError(
                f"The {kind.label} does not contain {marker!r}.",
                "Choose text that appears in the template, or put the link at the end.",
            )
        cut = at + len(marker)
        return body[:cut] + nl + piece + body[cut:]
    if kind is BodyKind.HTML:
        ends = list(_BODY_END.finditer(body))
        if ends:
            cut = ends[-1].start()
            return body[:cut] + piece + nl + body[cut:]
    lead = nl if body.endswith("\n") or kind is BodyKind.HTML else nl + nl
    return body + lead + piece


def plan_body(
    body: str,
    kind: BodyKind,
    snippet: EmailSnippet,
    placement: Placement = Placement.END,
    marker: str = "",
) -> BodyChange:
    """The change of one body (see the module docstring for the rules).

    Raises:
        UsageError: AFTER_MARKER without a marker, or with one the body does not contain.
    """
    if not body:
        return BodyChange(kind, body, body, Action.EMPTY)
    if any(form in body for form in link_forms(snippet.link, kind)):
        return BodyChange(kind, body, body, Action.ALREADY_THERE)
    old = earlier_links(body, snippet.link)
    if old:
        new = snippet.link if kind is BodyKind.TEXT else html.escape(snippet.link, quote=True)
        # One pass, longer links first: a replaced link is never matched again.
        pattern = "|".join(re.escape(url) for url in sorted(old, key=len, reverse=True))
        after = re.sub(pattern, lambda _: new, body)
        return BodyChange(kind, body, after, Action.REPLACED, old)
    piece = snippet_for(kind, snippet)
    return BodyChange(kind, body, _insert(body, kind, piece, placement, marker), Action.INSERTED)
