"""The Benji Pays pay-now link: checking a template, filling it per invoice, email snippets.

Pure functions, no I/O, safe on any thread. The template is the link the merchant copies from
Benji Pays; it carries the placeholder `facts.BENJI_PLACEHOLDER` ("[Invoice No.]") where the
invoice number goes. Which number is used is the profile's `Numbering`: Halo's own number
(`facts.HALO_NUMBER_FIELD`) or the accounting tool's (`facts.ACCOUNTING_NUMBER_FIELD`), because
Benji looks the invoice up in the accounting system.
"""

from __future__ import annotations

import enum
import html
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit

from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice

#: Halo's payment-URL fields (and a custom field's value) hold at most this many characters
#: (nvarchar(1000) in Halo's schema); a longer link would be cut or refused.
LINK_MAX_LENGTH = 1000
#: A long but realistic invoice number (QuickBooks allows 21 characters): a template must still
#: fit `LINK_MAX_LENGTH` once every placeholder is filled with it.
SAMPLE_INVOICE_NUMBER = "INV-2026-000000012345"
#: Unicode categories a link may not hold: controls, format characters (zero-width, bidi
#: overrides), lone surrogates (undecodable bytes), private-use and unassigned code points.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class Severity(enum.Enum):
    ERROR = "error"  # the template cannot be used
    WARNING = "warning"  # usable, but the user should look again


@dataclass(frozen=True)
class LinkProblem:
    """One finding about a link template: `code` is stable (tests, UI), `message` is prose."""

    severity: Severity
    code: str
    message: str


@dataclass(frozen=True)
class _Link:
    """What the checks of a link template look at.

    Attributes:
        template: the template, stripped.
        parts: the link with the placeholder filled, split; None when it cannot be split.
        host: its host name, lower-case ("" when none).
        port_ok: no port, or one from 1 to 65535.
        placeholder_in_address: the placeholder is part of the host or port, so each invoice
            number would change where the link goes.
        filled_length: its length with `SAMPLE_INVOICE_NUMBER` filled in.
        placeholders: how often the placeholder appears.
    """

    template: str
    parts: SplitResult | None
    host: str
    port_ok: bool
    placeholder_in_address: bool
    filled_length: int
    placeholders: int

    @classmethod
    def of(cls, template: str) -> _Link:
        probe = template.replace(facts.BENJI_PLACEHOLDER, "1")
        parts: SplitResult | None
        port_ok = True
        try:
            parts = urlsplit(probe)
            host = (parts.hostname or "").lower()
            try:
                port_ok = parts.port != 0
            except ValueError:
                port_ok = False
        except ValueError:
            parts, host = None, ""
        return cls(
            template=template,
            parts=parts,
            host=host,
            port_ok=port_ok,
            placeholder_in_address=_placeholder_in_address(template),
            filled_length=len(fill_link(template, SAMPLE_INVOICE_NUMBER)),
            placeholders=template.count(facts.BENJI_PLACEHOLDER),
        )


def _placeholder_in_address(template: str) -> bool:
    """Whether the placeholder sits in the link's host or port rather than after them."""
    marker = "paylinkplaceholder"
    try:
        netloc = urlsplit(template.replace(facts.BENJI_PLACEHOLDER, marker)).netloc
    except ValueError:
        return False
    return marker in netloc.lower()


@dataclass(frozen=True)
class _Rule:
    """One finding: reported when `applies` to the link, saying `message` (or what it returns)."""

    severity: Severity
    code: str
    applies: Callable[[_Link], bool]
    message: str | Callable[[_Link], str]

    def check(self, link: _Link) -> LinkProblem | None:
        if not self.applies(link):
            return None
        message = self.message if isinstance(self.message, str) else self.message(link)
        return LinkProblem(self.severity, self.code, message)


