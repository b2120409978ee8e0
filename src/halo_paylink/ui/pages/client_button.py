"""The optional client button, a section of the Done page: a button on Halo's client record
that opens Benji Pays.

Same pattern as the Email page's "Insert it for me": opt in, see what would be created, create,
read back, remove on demand. The button opens the merchant's Benji portal
(`core.client_button.portal_url`). Finishing without it counts as skipped; Halo's
Configuration > Custom Buttons does the same by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from halo_paylink.core.admin_steps import StepState, read_record, record_path
from halo_paylink.core.presenters.admin_step import BUTTON_WORDS, AdminStepPresenter
from halo_paylink.halo import facts
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.pages.email_insert import admin_client, web_url
from halo_paylink.ui.widgets.admin_step import AdminStepController, AdminStepPanel

if TYPE_CHECKING:  # loaded when the step runs: the window starts without the HTTP stack
    from halo_paylink.core.client_button import ButtonPlan

ABOUT = (
    "Benji Pays' guide suggests a button on each client record in Halo that opens your Benji "
    f"Pays portal, so your team reaches a client's payments in one click. The assistant asks "
    f"Halo for the '{facts.TEMPLATE_SCOPE}' permission for it. By hand instead: in Halo, open "
    "Configuration > Custom Buttons and add one for Customers."
)

RECORD_NAME = "client-button"


class ButtonJobs:
    """Plan, create and remove the client button for the page (see `StepJobs`)."""

    def __init__(self, page: BasePage) -> None:
        self.page = page
        self.plan_made: ButtonPlan | None = None

    async def plan(self) -> tuple[str, bool]:
        from halo_paylink.core import client_button

        link = self.page.state.link.template
        plan = await client_button.plan_button(admin_client(self.page), link)
        self.plan_made = plan
        return plan.preview(), plan.existing is None

    async def save(self) -> tuple[bool, str]:
        from halo_paylink.core import client_button

        assert self.plan_made is not None
        result = await client_button.create(
            admin_client(self.page),
            self.plan_made,
            record_path(self.page.context.paths, web_url(self.page), RECORD_NAME),
            web_url=web_url(self.page),
            blocking=self.page.context.blocking,
        )
        button = result.button
        return result.confirmed, (f"#{button.id} to {button.url}" if button else "")

    async def undo(self) -> bool:
        from halo_paylink.core import client_button

        result = await client_button.remove(
            admin_client(self.page),
            record_path(self.page.context.paths, web_url(self.page), RECORD_NAME),
            blocking=self.page.context.blocking,
        )
        return result.confirmed


class ClientButtonSection(AdminStepPanel):
    """The Done page's optional client-button step."""

    def __init__(
        self, page: BasePage, after_render: Callable[[], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "One more, optional: a Benji Pays button on Halo's client records",
            opt_in="Let the assistant &add the button for me",
            explain=ABOUT,
            preview="Show the butto&n… (nothing is created yet)",
            save="&Create it in Halo",
            undo="&Remove the button",
            parent=parent,
        )
        self.page = page
        self.presenter = AdminStepPresenter(page.state, page.state.admin.button, BUTTON_WORDS)
        self.jobs = ButtonJobs(page)
        self.controller = AdminStepController(
            page, self, self.presenter, self.jobs, after_render=after_render
        )

    def look_for_earlier(self) -> None:
        """Read the record of a button created in an earlier session (then Remove is offered)."""
        state = self.page.state
        if (
            state.connect.endpoints is None
            or self.presenter.step.state is not StepState.NOT_STARTED
        ):
            return
        path = record_path(self.page.context.paths, web_url(self.page), RECORD_NAME)
        self.page.start(
            self.page.context.blocking(read_record, path),
            name="client button record",
            on_result=self._record_read,
            on_error=lambda error: None,  # an unreadable record: Remove says so when asked
        )

    def _record_read(self, record: object) -> None:
        if isinstance(record, dict) and isinstance(record.get("button_id"), int):
            self.presenter.found_earlier(f"#{record['button_id']} to {record.get('url', '')}")
            self.controller.render()
