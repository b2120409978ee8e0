"""Named connection profiles, saved as JSON in the config folder.

One file (`AppPaths.profiles_file`), written atomically with owner-only permissions:

    {"version": 1, "last_used": "acme", "profiles": {"acme": {"web_url": ..., "client_id": ...}}}

The client secret is never part of a profile and never written here (it lives in the keyring, see
`storage.secrets`). Keys this version does not know are kept as they are when the file is rewritten,
so an older app never destroys a newer app's settings. A file that cannot be read is never replaced
silently: a `.corrupt-<timestamp>` copy is kept and `ProfilesCorruptError` says where.

All methods block on file I/O: call them off the GUI loop when it matters.
"""

from __future__ import annotations

import builtins
import copy
import enum
import json
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from halo_paylink.domain import AccountingTool, Numbering, SecretMode
from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.halo import facts
from halo_paylink.storage.atomic import write_atomic
from halo_paylink.storage.paths import AppPaths

FILE_VERSION = 1
MAX_NAME_LENGTH = 64
#: Keys that must never be written into the profiles file, whatever a hand edit put there.
FORBIDDEN_KEYS = frozenset({"client_secret", "secret", "password", "access_token", "token"})


@dataclass
class LinkSettings:
    """How the payment link is built and where it goes.

    Attributes:
        template: the Benji link with its placeholder,
            e.g. `https://.../pay/?InvoiceNumber=[Invoice No.]`.
        numbering: which invoice number fills the placeholder.
        accounting_tool: the accounting system Benji reads invoices from.
        link_field: the Halo invoice field to write (`facts.DEFAULT_LINK_FIELD`) or `custom:NAME`.
    """

    template: str = ""
    numbering: Numbering = Numbering.ACCOUNTING
    accounting_tool: AccountingTool = AccountingTool.QUICKBOOKS
    link_field: str = facts.DEFAULT_LINK_FIELD


@dataclass
class PdfOptions:
    use_halo_pdf: bool = False
    fallback_to_accounting_pdf: bool = False
    add_payment_button: bool = True


@dataclass
class Profile:
    """One saved connection to a Halo instance, and the user's choices for it. Holds no secret.

    Attributes:
        name: unique name chosen by the user (see `validate_profile_name`).
        web_url: the Halo web address as parsed by `halo.discovery.parse_address`.
        tenant: explicit tenant, when one is needed (hosted Halo) or was given.
        client_id: the API application's client id.
        secret_mode: where the client secret comes from.
        ca_file: an extra CA certificate file to trust (self-hosted Halo), or None.
        rate_limit: a rate-limit override in `halo.ratelimit.parse_rate_limit`'s grammar
            ("300/300", "hosted", "unlimited"), or None for the default.
        pdf: PDF options.
        link: payment link settings.
        demo: True for the built-in sandbox profile.
        template_scope: the admin opted in to the optional steps done for them (the email
            template, the client button), so `facts.TEMPLATE_SCOPE` is asked for.
    """

    name: str
    web_url: str = ""
    tenant: str | None = None
    client_id: str = ""
    secret_mode: SecretMode = SecretMode.KEYRING
    ca_file: str | None = None
    rate_limit: str | None = None
    pdf: PdfOptions = field(default_factory=PdfOptions)
    link: LinkSettings = field(default_factory=LinkSettings)
    demo: bool = False
    template_scope: bool = False


class ProfilesCorruptError(LocalError):
    """The profiles file could not be read. A copy was kept at `backup`; the original is untouched.

    Attributes:
        path: the profiles file.
        backup: the `.corrupt-<timestamp>` copy.
    """

    def __init__(self, path: Path, backup: Path, problem: str) -> None:
        self.path = path
        self.backup = backup
        super().__init__(
            ErrorKind.PROFILES_CORRUPT,
            f"{path} could not be read ({problem}). A copy was kept at {backup}.",
        )


def validate_profile_name(name: str) -> str | None:
    """Why `name` cannot be a profile name, in words for the user; None when it is fine.

    Pure; the UI calls it while the user types.
    """
    if not isinstance(name, str) or not name.strip():
        return "Enter a name for this connection."
    if name != name.strip():
        return "The name cannot start or end with a space."
    if len(name) > MAX_NAME_LENGTH:
        return f"The name is too long ({len(name)} characters; at most {MAX_NAME_LENGTH})."
    if "/" in name or "\\" in name:
        return "The name cannot contain / or \\."
    if name in {".", ".."}:
        return "The name cannot be '.' or '..'."
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "The name cannot contain control or invisible characters."
    return None


