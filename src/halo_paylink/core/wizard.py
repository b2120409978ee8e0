"""The assistant's flow without widgets: page order, per-page state, and what completes a page.

The Qt pages (``halo_paylink.ui.pages``) render these dataclasses and write user input back into
them; the window shell asks `WizardFlow` which buttons to enable. Nothing here imports Qt or does
I/O, so the whole flow is tested as plain Python (tests/unit/test_wizard_flow.py).

All objects here are used on one thread (the GUI thread, or a test's thread).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from halo_paylink.core.admin_steps import AdminStepsState
from halo_paylink.core.benji_checks import BenjiState
from halo_paylink.core.links import number_variable
from halo_paylink.domain import AccountingTool, Numbering, SecretMode
from halo_paylink.halo.models import HaloEndpoints
from halo_paylink.storage.profiles import (
    LinkSettings,
    PdfOptions,
    Profile,
    validate_profile_name,
)

if TYPE_CHECKING:
    from halo_paylink.core.backfill.outcome import Counts


class PageId(enum.Enum):
    """The assistant's pages, in order."""

    WELCOME = "welcome"
    CONNECT = "connect"
    APPLICATION = "application"
    OPTIONS = "options"
    EMAIL_LINK = "email_link"
    BACKFILL = "backfill"
    DONE = "done"


PAGE_ORDER: tuple[PageId, ...] = tuple(PageId)

#: (title, one-line subtitle) per page; the shell shows both, the step list shows the title.
PAGE_TITLES: dict[PageId, tuple[str, str]] = {
    PageId.WELCOME: ("Welcome", "Create or pick a profile, and see what this assistant will do."),
    PageId.CONNECT: ("Connect to Halo", "Tell the assistant where your Halo instance lives."),
    PageId.APPLICATION: (
        "API application",
        "Create an API application in Halo and test what it may do.",
    ),
    PageId.OPTIONS: (
        "PDF and payment options",
        "Choose how Benji Pays sends invoices and receipts.",
    ),
    PageId.EMAIL_LINK: ("Email template link", "Put a Pay link in Halo's invoice emails."),
    PageId.BACKFILL: ("Backfill", "Add a payment link to every open invoice."),
    PageId.DONE: ("Done", "What was set up and changed."),
}


def validate_new_profile_name(name: str, existing: list[str] | tuple[str, ...]) -> str | None:
    """Return why `name` cannot be a new profile's name, or None when it can.

    The storage rules (`storage.profiles.validate_profile_name`) apply to the name as typed, minus
    surrounding spaces; on top, names must be unique case-insensitively, so two profiles never
    differ only by case (they are keyring entries too).
    """
    stripped = name.strip()
    if not stripped:
        return "Type a name for the profile, for example your company's name."
    problem = validate_profile_name(stripped)
    if problem:
        return problem
    if stripped.casefold() in {e.casefold() for e in existing}:
        return f"A profile called '{stripped}' already exists: pick it from the list instead."
    return None


# --- Page 1: welcome / profile ------------------------------------------------------------------
@dataclass
class WelcomeState:
    """Which profile the admin works on.

    Attributes:
        existing: names of saved profiles.
        create_new: True to create `new_name`; False to continue with `chosen`.
        chosen: the saved profile picked from `existing`.
        new_name: the name typed for a new profile.
        store_problem: why no profile can be opened or saved right now (the saved profiles could
            not be read), in words for the user; None when the profiles were read.
    """

    existing: list[str] = field(default_factory=list)
    create_new: bool = True
    chosen: str | None = None
    new_name: str = ""
    store_problem: str | None = None

    @property
    def name_error(self) -> str | None:
        """The message to show under the name field (only when creating)."""
        if not self.create_new:
            return None
        return validate_new_profile_name(self.new_name, self.existing)

    @property
    def profile_name(self) -> str | None:
        """The profile the next pages work on, or None while the choice is not valid (or the
        saved profiles could not be read: a profile opened then could never be saved)."""
        if self.store_problem is not None:
            return None
        if self.create_new:
            return None if self.name_error else self.new_name.strip()
        return self.chosen if self.chosen in self.existing else None


# --- Page 2: connect ----------------------------------------------------------------------------
class DiscoveryStatus(enum.Enum):
    IDLE = "idle"  # nothing (valid) typed yet
    WAITING = "waiting"  # valid address typed, waiting for typing to pause
    RUNNING = "running"
    FOUND = "found"
    FAILED = "failed"


