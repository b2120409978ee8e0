"""The last page: what was set up and changed (the optional steps done for the admin
included), and an export of the settings (JSON, never the secret)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QStyle, QWidget

from halo_paylink.core.presenters.admin_step import done_rows, still_to_do
from halo_paylink.core.presenters.backfill import done_summary
from halo_paylink.core.presenters.benji_options import benji_done_rows
from halo_paylink.core.presenters.freshness import Confirmation
from halo_paylink.core.wizard import PageId, settings_export
from halo_paylink.storage.atomic import write_atomic
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.pages.client_button import ClientButtonSection
from halo_paylink.ui.widgets.common import FieldMessage, std_icon, wrap_label


class DonePage(BasePage):
    """A summary of the profile and of what the backfill changed, with a settings export."""

    page_id = PageId.DONE

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.summary = wrap_label(rich=True, selectable=True)
        self.summary.setAccessibleName("Summary")
        self.body.addWidget(self.summary)
        row = QHBoxLayout()
        self.export_button = QPushButton("&Export settings…")
        self.export_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_DialogSaveButton))
        self.export_button.setAutoDefault(False)
        row.addWidget(self.export_button)
        row.addStretch(1)
        self.body.addLayout(row)
        self.export_message = FieldMessage()
        self.body.addWidget(self.export_message)
        self.button_section = ClientButtonSection(self, after_render=self._render_summary)
        self.body.addWidget(self.button_section)
        self.body.addWidget(
            wrap_label(
                "The export holds the addresses, the client ID and your choices, never the "
                "client secret. Click Finish to close the assistant; open it again at any time "
                "to add links to new invoices (re-running only touches invoices without one)."
            )
        )
        self.body.addStretch(1)
        self.export_button.clicked.connect(self.export)
        self._exported = Confirmation()  # "exported": only while the settings are the same

    def profile_name(self) -> str:
        return self.context.profile.name if self.context.profile is not None else ""

    def secret_in_keyring(self) -> bool:
        """Whether the secret really is in the system keyring: not when the store keeps it in
        memory (demo mode, "ask each time") nor when the admin chose not to keep it."""
        from halo_paylink.storage.secrets import outlives_the_session

        a = self.state.application
        return a.remember and a.keyring_ok and outlives_the_session(self.context.secrets)

    def export_text(self) -> str:
        return settings_export(
            self.state, self.profile_name(), secret_in_keyring=self.secret_in_keyring()
        )

    def ask_export_path(self) -> str | None:
        """Ask where to save the export (tests replace this)."""
        name = (self.profile_name() or "halo-paylink").replace(" ", "-")
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export settings",
            str(Path.home() / f"{name}-settings.json"),
            "JSON files (*.json)",
        )
        return path or None

    def export(self) -> None:
        target = self.ask_export_path()
        if not target:
            return
        text = self.export_text()

        def saved(_: object) -> None:
            self._exported.confirm(f"Settings exported to {target}", text)
            self.export_message.show_ok(self._exported.text_for(self.export_text()))

        def failed(error: BaseException) -> None:
            self.export_message.show_error(f"Could not write {target}: {error}")

        self.start(
            self.context.blocking(write_atomic, Path(target), text),
            name="export settings",
            on_result=saved,
            on_error=failed,
        )

    def _render(self) -> None:
        self.button_section.controller.render()  # renders the summary too (after_render)

    def _render_summary(self) -> None:
        esc = html.escape
        status = self.context.known_secret_status
        summary = done_summary(
            self.state,
            profile_name=self.profile_name(),
            secret_location=status.location if status is not None else None,
        )
        rows = "".join(
            f"<tr><td>{esc(label)}</td><td><b>{esc(value)}</b></td></tr>"
            for label, value in (
                *summary.rows,
                *done_rows(self.state),
                *benji_done_rows(self.state),
            )
        )
        self.summary.setText(
            f"<p><b>{esc(summary.headline)}</b></p>"
            f"<table cellspacing='4'>{rows}</table>"
            f"<p>{esc(still_to_do(self.state))}</p>"
        )

    def first_focus(self) -> QWidget | None:
        return self.export_button

    def enter(self) -> None:
        if self.export_message.text().startswith("✓"):
            self.export_message.show_ok(self._exported.text_for(self.export_text()))
        self._render()
        self.button_section.look_for_earlier()

    def leave(self, forward: bool) -> None:
        self.button_section.controller.cancel()
        self.button_section.presenter.leave()
        super().leave(forward)

    async def stop(self) -> None:
        self.button_section.presenter.leave()
        await self.button_section.controller.stop()
        await super().stop()