#: What a link template may not be (errors) or should not be (warnings), in the order reported.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        Severity.ERROR,
        "whitespace",
        lambda link: any(ch.isspace() for ch in link.template.replace(facts.BENJI_PLACEHOLDER, "")),
        "The link contains spaces or line breaks.",
    ),
    _Rule(
        Severity.ERROR,
        "control_characters",
        lambda link: any(unicodedata.category(ch) in _INVISIBLE for ch in link.template),
        "The link contains invisible or control characters (often copied along from a "
        "document or chat); paste it again from Benji Pays.",
    ),
    _Rule(
        Severity.ERROR,
        "malformed",
        lambda link: link.parts is None,
        "The link is not a valid web address (a stray '[' or ']' outside [Invoice No.]?); "
        "paste it again from Benji Pays.",
    ),
    _Rule(
        Severity.ERROR,
        "not_https",
        lambda link: link.parts is not None and link.parts.scheme.lower() != "https",
        "The link must start with https://.",
    ),
    _Rule(
        Severity.ERROR,
        "no_host",
        lambda link: link.parts is not None and not link.host,
        "The link has no web address.",
    ),
    _Rule(
        Severity.ERROR,
        "credentials",
        lambda link: link.parts is not None and "@" in link.parts.netloc,
        "The link contains a user name or password (something@ before the host); paste "
        "the pay-now link exactly as Benji Pays shows it.",
    ),
    _Rule(
        Severity.ERROR,
        "bad_port",
        lambda link: not link.port_ok,
        "The port in the link is not a number from 1 to 65535.",
    ),
    _Rule(
        Severity.ERROR,
        "placeholder_in_address",
        lambda link: link.placeholder_in_address,
        f"{facts.BENJI_PLACEHOLDER} is part of the web address itself (its host or port), so "
        "every invoice would get a different address; it belongs after the address, usually "
        "after InvoiceNumber=.",
    ),
    _Rule(
        Severity.ERROR,
        "too_long",
        lambda link: link.filled_length > LINK_MAX_LENGTH,
        lambda link: (
            f"With an invoice number filled in, the link is {link.filled_length} characters "
            f"long; Halo keeps at most {LINK_MAX_LENGTH}. Use the short pay-now link from Benji "
            "Pays."
        ),
    ),
    _Rule(
        Severity.ERROR,
        "no_placeholder",
        lambda link: link.placeholders == 0,
        f"The link must contain {facts.BENJI_PLACEHOLDER} where the invoice number goes.",
    ),
    _Rule(
        Severity.WARNING,
        "placeholder_repeated",
        lambda link: link.placeholders > 1,
        lambda link: (
            f"{facts.BENJI_PLACEHOLDER} appears {link.placeholders} times; every one will be "
            "filled."
        ),
    ),
    _Rule(
        Severity.WARNING,
        "not_benji_host",
        lambda link: bool(link.host) and not is_benji_host(link.host),
        lambda link: (
            f"{link.host} is not a Benji Pays address; check that this is your pay-now link."
        ),
    ),
)


def validate_link_template(text: str) -> list[LinkProblem]:
    """Check a pay-now link template; an empty list means it is fine.

    Errors: empty, not https, no host, no placeholder, whitespace inside, control or invisible
    characters, a user name or password, a port that is not 1-65535, and a link longer than
    `LINK_MAX_LENGTH` once filled with `SAMPLE_INVOICE_NUMBER`. Warnings: a host that is not a
    Benji Pays host (accepted: the link is treated as opaque), the placeholder more than once.
    Never raises, whatever the text.
    """
    template = text.strip()
    if not template:
        return [LinkProblem(Severity.ERROR, "empty", "Paste the pay-now link from Benji Pays.")]
    link = _Link.of(template)
    return [problem for rule in _RULES if (problem := rule.check(link)) is not None]


def is_benji_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in facts.BENJI_HOSTS or host.endswith(facts.BENJI_HOST_SUFFIX)


def template_errors(text: str) -> list[LinkProblem]:
    """Only the problems that make the template unusable."""
    return [p for p in validate_link_template(text) if p.severity is Severity.ERROR]


def number_field(numbering: Numbering) -> str:
    """The invoice field that holds the number Benji looks up."""
    if numbering is Numbering.HALO:
        return facts.HALO_NUMBER_FIELD
    return facts.ACCOUNTING_NUMBER_FIELD


def number_variable(numbering: Numbering) -> str:
    """The Halo email-template `$`-variable for that number."""
    if numbering is Numbering.HALO:
        return facts.HALO_NUMBER_VARIABLE
    return facts.ACCOUNTING_NUMBER_VARIABLE


def invoice_number_for(invoice: Invoice, numbering: Numbering) -> str | None:
    """The number to put in the link, or None when the invoice does not have it (not yet synced)."""
    value = invoice.get(number_field(numbering))
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def fill_link(template: str, number: str) -> str:
    """Replace every placeholder with the URL-encoded number (nothing else in the link changes)."""
    return template.strip().replace(facts.BENJI_PLACEHOLDER, quote(number, safe=""))


def link_for_invoice(template: str, invoice: Invoice, numbering: Numbering) -> str | None:
    """The finished link for one invoice, or None when its number is missing."""
    number = invoice_number_for(invoice, numbering)
    return None if number is None else fill_link(template, number)


@dataclass(frozen=True)
class EmailSnippet:
    """What to paste into Halo's invoice email template.

    Attributes:
        variable: the Halo `$`-variable standing in for the number.
        link: the link with the variable in place of the placeholder.
        text: a plain-text line for the text body.
        html: a "Pay now" anchor for the HTML body.
    """

    variable: str
    link: str
    text: str
    html: str


def email_snippet(template: str, numbering: Numbering) -> EmailSnippet:
    """Build the email-template link: Halo fills the `$`-variable when it sends each email.

    The variable is inserted verbatim (not URL-encoded): Halo substitutes it before sending.
    """
    variable = number_variable(numbering)
    link = template.strip().replace(facts.BENJI_PLACEHOLDER, variable)
    text = f"Pay now: {link}"
    anchor = f'<a href="{html.escape(link, quote=True)}">Pay now</a>'
    return EmailSnippet(variable=variable, link=link, text=text, html=anchor)
