"""Typed errors the UI and the CLI can explain.

Every failure that reaches a user is a `HaloError` carrying an `ErrorKind`. The kind decides the
headline and the next step (see `EXPLANATIONS`); `detail` carries what the server said, already
redacted. Callers branch on `error.kind`, never on message text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCategory(enum.Enum):
    ADDRESS = "address"
    CONNECTION = "connection"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    RATE_LIMIT = "rate limit"
    SERVER = "server"
    BAD_DATA = "bad data"
    LOCAL = "local"


class ErrorKind(enum.Enum):
    """Each named outcome, with the category it belongs to."""

    BAD_ADDRESS = ("bad_address", ErrorCategory.ADDRESS)
    INSECURE_ADDRESS = ("insecure_address", ErrorCategory.ADDRESS)
    DNS = ("dns", ErrorCategory.CONNECTION)
    REFUSED = ("refused", ErrorCategory.CONNECTION)
    TLS = ("tls", ErrorCategory.CONNECTION)
    TIMEOUT = ("timeout", ErrorCategory.CONNECTION)
    NETWORK = ("network", ErrorCategory.CONNECTION)
    NOT_HALO = ("not_halo", ErrorCategory.CONNECTION)
    REDIRECTED = ("redirected", ErrorCategory.CONNECTION)
    INVALID_TENANT = ("invalid_tenant", ErrorCategory.AUTHENTICATION)
    INVALID_CLIENT_ID = ("invalid_client_id", ErrorCategory.AUTHENTICATION)
    INVALID_SECRET = ("invalid_secret", ErrorCategory.AUTHENTICATION)
    UNAUTHORIZED = ("unauthorized", ErrorCategory.AUTHENTICATION)
    WRONG_GRANT = ("wrong_grant", ErrorCategory.AUTHENTICATION)
    MISSING_SCOPE = ("missing_scope", ErrorCategory.PERMISSION)
    AGENT_LACKS_INVOICE_PERMISSION = ("agent_lacks_invoice_permission", ErrorCategory.PERMISSION)
    FORBIDDEN = ("forbidden", ErrorCategory.PERMISSION)
    EDIT_POSTED_FORBIDDEN = ("edit_posted_forbidden", ErrorCategory.PERMISSION)
    NOT_FOUND = ("not_found", ErrorCategory.SERVER)
    RATE_LIMITED = ("rate_limited", ErrorCategory.RATE_LIMIT)
    SERVER_ERROR = ("server_error", ErrorCategory.SERVER)
    REJECTED = ("rejected", ErrorCategory.SERVER)
    MALFORMED_RESPONSE = ("malformed_response", ErrorCategory.BAD_DATA)
    RESPONSE_TOO_LARGE = ("response_too_large", ErrorCategory.BAD_DATA)
    KEYRING_UNAVAILABLE = ("keyring_unavailable", ErrorCategory.LOCAL)
    PROFILES_CORRUPT = ("profiles_corrupt", ErrorCategory.LOCAL)
    CA_FILE_UNREADABLE = ("ca_file_unreadable", ErrorCategory.LOCAL)
    FOLDER_NOT_WRITABLE = ("folder_not_writable", ErrorCategory.LOCAL)
    DISK_FULL = ("disk_full", ErrorCategory.LOCAL)
    BAD_SECRET_TEXT = ("bad_secret_text", ErrorCategory.LOCAL)

    def __init__(self, code: str, category: ErrorCategory) -> None:
        self.code = code
        self.category = category


@dataclass(frozen=True)
class Explanation:
    headline: str
    next_step: str


EXPLANATIONS: dict[ErrorKind, Explanation] = {
    ErrorKind.BAD_ADDRESS: Explanation(
        "That doesn't look like a Halo web address.",
        "Paste your Halo address (e.g. https://acme.halopsa.com) or the Resource Server URL from "
        "Configuration > Integrations > HaloPSA API.",
    ),
    ErrorKind.INSECURE_ADDRESS: Explanation(
        "Halo must be reached over https.",
        "Use the https:// address shown in Configuration > Integrations > HaloPSA API.",
    ),
    ErrorKind.DNS: Explanation(
        "The Halo host name could not be found.",
        "Check the address for typos, and that this computer can reach it (VPN, proxy, DNS).",
    ),
    ErrorKind.REFUSED: Explanation(
        "The Halo server refused the connection.",
        "Check the address and port; for self-hosted Halo, check that the server is running "
        "and reachable.",
    ),
    ErrorKind.TLS: Explanation(
        "The Halo server's certificate could not be verified.",
        "If your self-hosted Halo uses a certificate from your own authority, choose its CA "
        "certificate under 'Custom CA certificate'. Verification is never turned off.",
    ),
    ErrorKind.TIMEOUT: Explanation(
        "Halo did not answer in time.",
        "Check your connection and try again; if Halo is slow right now, try again in a few "
        "minutes.",
    ),
    ErrorKind.NETWORK: Explanation(
        "The connection to Halo was lost.",
        "Check your network connection and try again; finished work is kept.",
    ),
    ErrorKind.NOT_HALO: Explanation(
        "The server answered, but not like Halo.",
        "Check that the address is your Halo instance (the one you log in to), not another site.",
    ),
    ErrorKind.REDIRECTED: Explanation(
        "Halo answered with a redirect instead of an answer.",
        "Halo's API does not redirect: check the Resource Server URL (Configuration > "
        "Integrations > HaloPSA API > API Details), and any proxy or sign-in page between this "
        "computer and Halo.",
    ),
    ErrorKind.INVALID_TENANT: Explanation(
        "Halo did not accept the tenant.",
        "Copy the Tenant exactly from Configuration > Integrations > HaloPSA API > API Details.",
    ),
    ErrorKind.INVALID_CLIENT_ID: Explanation(
        "Halo does not know that client ID.",
        "Copy the Client ID from your API application in Configuration > Integrations > "
        "HaloPSA API > Applications.",
    ),
    ErrorKind.INVALID_SECRET: Explanation(
        "Halo rejected the client secret.",
        "Paste the secret again; if it was lost or revoked, generate a new one on the API "
        "application and paste that.",
    ),
    ErrorKind.UNAUTHORIZED: Explanation(
        "Halo no longer accepts this application's token.",
        "Check that the API application is still active and its secret has not been regenerated.",
    ),
    ErrorKind.WRONG_GRANT: Explanation(
        "The API application does not use client ID and secret authentication.",
        "In Halo, open the API application and set Authentication Method to 'Client ID and "
        "Secret (Services)', then save and copy its Client ID and secret again.",
    ),
    ErrorKind.MISSING_SCOPE: Explanation(
        "The API application is missing a permission.",
        "In Halo, open the API application, Permissions tab, and tick read:invoices and "
        "edit:invoices (or 'all'), then save.",
    ),
    ErrorKind.AGENT_LACKS_INVOICE_PERMISSION: Explanation(
        "The agent the application logs in as may not access invoices.",
        "In Halo, give that agent (or its role) permission to read and modify invoices, or pick "
        "an agent who has it on the API application's Details tab.",
    ),
    ErrorKind.FORBIDDEN: Explanation(
        "Halo refused access to invoices (HTTP 403).",
        "Check the API application's permissions (read:invoices and edit:invoices) and that its "
        "agent may read and modify invoices.",
    ),
    ErrorKind.EDIT_POSTED_FORBIDDEN: Explanation(
        "Halo refuses edits to posted invoices.",
        "Turn off 'Do not allow editing of posted invoices' in Configuration > Billing > "
        "Invoices, or leave these invoices without a link.",
    ),
    ErrorKind.NOT_FOUND: Explanation(
        "Halo could not find that item.",
        "It may have been deleted; refresh and try again.",
    ),
    ErrorKind.RATE_LIMITED: Explanation(
        "Halo's rate limit was reached.",
        "Wait a few minutes and try again; the assistant slows down by itself while it works.",
    ),
    ErrorKind.SERVER_ERROR: Explanation(
        "Halo reported an internal error.",
        "Try again in a few minutes; if it persists, check Halo's status or contact Halo support.",
    ),
    ErrorKind.REJECTED: Explanation(
        "Halo refused the request.",
        "Read Halo's message below; it usually names the field or setting at fault.",
    ),
    ErrorKind.MALFORMED_RESPONSE: Explanation(
        "Halo's answer could not be read.",
        "Try again; if it repeats, a proxy may be rewriting responses or the address is not "
        "Halo's API.",
    ),
    ErrorKind.RESPONSE_TOO_LARGE: Explanation(
        "Halo's answer was far larger than any Halo answer should be, so reading it was stopped.",
        "Try again; if it repeats, check the Resource Server URL and any proxy between this "
        "computer and Halo (something may be sending an endless answer).",
    ),
    ErrorKind.KEYRING_UNAVAILABLE: Explanation(
        "No secure system keyring is available on this computer.",
        "Choose 'Ask each time' to type the secret when needed, or install and unlock a keyring "
        "(GNOME Keyring / KWallet on Linux).",
    ),
    ErrorKind.PROFILES_CORRUPT: Explanation(
        "Your saved connections could not be read.",
        "A copy of the file was kept (see the details). Start with no saved connections, or fix "
        "or restore the file and try again.",
    ),
    ErrorKind.CA_FILE_UNREADABLE: Explanation(
        "The CA certificate file could not be used.",
        "Check that the file named below exists, that you may read it, and that it holds PEM "
        "certificates (-----BEGIN CERTIFICATE-----); then choose it again (--ca-file, or "
        "'Custom CA certificate' in the window).",
    ),
    ErrorKind.FOLDER_NOT_WRITABLE: Explanation(
        "A folder the assistant keeps its files in cannot be written.",
        "Make the folder named below writable for your user account (check its permissions, or "
        "that its disk is not mounted read-only), or set HALO_PAYLINK_HOME to a folder you can "
        "write; then try again. Nothing was sent to Halo.",
    ),
    ErrorKind.DISK_FULL: Explanation(
        "The disk is (nearly) full.",
        "Free some space on the disk holding the folder named below, then try again. Nothing "
        "was sent to Halo.",
    ),
    ErrorKind.BAD_SECRET_TEXT: Explanation(
        "The client secret is not valid text.",
        "Set HALO_CLIENT_SECRET again to the secret exactly as Halo shows it (plain text, UTF-8); "
        "it probably holds bytes from another encoding or a stray control character.",
    ),
}


def detail_label(category: ErrorCategory | None) -> str:
    """How to introduce an error's detail: Halo's words are attributed, our own findings are not."""
    return (
        "Halo said"
        if category not in (None, ErrorCategory.ADDRESS, ErrorCategory.LOCAL)
        else "Details"
    )


class HaloError(Exception):
    """A failure with a name, a plain-language headline, and the next step for the user.

    Attributes:
        kind: which named outcome this is.
        detail: what the server or library said, redacted; may be empty.
        status: the HTTP status when there was a response.
        retry_after: seconds to wait, for `RATE_LIMITED`, when known.
        maybe_applied: an earlier attempt of the same request got no clear answer (a timeout, a
            dropped connection, a 5xx), so Halo may have applied it whatever this error says.
    """

    def __init__(
        self,
        kind: ErrorKind,
        detail: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.maybe_applied = False
        super().__init__(self.summary)

    @property
    def headline(self) -> str:
        return EXPLANATIONS[self.kind].headline

    @property
    def next_step(self) -> str:
        return EXPLANATIONS[self.kind].next_step

    @property
    def summary(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        detail = f" {detail_label(self.kind.category)}: {self.detail}" if self.detail else ""
        return f"{self.headline}{status}{detail}"

    def __repr__(self) -> str:
        return f"HaloError({self.kind.name}, status={self.status}, detail={self.detail!r})"
