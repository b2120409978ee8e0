"""Typed errors the UI and the CLI can explain: one hierarchy, one `explain()`.

Every failure that reaches a user is a `PaylinkError` carrying an `ErrorKind`:

    PaylinkError
      HaloError    Halo, or the way to it (address, connection, sign-in, permission, rate limit,
                   Halo's own errors, data that cannot be used)
      LocalError   this computer (keyring, folders, disk, a chosen file, the saved profiles)
      UsageError   how the app was asked (options, input, a missing secret)
      BenjiError   Benji Pays' merchant API (the optional checks of Benji's side)

The kind decides the headline and the next step (see `EXPLANATIONS`); `detail` carries what the
server or the system said, redacted. Callers branch on the class and on `error.kind`, never on
message text. This module sits below every other package and imports none of them.
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
    USAGE = "usage"


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
    BAD_USAGE = ("usage", ErrorCategory.USAGE)
    # Benji Pays' merchant API (the optional checks of Benji's side; see `BenjiError`).
    BENJI_BAD_ADDRESS = ("benji_bad_address", ErrorCategory.ADDRESS)
    BENJI_BAD_KEY = ("benji_bad_key", ErrorCategory.AUTHENTICATION)
    BENJI_NOT_FOUND = ("benji_not_found", ErrorCategory.SERVER)
    BENJI_RATE_LIMITED = ("benji_rate_limited", ErrorCategory.RATE_LIMIT)
    BENJI_SERVER_ERROR = ("benji_server_error", ErrorCategory.SERVER)
    BENJI_TIMEOUT = ("benji_timeout", ErrorCategory.CONNECTION)
    BENJI_NETWORK = ("benji_network", ErrorCategory.CONNECTION)
    BENJI_MALFORMED = ("benji_malformed", ErrorCategory.BAD_DATA)

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
        "Halo refused access to invoices.",
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
        "The secret is then asked for each time it is needed (in the window, leave 'Remember the "
        "secret' off; the command line reads HALO_CLIENT_SECRET or asks). To have it remembered, "
        "install and unlock a keyring (GNOME Keyring / KWallet on Linux) and try again.",
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
    ErrorKind.BAD_USAGE: Explanation(
        "The command could not be used as given.",
        "Run it with --help to see what it accepts.",
    ),
    ErrorKind.BENJI_BAD_ADDRESS: Explanation(
        "That is not an address Benji Pays' API can be reached at.",
        "Leave the Benji API address at its default (https://api.benjipays.com/v2); only the "
        "sandbox on this computer may use plain http.",
    ),
    ErrorKind.BENJI_BAD_KEY: Explanation(
        "Benji Pays did not accept the API key.",
        "Copy the merchant API key again from Benji Pays and paste it exactly; if it was "
        "revoked, create a new one there.",
    ),
    ErrorKind.BENJI_NOT_FOUND: Explanation(
        "Benji Pays' API has no such address.",
        "Check the Benji API address (the default is https://api.benjipays.com/v2); nothing "
        "was changed.",
    ),
    ErrorKind.BENJI_RATE_LIMITED: Explanation(
        "Benji Pays' rate limit was reached.",
        "Wait a minute and run the check again; nothing was changed.",
    ),
    ErrorKind.BENJI_SERVER_ERROR: Explanation(
        "Benji Pays reported an error.",
        "Try again in a few minutes; if it persists, contact Benji Pays support. Nothing was "
        "changed.",
    ),
    ErrorKind.BENJI_TIMEOUT: Explanation(
        "Benji Pays did not answer in time.",
        "Check your connection and try again; nothing was changed.",
    ),
    ErrorKind.BENJI_NETWORK: Explanation(
        "Benji Pays could not be reached.",
        "Check your network connection (and any proxy) and try again; nothing was changed.",
    ),
    ErrorKind.BENJI_MALFORMED: Explanation(
        "Benji Pays' answer could not be read.",
        "Try again; if it repeats, check the Benji API address and any proxy between this "
        "computer and Benji Pays.",
    ),
}


def detail_label(category: ErrorCategory | None, *, answered: bool | None = None) -> str:
    """How to introduce an error's detail: Halo's own words are attributed, anything else is not.

    `answered` says whether Halo sent a response (an HTTP status). When it is not known, the
    category decides: address and local findings are ours; the rest is taken to be Halo's.
    """
    if answered is not None:
        return "Halo said" if answered else "Details"
    return (
        "Halo said"
        if category not in (None, ErrorCategory.ADDRESS, ErrorCategory.LOCAL, ErrorCategory.USAGE)
        else "Details"
    )


class PaylinkError(Exception):
    """A failure with a name, a plain-language headline, and the next step for the user.

    The three kinds of failure the product explains share this base: `HaloError` (Halo, or the
    way to it), `LocalError` (this computer: keyring, folders, disk, files) and `UsageError` (how
    the app was asked: options, input). `explain()` turns any of them, or any other exception,
    into what the window's banner and the CLI print.

    Attributes:
        kind: which named outcome this is.
        detail: what the server, the system or a library said, redacted; may be empty.
    """

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(self.summary)

    @property
    def headline(self) -> str:
        return EXPLANATIONS[self.kind].headline

    @property
    def next_step(self) -> str:
        return EXPLANATIONS[self.kind].next_step

    @property
    def detail_label(self) -> str:
        return detail_label(self.kind.category)

    @property
    def summary(self) -> str:
        detail = f" {self.detail_label}: {self.detail}" if self.detail else ""
        return f"{self.headline}{detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind.name}, detail={self.detail!r})"


class HaloError(PaylinkError):
    """A failure in reaching or using Halo: the address, the connection, sign-in, permissions,
    rate limits, Halo's own errors, or data Halo sent that cannot be used.

    Attributes:
        status: the HTTP status when Halo answered.
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
        if kind.category in (ErrorCategory.LOCAL, ErrorCategory.USAGE):
            raise ValueError(f"{kind.name} is not a Halo failure: raise a LocalError or UsageError")
        if kind.code.startswith("benji_"):
            raise ValueError(f"{kind.name} is not a Halo failure: raise a BenjiError")
        self.status = status
        self.retry_after = retry_after
        self.maybe_applied = False
        super().__init__(kind, detail)

    @property
    def detail_label(self) -> str:
        if self.kind.category is ErrorCategory.ADDRESS:
            return "Details"
        return detail_label(self.kind.category, answered=self.status is not None)

    @property
    def summary(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        detail = f" {self.detail_label}: {self.detail}" if self.detail else ""
        return f"{self.headline}{status}{detail}"

    def __repr__(self) -> str:
        return f"HaloError({self.kind.name}, status={self.status}, detail={self.detail!r})"


class BenjiError(PaylinkError):
    """A failure in reaching or using Benji Pays' merchant API (a `BENJI_*` kind).

    Attributes:
        status: the HTTP status when Benji answered.
        retry_after: seconds to wait, for `BENJI_RATE_LIMITED`, when Benji said.
    """

    def __init__(
        self,
        kind: ErrorKind,
        detail: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        if not kind.code.startswith("benji_"):
            raise ValueError(f"{kind.name} is not a Benji Pays failure")
        self.status = status
        self.retry_after = retry_after
        super().__init__(kind, detail)

    @property
    def detail_label(self) -> str:
        return "Benji said" if self.status is not None else "Details"

    summary = HaloError.summary  # the headline, the HTTP status, then the detail: as for Halo

    def __repr__(self) -> str:
        return f"BenjiError({self.kind.name}, status={self.status}, detail={self.detail!r})"


class LocalError(PaylinkError):
    """A failure on this computer: the keyring, a folder or disk, a file the admin chose, the
    saved profiles. Nothing about it comes from Halo."""

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        if kind.category is not ErrorCategory.LOCAL:
            raise ValueError(f"{kind.name} is not a local failure")
        super().__init__(kind, detail)


class UsageError(PaylinkError):
    """The app was asked for something it cannot do as given (options, input, a missing secret).

    Unlike the other kinds, the headline and next step are written where the problem is found.
    """

    def __init__(self, headline: str, next_step: str = "", detail: str = "") -> None:
        self._headline = headline
        self._next_step = next_step
        super().__init__(ErrorKind.BAD_USAGE, detail)

    @property
    def headline(self) -> str:
        return self._headline

    @property
    def next_step(self) -> str:
        return self._next_step


@dataclass(frozen=True)
class Explained:
    """What the window's banner and the CLI show for a failure.

    Attributes:
        headline: one sentence: what went wrong.
        next_step: what to do about it; may be empty.
        detail: the detail with its label (`Halo said: ...` or `Details: ...`); may be empty.
        kind: the named outcome, or None for an unexpected error.
    """

    headline: str
    next_step: str
    detail: str
    kind: ErrorKind | None


UNEXPECTED = Explanation(
    "Something went wrong.",
    "Try again; if it happens again, the app's log file has the details to report.",
)


def explain(error: BaseException) -> Explained:
    """The one explanation of any failure, for the window and the CLI alike."""
    from halo_paylink.redact import redact

    if isinstance(error, PaylinkError):
        detail = f"{error.detail_label}: {redact(error.detail)}" if error.detail else ""
        return Explained(error.headline, error.next_step, detail, error.kind)
    text = redact(str(error)) or type(error).__name__
    return Explained(UNEXPECTED.headline, UNEXPECTED.next_step, f"Details: {text}", None)
