"""The Email page's optional "Insert it for me": the Pay link put into Halo's email template.

The admin opts in (the assistant then asks Halo for `facts.TEMPLATE_SCOPE` in a token of its
own), picks the template and where the link goes, and sees the change before anything is saved;
the save backs the template up to the state folder first, reads it back, and offers Undo. A
refusal says what to allow in Halo; the copy-and-paste above stays either way. The logic is in
`core.presenters.admin_step` and `core.email_template`; the Halo work runs as the page's tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QWidget

from halo_paylink.core.admin_steps import record_path
from halo_paylink.core.links import email_snippet
from halo_paylink.core.presenters.admin_step import (
    TEMPLATE_WORDS,
    AdminStepPresenter,
    AdminStepView,
)
from halo_paylink.core.template_body import Placement
from halo_paylink.halo import facts
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.widgets.admin_step import AdminStepController, AdminStepPanel

if TYPE_CHECKING:  # the window starts without the HTTP stack; these load when a step runs
    from halo_paylink.core.email_template import TemplatePlan
    from halo_paylink.halo.templates import HaloAdminClient


def admin_client(page: BasePage) -> HaloAdminClient:
    """A client for the optional scope beside the page's Halo client (same rate limiter)."""
    from halo_paylink.halo.templates import admin_client_for

    context = page.context
    return admin_client_for(context.http(), context.halo_client(), context.credentials())


def web_url(page: BasePage) -> str:
    endpoints = page.state.connect.endpoints
    return endpoints.web_url if endpoints is not None else page.state.connect.address.strip()


class TemplateJobs:
    """Plan, save and undo the email-template change for the page (see `StepJobs`)."""

    def __init__(self, page: BasePage, section: TemplateInsertSection) -> None:
        self.page = page
        self.section = section
        self.plan_made: TemplatePlan | None = None
        self.backup: Path | None = None

    async def plan(self) -> tuple[str, bool]:
        from halo_paylink.core import email_template

        link = self.page.state.link
        snippet = email_snippet(link.template, link.numbering)
        templates = await admin_client(self.page).email_templates()
        chosen = email_template.find_template(templates, self.section.template_name())
        placement, marker = self.section.placement()
        plan = email_template.plan_template(chosen, snippet, placement, marker)
        self.plan_made = plan
        self.backup = record_path(
            self.page.context.paths, web_url(self.page), f"template{chosen.id}"
        )
        return plan.preview(), plan.changed

    async def save(self) -> tuple[bool, str]:
        from halo_paylink.core import email_template

        assert self.plan_made is not None and self.backup is not None
        result = await email_template.insert(
            admin_client(self.page),
            self.plan_made,
            self.backup,
            web_url=web_url(self.page),
            blocking=self.page.context.blocking,
        )
        detail = f"'{result.template.name}' (#{result.template.id}); backup at {result.backup}"
        return result.confirmed, detail

    async def undo(self) -> bool:
        from halo_paylink.core import email_template

        assert self.backup is not None
        result = await email_template.undo(
            admin_client(self.page), self.backup, blocking=self.page.context.blocking
        )
        return result.confirmed


class TemplateInsertSection(AdminStepPanel):
    """The "Insert it for me" section of the Email page."""

    def __init__(self, page: BasePage, parent: QWidget | None = None) -> None:
        super().__init__(
            "Or let the assistant insert it for you (optional)",
            opt_in="Let the assistant &edit Halo's email template for me",
            explain=f"It then asks Halo for the '{facts.TEMPLATE_SCOPE}' permission, shows the "
            "change before saving anything, keeps a backup and can undo it.",
            preview="&Insert it for me… (shows the change first)",
            save="&Save in Halo",
            undo="&Undo the change",
            parent=parent,
        )
        form = QFormLayout()
        self.template_edit = QLineEdit()
        self.template_edit.setPlaceholderText(facts.INVOICE_EMAIL_TEMPLATE)
        self.template_edit.setAccessibleName("Email template name")
        form.addRow("Template:", self.template_edit)
        self.placement_combo = QComboBox()
        self.placement_combo.addItem("At the end of the email", Placement.END)
        self.placement_combo.addItem("After this text:", Placement.AFTER_MARKER)
        self.placement_combo.setAccessibleName("Where the link goes")
        self.marker_edit = QLineEdit()
        self.marker_edit.setPlaceholderText("e.g. Thank you for your business.")
        self.marker_edit.setAccessibleName("Text to put the link after")
        form.addRow("Put the link:", self.placement_combo)
        form.addRow("", self.marker_edit)
        self.inputs.addLayout(form)
        self.presenter = AdminStepPresenter(page.state, page.state.admin.template, TEMPLATE_WORDS)
        self.jobs = TemplateJobs(page, self)
        self.controller = AdminStepController(page, self, self.presenter, self.jobs)
        self.placement_combo.currentIndexChanged.connect(self._placement_changed)
        self._placement_changed()

    def template_name(self) -> str:
        return self.template_edit.text().strip()

    def placement(self) -> tuple[Placement, str]:
        chosen = self.placement_combo.currentData()
        placement = chosen if isinstance(chosen, Placement) else Placement.END
        return placement, self.marker_edit.text() if placement is Placement.AFTER_MARKER else ""

    def _placement_changed(self) -> None:
        self.marker_edit.setEnabled(self.placement()[0] is Placement.AFTER_MARKER)

    def show_view(self, view: AdminStepView) -> None:
        super().show_view(view)
        editable = view.opted_in and view.can_preview
        self.template_edit.setEnabled(editable)
        self.placement_combo.setEnabled(editable)
        self.marker_edit.setEnabled(editable and self.placement()[0] is Placement.AFTER_MARKER)