@dataclass
class ConnectState:
    """The Halo address and what discovery found for it.

    Attributes:
        address: what the admin pasted (any of: web address, Resource or Authorisation Server URL).
        address_error: the specific reason `address` cannot be used (from `parse_address`), shown
            while typing; None when it parses or is empty.
        tenant: an explicit tenant, when the admin typed one (overrides discovery's).
        ca_file: a custom CA certificate added to the default trust (self-hosted only).
        status: where discovery is for the current address.
        endpoints: what discovery found, for `discovered_for`.
        discovered_for: the (address, tenant, ca_file) the endpoints belong to; a change makes
            them stale.
        error: why discovery failed (headline and next step), when it did.
    """

    address: str = ""
    address_error: str | None = None
    tenant: str = ""
    ca_file: str | None = None
    status: DiscoveryStatus = DiscoveryStatus.IDLE
    endpoints: HaloEndpoints | None = None
    discovered_for: tuple[str, str, str | None] | None = None
    error: str | None = None

    def key(self) -> tuple[str, str, str | None]:
        """What discovery depends on; endpoints are valid only for this key."""
        return (self.address.strip(), self.tenant.strip(), self.ca_file)

    def address_edited(self, address: str, parse_error: str | None) -> None:
        """Record a keystroke: the old result goes stale, discovery waits for typing to pause."""
        self.address = address
        self.address_error = parse_error
        self.error = None
        if self.endpoints is not None and self.discovered_for == self.key():
            self.status = DiscoveryStatus.FOUND
            return
        self.endpoints = None
        self.discovered_for = None
        if not address.strip() or parse_error:
            self.status = DiscoveryStatus.IDLE
        else:
            self.status = DiscoveryStatus.WAITING

    def discovery_started(self) -> tuple[str, str, str | None]:
        self.status = DiscoveryStatus.RUNNING
        self.error = None
        return self.key()

    def discovery_finished(
        self,
        key: tuple[str, str, str | None],
        endpoints: HaloEndpoints | None,
        error: str | None = None,
    ) -> bool:
        """Store a result; returns False (and changes nothing) when it is for an older input."""
        if key != self.key():
            return False
        self.endpoints = endpoints
        self.discovered_for = key if endpoints is not None else None
        self.error = error
        self.status = DiscoveryStatus.FOUND if endpoints is not None else DiscoveryStatus.FAILED
        return True

    @property
    def complete(self) -> bool:
        return (
            self.status is DiscoveryStatus.FOUND
            and self.endpoints is not None
            and self.discovered_for == self.key()
            and self.address_error is None
        )


# --- Page 3: API application --------------------------------------------------------------------
class CheckRowState(enum.Enum):
    """Mirror of core.checks.CheckState kept here so the flow needs no network imports."""

    PENDING = "pending"
    BUSY = "busy"
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckRow:
    """One row of the Test checklist as the page shows it."""

    key: str
    title: str
    state: CheckRowState
    message: str = ""
    fix: str = ""
    note: str = ""


@dataclass
class ApplicationState:
    """The API application's credentials and the result of the last Test.

    The secret lives only here (and in the masked field / the keyring); `repr` hides it.

    Attributes:
        remember: store the secret in the system keyring when leaving the page.
        keyring_ok: whether a secure keyring is available (else `remember` is unavailable).
        rows: the Test checklist, in order.
        tested_for: the (address key, client_id, secret fingerprint) the rows belong to.
        agent_name: who the application logs in as, when Halo said.
    """

    client_id: str = ""
    secret: str = field(default="", repr=False)
    remember: bool = True
    keyring_ok: bool = True
    rows: list[CheckRow] = field(default_factory=list)
    testing: bool = False
    tested_for: tuple[Any, ...] | None = field(default=None, repr=False)
    agent_name: str | None = None

    def fingerprint(self, connect_key: tuple[str, str, str | None]) -> tuple[Any, ...]:
        # hash() of the secret (not the secret) so the tuple is safe to keep around and compare
        return (connect_key, self.client_id.strip(), hash(self.secret))

    @property
    def client_id_error(self) -> str | None:
        text = self.client_id.strip()
        if not text:
            return None
        if any(ch.isspace() for ch in text):
            return "A client ID has no spaces: copy it again from the application's Details tab."
        return None

    @property
    def can_test(self) -> bool:
        return bool(self.client_id.strip()) and bool(self.secret) and self.client_id_error is None

    def credentials_edited(self) -> None:
        """A changed id or secret invalidates the last Test."""
        if not self.testing:
            self.rows = []
            self.tested_for = None
            self.agent_name = None

    def all_passed(self, connect_key: tuple[str, str, str | None]) -> bool:
        return (
            bool(self.rows)
            and not self.testing
            and self.tested_for == self.fingerprint(connect_key)
            and all(r.state is CheckRowState.PASS for r in self.rows)
        )


