"""`/api/EmailTemplate`: Halo's email templates, seeded the way a new Halo has them.

Halo's own templates have negative ids; the 'Invoice Email Subject' template the Benji Pays guide
edits has an HTML body and a plain-text body with Halo's `$`-variables. `POST` takes a JSON array
(a bare object is refused with 400, like every Halo update): an element with an id updates only
the fields it sends; one without an id creates a template (the client never sends one); an id
that names no template refuses the whole POST, before anything is saved.

Scope: every route needs `facts.TEMPLATE_SCOPE` (the sandbox's model of the unverified fact); a
token without it is refused as `SandboxConfig.admin_refusal` says. An application whose agent
lacks the email-template right (`EmailTemplates.without_right`) may read but not save.

Not thread-safe: used under the sandbox's state lock.
"""

from __future__ import annotations

import copy
from typing import Any

from halo_paylink.sandbox.http import Request, Response, json_response, text_response
from halo_paylink.sandbox.validation import problem, read_json_array

#: The fields a template update may change; any other sent field is ignored.
TEXT_FIELDS = ("name", "description", "header_text", "body_html", "body_text")

INVOICE_TEMPLATE_ID = -12

_INVOICE_HTML = (
    "<html><body>\r\n<p>Dear $CLIENTNAME,</p>\r\n"
    "<p>Please find attached invoice <b>$INVOICENUMBER</b> for $INVOICETOTAL, "
    "due on $DUEDATE.</p>\r\n"
    "<p>Thank you for your business.</p>\r\n<p>Kind regards,<br>$AGENTNAME</p>\r\n"
    "</body></html>"
)
_INVOICE_TEXT = (
    "Dear $CLIENTNAME,\r\n\r\nPlease find attached invoice $INVOICENUMBER for $INVOICETOTAL, "
    "due on $DUEDATE.\r\n\r\nThank you for your business.\r\n\r\nKind regards,\r\n$AGENTNAME"
)


def _template(tid: int, name: str, subject: str, html: str, text: str) -> dict[str, Any]:
    return {
        "id": tid,
        "name": name,
        "description": "",
        "header_text": subject,
        "body_html": html,
        "body_text": text,
        "use_html": bool(html),
    }


def seed_email_templates() -> dict[int, dict[str, Any]]:
    """The templates a sandbox starts with, by id (system ones negative)."""
    rows = [
        _template(
            -1,
            "New Ticket Logged",
            "[$FAULTID] $SUMMARY",
            "<p>Your ticket <b>$FAULTID</b> has been logged.</p>",
            "Your ticket $FAULTID has been logged.",
        ),
        _template(-4, "Password Reset", "Reset your password", "<p>$RESETLINK</p>", "$RESETLINK"),
        _template(
            INVOICE_TEMPLATE_ID,
            "Invoice Email Subject",
            "Invoice $INVOICENUMBER from $COMPANYNAME",
            _INVOICE_HTML,
            _INVOICE_TEXT,
        ),
        _template(
            -13,
            "Invoice Reminder",
            "Reminder: invoice $INVOICENUMBER is overdue",
            "<p>Invoice $INVOICENUMBER is overdue.</p>",
            "Invoice $INVOICENUMBER is overdue.",
        ),
        _template(
            -20,
            "Quote Email",
            "Quote $QUOTEID",
            "<p>Please find your quote attached.</p>",
            "Please find your quote attached.",
        ),
        _template(3, "Statement (custom)", "Your statement", "", "Your statement is attached."),
    ]
    return {row["id"]: row for row in rows}


class EmailTemplates:
    """The template store and its endpoints.

    Attributes:
        records: templates by id (change only under the sandbox's lock).
        without_right: client ids whose agent lacks the email-template right (saves get 403).
        saves: template id -> times saved (for tests).
    """

    def __init__(self) -> None:
        self.records = seed_email_templates()
        self.without_right: set[str] = set()
        self.saves: dict[int, int] = {}
        self._next_id = max(self.records) + 1

    def answer_list(self) -> Response:
        return json_response(200, [copy.deepcopy(r) for r in self.records.values()])

    def answer_get(self, raw_id: str) -> Response:
        record = self.records.get(int(raw_id)) if raw_id.lstrip("-").isdigit() else None
        if record is None:
            return text_response(404, "Not Found")
        return json_response(200, copy.deepcopy(record))

    def answer_post(self, request: Request, client_id: str) -> Response:
        items = read_json_array(request, "email template")
        if isinstance(items, Response):
            return items
        if client_id in self.without_right:
            return json_response(
                403, {"Message": "You do not have permission to edit email templates."}
            )
        checked = [self._checked(index, item) for index, item in enumerate(items)]
        refusal = next((c for c in checked if isinstance(c, Response)), None)
        if refusal is not None:
            return refusal
        saved = [self._save(item) for item in checked if isinstance(item, dict)]
        return json_response(201, saved[0] if saved else {})

    def _checked(self, index: int, item: Any) -> dict[str, Any] | Response:
        if not isinstance(item, dict):
            return problem({f"[{index}]": "Each element must be an email template object."})
        bad = [f for f in TEXT_FIELDS if f in item and not isinstance(item[f], str | None)]
        if bad:
            return problem({f"[{index}].{f}": "The value is not a valid string." for f in bad})
        tid = item.get("id")
        if tid is not None and (type(tid) is not int or tid not in self.records):
            return json_response(
                400,
                {
                    "ClassName": "System.Exception",
                    "Message": f"Email template {tid!r} was not found.",
                },
            )
        return item

    def _save(self, item: dict[str, Any]) -> dict[str, Any]:
        tid = item.get("id")
        if tid is None:
            tid, self._next_id = self._next_id, self._next_id + 1
            self.records[tid] = _template(tid, "", "", "", "")
        record = self.records[tid]
        for name in TEXT_FIELDS:
            if name in item:
                record[name] = item[name] or ""
        self.saves[tid] = self.saves.get(tid, 0) + 1
        return copy.deepcopy(record)