def check_profile_name(name: str) -> str:
    """Return `name`, or raise ValueError with the reason it is not a valid profile name."""
    problem = validate_profile_name(name)
    if problem:
        raise ValueError(problem)
    return name


E = TypeVar("E", bound=enum.Enum)


def _enum(kind: type[E], value: Any, default: E) -> E:
    try:
        return kind(value)
    except ValueError:
        return default  # a value from a newer version: fall back, the raw value is kept on disk


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def profile_from_json(name: str, data: Mapping[str, Any]) -> Profile:
    """Build a Profile from its JSON object; tolerant of missing, unknown and ill-typed keys."""
    pdf = data.get("pdf") if isinstance(data.get("pdf"), Mapping) else {}
    link = data.get("link") if isinstance(data.get("link"), Mapping) else {}
    assert isinstance(pdf, Mapping) and isinstance(link, Mapping)
    defaults_pdf, defaults_link = PdfOptions(), LinkSettings()
    return Profile(
        name=name,
        web_url=_str(data.get("web_url")),
        tenant=_opt_str(data.get("tenant")),
        client_id=_str(data.get("client_id")),
        secret_mode=_enum(SecretMode, data.get("secret_mode"), SecretMode.KEYRING),
        ca_file=_opt_str(data.get("ca_file")),
        rate_limit=_opt_str(data.get("rate_limit")),
        pdf=PdfOptions(
            use_halo_pdf=_bool(pdf.get("use_halo_pdf"), defaults_pdf.use_halo_pdf),
            fallback_to_accounting_pdf=_bool(
                pdf.get("fallback_to_accounting_pdf"), defaults_pdf.fallback_to_accounting_pdf
            ),
            add_payment_button=_bool(
                pdf.get("add_payment_button"), defaults_pdf.add_payment_button
            ),
        ),
        link=LinkSettings(
            template=_str(link.get("template")),
            numbering=_enum(Numbering, link.get("numbering"), defaults_link.numbering),
            accounting_tool=_enum(
                AccountingTool, link.get("accounting_tool"), defaults_link.accounting_tool
            ),
            link_field=_str(link.get("link_field"), defaults_link.link_field)
            or facts.DEFAULT_LINK_FIELD,
        ),
        demo=_bool(data.get("demo"), False),
        template_scope=_bool(data.get("template_scope"), False),
    )


def profile_to_json(profile: Profile) -> dict[str, Any]:
    """The JSON object for a profile (its name is the key, not a field). Never holds a secret."""
    return {
        "web_url": profile.web_url,
        "tenant": profile.tenant,
        "client_id": profile.client_id,
        "secret_mode": profile.secret_mode.value,
        "ca_file": profile.ca_file,
        "rate_limit": profile.rate_limit,
        "demo": profile.demo,
        "template_scope": profile.template_scope,
        "pdf": {
            "use_halo_pdf": profile.pdf.use_halo_pdf,
            "fallback_to_accounting_pdf": profile.pdf.fallback_to_accounting_pdf,
            "add_payment_button": profile.pdf.add_payment_button,
        },
        "link": {
            "template": profile.link.template,
            "numbering": profile.link.numbering.value,
            "accounting_tool": profile.link.accounting_tool.value,
            "link_field": profile.link.link_field,
        },
    }


def _merge(old: Any, new: Mapping[str, Any]) -> dict[str, Any]:
    # Known keys take the new value; unknown keys (from a newer version) are kept.
    merged: dict[str, Any] = dict(old) if isinstance(old, Mapping) else {}
    for key, value in new.items():
        if isinstance(value, Mapping):
            merged[key] = _merge(merged.get(key), value)
        else:
            merged[key] = value
    return merged


