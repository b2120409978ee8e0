"""What the pages share: the wizard state, the stores, the task runner and the HTTP client.

`app.py` builds one `AppContext` with the real stores; tests build one with an in-memory secret
store and `HALO_PAYLINK_HOME` in a temp dir. Everything here is used on the GUI thread; blocking
store calls are sent to the loop's default executor and awaited.

Heavy modules (httpx, the Halo client, the backfill) are imported inside the methods that need
them, so the first page paints without loading them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QSettings, Signal

from halo_paylink.core.wizard import WizardState, apply_to_profile, load_profile
from halo_paylink.redact import register_secret
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import Profile, ProfileStore
from halo_paylink.storage.secrets import (
    MemorySecretStore,
    SecretStore,
    StoreStatus,
    benji_key_store,
    outlives_the_session,
)
from halo_paylink.ui.tasks import TaskRunner

if TYPE_CHECKING:
    import httpx

    from halo_paylink.benji.client import BenjiClient
    from halo_paylink.halo.client import HaloClient
    from halo_paylink.halo.models import Credentials, HaloEndpoints

log = logging.getLogger(__name__)
T = TypeVar("T")

DEMO_PROFILE_NAME = "Demo"


@dataclass(frozen=True)
class DemoInfo:
    """The built-in sandbox the window was opened on with `--demo`."""

    url: str
    tenant: str
    client_id: str
    client_secret: str = field(repr=False)
    benji_url: str = ""  # the demo's Benji sandbox ("" = none)
    benji_key: str = field(default="", repr=False)


class AppContext(QObject):
    """Shared services for the pages. GUI thread only.

    Signals:
        profileChanged(str): a profile was opened (its name); pages re-render from the state.
        secretLoaded(): the stored secret arrived from the keyring (into `state.application`).
    """

    profileChanged = Signal(str)
    secretLoaded = Signal()

    def __init__(
        self,
        *,
        paths: AppPaths,
        profiles: ProfileStore,
        secrets: SecretStore,
        runner: TaskRunner | None = None,
        demo: DemoInfo | None = None,
        settings: QSettings | None = None,
        http_factory: Callable[[str | None], httpx.AsyncClient] | None = None,
        benji_keys: SecretStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.profiles = profiles
        self.secrets = secrets
        # The optional Benji API key: the keyring (its own service), in memory for the demo and
        # whenever the client secret is kept in memory (tests).
        self.benji_keys: SecretStore = benji_keys or (
            MemorySecretStore()
            if demo is not None or not outlives_the_session(secrets)
            else benji_key_store()
        )
        self.runner = runner or TaskRunner(self)
        self.demo = demo
        self.settings = settings
        self.state = WizardState(demo=demo is not None)
        self.profile: Profile | None = None
        self._http_factory = http_factory
        self._http: httpx.AsyncClient | None = None
        self._http_ca: str | None = None
        self._retired: list[httpx.AsyncClient] = []
        self._save_lock: asyncio.Lock | None = None
        self._secret_status: StoreStatus | None = None
        self._closed = False

    # -- blocking calls off the loop ----------------------------------------------------------
    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (file, keyring) in the loop's executor and await its result."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # -- profiles -----------------------------------------------------------------------------
    def open_profile(self, name: str, *, create: bool) -> None:
        """Make `name` the current profile and fill the state from it (GUI thread).

        A new profile starts from the defaults (or the demo values in demo mode). The stored
        secret, if any, is fetched from the keyring in the background (`secretLoaded`).
        """
        if create:
            profile = Profile(name=name, demo=self.demo is not None)
            if self.demo is not None:
                profile.web_url = self.demo.url
                profile.client_id = self.demo.client_id
        else:
            try:
                profile = self.profiles.get(name)
            except KeyError:
                profile = Profile(name=name, demo=self.demo is not None)
        self.profile = profile
        load_profile(self.state, profile)
        if self.demo is not None:
            self.state.demo = True
            self.state.application.secret = self.demo.client_secret
            register_secret(self.demo.client_secret)
            if self.demo.benji_url:  # the demo's Benji sandbox, with its demo key
                self.state.benji.base_url = self.demo.benji_url
                self.state.benji.key = self.demo.benji_key
                register_secret(self.demo.benji_key)
        else:
            self.runner.start(self._load_secret(name), name="load secret", on_error=self._warn)
        self.save_profile()
        self.profileChanged.emit(name)

    async def _load_secret(self, name: str) -> None:
        status = await self.secret_status()
        if not status.secure:
            return
        secret = await self.blocking(self.secrets.get, name)
        current = self.profile is not None and self.profile.name == name
        if secret and current and not self.state.application.secret:
            self.state.application.secret = secret
            self.secretLoaded.emit()

    @property
    def known_secret_status(self) -> StoreStatus | None:
        """The secret store's status once `secret_status()` has answered, else None."""
        return self._secret_status

    async def secret_status(self) -> StoreStatus:
        """Whether the secret store is secure (cached; the first call may be slow)."""
        if self._secret_status is None:
            self._secret_status = await self.blocking(self.secrets.status)
        return self._secret_status

    async def store_secret(self) -> None:
        """Save (or, when 'remember' is off, delete) the secret in the store."""
        if self.profile is None:
            return
        name, app = self.profile.name, self.state.application
        if app.remember and app.keyring_ok and app.secret:
            await self.blocking(self.secrets.set, name, app.secret)
        else:
            await self.blocking(self.secrets.delete, name)

    def save_profile(self) -> None:
        """Write the current state into the profile and save it in the background."""
        if self.profile is None or self._closed:
            return
        apply_to_profile(self.state, self.profile)
        snapshot = Profile(**vars(self.profile))
        self.runner.start(self._save(snapshot), name="save profile", on_error=self._warn)

    async def _save(self, profile: Profile) -> None:
        if self._save_lock is None:
            self._save_lock = asyncio.Lock()
        async with self._save_lock:  # one writer at a time, in order
            await self.blocking(self.profiles.save, profile)
            await self.blocking(self.profiles.set_last_used, profile.name)

    @staticmethod
    def _warn(error: BaseException) -> None:
        log.warning("Background storage call failed: %s", error)

    # -- HTTP ---------------------------------------------------------------------------------
    def http(self) -> httpx.AsyncClient:
        """The one HTTP client for the current CA file (a new CA file gets a new client)."""
        if self._closed:
            raise RuntimeError("The app is closing; no new requests.")
        ca_file = self.state.connect.ca_file
        if self._http is not None and self._http_ca != ca_file:
            old, self._http = self._http, None
            self._retired.append(old)
            self.runner.start(self._close_retired(old), name="close old HTTP client")
        if self._http is None:
            if self._http_factory is not None:
                self._http = self._http_factory(ca_file)
            else:
                from halo_paylink.halo.http import make_http_client

                self._http = make_http_client(ca_file=ca_file)
            self._http_ca = ca_file
        return self._http

    def credentials(self) -> Credentials:
        from halo_paylink.halo.models import Credentials

        app = self.state.application
        register_secret(app.secret)
        return Credentials(app.client_id.strip(), app.secret)

    @property
    def rate_limit(self) -> str | None:
        """The profile's rate-limit override, or None (see `halo.ratelimit.choose_limiter`)."""
        return self.profile.rate_limit if self.profile is not None else None

    def halo_client(self, endpoints: HaloEndpoints | None = None) -> HaloClient:
        """A Halo client (`halo.session.client_for`) on the shared HTTP client for `endpoints`,
        by default the ones the Connect page found.

        Raises:
            RuntimeError: Halo has not been found yet.
            ValueError: the profile's rate limit cannot be read.
        """
        from halo_paylink.halo.session import client_for

        endpoints = endpoints or self.state.connect.endpoints
        if endpoints is None:
            raise RuntimeError("Halo has not been found yet.")
        return client_for(self.http(), endpoints, self.credentials(), rate_limit=self.rate_limit)

    def benji_client(self) -> BenjiClient:
        """A Benji Pays client for the key and address in `state.benji`, on the shared HTTP
        client.

        Raises:
            BenjiError(BENJI_BAD_ADDRESS): the address is not https (nor this computer).
            ValueError: no key.
        """
        from halo_paylink.benji.client import BenjiClient

        benji = self.state.benji
        return BenjiClient(self.http(), benji.key, base_url=benji.base_url)

    async def _close_retired(self, client: httpx.AsyncClient) -> None:
        await client.aclose()
        if client in self._retired:
            self._retired.remove(client)

    async def aclose(self) -> None:
        """Stop all tasks and close the HTTP client(s); nothing async may follow. At quit."""
        if self._closed:
            return
        if self.profile is not None:
            apply_to_profile(self.state, self.profile)
            try:
                await self._save(Profile(**vars(self.profile)))
            except (OSError, ValueError) as error:
                self._warn(error)
        self._closed = True
        await self.runner.shutdown()
        clients = [*self._retired, *([self._http] if self._http is not None else [])]
        self._http, self._retired = None, []
        for client in clients:
            await client.aclose()
