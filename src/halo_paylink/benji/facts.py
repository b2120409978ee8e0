"""What is known about Benji Pays' merchant API, in one place.

Every fact here comes from Benji Pays' developer reference and has never been exercised against the
real service: the paths and the header are documented (D), the field names of the answers are
unverified (U). Correcting one is a one-line change here; the checks, the CLI and the window say
when a result rests on them (`UNVERIFIED_NOTE`).
"""

from __future__ import annotations

#: The API's base address (D). The sandbox on this computer replaces it.
DEFAULT_BASE_URL = "https://api.benjipays.com/v2"

#: The header the merchant's API key travels in (D).
API_KEY_HEADER = "x-api-key"

#: The merchant's settings (D).
SETTINGS_PATH = "/settings"

#: One invoice by the accounting tool's invoice number; 404 when Benji does not know it (D).
INVOICE_PATH = "/invoices/{number}"

# --- Field names of `GET /settings` (all U) ---------------------------------------------------
# Each is a tuple of the names tried, first match wins; the first one is what the sandbox serves.

#: The customer portal's short name, as in `https://www.benjipays.com/portal/{name}/...` (U).
#: Generic names ("name", "url") are left out on purpose: they may hold the merchant's display name
#: or a minted, expiring pay link.
PORTAL_NAME_FIELDS: tuple[str, ...] = ("portalName", "customerPortalName", "portal_name")
#: The customer portal's full address (U).
PORTAL_URL_FIELDS: tuple[str, ...] = ("portalUrl", "customerPortalUrl", "portal_url")
#: The merchant's own domain for the portal, when one is set up (the name is documented; U).
CUSTOM_DOMAIN_FIELDS: tuple[str, ...] = ("customDomain", "custom_domain")
#: "Require transaction amount to match the invoice total" (the name is documented; U).
PAY_NOW_AMOUNT_REQUIRED_FIELDS: tuple[str, ...] = (
    "payNowAmountRequired",
    "pay_now_amount_required",
)
#: "Do not allow payment to be made if the invoice is not found" (the name is documented; U).
DISABLE_GENERIC_LINK_FIELDS: tuple[str, ...] = (
    "disableGenericPaymentLink",
    "disable_generic_payment_link",
)
#: Envelopes an answer may be wrapped in; the object inside is read when present (U).
ENVELOPE_FIELDS: tuple[str, ...] = ("data", "settings", "result")

# --- The pay-now link built from the settings (U) ---------------------------------------------
#: The pay-now link on Benji's own host, by portal name (the link shape is U).
PORTAL_LINK = "https://www.benjipays.com/portal/{portal}/pay/?InvoiceNumber={placeholder}"
#: The path and query added to a portal address or a custom domain (U).
PAY_PATH = "/pay/?InvoiceNumber={placeholder}"

#: Said beside every result that rests on the facts above.
UNVERIFIED_NOTE = (
    "Benji Pays' answer is read with field names from its developer reference that have not been "
    "checked against the real service; if a result looks wrong, compare it with Benji Pays' own "
    "settings page."
)

#: What the number check leans on: that Benji's invoice look-up answers 404 for an unknown
#: number and 200 for a known one (documented, never exercised).
LOOKUP_NOTE = (
    "Benji's invoice look-up (404 = unknown number) is documented but has not been checked "
    "against the real service."
)

#: Links Benji mints through its API (`POST /payment-links/...`) expire after about an hour (D).
#: They are never requested and never stored in Halo: the link written is built from the
#: settings' portal name or domain only.
MINTED_LINKS_EXPIRE = True
