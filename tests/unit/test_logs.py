"""redact and storage.logs: every masking pattern, the log file, and no secret on disk."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from halo_paylink.redact import MASK, forget_secrets, redact, register_secret
from halo_paylink.storage import logs
from halo_paylink.storage.logs import RedactingFilter, setup_logging, shutdown_logging
from halo_paylink.storage.paths import AppPaths
from halo_paylink.storage.profiles import Profile, ProfileStore
from halo_paylink.storage.secrets import MemorySecretStore

POSIX = os.name != "nt"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzY29wZSI6InJlYWQ6aW52b2ljZXMiLCJhZ2VudF9pZCI6MX0."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def root_logging(tmp_path: Path) -> Iterator[AppPaths]:
    """Our handlers on the root logger for one test, then the root logger as it was."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    paths = AppPaths.under(tmp_path / "home")
    try:
        yield paths
    finally:
        shutdown_logging(root)
        root.setLevel(level)
        assert root.handlers == handlers
        logging.captureWarnings(False)


def read_all(folder: Path) -> str:
    """Every byte of every file below `folder`, decoded leniently (the `grep -r` of this test)."""
    chunks = [p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()]
    return "\n".join(chunks)


# --- redact() ------------------------------------------------------------------------------------
def test_registered_secret_and_encoded_forms() -> None:
    register_secret("p@ss w0rd/with+chars")
    text = (
        "raw p@ss w0rd/with+chars, form p%40ss+w0rd%2Fwith%2Bchars, "
        "quoted p%40ss%20w0rd%2Fwith%2Bchars"
    )
    out = redact(text)
    assert "w0rd" not in out
    assert out.count(MASK) == 3


def test_short_values_not_registered() -> None:
    register_secret("abc")
    register_secret(None)
    register_secret("")
    assert redact("abc abc") == "abc abc"


def test_longest_registered_secret_wins() -> None:
    register_secret("secretvalue")
    register_secret("secretvalue-and-more")
    assert redact("x secretvalue-and-more y") == f"x {MASK} y"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("Authorization: Bearer abc.DEF-123_xyz~+/==", "abc.DEF"),
        ("headers={'authorization': 'bearer opaqueTOKEN123'}", "opaqueTOKEN123"),
        ("Authorization: Basic ZGVtbzpzZWNyZXQ=", "ZGVtbzpzZWNyZXQ"),
        ('{"access_token": "tok-json-1", "expires_in": 3600}', "tok-json-1"),
        ('{"client_secret":"cs-json-2"}', "cs-json-2"),
        ('{"refresh_token" : "rt-json-3"}', "rt-json-3"),
        ('{"access_token": "with \\"escaped\\" quote"}', "escaped"),
        ("{'access_token': 'tok-repr-4'}", "tok-repr-4"),
        ("grant_type=client_credentials&client_id=c&client_secret=cs-form-5&scope=x", "cs-form-5"),
        ("access_token=tok-form-6", "tok-form-6"),
        ("https://h/cb?refresh_token=rt-query-7&x=1", "rt-query-7"),
        ("client_secret: cs-prose-8", "cs-prose-8"),
        ("HALO_CLIENT_SECRET=env-secret-9 halo-paylink check", "env-secret-9"),
        (f"token was {JWT} ok", "c2lnbmF0dXJl"),
        (f"Bearer {JWT}", "eyJzY29wZSI6"),
    ],
)
def test_patterns_are_masked(text: str, leaked: str) -> None:
    out = redact(text)
    assert leaked not in out, out
    assert MASK in out


def test_form_mask_keeps_neighbours() -> None:
    out = redact("client_id=abc&client_secret=cs-form-5&scope=read:invoices")
    assert out == f"client_id=abc&client_secret={MASK}&scope=read:invoices"
    assert redact('{"access_token": "t0k3n", "token_type": "Bearer"}') == (
        f'{{"access_token": "{MASK}", "token_type": "Bearer"}}'
    )


def test_harmless_text_untouched() -> None:
    for text in [
        "GET https://acme.halopsa.com/api/Invoice?pageinate=true&page_size=100 200",
        "client_id=demo-client scope=read:invoices edit:invoices",
        "The bearer of bad news",
        "Basic authentication is not used",
        "",
    ]:
        assert redact(text) == text


# --- RedactingFilter -----------------------------------------------------------------------------
def make_record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)


def test_filter_masks_message_args_and_traceback() -> None:
    register_secret("filter-secret-1")
    try:
        raise RuntimeError("failed with client_secret=filter-secret-1 and Bearer tkn-abcdef")
    except RuntimeError as exc:
        record = make_record(
            "posting %s with %r", "filter-secret-1", {"access_token": "a-t-v"}, exc=exc
        )
    assert RedactingFilter().filter(record) is True
    assert record.args is None
    assert "filter-secret-1" not in record.getMessage()
    assert "a-t-v" not in record.getMessage()
    assert record.exc_text and "Traceback" in record.exc_text
    assert "filter-secret-1" not in record.exc_text and "tkn-abcdef" not in record.exc_text
    formatted = logging.Formatter().format(record)
    assert "filter-secret-1" not in formatted and "tkn-abcdef" not in formatted


def test_filter_survives_bad_format() -> None:
    record = make_record("%d items", "not-a-number")
    assert RedactingFilter().filter(record)
    assert "not-a-number" in record.getMessage()


