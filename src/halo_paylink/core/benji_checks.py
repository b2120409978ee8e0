"""Benji's side, checked: its settings as pass/fail checks with the fix, the pay-now link built from
them, and the invoice number check before any link is written.

The link is built from the settings' custom domain, portal address or portal name
(`link_from_settings`) and checked with `core.links`, so the admin copies nothing by hand. Links
Benji mints through its API expire after about an hour: none is ever asked for, and no code path
here (or anywhere in the product) writes one to Halo; the link that reaches Halo is always the
template built here, filled per invoice.

The number check (`check_numbers`) asks Benji, for the invoices a dry run would link, whether it
knows the number the chosen numbering puts in each link: the dry run's planned changes (its first
`RunOptions.sample_size`, newest first), at most `NUMBER_CHECK_BUDGET` requests. Below
`PASS_RATE` found, the live run is blocked until the admin switches numbering or confirms.

Every result that rests on Benji's unverified field names or on the look-up's 404 says so
(`benji.facts.UNVERIFIED_NOTE`, `LOOKUP_NOTE`). Plain Python, no Qt; the coroutines run on the
caller's loop.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from halo_paylink.benji import facts as benji_facts
from halo_paylink.core.links import LinkProblem, Severity, validate_link_template
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.errors import BenjiError
from halo_paylink.halo import facts as halo_facts
from halo_paylink.storage.atomic import write_atomic

if TYPE_CHECKING:  # the client (and httpx) load when a check first runs, not with the wizard
    from halo_paylink.benji.client import BenjiClient, BenjiSettings

#: The most look-ups one number check sends to Benji.
NUMBER_CHECK_BUDGET = 50
#: Found at least this share of the numbers, the numbering is taken to be right. A systematic
#: mistake (Halo's numbers where Benji knows the accounting tool's) finds next to none; a right
#: numbering misses only the odd invoice not yet synced to Benji.
PASS_RATE = 0.95
#: How many of the numbers Benji did not know are shown.
MISSING_SHOWN = 10

AMOUNT_SETTING = "Require transaction amount to match the invoice total"
NOT_FOUND_SETTING = "Do not allow payment to be made if the invoice is not found"


@dataclass(frozen=True)
class BenjiCheck:
    """One check of Benji's settings.

    Attributes:
        code: stable name ("amount_must_match", "invoice_must_exist").
        label: the setting, as Benji names it.
        passed: True or False; None when Benji's answer did not say.
        required: whether a failure matters for this merchant (the amount check is needed for
            QuickBooks links, recommended otherwise).
        detail: what was found, in words.
        fix: what to do when it did not pass ("" when it did).
    """

    code: str
    label: str
    passed: bool | None
    required: bool
    detail: str
    fix: str


@dataclass(frozen=True)
class BuiltLink:
    """The pay-now link template built from Benji's settings.

    Attributes:
        template: the link with `[Invoice No.]`, or "" when the settings name no portal.
        source: where it came from ("custom domain", "portal address", "portal name").
        problems: what `core.links` found wrong with it (errors make it unusable).
    """

    template: str
    source: str
    problems: tuple[LinkProblem, ...] = ()

    @property
    def usable(self) -> bool:
        return bool(self.template) and not any(p.severity is Severity.ERROR for p in self.problems)


@dataclass(frozen=True)
class SettingsReport:
    """What `check_settings` found: the settings, the link built from them, and the checks.

    Attributes:
        notes: what the result rests on (the unverified field names, always).
    """

    settings: BenjiSettings
    link: BuiltLink
    checks: tuple[BenjiCheck, ...]
    notes: tuple[str, ...] = (benji_facts.UNVERIFIED_NOTE,)

    @property
    def passed(self) -> bool:
        """Every required check passed and the link is usable."""
        return self.link.usable and all(c.passed for c in self.checks if c.required)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "link": {
                "template": self.link.template,
                "source": self.link.source,
                "usable": self.link.usable,
                "problems": [
                    {"severity": p.severity.value, "code": p.code, "message": p.message}
                    for p in self.link.problems
                ],
            },
            "checks": [
                {
                    "code": c.code,
                    "setting": c.label,
                    "passed": c.passed,
                    "required": c.required,
                    "detail": c.detail,
                    "fix": c.fix,
                }
                for c in self.checks
            ],
            "unread_fields": list(self.settings.unread),
            "notes": list(self.notes),
        }


def _pay_link(base: str) -> str:
    return base.rstrip("/") + benji_facts.PAY_PATH.format(placeholder=halo_facts.BENJI_PLACEHOLDER)


def _domain_link(domain: str) -> str:
    host = domain.strip()
    if "://" in host:
        host = urlsplit(host).netloc
    return _pay_link(f"https://{host.strip('/')}")


def link_from_settings(settings: BenjiSettings) -> BuiltLink:
    """The pay-now link template from the settings: the custom domain when one is set, else the
    portal's address, else its name on Benji's host; checked with `core.links`. Never a link
    Benji minted (those expire)."""
    if settings.custom_domain:
        template, source = _domain_link(settings.custom_domain), "custom domain"
    elif settings.portal_url:
        template, source = _pay_link(settings.portal_url), "portal address"
    elif settings.portal_name:
        name = quote(settings.portal_name, safe="-_.~")
        template = benji_facts.PORTAL_LINK.format(
            portal=name, placeholder=halo_facts.BENJI_PLACEHOLDER
        )
        source = "portal name"
    else:
        return BuiltLink(
            "",
            "",
            (
                LinkProblem(
                    Severity.ERROR,
                    "no_portal",
                    "Benji's settings name no customer portal (name, address or custom "
                    "domain); copy the pay-now link from Benji Pays instead.",
                ),
            ),
        )
    return BuiltLink(template, source, tuple(validate_link_template(template)))


def _unknown(label: str) -> str:
    return (
        f"Benji's answer did not say whether '{label}' is on (the field name is unverified); "
        "look in Benji Pays' settings."
    )


def settings_checks(settings: BenjiSettings, tool: AccountingTool) -> tuple[BenjiCheck, ...]:
    """The two settings the guide asks for, as checks with the fix."""
    quickbooks = tool is AccountingTool.QUICKBOOKS
    amount = settings.pay_now_amount_required
    not_found = settings.disable_generic_payment_link
    return (
        BenjiCheck(
            "amount_must_match",
            AMOUNT_SETTING,
            amount,
            required=quickbooks,
            detail=_unknown(AMOUNT_SETTING)
            if amount is None
            else f"It is {'on' if amount else 'off'}"
            + (" (needed for QuickBooks links)." if quickbooks else " (recommended)."),
            fix="" if amount else f"In Benji Pays' settings, turn on '{AMOUNT_SETTING}' and save.",
        ),
        BenjiCheck(
            "invoice_must_exist",
            NOT_FOUND_SETTING,
            not_found,
            required=True,
            detail=_unknown(NOT_FOUND_SETTING)
            if not_found is None
            else "It is on: a link with a wrong number is refused."
            if not_found
            else "It is off: a link with a wrong number opens a generic payment form, and the "
            "customer may pay the wrong amount.",
            fix=""
            if not_found
            else f"In Benji Pays' settings, turn on '{NOT_FOUND_SETTING}' and save.",
        ),
    )


async def check_settings(client: BenjiClient, tool: AccountingTool) -> SettingsReport:
    """Read Benji's settings and check them.

    Raises:
        BenjiError: Benji could not be asked (see `BenjiClient.settings`).
    """
    settings = await client.settings()
    return SettingsReport(settings, link_from_settings(settings), settings_checks(settings, tool))


# --- the invoice number check --------------------------------------------------------------------


def number_in_link(template: str, link: str) -> str | None:
    """The invoice number `core.links.fill_link` put into `link` from `template`; None when the
    link was not filled from this template."""
    placeholder = halo_facts.BENJI_PLACEHOLDER
    prefix, found, rest = template.strip().partition(placeholder)
    if not found or not link.startswith(prefix):
        return None
    after = link[len(prefix) :]
    literal = rest.split(placeholder, 1)[0]
    if not literal:
        encoded = after if placeholder not in rest else ""
    else:
        end = after.find(literal)
        encoded = after[:end] if end >= 0 else ""
    number = unquote(encoded)
    return number or None


class InvoiceLookup(Protocol):
    """What the number check needs of Benji: `BenjiClient`, or a fake in tests."""

    requests: int

    async def knows_invoice(self, number: str) -> bool: ...


@dataclass(frozen=True)
class NumberCheck:
    """What Benji said about the invoice numbers a run would put in the links.

    Attributes:
        numbering: the numbering the links use.
        checked: how many numbers Benji was asked about.
        found: how many of them Benji knows.
        to_write: how many links the dry run would write in all.
        missing: the first numbers Benji did not know (at most `MISSING_SHOWN`).
        budget: the most look-ups the check could send.
        error: what stopped the check early, if anything (the counts are as far as it got).
        requests: the requests sent to Benji (429 retries included).
    """

    numbering: Numbering
    checked: int
    found: int
    to_write: int
    missing: tuple[str, ...] = ()
    budget: int = NUMBER_CHECK_BUDGET
    error: BenjiError | None = field(default=None, compare=False)
    requests: int = 0

    @property
    def rate(self) -> float | None:
        return self.found / self.checked if self.checked else None

    @property
    def blocks(self) -> bool:
        """Too few numbers found: the live run waits for another numbering or a confirmation."""
        rate = self.rate
        return rate is not None and rate < PASS_RATE

    @property
    def headline(self) -> str:
        if not self.checked:
            return "Benji was not asked about any number: " + (
                self.error.headline if self.error else "the dry run would write no link."
            )
        of_what = (
            "" if self.checked >= self.to_write else f" (a sample of the {self.to_write} links)"
        )
        return f"Benji found {self.found} of {self.checked}{of_what}."

    @property
    def advice(self) -> str:
        """What to do next, in words."""
        if self.error is not None:
            return f"The check stopped early: {self.error.headline} {self.error.next_step}"
        if not self.checked:
            return ""
        threshold = f"{PASS_RATE:.0%}"
        if self.blocks:
            other = "the accounting tool's" if self.numbering is Numbering.HALO else "Halo's"
            return (
                f"Fewer than {threshold} of the numbers are known to Benji, so the links would "
                f"mostly open Benji's generic payment form. Switch the invoice numbering to "
                f"{other} number and run the dry run again, or confirm that these numbers are "
                "right before adding the links."
            )
        return f"At least {threshold} are known to Benji: the numbering looks right."

    def to_json(self) -> dict[str, Any]:
        return {
            "numbering": self.numbering.value,
            "checked": self.checked,
            "found": self.found,
            "to_write": self.to_write,
            "rate": self.rate,
            "pass_rate": PASS_RATE,
            "budget": self.budget,
            "blocks": self.blocks,
            "missing": list(self.missing),
            "requests": self.requests,
            "headline": self.headline,
            "advice": self.advice,
            "error": None if self.error is None else self.error.kind.code,
            "notes": [benji_facts.LOOKUP_NOTE],
        }


def numbers_to_check(
    links: Iterable[str | None], template: str, *, budget: int = NUMBER_CHECK_BUDGET
) -> list[str]:
    """The distinct numbers in the planned links, in order, at most `budget` of them."""
    numbers: dict[str, None] = {}
    for link in links:
        if len(numbers) >= budget:
            break
        number = number_in_link(template, link) if link else None
        if number:
            numbers.setdefault(number, None)
    return list(numbers)


async def check_numbers(
    client: InvoiceLookup,
    numbers: Sequence[str],
    *,
    numbering: Numbering,
    to_write: int,
    budget: int = NUMBER_CHECK_BUDGET,
) -> NumberCheck:
    """Ask Benji about each number in turn (at most `budget`); a Benji failure ends the check
    early and is kept in `NumberCheck.error`, never raised (the dry run itself stands)."""
    found = checked = 0
    missing: list[str] = []
    error: BenjiError | None = None
    start = client.requests
    for number in numbers[:budget]:
        try:
            known = await client.knows_invoice(number)
        except BenjiError as exc:
            error = exc
            break
        checked += 1
        if known:
            found += 1
        elif len(missing) < MISSING_SHOWN:
            missing.append(number)
    return NumberCheck(
        numbering=numbering,
        checked=checked,
        found=found,
        to_write=to_write,
        missing=tuple(missing),
        budget=budget,
        error=error,
        requests=client.requests - start,
    )


async def check_plan_numbers(
    client: InvoiceLookup,
    planned_links: Iterable[str | None],
    *,
    template: str,
    numbering: Numbering,
    to_write: int,
    budget: int = NUMBER_CHECK_BUDGET,
) -> NumberCheck:
    """The number check for a dry run's planned links (see `check_numbers`)."""
    numbers = numbers_to_check(planned_links, template, budget=budget)
    return await check_numbers(
        client, numbers, numbering=numbering, to_write=to_write, budget=budget
    )


