"""Every Halo fact we rely on but could not verify, in one place.

Each unverified (U) fact of the Halo API lives here as one constant, so that correcting it is a
one-line change. The UI says when a check rests on one of these (see `UNVERIFIED_NOTES`).
"""

from __future__ import annotations

# --- Token endpoint ------------------------------------------------------------------------------
#: Scopes we ask for. Always sent: a token issued without `scope` has been reported to get 401s.
REQUESTED_SCOPES: tuple[str, ...] = ("read:invoices", "edit:invoices")

#: (U) A wrong `?tenant=` has been seen to answer HTTP 500 at the token endpoint.
WRONG_TENANT_TOKEN_STATUSES: frozenset[int] = frozenset({500})

#: (U) OpenIddict's wording for an unknown client id (vs a wrong secret; both are 401
#: invalid_client).
UNKNOWN_CLIENT_ID_MARKERS: tuple[str, ...] = ("client_id", "client application was not found")

#: (U) OpenIddict's wording when the application may not use a requested scope (HTTP 400).
SCOPE_NOT_ALLOWED_ERRORS: frozenset[str] = frozenset({"invalid_request", "invalid_scope"})
SCOPE_NOT_ALLOWED_MARKERS: tuple[str, ...] = ("scope",)

#: Refresh a cached token this many seconds before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60.0

# --- Invoice listing -----------------------------------------------------------------------------
#: (U) The largest page size Halo honours. We ask for this and read back what the server used.
REQUESTED_PAGE_SIZE = 100

#: How many pages of the invoice list are asked for at once, once the first page has said how
#: many rows there are and how large Halo makes a page (see `HaloClient.invoice_pages`); 1 reads
#: them one after another. A list as long as announced costs not one request more; a page that
#: ends it early leaves at most this many less one pages asked for beyond the end (cancelled).
LISTING_PAGES_AT_ONCE = 4

#: (V parameters) List order for paging that can be checked: by id, newest first. Halo pages by
#: offset, so a row deleted before the offset shifts later rows back (one would be missed), and a
#: new invoice, which gets the highest id, lands at the front and shifts rows forward (one is
#: listed twice). Newest first, a deletion without a creation changes `record_count`, a creation
#: repeats a row, and a deletion plus a creation cancel out without hiding any older invoice; in
#: id order oldest first, that pair would hide one invoice behind an unchanged count.
LISTING_ORDER: dict[str, str] = {"order": "id", "orderdesc": "true"}

#: How many times one attempt reads the whole listing when it does not add up (rows shifted,
#: repeated or missing between page reads) before it ends as "incomplete". Each extra read costs
#: one request per page, so this stays small under hosted Halo's request budget.
MAX_LISTING_PASSES = 3

#: (V) Halo's own web UI asks for unpaid invoices with these parameters. Not used to list
#: invoices: the codes differ per tenant (see core.backfill.tenant), and an open invoice with
#: another code would be left out.
UNPAID_INVOICE_FILTER: dict[str, str] = {
    "paymentstatuses": "0,-1",
    "includeinvoices": "true",
    "includecredits": "false",
}

#: (V parameters) Filters that can never hide an open invoice: an open invoice is posted and is
#: not a credit. A build that ignores them returns more rows, which are then decided as usual.
SAFE_LISTING_FILTERS: dict[str, str] = {
    "postedonly": "true",
    "includeinvoices": "true",
    "includecredits": "false",
}

#: (U) `paymentstatus` codes a census asks about by default besides those learned on the tenant
#: (see core.backfill.census): -1 (never synced) and 0 (unpaid) are known; the rest are guesses,
#: and a tenant with other codes is found out because the counts do not add up.
CANDIDATE_PAYMENT_STATUSES: tuple[int, ...] = (-1, 0, 1, 2, 3, 4)

#: (U) A narrowed read (see core.backfill.census) reads the left-out codes' invoices changed since
#: their proof with `datesearch=last_modified`; that second net rests on every payment or refund
#: moving an invoice's `last_modified`, which is not known. The narrowed read is on by default
#: (`RunOptions.narrow`) unless the tenant was seen to leave a change out of `last_modified`
#: (core.backfill.tenant.ChangeWitness).
NARROWED_READ_RESTS_ON = "a payment or refund moves the invoice's last_modified"

#: A list shorter than this is read whole: a census (see core.backfill.census) costs about ten
#: requests, which only pays off when it can leave many pages unread.
NARROW_FROM_INVOICES = 2000