def _strip_forbidden(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (_strip_forbidden(v) if isinstance(v, dict) else v)
        for k, v in entry.items()
        if k.lower() not in FORBIDDEN_KEYS
    }


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class ProfileStore:
    """Saved profiles in `paths.profiles_file`. Thread-safe within one process; blocking I/O.

    Every call re-reads the file, so two windows (or the CLI next to the window) see each other's
    changes; the last writer wins per profile, and unknown keys survive.

    Raises (from every method that reads):
        ProfilesCorruptError: the file exists but is not a readable profiles document.
    """

    def __init__(self, paths: AppPaths, *, stamp: Callable[[], str] = _utc_stamp) -> None:
        self._paths = paths
        self._stamp = stamp
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        return self._paths.profiles_file

    # -- reading ------------------------------------------------------------------------------
    def _backup_corrupt(self, raw: bytes) -> Path:
        base = self.path.with_name(f"{self.path.name}.corrupt-{self._stamp()}")
        # One copy per distinct content: reading the same broken file again makes no new copies.
        for existing in sorted(self.path.parent.glob(f"{self.path.name}.corrupt-*")):
            try:
                if existing.read_bytes() == raw:
                    return existing
            except OSError:
                continue
        backup, n = base, 1
        while backup.exists():
            backup = base.with_name(f"{base.name}-{n}")
            n += 1
        write_atomic(backup, raw)
        return backup

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {"version": FILE_VERSION, "last_used": None, "profiles": {}}
        problem = ""
        doc: Any = None
        try:
            doc = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        if not problem:
            if not isinstance(doc, dict):
                problem = "the top level is not a JSON object"
            elif not isinstance(doc.get("profiles", {}), dict):
                problem = "'profiles' is not a JSON object"
            elif any(not isinstance(v, dict) for v in doc.get("profiles", {}).values()):
                problem = "a profile entry is not a JSON object"
        if problem:
            raise ProfilesCorruptError(self.path, self._backup_corrupt(raw), problem)
        doc.setdefault("profiles", {})
        loaded: dict[str, Any] = doc
        return loaded

    def _write(self, doc: dict[str, Any]) -> None:
        doc = copy.deepcopy(doc)
        doc["version"] = max(
            FILE_VERSION, doc.get("version", 0) if isinstance(doc.get("version"), int) else 0
        )
        doc["profiles"] = {name: _strip_forbidden(entry) for name, entry in doc["profiles"].items()}
        text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(self.path, text)

    # -- public API ---------------------------------------------------------------------------
    def list(self) -> builtins.list[Profile]:
        """Every saved profile, sorted by name (case-insensitive)."""
        with self._lock:
            doc = self._load()
        profiles = [
            profile_from_json(name, entry)
            for name, entry in doc["profiles"].items()
            if validate_profile_name(name) is None
        ]
        return sorted(profiles, key=lambda p: (p.name.casefold(), p.name))

    def names(self) -> builtins.list[str]:
        return [p.name for p in self.list()]

    def get(self, name: str) -> Profile:
        """The profile called `name`. Raises KeyError when there is none."""
        with self._lock:
            doc = self._load()
        entry = doc["profiles"].get(name)
        if entry is None:
            raise KeyError(name)
        return profile_from_json(name, entry)

    def save(self, profile: Profile) -> None:
        """Create or replace the profile named `profile.name` (unknown keys on disk are kept).

        Raises:
            ValueError: the name is not valid (the message says why).
            OSError: the file could not be written.
        """
        check_profile_name(profile.name)
        with self._lock:
            doc = self._load()
            doc["profiles"][profile.name] = _merge(
                doc["profiles"].get(profile.name), profile_to_json(profile)
            )
            self._write(doc)

    def rename(self, old: str, new: str) -> None:
        """Rename a profile (keeps unknown keys and the last-used mark). KeyError / ValueError."""
        check_profile_name(new)
        with self._lock:
            doc = self._load()
            if old not in doc["profiles"]:
                raise KeyError(old)
            if new != old and new in doc["profiles"]:
                raise ValueError(f"A connection named '{new}' already exists.")
            doc["profiles"][new] = doc["profiles"].pop(old)
            if doc.get("last_used") == old:
                doc["last_used"] = new
            self._write(doc)

    def delete(self, name: str) -> None:
        """Remove a profile (its keyring secret is the caller's to delete). KeyError if absent."""
        with self._lock:
            doc = self._load()
            if name not in doc["profiles"]:
                raise KeyError(name)
            del doc["profiles"][name]
            if doc.get("last_used") == name:
                doc["last_used"] = None
            self._write(doc)

    def last_used(self) -> str | None:
        """The last profile the user worked with, if it still exists."""
        with self._lock:
            doc = self._load()
        name = doc.get("last_used")
        return name if isinstance(name, str) and name in doc["profiles"] else None

    def set_last_used(self, name: str | None) -> None:
        """Remember `name` as the last used profile (None clears). KeyError if it does not exist."""
        with self._lock:
            doc = self._load()
            if name is not None and name not in doc["profiles"]:
                raise KeyError(name)
            doc["last_used"] = name
            self._write(doc)

    def start_fresh(self) -> Path | None:
        """After `ProfilesCorruptError`: set the unreadable file aside and start with no profiles.

        Returns where the old file's copy is (None, and no change, when the file is readable or
        absent). Only call this when the user chose to; the copy is never deleted by the app.
        """
        with self._lock:
            try:
                self._load()
            except ProfilesCorruptError as exc:
                self.path.unlink(missing_ok=True)
                return exc.backup
            return None