# --- the window's state ---------------------------------------------------------------------------


@dataclass
class BenjiState:
    """Benji's side in the window: the optional key, what the checks found, and the number
    check's confirmation. The key stays out of `repr` and of every export.

    Attributes:
        key: the Benji API key as typed or read from the keyring ("" = none: the checks are
            skipped and the guided copy-and-paste stays).
        remember: keep the key in the system keyring (per profile).
        key_loaded_for: the profile whose stored key was looked up already.
        base_url: Benji's API address (the demo's sandbox in demo mode).
        report: the last settings check.
        error: why the last settings check could not run (a headline and the next step).
        link_built: the Email page's link was built from Benji's settings.
        numbers: the number check of the last dry run.
        numbers_error: why the number check could not run.
        confirmed: the admin confirmed the numbering despite a low rate (for `numbers`).
    """

    key: str = field(default="", repr=False)
    remember: bool = True
    key_loaded_for: str | None = None
    base_url: str = benji_facts.DEFAULT_BASE_URL
    report: SettingsReport | None = None
    error: str | None = None
    link_built: bool = False
    numbers: NumberCheck | None = None
    numbers_error: str | None = None
    confirmed: bool = False

    def blocks_run(self, numbering: Numbering) -> bool:
        """The number check found too few numbers with this numbering, and it is not confirmed."""
        check = self.numbers
        return (
            check is not None
            and check.blocks
            and check.numbering is numbering
            and not self.confirmed
        )

    def export(self) -> dict[str, Any]:
        """What the settings export says of Benji's side (never the key)."""
        report, numbers = self.report, self.numbers
        return {
            "api_key_given": bool(self.key),
            "settings_checked": report is not None,
            "checks": {c.label: c.passed for c in report.checks} if report else None,
            "link_built_from_settings": self.link_built,
            "number_check": None
            if numbers is None
            else {
                "numbering": numbers.numbering.value,
                "found": numbers.found,
                "checked": numbers.checked,
                "blocks": numbers.blocks,
                "confirmed": self.confirmed,
            },
            "rests_on_unverified_field_names": report is not None,
        }


# --- the last number check, remembered for the command line's live run -------------------------


def verdict_file(state_dir: Path, web_url: str, template: str, numbering: Numbering) -> Path:
    """Where the last number check for this Halo, link and numbering is kept (no secret in it)."""
    key = "\n".join((web_url.rstrip("/").lower(), template.strip(), numbering.value))
    return state_dir / "benji" / f"numbers-{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"


def save_verdict(path: Path, check: NumberCheck) -> None:
    """Keep a finished number check (blocking file I/O: a worker thread in the window)."""
    data = {k: check.to_json()[k] for k in ("numbering", "checked", "found", "blocks")}
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def blocking_verdict(path: Path) -> str | None:
    """Why the last number check blocks a live run with these settings ("Benji found 0 of
    50."), or None when it does not (none kept, unreadable, or it passed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("blocks") is not True:
        return None
    found, checked = data.get("found"), data.get("checked")
    if type(found) is not int or type(checked) is not int:
        return "Benji knew too few of the invoice numbers."
    return f"Benji found {found} of {checked}."
