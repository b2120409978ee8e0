"""The guide's optional admin steps (the email template, the client button): their states, what
"not permitted" tells the admin to change, and where their records are kept.

Both steps need `facts.TEMPLATE_SCOPE` (U), which the assistant asks for only when the admin opts
in, in a token of its own (`halo.templates.admin_client_for`); without it the guide's
copy-and-paste stays. Pure, apart from the path helpers (no I/O).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halo_paylink.errors import HaloError, UsageError
from halo_paylink.halo import facts
from halo_paylink.storage.paths import AppPaths

#: Runs a blocking call off the loop (`asyncio.to_thread` by default).
Blocking = Callable[..., Awaitable[Any]]


class StepState(enum.Enum):
    """Where one optional step stands, for the Done page and the settings export."""

    NOT_STARTED = "not started"
    DONE = "done"
    SKIPPED = "skipped"
    NOT_PERMITTED = "not permitted"
    UNDONE = "undone"


#: What to change in Halo when a step is not permitted.
PERMISSION_FIX = (
    f"In Halo, open Configuration > Integrations > HaloPSA API, open this API application, tick "
    f"'{facts.TEMPLATE_SCOPE}' on its Permissions tab and save; its agent also needs the right "
    f"to edit email templates ({facts.TEMPLATE_AGENT_RIGHT}). Or copy and paste the link by hand."
)


@dataclass(frozen=True)
class NotPermitted:
    """A step Halo refused for want of a right: what it said, and what to add."""

    step: str
    detail: str
    fix: str = PERMISSION_FIX
    note: str = facts.UNVERIFIED_NOTES["template_scope"]

    @property
    def message(self) -> str:
        return f"Halo does not let the assistant {self.step}."

    def to_json(self) -> dict[str, str]:
        return {"message": self.message, "detail": self.detail, "fix": self.fix, "note": self.note}


def not_permitted(error: HaloError, step: str) -> NotPermitted | None:
    """The refusal `error` stands for, when it is one (else None: a fault to explain as usual)."""
    from halo_paylink.halo.templates import is_not_permitted  # the window starts without httpx

    if not is_not_permitted(error):
        return None
    return NotPermitted(step, error.summary)


def record_path(paths: AppPaths, web_url: str, name: str) -> Path:
    """Where a record of one step on the Halo at `web_url` is kept (two spellings of one
    address share it, as the backfill's lock does)."""
    from halo_paylink.core.backfill.lock import lock_key  # not at import: the wizard imports us

    return paths.admin_steps_dir / f"{lock_key(web_url)}-{name}.json"


def read_record(path: Path) -> Mapping[str, Any] | None:
    """A record written by `json.dumps`; None when there is none. Blocking.

    Raises:
        UsageError: the file is there but cannot be read as a record.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"The record at {path} cannot be read ({exc.__class__.__name__}).",
            "Look at the file; move it away to start again (nothing in Halo is changed).",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"The record at {path} is not a JSON object.", "Move the file away.")
    return data


@dataclass
class AdminStep:
    """Where one optional step stands in this session, and what to say about it."""

    state: StepState = StepState.NOT_STARTED
    detail: str = ""

    def settled(self) -> AdminStep:
        """This step once the admin has moved past it: not started is skipped."""
        if self.state is StepState.NOT_STARTED:
            return AdminStep(StepState.SKIPPED, self.detail)
        return self

    def to_json(self) -> dict[str, str]:
        return {"state": self.state.value, "detail": self.detail}


@dataclass
class AdminStepsState:
    """The optional steps done for the admin (in `WizardState.admin`).

    Attributes:
        opted_in: the admin agreed that the assistant asks for `facts.TEMPLATE_SCOPE`.
        template: inserting the Pay link into the email template.
        button: the client-record button.
    """

    opted_in: bool = False
    template: AdminStep = field(default_factory=AdminStep)
    button: AdminStep = field(default_factory=AdminStep)

    def to_json(self) -> dict[str, Any]:
        """For the settings export (made on the Done page, past both steps: a step not done by
        then was skipped)."""
        return {
            "opted_in": self.opted_in,
            "email_template": self.template.settled().to_json(),
            "client_button": self.button.settled().to_json(),
        }
