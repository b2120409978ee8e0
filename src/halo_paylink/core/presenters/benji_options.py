"""The Options page's Benji checks, without widgets.

`BenjiOptionsPresenter` takes the optional Benji API key, hears when a settings check starts, what
it found (`core.benji_checks.SettingsReport`) or why it failed, and answers with a
`BenjiOptionsView`: the pass/fail rows with their fix, the link built from Benji's settings, and
which buttons apply. "Build the link from Benji's settings" writes that link into `LinkState`, so
the Email page shows it without copy-and-paste. Reading Benji is I/O and stays with the page. One
thread (the GUI thread, or a test's).
"""

from __future__ import annotations

from dataclasses import dataclass

from halo_paylink.benji import facts as benji_facts
from halo_paylink.core.benji_checks import BenjiState, SettingsReport
from halo_paylink.core.numbers import format_count
from halo_paylink.core.wizard import WizardState
from halo_paylink.errors import explain
from halo_paylink.redact import register_secret

NO_KEY = (
    "Optional: with a Benji Pays API key, the assistant reads Benji's settings, checks them and "
    "builds your pay-now link. Without one, set the options above by hand."
)
CHECKING = "Reading Benji Pays' settings…"
LINK_APPLIED = "The Email page uses this link now."

MARKS = {True: "✔ Pass", False: "✘ Fail", None: "? Unknown"}


@dataclass(frozen=True)
class BenjiRow:
    """One check as shown: the setting, its mark in words (never colour alone), what was found
    and the fix ("" when it passed)."""

    label: str
    mark: str
    passed: bool | None
    detail: str
    fix: str


@dataclass(frozen=True)
class BenjiOptionsView:
    """What the Benji box shows.

    Attributes:
        status: one line: the hint without a key, "reading…", the outcome, or the failure.
        rows: the settings checks, once read.
        link: the pay-now link built from the settings ("" when none).
        link_detail: where the link came from and what `core.links` found.
        check_enabled / build_enabled: which buttons apply.
        link_applied: the Email page already uses the built link.
        note: what the result rests on ("" before a check).
        busy: a check is running.
    """

    status: str
    rows: tuple[BenjiRow, ...]
    link: str
    link_detail: str
    check_enabled: bool
    build_enabled: bool
    link_applied: bool
    note: str
    busy: bool


class BenjiOptionsPresenter:
    """The Benji box's logic over `WizardState.benji` and `WizardState.link`."""

    def __init__(self, state: WizardState) -> None:
        self.state = state
        self._busy = False

    @property
    def benji(self) -> BenjiState:
        return self.state.benji

    def key_edited(self, text: str) -> None:
        """The admin typed or pasted a key; an earlier result no longer applies."""
        key = text.strip()
        register_secret(key)  # masked in every log line from now on
        if key != self.benji.key:
            self.benji.key = key
            self.benji.report = None
            self.benji.error = None

    def start_check(self) -> bool:
        """True when a settings check may start now (a key, nothing running); marks it busy."""
        if self._busy or not self.benji.key:
            return False
        self._busy = True
        self.benji.error = None
        return True

    def check_finished(self, report: SettingsReport) -> None:
        self.benji.report = report
        self.benji.error = None

    def check_failed(self, error: BaseException) -> None:
        explained = explain(error)
        self.benji.report = None
        self.benji.error = f"{explained.headline} {explained.next_step}".strip()

    def check_ended(self) -> None:
        self._busy = False

    def build_link(self) -> bool:
        """Put the link built from Benji's settings into the Email page's state; True when done."""
        report = self.benji.report
        if report is None or not report.link.usable:
            return False
        self.state.link.template = report.link.template
        self.benji.link_built = True
        return True

    def _status(self, report: SettingsReport | None) -> str:
        if self._busy:
            return CHECKING
        if self.benji.error:
            return self.benji.error
        if report is None:
            return NO_KEY if not self.benji.key else "Press the button to check Benji's settings."
        if report.passed:
            return "Benji Pays is set up as the guide asks."
        return "Some of Benji's settings need a change: see the fixes below."

    def view(self) -> BenjiOptionsView:
        report = self.benji.report
        rows: tuple[BenjiRow, ...] = ()
        link = link_detail = ""
        build = applied = False
        if report is not None:
            rows = tuple(
                BenjiRow(
                    c.label + ("" if c.required else " (recommended)"),
                    MARKS[c.passed],
                    c.passed,
                    c.detail,
                    c.fix,
                )
                for c in report.checks
            )
            link = report.link.template
            problems = " ".join(p.message for p in report.link.problems)
            source = f"Built from Benji's {report.link.source}." if link else ""
            link_detail = " ".join(part for part in (source, problems) if part)
            build = report.link.usable
            applied = build and self.state.link.template.strip() == link
            if applied:
                link_detail = f"{link_detail} {LINK_APPLIED}".strip()
        return BenjiOptionsView(
            status=self._status(report),
            rows=rows,
            link=link,
            link_detail=link_detail,
            check_enabled=bool(self.benji.key) and not self._busy,
            build_enabled=build and not applied and not self._busy,
            link_applied=applied,
            note=benji_facts.UNVERIFIED_NOTE if report is not None else "",
            busy=self._busy,
        )


def email_page_note(state: WizardState) -> str:
    """The Email page's line on Benji's side ("" before a settings check): whether the link was
    built from Benji's settings, and what the checks still ask for."""
    benji, report = state.benji, state.benji.report
    if report is None:
        return ""
    parts: list[str] = []
    if benji.link_built and report.link.template == state.link.template.strip():
        parts.append("This link was built from Benji Pays' settings (page 4).")
    failed = [c.label for c in report.checks if c.required and c.passed is False]
    if failed:
        parts.append(f"Benji Pays still needs: {'; '.join(failed)} (see page 4).")
    elif report.passed:
        parts.append("Benji Pays' settings passed the checks.")
    return " ".join(parts)


def benji_done_rows(state: WizardState) -> list[tuple[str, str]]:
    """The Done page's rows for Benji's side: its settings checks and the invoice number check,
    each done (with what was found), failed, or skipped (no key given)."""
    return [
        ("Benji Pays settings", _settings_words(state.benji)),
        ("Invoice numbers known to Benji", _numbers_words(state.benji)),
    ]


def _settings_words(benji: BenjiState) -> str:
    report = benji.report
    if report is None:
        return "could not be checked (see page 4)" if benji.error else "skipped (no Benji API key)"
    failed = [c.label for c in report.checks if c.required and c.passed is False]
    if failed:
        return f"needs: {'; '.join(failed)}"
    return "passed" if report.passed else "checked; the link built from them is not usable"


def _numbers_words(benji: BenjiState) -> str:
    numbers = benji.numbers
    if numbers is None:
        if benji.numbers_error:
            return "could not be checked"
        return "skipped (no Benji API key, or no dry run)"
    found = f"Benji found {format_count(numbers.found)} of {format_count(numbers.checked)}"
    if numbers.blocks:
        found += "; confirmed anyway" if benji.confirmed else "; too few"
    return found


def benji_settings_passed(state: WizardState) -> bool:
    """Benji's settings were read and every required check passed."""
    report = state.benji.report
    return report is not None and report.passed