# --- Page 4: PDF and payment options ------------------------------------------------------------
@dataclass
class OptionsState:
    """Benji Pays' three HaloPSA integration options, as the admin wants them."""

    use_halo_pdf: bool = False
    fallback_to_accounting_pdf: bool = False
    add_payment_button: bool = True

    @property
    def fallback_enabled(self) -> bool:
        """The fallback only means something when Halo's PDF is used."""
        return self.use_halo_pdf

    def set_use_halo_pdf(self, on: bool) -> None:
        self.use_halo_pdf = on
        if not on:
            # Benji greys this option out too; keep them in step so the checklist is exact.
            self.fallback_to_accounting_pdf = False

    def set_fallback(self, on: bool) -> None:
        self.fallback_to_accounting_pdf = on and self.use_halo_pdf


BENJI_SETTINGS_PATH = "Settings > Integrations > HaloPSA > Configure"


def benji_checklist(options: OptionsState) -> list[tuple[str, bool]]:
    """Exactly what to set in Benji Pays, as (setting label, on/off), in Benji's order."""
    return [
        ("Use Halo invoice PDF when sending invoices and receipts", options.use_halo_pdf),
        ("Fallback to accounting invoice PDF", options.fallback_to_accounting_pdf),
        ("Add payment button", options.add_payment_button),
    ]


# --- Page 5: email template link ----------------------------------------------------------------
TOOL_LABELS: dict[AccountingTool, str] = {
    AccountingTool.QUICKBOOKS: "QuickBooks Online",
    AccountingTool.XERO: "Xero",
}


@dataclass
class LinkState:
    """The Benji Pays link template and what it becomes in Halo's email template.

    Attributes:
        template: the Benji link as pasted (with the `[Invoice No.]` placeholder).
        template_error: why it cannot be used (https, placeholder...), from core.links.
        template_warning: a non-blocking concern (unknown host).
        generated: the link with Halo's variable in place of the placeholder.
        preview: the link filled in from `preview_source`.
        preview_source: where the preview number came from, in words.
    """

    tool: AccountingTool = AccountingTool.QUICKBOOKS
    numbering: Numbering = Numbering.ACCOUNTING
    template: str = ""
    template_error: str | None = None
    template_warning: str | None = None
    generated: str = ""
    preview: str = ""
    preview_source: str = ""

    @property
    def variable(self) -> str:
        return number_variable(self.numbering)

    @property
    def complete(self) -> bool:
        return bool(self.template.strip()) and self.template_error is None and bool(self.generated)


# --- Page 6: backfill ---------------------------------------------------------------------------
class BackfillPhase(enum.Enum):
    IDLE = "idle"  # nothing planned yet
    PLANNING = "planning"  # dry run in progress
    PLANNED = "planned"  # dry run finished: counts and first changes known
    RUNNING = "running"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"  # stopped cleanly; Resume available
    FAILED = "failed"  # stopped by an error; Resume available
    FINISHED = "finished"
    UNDOING = "undoing"
    UNDONE = "undone"


#: Phases in which work is in flight: Back and closing are guarded.
BACKFILL_ACTIVE = frozenset(
    {
        BackfillPhase.PLANNING,
        BackfillPhase.RUNNING,
        BackfillPhase.CANCELLING,
        BackfillPhase.UNDOING,
    }
)