#: The safety net under a read narrowed to the statuses not proven paid: at least this often, a
#: run reads every posted invoice again, relearns what each code means, and names any code that
#: was taken as paid while invoices with it had something due.
FULL_READ_EVERY_DAYS = 30

#: (U) An incremental run (`RunOptions.incremental`, see core.backfill.learning) reads only the
#: invoices changed since the last completed run (`datesearch=last_modified`); it rests on every
#: change that can make an invoice need a link (created, posted, synced, a payment undone, a
#: link removed) moving its `last_modified`, which is not known. So it is off by default until
#: the tenant has shown it (core.backfill.tenant.ChangeWitness, `MIN_CHANGE_SAMPLES`).
INCREMENTAL_RESTS_ON = (
    "every change that can make an invoice need a link (created, posted, synced to the "
    "accounting tool, a payment undone, the link removed) moves its last_modified"
)

#: Reading only what changed is trusted on a tenant once reads after completed runs found at
#: least this many invoices older than the run before needing the link, each changed more than
#: `INCREMENTAL_MARGIN_DAYS` after that run ended (see core.backfill.tenant.ChangeWitness); one
#: needing it without a change since that run measures the fact false.
MIN_CHANGE_SAMPLES = 5

#: The incremental read starts this many days before the last completed run started: Halo may
#: read `start_date` as a date in its own time zone, and a clock may be off.
INCREMENTAL_MARGIN_DAYS = 1

#: The safety net under narrowed and incremental runs: after this many completed runs in a row
#: that read only part of the list, or `FULL_READ_EVERY_DAYS` after the last full read, a run
#: reads every posted invoice again.
FULL_READ_EVERY_RUNS = 10

#: A code held by at least this many invoices, with no proof yet, is sampled (one page, newest
#: first): when every sampled invoice is fully paid, the code is proven paid on this tenant.
SAMPLE_FROM_INVOICES = 200

#: (U) `paymentstatus` codes: 0 = unpaid and -1 appear in Halo's unpaid filter; part-paid is
#: unknown, so it is never decided on alone (see core.backfill.selection).
UNPAID_PAYMENT_STATUSES: frozenset[int] = frozenset({0, -1})

#: A `paymentstatus` code counts as proven paid on a tenant only after this many invoices read
#: with it were all fully paid (see core.backfill.tenant); fewer samples prove nothing.
MIN_STATUS_SAMPLES = 20

# --- Invoice updates -----------------------------------------------------------------------------
#: (U) Whether `_validateonly: true` on `POST /Invoice` really validates without saving is not
#: known. The edit check relies on it (it never writes an invoice to find out) and says so with
#: `UNVERIFIED_NOTES["validate_only"]`.

#: (U) How many invoices the first `POST /Invoice` of a run carries (Halo accepts arrays; its
#: limit is unknown). Later batches grow toward `MAX_UPDATE_BATCH_SIZE` while Halo answers quickly
#: (see core.backfill.batching).
UPDATE_BATCH_SIZE = 50

#: (D) The most invoices one `POST /Invoice` carries: HaloAPI batches 100 objects per POST.
MAX_UPDATE_BATCH_SIZE = 100

#: (U) A batch answered within this many seconds counts as quick, so the next one may be larger.
QUICK_WRITE_SECONDS = 5.0

#: (V) The invoice field for a generic online payment link (the backfill's default target).
DEFAULT_LINK_FIELD = "generic_online_invoice_payment_url"

#: (V) Text Halo uses when editing posted invoices is forbidden (`donotalloweditingpostedinvoices`).
POSTED_EDIT_FORBIDDEN_MARKERS: tuple[str, ...] = ("posted",)

# --- Rate limits ---------------------------------------------------------------------------------
#: (V) Hosted Halo: 300 requests per rolling 5-minute window.
HOSTED_RATE_LIMIT_REQUESTS = 300
HOSTED_RATE_LIMIT_WINDOW_SECONDS = 300.0

#: (U) Whether Halo sends Retry-After is unknown; without it we wait at least this long after a 429
#: (a 5 s retry loop is known to fail against hosted Halo).
RATE_LIMIT_FALLBACK_WAIT_SECONDS = 30.0

# --- Email template variables --------------------------------------------------------------------
#: (U) `$INVOICEID` is Halo's own invoice number; our model: the invoice's `id` field.
HALO_NUMBER_VARIABLE = "$INVOICEID"
HALO_NUMBER_FIELD = "id"
#: (D) The accounting tool's number once synced.
ACCOUNTING_NUMBER_VARIABLE = "$THIRDPARTYINVOICENUMBER"
ACCOUNTING_NUMBER_FIELD = "thirdpartyinvoicenumber"