# --- setup_logging -------------------------------------------------------------------------------
def test_log_file_rotates_and_is_private(root_logging: AppPaths) -> None:
    setup_logging(root_logging, level=logging.DEBUG)
    handler = next(h for h in logging.getLogger().handlers if getattr(h, logs._OURS, False))
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 1_000_000 and handler.backupCount == 5
    logging.getLogger("halo_paylink.test").info("hello %s", "world")
    handler.flush()
    line = root_logging.log_file.read_text(encoding="utf-8").strip()
    assert line.endswith("halo_paylink.test: hello world")
    assert line[:4].isdigit() and " INFO " in line  # starts with a timestamp
    if POSIX:
        assert stat.S_IMODE(root_logging.log_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(root_logging.log_dir.stat().st_mode) == 0o700
    handler.doRollover()
    logging.getLogger("halo_paylink.test").info("after rollover")
    handler.flush()
    assert (root_logging.log_dir / "halo-paylink.log.1").exists()
    if POSIX:
        assert stat.S_IMODE(root_logging.log_file.stat().st_mode) == 0o600


def test_setup_twice_does_not_duplicate(root_logging: AppPaths) -> None:
    setup_logging(root_logging)
    setup_logging(root_logging)
    ours = [h for h in logging.getLogger().handlers if getattr(h, logs._OURS, False)]
    assert len(ours) == 1
    logging.getLogger("x").warning("once")
    ours[0].flush()
    assert root_logging.log_file.read_text().count("once") == 1


def test_httpx_logger_goes_through_the_filter(root_logging: AppPaths) -> None:
    console = io.StringIO()
    setup_logging(root_logging, level=logging.INFO, console=console, console_level=logging.INFO)
    # httpx logs the request line (URL) itself; make sure anything token-like in it is masked.
    logging.getLogger("httpx").info(
        'HTTP Request: POST https://h/auth/token?access_token=leak-httpx-1 "HTTP/1.1 200 OK"'
    )
    logging.getLogger("httpx").info("headers: Authorization: Bearer leak-httpx-2")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = root_logging.log_file.read_text()
    assert "HTTP Request: POST https://h/auth/token" in text
    for leaked in ("leak-httpx-1", "leak-httpx-2"):
        assert leaked not in text
        assert leaked not in console.getvalue()
    assert "HTTP Request" in console.getvalue()


def test_exception_logging_is_redacted(
    root_logging: AppPaths, expect_log_warning: Callable[[str], None]
) -> None:
    expect_log_warning(r"^request failed$")
    setup_logging(root_logging)
    register_secret("tb-secret-value")
    try:
        raise ValueError(f"bad response {json.dumps({'access_token': 'tb-token'})} tb-secret-value")
    except ValueError:
        logging.getLogger("halo_paylink").exception("request failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = root_logging.log_file.read_text()
    assert "Traceback" in text and "ValueError" in text
    assert "tb-secret-value" not in text and "tb-token" not in text


def test_log_uncaught_is_redacted(
    root_logging: AppPaths,
    capsys: pytest.CaptureFixture[str],
    expect_log_warning: Callable[[str], None],
) -> None:
    expect_log_warning(r"^Uncaught exception$")
    setup_logging(root_logging)
    register_secret("crash-secret-77")
    try:
        raise RuntimeError("crash-secret-77")
    except RuntimeError as exc:
        logs.log_uncaught(RuntimeError, exc, exc.__traceback__)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "crash-secret-77" not in capsys.readouterr().err
    text = root_logging.log_file.read_text()
    assert "Uncaught exception" in text and "crash-secret-77" not in text


def test_no_secret_anywhere_on_disk(
    root_logging: AppPaths, expect_log_warning: Callable[[str], None]
) -> None:
    """Save a profile + secret, log the secret in every way: no file under any app folder has it."""
    expect_log_warning(r"^failure$")
    secret = "Gr3p-Me-If-You-Can-0xDEADBEEF"
    token = "access-token-9f8e7d6c5b4a"
    paths = root_logging.ensure()
    setup_logging(paths, level=logging.DEBUG)
    store = ProfileStore(paths)
    secrets = MemorySecretStore()
    profile = Profile(name="Acme", web_url="https://acme.halopsa.com", client_id="cid")
    store.save(profile)
    secrets.set(profile, secret)  # registers the secret for redaction, as the app does
    store.set_last_used("Acme")
    log = logging.getLogger("halo_paylink.auth")
    log.info("token request client_id=cid&client_secret=%s", secret)
    log.debug("secret as arg: %s / %r", secret, {"client_secret": secret})
    log.info('token response {"access_token": "%s", "token_type": "Bearer"}', token)
    log.info("calling with Authorization: Bearer %s", token)
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://acme.halopsa.com/auth/token %s", secret
    )
    try:
        raise RuntimeError(f"boom {secret}")
    except RuntimeError:
        log.exception("failure")
    for handler in logging.getLogger().handlers:
        handler.flush()

    everything = "\n".join(read_all(d) for d in (paths.config_dir, paths.log_dir, paths.state_dir))
    assert "Acme" in everything and "halo_paylink.auth" in everything  # we did read real files
    assert secret not in everything
    assert token not in everything
    assert secret.lower() not in everything.lower()


def test_redact_masks_per_call_secrets_and_token_fields() -> None:
    from halo_paylink.redact import redact

    text = redact(
        "client_secret=s3cr3t-value&x=1 Authorization: Bearer abc.def.ghi access_token: 'tok'",
        "s3cr3t-value",
    )
    assert "s3cr3t" not in text
    assert "abc.def.ghi" not in text
    assert "tok'" not in text
    assert redact("the word secret itself", "ab") == "the word secret itself"
