"""`GET /api/Invoice` and `GET /api/Invoice/{id}`: which invoices a listing returns and in what
order, and how it is served: in pages (`pageinate=true`, silently capped at the largest page
size, disturbed by the listing faults in force) or unpaginated (silently cut at `count` rows).
Every invoice served carries its stamps (`last_modified`, `last_synced`).

A build that does not know the newer filters (`SandboxConfig.honours_new_filters` False) does
not read them at all: a bad value is not refused and the listing is not narrowed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from halo_paylink.sandbox.http import Response, json_response, text_response
from halo_paylink.sandbox.listing_faults import ListingDisturbances
from halo_paylink.sandbox.records import UNINDEXED_FIELDS, Invoice
from halo_paylink.sandbox.stamps import STAMP_FIELDS, parse_instant
from halo_paylink.sandbox.state import SandboxConfig, SandboxStats
from halo_paylink.sandbox.store import InvoiceStore
from halo_paylink.sandbox.validation import (
    BadParam,
    bool_param,
    date_param,
    int_param,
    ints_param,
    problem,
)

#: Cached listings kept at most; past this the cache starts over.
_MAX_CACHED_LISTINGS = 32

#: Fields the `search` parameter looks in.
_SEARCHED_FIELDS = ("invoicenumber", "thirdpartyinvoicenumber", "client_name")

#: The query parameters a build without the newer filters does not know (see the module).
NEW_FILTER_PARAMS = frozenset(
    {
        "datesearch",
        "start_date",
        "end_date",
        "paymentstatuses",
        "postedonly",
        "includeinvoices",
        "includecredits",
    }
)

#: The fields `datesearch` may name (U: Halo knows more; the sandbox refuses any other, strictly).
DATESEARCH_FIELDS = ("invoice_date", "duedate", "last_modified")

_Check = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class DateRange:
    """`datesearch=FIELD&start_date=…&end_date=…`: the invoices whose FIELD lies between the two
    instants, both included (a date alone is its midnight, UTC); one with no readable FIELD is
    never in range."""

    field: str
    start: dt.datetime | None
    end: dt.datetime | None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> DateRange | None:
        start = date_param(params, "start_date")
        end = date_param(params, "end_date")
        name = (params.get("datesearch") or "").strip()
        if not name:
            return None  # bounds without a field to apply them to narrow nothing (U)
        if name.lower() not in DATESEARCH_FIELDS:
            raise BadParam("datesearch", f"The value '{name}' is not valid for datesearch.")
        if start is None and end is None:
            return None
        return cls(name.lower(), start, end)

    def holds(self, value: object) -> bool:
        moment = parse_instant(value)
        if moment is None:
            return False
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


@dataclass(frozen=True)
class InvoiceFilter:
    """Which invoices a listing returns (each field one query parameter; None = not sent)."""

    paymentstatuses: frozenset[int] | None = None
    includeinvoices: bool | None = None
    includecredits: bool | None = None
    postedonly: bool = False
    notpostedonly: bool = False
    client_id: int | None = None
    exclude_voided: bool = False
    search: str = ""
    dates: DateRange | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, new_filters: bool = True) -> InvoiceFilter:
        """The filter the query asks for; without `new_filters`, the newer parameters are not
        read (as by a build that does not know them)."""
        if not new_filters:
            params = {k: v for k, v in params.items() if k not in NEW_FILTER_PARAMS}
        return cls(
            ints_param(params, "paymentstatuses"),
            bool_param(params, "includeinvoices"),
            bool_param(params, "includecredits"),
            bool_param(params, "postedonly") or False,
            bool_param(params, "notpostedonly") or False,
            int_param(params, "client_id"),
            bool_param(params, "exclude_voided") or False,
            (params.get("search") or "").strip().lower(),
            DateRange.from_params(params),
        )

    @property
    def stamped(self) -> bool:
        """Whether it filters by a stamp field (which changes without marking the store)."""
        return self.dates is not None and self.dates.field in STAMP_FIELDS

    def checks(self) -> Iterator[_Check]:
        """One test per filter in force; an invoice is listed when it passes them all."""
        if self.paymentstatuses is not None:
            statuses = self.paymentstatuses
            yield lambda inv: inv.get("paymentstatus") in statuses
        if self.includeinvoices is False or self.includecredits is False:
            # Neither flag sent = both kinds; one sent = that kind as asked, the other as default.
            invoices = self.includeinvoices is not False
            credits = self.includecredits is not False
            yield lambda inv: credits if _is_credit(inv) else invoices
        if self.postedonly:
            yield lambda inv: bool(inv.get("posted"))
        if self.notpostedonly:
            yield lambda inv: not inv.get("posted")
        if self.client_id is not None:
            client_id = self.client_id
            yield lambda inv: inv.get("client_id") == client_id
        if self.exclude_voided:
            yield lambda inv: not inv.get("voided")
        if self.search:
            search = self.search
            yield lambda inv: any(search in str(inv.get(f) or "").lower() for f in _SEARCHED_FIELDS)


def _is_credit(invoice: Mapping[str, Any]) -> bool:
    total = invoice.get("total")
    return isinstance(total, int | float) and total < 0


def _sort_key(value: object) -> tuple[int, Any]:
    """A total order over any JSON value: numbers, then text, then anything else, then null."""
    if value is None:
        return (3, 0)
    if isinstance(value, bool | int | float) and value == value:
        return (0, float(value))
    if isinstance(value, str):
        return (1, value.lower())
    return (2, json.dumps(value, default=str))


class InvoiceListing:
    """Answers the invoice reads (under the state lock)."""

    def __init__(
        self,
        store: InvoiceStore,
        disturbances: ListingDisturbances,
        config: SandboxConfig,
        stats: SandboxStats,
    ) -> None:
        self._store = store
        self._disturbances = disturbances
        self._config = config
        self._stats = stats

    def answer_list(self, params: Mapping[str, str]) -> Response:
        try:
            return json_response(200, self._envelope(params))
        except BadParam as bad:
            return problem({bad.name: bad.message})

    def answer_get(self, tail: str) -> Response:
        try:
            invoice_id = int(tail)
        except ValueError:
            return text_response(404, "Not Found")
        if self._store.stored(invoice_id) is None:
            return text_response(404, f"Invoice {invoice_id} not found.")
        return json_response(200, self._store.served(invoice_id))

    def _envelope(self, params: Mapping[str, str]) -> dict[str, object]:
        pageinate = bool_param(params, "pageinate") or False
        selection = InvoiceFilter.from_params(params, new_filters=self._config.honours_new_filters)
        order = (params.get("order") or "").strip().lower()
        orderdesc = bool_param(params, "orderdesc") or False
        includelines = bool_param(params, "includelines") or False
        ids = self.matching_ids(selection, order, orderdesc)
        if pageinate:
            return self._page(ids, params, includelines)
        count = int_param(params, "count")
        if count is None or count < 0:
            count = self._config.unpaginated_count
        # Like Halo: an unpaginated list silently stops at `count` rows.
        return {
            "record_count": len(ids),
            "invoices": [self._row(i, includelines) for i in ids[:count]],
        }

    def _page(
        self, ids: list[int], params: Mapping[str, str], includelines: bool
    ) -> dict[str, object]:
        asked, page_no = _page_numbers(params, self._config.default_page_size)
        page_size = min(asked, self._config.max_page_size)
        rows, record_count, blank = self._disturbances.disturbed(ids, page_no, page_size)
        start = (page_no - 1) * page_size
        chosen = [] if blank else rows[start : start + page_size]
        envelope: dict[str, object] = {"page_no": page_no}
        echoed = {"served": page_size, "requested": asked}.get(self._config.page_size_echo)
        if echoed is not None:
            envelope["page_size"] = echoed
        envelope["record_count"] = record_count
        envelope["invoices"] = [self._row(i, includelines) for i in chosen]
        with self._stats.lock:
            self._stats.listing_pages += 1
        self._disturbances.shift_after(
            self._store, ids, page_no, page_size, self._config.status_codes.paid
        )
        return envelope

    def _row(self, invoice_id: int, includelines: bool) -> Invoice:
        return self._store.served(invoice_id, lines=includelines)

    def matching_ids(self, selection: InvoiceFilter, order: str, orderdesc: bool) -> list[int]:
        """The store keys a listing returns, in order (cached until the store changes, unless
        the order is by a field writes change without marking the store changed; a listing by
        a stamp field is cached until a stamp changes)."""
        stamped = selection.stamped or order in STAMP_FIELDS
        key = (selection, order, orderdesc, self._store.stamp_version if stamped else None)
        cacheable = order not in UNINDEXED_FIELDS
        cached = self._store.listings.get(key) if cacheable else None
        if cached is not None:
            return cached
        invoices = self._store.invoices
        result = list(invoices)
        for check in selection.checks():
            result = [i for i in result if check(invoices[i])]
        dates = selection.dates
        if dates is not None:
            result = [i for i in result if dates.holds(self._store.value(i, dates.field))]
        result.sort()
        self._order(result, order, orderdesc)
        if cacheable:
            if len(self._store.listings) > _MAX_CACHED_LISTINGS:
                self._store.listings.clear()
            self._store.listings[key] = result
        return result

    def _order(self, ids: list[int], order: str, orderdesc: bool) -> None:
        """Sort `ids` (in ascending key order) as `order` asks; an unknown field leaves them."""
        invoices = self._store.invoices
        if order in ("", "id"):
            # The database id (the storage key), whatever an odd record's "id" field holds.
            if orderdesc:
                ids.reverse()
        elif order in STAMP_FIELDS:
            ids.sort(key=lambda i: _sort_key(self._store.value(i, order)), reverse=orderdesc)
        elif invoices and order in next(iter(invoices.values())):
            ids.sort(key=lambda i: _sort_key(invoices[i].get(order)), reverse=orderdesc)


def _page_numbers(params: Mapping[str, str], default_page_size: int) -> tuple[int, int]:
    """(page size asked, page number) of a paginated listing, defaults filled in."""
    page_size = int_param(params, "page_size")
    page_no = int_param(params, "page_no")
    if page_size is None:
        page_size = default_page_size
    if page_no is None:
        page_no = 1
    if page_size < 1:
        raise BadParam("page_size", "page_size must be at least 1.")
    if page_no < 1:
        raise BadParam("page_no", "page_no must be at least 1.")
    return page_size, page_no
