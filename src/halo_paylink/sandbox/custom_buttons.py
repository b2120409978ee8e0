"""`/api/CustomButton`: Halo's custom buttons (list, create, read one, delete).

`POST` takes a JSON array; an element without an id creates a button, one with an id updates it.
Halo stores `url` in at most `facts.CUSTOM_BUTTON_URL_MAX` characters: a longer one refuses the
whole POST with a validation problem, before anything is saved; so does a `usage` that is not a
whole number or a button without a name. Same scope rule as the email templates.

Not thread-safe: used under the sandbox's state lock.
"""

from __future__ import annotations

import copy
from typing import Any

from halo_paylink.halo import facts
from halo_paylink.sandbox.http import Request, Response, json_response, text_response
from halo_paylink.sandbox.validation import problem, read_json_array

_FIELDS = ("usage", "name", "label", "url", "newtab", "seq", "icon")


def seed_custom_buttons() -> dict[int, dict[str, Any]]:
    """Buttons a sandbox starts with: one on tickets, one on assets (no client button yet)."""
    return {
        1: {
            "id": 1,
            "usage": 1,
            "name": "Open in RMM",
            "label": "RMM",
            "url": "https://rmm.example.com/device/$ASSETID",
            "newtab": True,
            "seq": 1,
        },
        4: {
            "id": 4,
            "usage": 3,
            "name": "Warranty",
            "label": "Warranty",
            "url": "https://warranty.example.com/?serial=$SERIALNUMBER",
            "newtab": True,
            "seq": 2,
        },
    }


def _problems(index: int, item: dict[str, Any], creating: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    url = item.get("url")
    if url is not None and not isinstance(url, str):
        errors[f"[{index}].url"] = "The value is not a valid string."
    elif isinstance(url, str) and len(url) > facts.CUSTOM_BUTTON_URL_MAX:
        errors[f"[{index}].url"] = (
            "The field url must be a string or array type with a maximum length of "
            f"'{facts.CUSTOM_BUTTON_URL_MAX}'."
        )
    usage = item.get("usage")
    if usage is not None and (type(usage) is not int):
        errors[f"[{index}].usage"] = "The JSON value could not be converted to System.Int32."
    if creating and not str(item.get("name") or "").strip():
        errors[f"[{index}].name"] = "The name field is required."
    return errors


class CustomButtons:
    """The button store and its endpoints.

    Attributes:
        records: buttons by id.
        created: ids created through the API (for tests).
    """

    def __init__(self) -> None:
        self.records = seed_custom_buttons()
        self.created: list[int] = []
        self._next_id = max(self.records) + 1

    def answer_list(self) -> Response:
        return json_response(200, [copy.deepcopy(r) for r in self.records.values()])

    def _find(self, raw_id: str) -> dict[str, Any] | None:
        return self.records.get(int(raw_id)) if raw_id.lstrip("-").isdigit() else None

    def answer_get(self, raw_id: str) -> Response:
        record = self._find(raw_id)
        if record is None:
            return text_response(404, "Not Found")
        return json_response(200, copy.deepcopy(record))

    def answer_delete(self, raw_id: str) -> Response:
        record = self._find(raw_id)
        if record is None:
            return json_response(404, {"error": f"Custom button {raw_id} was not found."})
        del self.records[record["id"]]
        return Response(200)

    def answer_post(self, request: Request) -> Response:
        items = read_json_array(request, "custom button")
        if isinstance(items, Response):
            return items
        errors: dict[str, str] = {}
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                errors[f"[{index}]"] = "Each element must be a custom button object."
                continue
            bid = item.get("id")
            if bid is not None and (type(bid) is not int or bid not in self.records):
                errors[f"[{index}].id"] = f"Custom button {bid!r} was not found."
            errors.update(_problems(index, item, creating=bid is None))
        if errors:
            return problem(errors)
        saved = [self._save(item) for item in items]
        return json_response(201, saved[0] if saved else {})

    def _save(self, item: dict[str, Any]) -> dict[str, Any]:
        bid = item.get("id")
        if bid is None:
            bid, self._next_id = self._next_id, self._next_id + 1
            self.records[bid] = {"id": bid, "usage": 0, "newtab": True, "seq": 0}
            self.created.append(bid)
        record = self.records[bid]
        record.update({k: item[k] for k in _FIELDS if k in item})
        return copy.deepcopy(record)