@dataclass
class BackfillState:
    """Where the backfill is. `core.presenters.backfill` moves it from phase to phase.

    Attributes:
        to_change: how many invoices the dry run would change.
        counts: the counts shown: the dry run's when `counts_planned`, else the last run's;
            None before either.
        run_id: the run being shown (for resume/undo/report).
        resumable_run_id: an interrupted earlier run that can be resumed.
        done, total, failed: progress of the commit step.
        report_path: the finished run's CSV report, when written.
        incomplete: the last run could not show it saw every open invoice (resume later).
        counts_undo: the counts shown are an undo's (its `written` are links removed).
        links_saved: links the last run saved in Halo (every attempt of it, resumes included).
        links_removed: of those, how many an undo has since put back to their previous value.
        plan_stopped: the last dry run was stopped before it read every invoice.
        stopping: the phase a stop was asked in (what is being stopped), while CANCELLING.
    """

    phase: BackfillPhase = BackfillPhase.IDLE
    to_change: int = 0
    counts: Counts | None = None
    counts_planned: bool = False
    run_id: str | None = None
    resumable_run_id: str | None = None
    done: int = 0
    total: int = 0
    failed: int = 0
    report_path: str | None = None
    error: str | None = None
    incomplete: bool = False  # the run ended "incomplete": Halo's list changed while read
    counts_undo: bool = False
    links_saved: int = 0
    links_removed: int = 0
    plan_stopped: bool = False
    stopping: BackfillPhase | None = None

    @property
    def links_standing(self) -> int:
        """Links the last run saved that are still there (not removed by an undo)."""
        return max(self.links_saved - self.links_removed, 0)

    @property
    def active(self) -> bool:
        return self.phase in BACKFILL_ACTIVE

    @property
    def can_commit(self) -> bool:
        return self.phase is BackfillPhase.PLANNED and self.to_change > 0

    @property
    def can_resume(self) -> bool:
        return (
            self.resumable_run_id is not None
            and not self.active
            and self.phase not in (BackfillPhase.FINISHED, BackfillPhase.UNDONE)
        )

    @property
    def can_undo(self) -> bool:
        return self.phase is BackfillPhase.FINISHED and self.run_id is not None

    @property
    def complete(self) -> bool:
        """Done when a run finished, or the dry run found nothing to change."""
        if self.phase is BackfillPhase.FINISHED:
            return True
        return self.phase is BackfillPhase.PLANNED and self.to_change == 0