#: (U) Benji Pays link hosts we know; another https host gets a warning, not a refusal.
BENJI_HOSTS: tuple[str, ...] = ("www.benjipays.com", "benjipays.com")
BENJI_HOST_SUFFIX = ".benjipays.com"
BENJI_PLACEHOLDER = "[Invoice No.]"

# --- Email templates and custom buttons (the optional admin steps) -------------------------------
#: (U) The scope `EmailTemplate` and `CustomButton` need: a client known to work used `all`; our
#: model is `admin`. Asked for only when the admin opts in, in a token of its own, so a refusal
#: never costs the invoice token.
TEMPLATE_SCOPE = "admin"

#: (U) The agent right that lets the application's agent edit email templates (on `Agent/me`).
TEMPLATE_AGENT_RIGHT = "ac_emailtemplates"

#: (U) The template field that holds the email's subject line; `body_html` and `body_text` (V)
#: are the bodies.
TEMPLATE_SUBJECT_FIELD = "header_text"

#: (D) The template Halo's Benji Pays guide puts the Pay link in.
INVOICE_EMAIL_TEMPLATE = "Invoice Email Subject"

#: (V) `CustomButton.usage` for a button on the client (company) record.
CLIENT_BUTTON_USAGE = 2

#: (V) The longest `CustomButton.url` Halo stores.
CUSTOM_BUTTON_URL_MAX = 500

#: Plain-language notes the UI shows next to a result that rests on an unverified fact.
UNVERIFIED_NOTES: dict[str, str] = {
    "validate_only": (
        "Halo documents a validate-only flag for invoice updates, but its behaviour is unverified: "
        "this check asks Halo to validate an edit without saving it."
    ),
    "wrong_tenant": "Halo has been seen to answer a wrong tenant with a server error (HTTP 500).",
    "page_size": (
        "The largest page Halo serves is unverified; we ask for 100 and follow what it returns."
    ),
    "invoiceid": "$INVOICEID is taken to be Halo's own invoice number (the invoice id).",
    "portal_invoice_url": (
        "The customer portal's address for one invoice is a model (the built-in sandbox's); if it "
        "does not open, find the invoice in the portal's list of invoices."
    ),
    "link_field": (
        "Whether Halo's customer portal shows generic_online_invoice_payment_url as its Pay button "
        "is unverified; a custom field can be chosen instead."
    ),
    "template_scope": (
        "Which permission Halo wants for email templates and custom buttons is unverified: "
        "we ask for 'admin'."
    ),
    "template_subject": (
        "That header_text is the email's subject is unverified; the assistant leaves it as it is."
    ),
}

#: (U) The customer portal's page for one invoice, below Halo's web address (the sandbox's model;
#: the pilot links to it and says it rests on a model).
PORTAL_INVOICE_PATH = "/portal/invoice/{invoice_id}"


def portal_invoice_url(web_url: str, invoice_id: int) -> str:
    """Where the admin sees invoice `invoice_id` as a customer does (U: `PORTAL_INVOICE_PATH`)."""
    return web_url.rstrip("/") + PORTAL_INVOICE_PATH.format(invoice_id=invoice_id)


# --- Client ---------------------------------------------------------------------------------------
#: (V) Hosted Halo lives on `{tenant}.<one of these>`.
HOSTED_DOMAINS: tuple[str, ...] = ("halopsa.com", "haloitsm.com")

#: (V) Success responses carry `expires_in`; this is used only when Halo leaves it out.
DEFAULT_TOKEN_TTL_SECONDS = 3600.0

#: (V, live report) `edit:AREA` includes `read:AREA`: a token granted `edit:invoices` may read
#: invoices. Used through `halo.scopes`.
EDIT_IMPLIES_READ = True

#: Scopes that include every `read:`/`edit:` area scope (used through `halo.scopes`). `all` is
#: what working clients use for everything; (U) that `all:standard` includes invoices.
BROAD_SCOPES: frozenset[str] = frozenset({"all", "all:standard"})

#: (U) OAuth errors meaning the API application is not a client-credentials ("Client ID and
#: Secret (Services)") application.
WRONG_GRANT_ERRORS: frozenset[str] = frozenset({"unauthorized_client", "unsupported_grant_type"})

#: A Retry-After longer than this is clamped (a broken header must not stall a run for hours).
RETRY_AFTER_MAX_SECONDS = 900.0
