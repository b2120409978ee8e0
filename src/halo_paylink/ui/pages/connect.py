"""Page 2: one field for whatever the admin pastes; live discovery of the Halo addresses.

Every keystroke is parsed at once by `core.presenters.connect.ConnectPresenter` so a bad address
gets a specific message while typing; the page renders the presenter's view and hands input back.
Discovery (`halo.discovery.discover`, async on the GUI loop) starts when typing pauses (debounced)
and the previous attempt is cancelled whenever the input changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from halo_paylink.core.presenters.connect import LOOKING, ConnectPresenter, DiscoveryKey
from halo_paylink.core.wizard import PageId
from halo_paylink.halo.models import HaloEndpoints
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage, show_note
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.common import (
    BannerMessage,
    CopyField,
    FieldMessage,
    stacked,
    wrap_label,
)

log = logging.getLogger(__name__)

#: How long typing must pause before discovery starts.
DEBOUNCE_MS = 450

WHERE = (
    "In Halo, open <b>Configuration &gt; Integrations &gt; HaloPSA API</b>. Under "
    "<i>API Details</i> you'll see the <b>Resource Server</b>, the <b>Authorisation Server</b> "
    "and, for Halo-hosted instances, the <b>Tenant</b>. Paste any of those addresses (or the "
    "address you log in to Halo at) below: the assistant works out the rest."
)


class ConnectPage(BasePage):
    """Find the Halo instance: address, tenant, optional custom CA certificate."""

    page_id = PageId.CONNECT

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.presenter = ConnectPresenter(self.state.connect)
        self._handle: TaskHandle[HaloEndpoints] | None = None
        self._generation = 0
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.discover_now)

        self.body.addWidget(wrap_label(WHERE, rich=True))
        form = QFormLayout()
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("https://acme.halopsa.com")
        self.address_edit.setAccessibleName("Halo address")
        self.address_edit.setClearButtonEnabled(True)
        address_label = QLabel("Halo &address:")
        address_label.setBuddy(self.address_edit)
        self.address_message = FieldMessage()
        form.addRow(address_label, stacked(self.address_edit, self.address_message))
        self.tenant_edit = QLineEdit()
        self.tenant_edit.setPlaceholderText("only if Halo shows a Tenant that differs")
        self.tenant_edit.setAccessibleName("Tenant (optional)")
        tenant_label = QLabel("&Tenant (optional):")
        tenant_label.setBuddy(self.tenant_edit)
        form.addRow(tenant_label, self.tenant_edit)
        self.body.addLayout(form)

        self.found_box = QGroupBox("What the assistant found")
        found = QFormLayout(self.found_box)
        self.kind_label = QLabel()
        self.kind_label.setAccessibleName("Kind of Halo instance")
        found.addRow("Instance:", self.kind_label)
        self.auth_field = CopyField("Authorisation Server URL")
        self.resource_field = CopyField("Resource Server URL")
        self.tenant_field = CopyField("Tenant")
        found.addRow("Authorisation Server:", self.auth_field)
        found.addRow("Resource Server:", self.resource_field)
        found.addRow("Tenant:", self.tenant_field)
        self.source_note = wrap_label()
        found.addRow(self.source_note)
        self.body.addWidget(self.found_box)

        ca_box = QGroupBox("Custom CA certificate (self-hosted only, optional)")
        ca_layout = QFormLayout(ca_box)
        ca_layout.addRow(
            wrap_label(
                "Only needed when your self-hosted Halo's certificate comes from your own "
                "certificate authority. The certificate is added to the trusted ones; "
                "verification is never turned off."
            )
        )
        ca_row = QHBoxLayout()
        self.ca_label = QLabel("None")
        self.ca_label.setAccessibleName("Custom CA certificate file")
        self.ca_choose = QPushButton("C&hoose certificate…")
        self.ca_clear = QPushButton("C&lear")
        self.ca_choose.setAutoDefault(False)
        self.ca_clear.setAutoDefault(False)
        ca_row.addWidget(self.ca_label, 1)
        ca_row.addWidget(self.ca_choose)
        ca_row.addWidget(self.ca_clear)
        ca_layout.addRow("File:", ca_row)
        self.body.addWidget(ca_box)
        self.body.addStretch(1)

        self.address_edit.textEdited.connect(self.address_edited)
        self.tenant_edit.textEdited.connect(self._tenant_edited)
        self.ca_choose.clicked.connect(self._choose_ca)
        self.ca_clear.clicked.connect(lambda: self.set_ca_file(None))
        self.setTabOrder(self.address_edit, self.tenant_edit)

    # -- input ----------------------------------------------------------------------------------
    def address_edited(self, text: str) -> None:
        """A keystroke in the address field: parse now, discover when typing pauses."""
        self._input_changed(lambda: self.presenter.address_edited(text))

    def _tenant_edited(self, text: str) -> None:
        self._input_changed(lambda: self.presenter.tenant_edited(text))

    def set_ca_file(self, path: str | None) -> None:
        self._input_changed(lambda: self.presenter.set_ca_file(path))

    def _choose_ca(self) -> None:
        path = self.ask_ca_file()
        if path:
            self.set_ca_file(path)

    def ask_ca_file(self) -> str | None:
        """Ask for a CA certificate file (tests replace this)."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose the CA certificate",
            str(Path.home()),
            "Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        return path or None

    def _input_changed(self, update: Callable[[], None]) -> None:
        self._cancel()
        update()
        self.set_error(None)
        if self.presenter.view().discovery_due:
            self._debounce.start()
        else:
            self._debounce.stop()
        self._render()

    def _cancel(self) -> None:
        self.cancel_task()
        self._handle = None
        self.presenter.discovery_cancelled()
        self.set_busy(None)

    # -- discovery ------------------------------------------------------------------------------
    def discover_now(self) -> None:
        """Start discovery for the current input (cancelling any earlier attempt)."""
        from halo_paylink.halo.discovery import discover

        self._debounce.stop()
        self._cancel()
        if not self.presenter.can_discover:
            return
        address, tenant = self.presenter.discovery_request()
        key = self.presenter.discovery_started()
        self._generation += 1
        generation = self._generation
        self.set_busy(LOOKING)
        self._handle = self.start(
            discover(self.context.http(), address, tenant=tenant),
            name="discover",
            on_result=lambda endpoints: self._found(key, endpoints),
            on_error=lambda error: self._failed(key, error),
            on_finally=lambda: self._discovery_ended(generation),
        )
        self._render()

    def _found(self, key: DiscoveryKey, endpoints: HaloEndpoints) -> None:
        if self.presenter.discovery_found(key, endpoints):
            self.context.save_profile()

    def _failed(self, key: DiscoveryKey, error: BaseException) -> None:
        # shown once, under the address (the presenter's note), not in the banner as well
        if self.presenter.discovery_failed(key, error):
            log.info("Discovery failed: %s", error)

    def _discovery_ended(self, generation: int) -> None:
        if generation != self._generation:
            return  # an older, cancelled attempt: a newer one owns the handle and busy state
        self._handle = None
        self.set_busy(None)
        self._render()

    @property
    def discovering(self) -> bool:
        return self._handle is not None and self._handle.running

    # -- rendering ------------------------------------------------------------------------------
    def _render(self) -> None:
        view = self.presenter.view()
        if self.address_edit.text() != view.address:
            self.address_edit.setText(view.address)
        if self.tenant_edit.text() != view.tenant:
            self.tenant_edit.setText(view.tenant)
        self.ca_label.setText(view.ca_file)
        self.ca_clear.setEnabled(view.can_clear_ca)
        show_note(self.address_message, view.address_note)
        found = view.found
        self.found_box.setEnabled(found.enabled)
        self.kind_label.setText(found.kind)
        self.auth_field.set_value(found.auth_url)
        self.resource_field.set_value(found.resource_url)
        self.tenant_field.set_value(found.tenant)
        self.tenant_field.edit.setPlaceholderText(found.tenant_placeholder)
        self.source_note.setText(found.source)
        self.changed.emit()

    def banner(self) -> BannerMessage | None:
        return self._error

    def first_focus(self) -> QWidget | None:
        return self.address_edit

    def enter_action(self, focus: QWidget | None) -> Callable[[], None] | None:
        """Enter in the address or tenant field looks Halo up now; once found it means Next."""
        typing = focus in (self.address_edit, self.tenant_edit)
        if typing and self.presenter.enter_means_discover():
            return self.discover_now
        return None

    def enter(self) -> None:
        if self.presenter.should_rediscover(discovering=self.discovering):
            self.address_edited(self.state.connect.address)
            self.discover_now()
        self._render()

    def leave(self, forward: bool) -> None:
        self._debounce.stop()
        self._cancel()
        self.context.save_profile()

    async def stop(self) -> None:
        self._debounce.stop()
        handle = self._handle
        self._cancel()
        if handle is not None:
            await handle.wait()