def format_duration(seconds: float | None) -> str:
    """'45 s', '3 min 20 s', '1 h 05 min' for an ETA; '—' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


# --- The whole wizard ---------------------------------------------------------------------------
@dataclass
class WizardState:
    """Everything the pages collect, one dataclass per page."""

    welcome: WelcomeState = field(default_factory=WelcomeState)
    connect: ConnectState = field(default_factory=ConnectState)
    application: ApplicationState = field(default_factory=ApplicationState)
    options: OptionsState = field(default_factory=OptionsState)
    link: LinkState = field(default_factory=LinkState)
    backfill: BackfillState = field(default_factory=BackfillState)
    admin: AdminStepsState = field(default_factory=AdminStepsState)
    benji: BenjiState = field(default_factory=BenjiState)  # Benji's side, checked (optional)
    demo: bool = False


class WizardFlow:
    """Page order and navigation rules over a `WizardState` (Electrum-style, no widgets).

    The window asks `can_go_next` / `can_go_back` after every change a page reports, and maps
    the answers to its Next/Back buttons. Pages never enable buttons themselves.
    """

    def __init__(self, state: WizardState, order: tuple[PageId, ...] = PAGE_ORDER) -> None:
        self.state = state
        self.order = order

    def index(self, page: PageId) -> int:
        return self.order.index(page)

    def next_page(self, page: PageId) -> PageId | None:
        i = self.index(page)
        return self.order[i + 1] if i + 1 < len(self.order) else None

    def previous_page(self, page: PageId) -> PageId | None:
        i = self.index(page)
        return self.order[i - 1] if i > 0 else None

    def is_last(self, page: PageId) -> bool:
        return self.next_page(page) is None

    def is_complete(self, page: PageId) -> bool:
        """Whether the page has everything it needs for Next (or Finish)."""
        s = self.state
        if page is PageId.WELCOME:
            return s.welcome.profile_name is not None
        if page is PageId.CONNECT:
            return s.connect.complete
        if page is PageId.APPLICATION:
            return s.application.all_passed(s.connect.key())
        if page is PageId.OPTIONS:
            return True
        if page is PageId.EMAIL_LINK:
            return s.link.complete
        if page is PageId.BACKFILL:
            return s.backfill.complete
        return True

    def incomplete_reason(self, page: PageId) -> str:
        """A short hint for why Next is disabled (shown as the Next button's tooltip)."""
        if self.is_complete(page):
            return ""
        s = self.state
        if page is PageId.WELCOME:
            return (
                s.welcome.store_problem
                or s.welcome.name_error
                or "Pick a profile or create a new one."
            )
        if page is PageId.CONNECT:
            if s.connect.address_error:
                return s.connect.address_error
            return "Paste your Halo address; Next is enabled once Halo is found."
        if page is PageId.APPLICATION:
            return "Click Test; Next is enabled when every check passes."
        if page is PageId.EMAIL_LINK:
            return s.link.template_error or "Paste your Benji Pays link."
        if page is PageId.BACKFILL:
            return "Run the dry run, then add the payment links."
        return ""

    def can_go_next(self, page: PageId, *, busy: bool = False) -> bool:
        return not busy and self.is_complete(page)

    def can_go_back(self, page: PageId, *, busy: bool = False) -> bool:
        if busy or self.previous_page(page) is None:
            return False
        return not (page is PageId.BACKFILL and self.state.backfill.active)

    def close_needs_confirmation(self) -> bool:
        """Closing the window mid-backfill asks first (then stops the run cleanly)."""
        return self.state.backfill.active


def settings_export(
    state: WizardState, profile_name: str, *, secret_in_keyring: bool | None = None
) -> str:
    """The profile's settings as JSON for the Done page's export; never includes the secret.

    `secret_in_keyring`: whether the secret really is in the system keyring (False when the
    secret store keeps it in memory, as in demo mode); None: as the Application page chose.
    `backfill.invoices_changed` counts the invoices the run changed in Halo that still hold its
    link (an undo's restores taken off), never the invoices merely looked at.
    """
    c, a, o, link = state.connect, state.application, state.options, state.link
    endpoints = c.endpoints
    data: dict[str, Any] = {
        "profile": profile_name,
        "halo": {
            "address": c.address.strip(),
            "authorisation_server": endpoints.auth_url if endpoints else None,
            "resource_server": endpoints.resource_url if endpoints else None,
            "tenant": (c.tenant.strip() or (endpoints.tenant if endpoints else None)) or None,
            "hosted": endpoints.hosted if endpoints else None,
            "custom_ca_file": c.ca_file,
        },
        "api_application": {
            "client_id": a.client_id.strip(),
            "secret_stored_in_keyring": (
                a.remember and a.keyring_ok if secret_in_keyring is None else secret_in_keyring
            ),
        },
        "benji_pays_options": {label: on for label, on in benji_checklist(o)},
        "email_link": {
            "accounting_tool": TOOL_LABELS[link.tool],
            "invoice_number": link.numbering.value,
            "halo_variable": link.variable,
            "benji_link_template": link.template.strip(),
            "generated_link": link.generated,
        },
        "benji_pays_checks": state.benji.export(),
        "backfill": {
            "phase": state.backfill.phase.value,
            "run_id": state.backfill.run_id,
            "invoices_changed": state.backfill.links_standing,
            "links_saved": state.backfill.links_saved,
            "links_removed_by_undo": state.backfill.links_removed,
        },
        "done_for_you": state.admin.to_json(),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def load_profile(state: WizardState, profile: Profile) -> None:
    """Fill the pages' state from a saved profile (the secret comes separately, from the store)."""
    c = state.connect
    c.address = profile.web_url
    c.address_error = None
    c.tenant = profile.tenant or ""
    c.ca_file = profile.ca_file
    c.endpoints, c.discovered_for, c.error = None, None, None
    c.status = DiscoveryStatus.WAITING if profile.web_url else DiscoveryStatus.IDLE
    a = state.application
    a.client_id = profile.client_id
    a.secret = ""
    a.remember = profile.secret_mode is SecretMode.KEYRING
    a.rows, a.tested_for, a.agent_name = [], None, None
    o = state.options
    o.use_halo_pdf = profile.pdf.use_halo_pdf
    o.fallback_to_accounting_pdf = profile.pdf.fallback_to_accounting_pdf and o.use_halo_pdf
    o.add_payment_button = profile.pdf.add_payment_button
    link = state.link
    link.tool = profile.link.accounting_tool
    link.numbering = profile.link.numbering
    link.template = profile.link.template
    state.admin.opted_in = profile.template_scope
    state.benji = BenjiState()  # another profile's Benji key and results never carry over
    state.demo = profile.demo


def apply_to_profile(state: WizardState, profile: Profile) -> Profile:
    """Write the pages' state into `profile` (in place, and returned). Never touches a secret."""
    c, a, o, link = state.connect, state.application, state.options, state.link
    if c.address.strip() and c.address_error is None:
        profile.web_url = c.endpoints.web_url if c.endpoints is not None else c.address.strip()
    profile.tenant = c.tenant.strip() or None
    profile.ca_file = c.ca_file
    profile.client_id = a.client_id.strip()
    profile.secret_mode = SecretMode.KEYRING if (a.remember and a.keyring_ok) else SecretMode.ASK
    profile.pdf = PdfOptions(
        use_halo_pdf=o.use_halo_pdf,
        fallback_to_accounting_pdf=o.fallback_to_accounting_pdf and o.use_halo_pdf,
        add_payment_button=o.add_payment_button,
    )
    profile.link = LinkSettings(
        template=link.template.strip(),
        numbering=link.numbering,
        accounting_tool=link.tool,
        link_field=profile.link.link_field,
    )
    profile.template_scope = state.admin.opted_in
    profile.demo = state.demo
    return profile
