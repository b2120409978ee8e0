"""Bad input refused the way Halo's API (ASP.NET Core model binding) refuses it: the validation
problem answer, a write's body that must be a JSON array, query parameters that must parse, and
the JSON type each invoice field of a write must have.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from halo_paylink.sandbox.http import Request, Response, json_response, text_response
from halo_paylink.sandbox.stamps import parse_instant


def problem(errors: Mapping[str, str]) -> Response:
    """ASP.NET Core's validation problem shape, which Halo's API answers bad input with."""
    return json_response(
        400,
        {
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {k: [v] for k, v in errors.items()},
        },
    )


def read_json_array(request: Request, what: str) -> list[Any] | Response:
    """The body's JSON array; or Halo's answer refusing another media type or shape."""
    media_type = request.media_type
    if media_type not in ("application/json", "text/json") and not media_type.endswith("+json"):
        return text_response(415, "Unsupported Media Type")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return problem({"$": f"The JSON value could not be read: {exc}"})
    if not isinstance(data, list):
        return problem({"$": f"The request body must be a JSON array of {what} objects."})
    return data


class BadParam(Exception):
    """A query parameter that does not parse (answered with `problem`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _not_valid(name: str, value: str) -> BadParam:
    return BadParam(name, f"The value '{value}' is not valid for {name}.")


def bool_param(params: Mapping[str, str], name: str) -> bool | None:
    """True for "true" and False for "false" (in any case); None when absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise _not_valid(name, value)


def int_param(params: Mapping[str, str], name: str) -> int | None:
    """A whole number; None when absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise _not_valid(name, value) from None


def ints_param(params: Mapping[str, str], name: str) -> frozenset[int] | None:
    """Comma-separated whole numbers (empty parts skipped); None when absent or blank."""
    value = params.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise _not_valid(name, value) from None


def date_param(params: Mapping[str, str], name: str) -> dt.datetime | None:
    """An ISO date or date-time (UTC when it has no offset) as a naive UTC datetime; None when
    absent or empty."""
    value = params.get(name)
    if value is None or value.strip() == "":
        return None
    moment = parse_instant(value)
    if moment is None:
        raise _not_valid(name, value)
    return moment


# --- invoice fields ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    """What a sent field's value must be, and the error for one that is not (`{name}` = the
    field's name)."""

    accepts: Callable[[object], bool]
    message: str


def _text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _boolean(value: object) -> bool:
    return isinstance(value, bool)


def _nullable_boolean(value: object) -> bool:
    return value is None or isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _nullable_whole(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _custom_fields(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(cf, dict) and ("name" in cf or "id" in cf) for cf in value
    )


def _lines(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(line, dict) for line in value)


def _not_converted(dotnet_type: str) -> str:
    return f"The JSON value could not be converted to System.{dotnet_type} ({{name}})."


_STRING = FieldRule(_text, _not_converted("String"))
_BOOLEAN = FieldRule(_nullable_boolean, _not_converted("Boolean"))
_DOUBLE = FieldRule(_number, _not_converted("Double"))  # null is refused too
_INT32 = FieldRule(_nullable_whole, _not_converted("Int32"))

#: The rule for each invoice field a write may send; fields not listed are not checked.
FIELD_RULES: Mapping[str, FieldRule] = {
    "invoicenumber": _STRING,
    "thirdpartyinvoicenumber": _STRING,
    "invoice_date": _STRING,
    "duedate": _STRING,
    "currency": _STRING,
    "xeroid": _STRING,
    "generic_online_invoice_payment_url": _STRING,
    "xero_online_invoice_payment_url": _STRING,
    "posted": _BOOLEAN,
    "voided": _BOOLEAN,
    "total": _DOUBLE,
    "amountpaid": _DOUBLE,
    "client_id": _INT32,
    "paymentstatus": _INT32,
    "invoicetype": _INT32,
    "qboid": _INT32,
    "pdf_attachment_id": _INT32,
    "customfields": FieldRule(
        _custom_fields, "customfields must be a list of objects with a name or id."
    ),
    "lines": FieldRule(_lines, "lines must be a list of line objects."),
    "_validateonly": FieldRule(_boolean, _not_converted("Boolean")),
}


def field_errors(item: Mapping[str, object], index: int) -> dict[str, str]:
    """Type errors in the sent fields of element `index`, as ASP.NET would report them when
    binding the body (by "[index].field")."""
    errors: dict[str, str] = {}
    for name, value in item.items():
        rule = FIELD_RULES.get(name)
        if rule is not None and not rule.accepts(value):
            errors[f"[{index}].{name}"] = rule.message.format(name=name)
    return errors
