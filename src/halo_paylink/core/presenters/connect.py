"""The Connect to Halo page's logic, without widgets.

`ConnectPresenter` parses what the admin pasted on every keystroke (`halo.discovery.parse_address`,
pure and cheap), records the input and the discovery results in `ConnectState`, and answers with a
`ConnectView`: the line under the address, what was found, the CA file, and whether discovery
should be scheduled for when typing pauses. Discovery itself (network) and the typing pause
(a timer) stay with the page; the presenter hears when discovery starts and how it ended.

`halo.discovery` is imported when the first address is parsed, not at import, so the first page
paints without the network modules. One thread (the GUI thread, or a test's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from halo_paylink.core.presenters.field_note import FieldNote
from halo_paylink.core.wizard import ConnectState, DiscoveryStatus
from halo_paylink.errors import HaloError, PaylinkError
from halo_paylink.halo.models import HaloEndpoints

if TYPE_CHECKING:
    from halo_paylink.halo.discovery import ParsedAddress

LOOKING = "Looking for Halo at that address…"
WAITING = "Will look for Halo when you stop typing."
UNREACHABLE = "Halo could not be reached."
NOTHING_FOUND = "—"
HOSTED = "Halo-hosted"
SELF_HOSTED = "Self-hosted (on your own server)"
NO_CA_FILE = "None"
CONFIRMED = "Confirmed by Halo (it answered /api/authinfo)."
TENANT_TYPED = (
    "Halo confirmed the addresses (it answered /api/authinfo). The tenant is the one you typed, "
    "which Halo has not confirmed: the Test on the next page checks it."
)
DERIVED = (
    "Halo did not answer /api/authinfo, so these addresses are derived from what you typed; the "
    "Test on the next page confirms them."
)

#: What discovery depends on: (address, tenant, CA file), as `ConnectState.key()`.
DiscoveryKey = tuple[str, str, str | None]


@dataclass(frozen=True)
class FoundView:
    """The "What the assistant found" box.

    Attributes:
        enabled: whether anything was found for the current input.
        kind: Halo-hosted or self-hosted ("—" when nothing was found).
        auth_url, resource_url, tenant: the values to show and copy ('' when nothing was found).
        tenant_placeholder: what the empty tenant field says.
        source: whether Halo confirmed the addresses or they were derived.
    """

    enabled: bool
    kind: str
    auth_url: str
    resource_url: str
    tenant: str
    tenant_placeholder: str
    source: str


@dataclass(frozen=True)
class ConnectView:
    """Everything the Connect to Halo page shows, as values.

    Attributes:
        address, tenant: the inputs as recorded.
        address_note: the line under the address.
        ca_file: the CA certificate file's path, or "None".
        can_clear_ca: whether there is a CA file to clear.
        found: the "What the assistant found" box.
        discovery_due: discovery should start when typing pauses.
    """

    address: str
    tenant: str
    address_note: FieldNote
    ca_file: str
    can_clear_ca: bool
    found: FoundView
    discovery_due: bool


def failure_text(error: BaseException) -> str:
    """The words for a failed discovery, shown once, under the address: the headline, the next
    step and, when Halo answered, what Halo said; a named failure's raw library text (an errno)
    stays in the log, an unexpected one keeps its details."""
    from halo_paylink.errors import explain

    explained = explain(error)
    parts = [explained.headline, explained.next_step]
    if not isinstance(error, PaylinkError) or explained.detail.startswith("Halo said"):
        parts.append(explained.detail)
    return " ".join(part for part in parts if part)


class ConnectPresenter:
    """Owns the parse result and the derived view of the Connect to Halo page (no Qt, no I/O)."""

    def __init__(self, state: ConnectState) -> None:
        self.state = state
        self._parsed: ParsedAddress | None = None
        self._tenant_placeholder = ""

    @property
    def parsed(self) -> ParsedAddress | None:
        """The last address typed, normalised; None when it is empty or cannot be used."""
        return self._parsed

    # -- input ----------------------------------------------------------------------------------
    def address_edited(self, text: str) -> None:
        """A keystroke in the address field: parse it at once, mark earlier results stale."""
        from halo_paylink.halo.discovery import parse_address

        error: str | None = None
        self._parsed = None
        if text.strip():
            try:
                self._parsed = parse_address(text)
            except HaloError as exc:
                error = exc.detail or exc.headline
        self.state.address_edited(text, error)

    def tenant_edited(self, text: str) -> None:
        self.state.tenant = text
        self._recheck()

    def set_ca_file(self, path: str | None) -> None:
        self.state.ca_file = path or None
        self._recheck()

    def _recheck(self) -> None:
        # the address is unchanged (its parse stands); the endpoints may now be stale
        self.state.address_edited(self.state.address, self.state.address_error)

    # -- discovery ------------------------------------------------------------------------------
    @property
    def can_discover(self) -> bool:
        c = self.state
        return not c.address_error and bool(c.address.strip())

    def discovery_request(self) -> tuple[str, str | None]:
        """(address, tenant or None) to hand to `halo.discovery.discover`."""
        return self.state.address, self.state.tenant.strip() or None

    def discovery_started(self) -> DiscoveryKey:
        """Discovery starts for the current input; returns the key its result must carry."""
        return self.state.discovery_started()

    def discovery_cancelled(self) -> None:
        """The attempt in flight was cancelled (the input changed, or the page was left)."""
        if self.state.status is DiscoveryStatus.RUNNING:
            self.state.status = DiscoveryStatus.WAITING

    def discovery_found(self, key: DiscoveryKey, endpoints: HaloEndpoints) -> bool:
        """Record what discovery found; False (nothing changed) when it is for older input."""
        if not self.state.discovery_finished(key, endpoints):
            return False
        # the empty tenant field keeps saying this until another Halo is found
        self._tenant_placeholder = "none needed" if not endpoints.hosted else "not shown by Halo"
        return True

    def discovery_failed(self, key: DiscoveryKey, error: BaseException) -> bool:
        """Record why discovery failed; False (nothing changed) when it is for older input."""
        return self.state.discovery_finished(key, None, failure_text(error))

    def should_rediscover(self, *, discovering: bool) -> bool:
        """On entering the page: a valid saved address that was not found yet is looked up."""
        c = self.state
        return bool(c.address) and c.address_error is None and not c.complete and not discovering

    # -- what the page shows --------------------------------------------------------------------
    def address_note(self) -> FieldNote:
        c = self.state
        if c.address_error:
            return FieldNote.error(c.address_error)
        if c.status is DiscoveryStatus.RUNNING:
            return FieldNote.note(LOOKING)
        if c.status is DiscoveryStatus.WAITING:
            return FieldNote.note(WAITING)
        if c.status is DiscoveryStatus.FAILED:
            return FieldNote.error(c.error or UNREACHABLE)
        if c.status is DiscoveryStatus.FOUND and c.endpoints is not None:
            return FieldNote.ok(f"Found Halo at {c.endpoints.web_url}")
        return FieldNote()

    def found(self) -> FoundView:
        e = self.state.endpoints if self.state.complete else None
        if e is None:
            # while the next look-up is due the last placeholder stays (no flicker as one types);
            # for an address that cannot be used, or a failed look-up, it would be stale
            pending = self.state.status in (DiscoveryStatus.WAITING, DiscoveryStatus.RUNNING)
            return FoundView(
                enabled=False,
                kind=NOTHING_FOUND,
                auth_url="",
                resource_url="",
                tenant="",
                tenant_placeholder=self._tenant_placeholder if pending else "",
                source="",
            )
        return FoundView(
            enabled=True,
            kind=HOSTED if e.hosted else SELF_HOSTED,
            auth_url=e.auth_url,
            resource_url=e.resource_url,
            tenant=e.tenant or "",
            tenant_placeholder=self._tenant_placeholder,
            source=self._source(e),
        )

    def _source(self, endpoints: HaloEndpoints) -> str:
        """Whether Halo confirmed what is shown: a tenant typed by hand it never confirms."""
        if not endpoints.from_authinfo:
            return DERIVED
        return TENANT_TYPED if self.state.tenant.strip() else CONFIRMED

    def enter_means_discover(self) -> bool:
        """Enter in the address or tenant field looks Halo up now (while it is not found yet);
        once found, Enter means Next."""
        return self.can_discover and not self.state.complete

    def view(self) -> ConnectView:
        c = self.state
        return ConnectView(
            address=c.address,
            tenant=c.tenant,
            address_note=self.address_note(),
            ca_file=c.ca_file or NO_CA_FILE,
            can_clear_ca=c.ca_file is not None,
            found=self.found(),
            discovery_due=c.status is DiscoveryStatus.WAITING,
        )
