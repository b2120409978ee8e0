"""storage.profiles: round trip, names, forward compatibility, corrupt files, no secrets on disk."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from halo_paylink.domain import AccountingTool, Numbering, SecretMode
from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.halo import facts
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import (
    MAX_NAME_LENGTH,
    LinkSettings,
    PdfOptions,
    Profile,
    ProfilesCorruptError,
    ProfileStore,
    validate_profile_name,
)

POSIX = os.name != "nt"


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path / "home")


@pytest.fixture
def store(paths: AppPaths) -> ProfileStore:
    return ProfileStore(paths)


def full_profile(name: str = "Acme") -> Profile:
    return Profile(
        name=name,
        web_url="https://acme.halopsa.com",
        tenant="acme",
        client_id="cid-123",
        secret_mode=SecretMode.ASK,
        ca_file="/etc/ssl/acme.pem",
        rate_limit="300/300",
        pdf=PdfOptions(
            use_halo_pdf=True, fallback_to_accounting_pdf=True, add_payment_button=False
        ),
        link=LinkSettings(
            template="https://www.benjipays.com/portal/x/pay/?InvoiceNumber=[Invoice No.]",
            numbering=Numbering.HALO,
            accounting_tool=AccountingTool.XERO,
            link_field="custom:PayLink",
        ),
        demo=True,
    )


def test_defaults() -> None:
    p = Profile(name="x")
    assert p.secret_mode is SecretMode.KEYRING
    assert p.link.numbering is Numbering.ACCOUNTING
    assert p.link.accounting_tool is AccountingTool.QUICKBOOKS
    assert p.link.link_field == facts.DEFAULT_LINK_FIELD
    assert p.pdf == PdfOptions(False, False, True)
    assert not p.demo and p.tenant is None


def test_empty_store(store: ProfileStore, paths: AppPaths) -> None:
    assert store.list() == []
    assert store.last_used() is None
    with pytest.raises(KeyError):
        store.get("nope")
    assert not paths.config_dir.exists()  # reading creates nothing


def test_round_trip_every_field(store: ProfileStore, paths: AppPaths) -> None:
    original = full_profile()
    store.save(original)
    assert store.get("Acme") == original
    assert ProfileStore(paths).list() == [original]  # a fresh store reads the same
    store.save(Profile(name="default-only"))
    assert store.get("default-only") == Profile(name="default-only")


def test_file_permissions(store: ProfileStore, paths: AppPaths) -> None:
    store.save(full_profile())
    assert paths.profiles_file.exists()
    if POSIX:
        assert stat.S_IMODE(paths.profiles_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(paths.config_dir.stat().st_mode) == 0o700
    assert [p.name for p in paths.config_dir.iterdir()] == ["profiles.json"]


def test_list_sorted_update_delete(store: ProfileStore) -> None:
    for name in ["beta", "Alpha", "gamma"]:
        store.save(Profile(name=name, client_id=name))
    assert [p.name for p in store.list()] == ["Alpha", "beta", "gamma"]
    store.save(Profile(name="beta", client_id="changed"))
    assert store.get("beta").client_id == "changed"
    assert len(store.list()) == 3
    store.delete("beta")
    assert store.names() == ["Alpha", "gamma"]
    with pytest.raises(KeyError):
        store.delete("beta")


def test_last_used(store: ProfileStore) -> None:
    store.save(Profile(name="a"))
    store.save(Profile(name="b"))
    store.set_last_used("b")
    assert store.last_used() == "b"
    with pytest.raises(KeyError):
        store.set_last_used("missing")
    assert store.last_used() == "b"
    store.rename("b", "c")
    assert store.last_used() == "c"
    store.delete("c")
    assert store.last_used() is None


def test_rename_conflict(store: ProfileStore) -> None:
    store.save(Profile(name="a"))
    store.save(Profile(name="b"))
    with pytest.raises(ValueError, match="already exists"):
        store.rename("a", "b")
    with pytest.raises(KeyError):
        store.rename("zzz", "y")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a name"),
        ("   ", "Enter a name"),
        (" padded", "start or end with a space"),
        ("x" * (MAX_NAME_LENGTH + 1), "too long"),
        ("a/b", "cannot contain /"),
        ("a\\b", "cannot contain /"),
        ("..", "cannot be '.'"),
        ("tab\there", "control"),
        ("nl\n", "space"),
    ],
)
def test_invalid_names(store: ProfileStore, name: str, message: str) -> None:
    problem = validate_profile_name(name)
    assert problem is not None and message in problem
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("/", "/")):
        store.save(Profile(name=name))
    assert store.list() == []


@pytest.mark.parametrize(
    "name", ["Acme", "acme.halopsa.com", "Ünïcode café", "x" * MAX_NAME_LENGTH]
)
def test_valid_names(store: ProfileStore, name: str) -> None:
    assert validate_profile_name(name) is None
    store.save(Profile(name=name))
    assert store.get(name).name == name


def test_unknown_keys_are_tolerated_and_kept(store: ProfileStore, paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    doc = {
        "version": 7,
        "future_top": {"x": 1},
        "last_used": "Acme",
        "profiles": {
            "Acme": {
                "web_url": "https://acme.halopsa.com",
                "client_id": "cid",
                "future_field": [1, 2],
                "secret_mode": "some-future-mode",
                "link": {"numbering": "halo", "future_link": True},
                "pdf": "not-a-dict",
            }
        },
    }
    paths.profiles_file.write_text(json.dumps(doc))
    profile = store.get("Acme")
    assert profile.client_id == "cid"
    assert profile.secret_mode is SecretMode.KEYRING  # unknown value: the safe default
    assert profile.link.numbering is Numbering.HALO
    assert profile.pdf == PdfOptions()

    profile.tenant = "acme"
    store.save(profile)
    on_disk = json.loads(paths.profiles_file.read_text())
    assert on_disk["future_top"] == {"x": 1}
    assert on_disk["version"] == 7
    entry = on_disk["profiles"]["Acme"]
    assert entry["future_field"] == [1, 2]
    assert entry["link"]["future_link"] is True
    assert entry["tenant"] == "acme"
    assert store.last_used() == "Acme"


def test_hand_edited_secret_is_never_written_back(store: ProfileStore, paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    doc = {"profiles": {"a": {"client_id": "c", "client_secret": "hand-put-S3cret"}}}
    paths.profiles_file.write_text(json.dumps(doc))
    store.save(store.get("a"))
    assert "hand-put-S3cret" not in paths.profiles_file.read_text()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"profiles": {"a": ', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2]", "top level"),
        (b'{"profiles": []}', "'profiles'"),
        (b'{"profiles": {"a": 3}}', "profile entry"),
    ],
)
def test_corrupt_file_is_kept_and_reported(
    store: ProfileStore, paths: AppPaths, content: bytes, problem: str
) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_bytes(content)
    with pytest.raises(ProfilesCorruptError) as caught:
        store.list()
    err = caught.value
    assert isinstance(err, LocalError) and err.kind is ErrorKind.PROFILES_CORRUPT
    assert problem in err.detail
    assert err.backup.name.startswith("profiles.json.corrupt-")
    assert str(err.backup) in err.detail
    assert err.backup.read_bytes() == content
    assert paths.profiles_file.read_bytes() == content  # original untouched

    # Saving must not silently replace the broken file either.
    with pytest.raises(ProfilesCorruptError):
        store.save(Profile(name="new"))
    assert paths.profiles_file.read_bytes() == content
    # Reading again makes no second copy of the same content.
    with pytest.raises(ProfilesCorruptError):
        store.get("a")
    assert len(list(paths.config_dir.glob("profiles.json.corrupt-*"))) == 1


def test_start_fresh_after_corruption(store: ProfileStore, paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_bytes(b"{broken")
    backup = store.start_fresh()
    assert backup is not None and backup.read_bytes() == b"{broken"
    assert store.list() == []
    store.save(Profile(name="ok"))
    assert store.names() == ["ok"]
    assert store.start_fresh() is None  # readable file: nothing happens
    assert store.names() == ["ok"]


def test_backup_names_do_not_collide(paths: AppPaths) -> None:
    store = ProfileStore(paths, stamp=lambda: "20250101T000000Z")
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_bytes(b"{one")
    with pytest.raises(ProfilesCorruptError) as first:
        store.list()
    paths.profiles_file.write_bytes(b"{two")
    with pytest.raises(ProfilesCorruptError) as second:
        store.list()
    assert first.value.backup != second.value.backup
    assert first.value.backup.read_bytes() == b"{one"
    assert second.value.backup.read_bytes() == b"{two"


def test_profile_has_no_secret_field_and_file_has_no_secret(
    store: ProfileStore, paths: AppPaths
) -> None:
    from dataclasses import fields

    names = {f.name for f in fields(Profile)}
    assert not {n for n in names if "secret" in n and n != "secret_mode"}
    secret = "Sup3r-Secret-Value-123"
    from halo_paylink.storage.secrets import MemorySecretStore

    secrets = MemorySecretStore()
    profile = full_profile()
    store.save(profile)
    secrets.set(profile, secret)
    assert secret not in paths.profiles_file.read_text()
    assert 'secret"' not in paths.profiles_file.read_text().replace('secret_mode"', "")
