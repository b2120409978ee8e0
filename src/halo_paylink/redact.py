"""Masking of secrets and tokens in any text: log records, the crash dialog, reports.

`redact(text)` replaces, in this order:
  1. every value registered with `register_secret` (and its URL-encoded form),
  2. `Bearer <token>` (8+ characters), and `Basic <credentials>` in an Authorization header,
  3. the values of `access_token`, `client_secret`, `refresh_token`, `id_token`, `password` and
     an API key (`x-api-key`, `api_key`) in
     JSON (`"access_token": "..."`), Python reprs (`'access_token': '...'`) and form/query text
     (`access_token=...`, `client_secret: ...`),
  4. anything that looks like a JWT (`eyJ....eyJ....sig`).

The registry of secret values is process-wide on purpose: a secret typed into the window must be
masked in every log line and traceback, whichever module writes it. It is thread-safe.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"

#: Registered values shorter than this are not masked: masking "abc" everywhere would garble logs,
#: and no real client secret is that short.
MIN_SECRET_LENGTH = 4

_SENSITIVE_KEYS = (
    r"access_token|client_secret|refresh_token|id_token|password|secret|x-api-key|api_key|apikey"
)

# A token is at least 8 characters, so prose such as "the bearer of" is left alone.
_BEARER = re.compile(r"(?i)\b(Bearer)(\s+)[A-Za-z0-9\-._~+/]{8,}=*")
# Basic credentials only in an Authorization header ("basic authentication" is prose).
_BASIC = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?basic)(\s+)[A-Za-z0-9+/]{4,}=*")
_JSON_VALUE = re.compile(
    rf'(?i)("(?:{_SENSITIVE_KEYS})"\s*:\s*")((?:[^"\\]|\\.)*)(")',
)
_REPR_VALUE = re.compile(rf"(?i)('(?:{_SENSITIVE_KEYS})'\s*:\s*')((?:[^'\\]|\\.)*)(')")
# `key=value` in form bodies and query strings, and `key: value` in prose/headers. The value ends
# at the next separator; quotes are left alone so JSON/repr forms are not double-handled. An
# underscore counts as a boundary so `HALO_CLIENT_SECRET=...` is caught too.
_FORM_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9])((?:{_SENSITIVE_KEYS})(?:=|:[ \t]*))(?![\"'])([^&\s\"',;]+)"
)
# `key: 'value'` / `key="value"`: an unquoted key with a quoted value (logs, config dumps).
_QUOTED_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9\"'])((?:{_SENSITIVE_KEYS})\s*[:=]\s*)(['\"])((?:(?!\2)[^\\]|\\.)*)(\2)"
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask `value` (and its URL-encoded forms) in everything `redact` sees from now on.

    Call it as soon as a secret enters the process (typed, or read from the keyring or environment).
    Values shorter than `MIN_SECRET_LENGTH` characters are ignored. Any thread.
    """
    with _lock:
        _secrets.update(_variants(value))


def _variants(value: str | None) -> set[str]:
    """`value` and its URL-encoded forms, when long enough to mask safely."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return set()
    variants = {value, quote_plus(value), quote(value, safe="")}
    return {v for v in variants if len(v) >= MIN_SECRET_LENGTH}


def forget_secrets() -> None:
    """Clear the registry (tests; and when the user signs out of every profile)."""
    with _lock:
        _secrets.clear()


def registered_secret_count() -> int:
    with _lock:
        return len(_secrets)


def redact(text: str, *extra_secrets: str | None) -> str:
    """`text` with every secret, token and credential value replaced by `MASK`. Any thread.

    Args:
        extra_secrets: values to mask in this call too (e.g. the token a request used), besides
            the registered ones; masked with their URL-encoded forms, like registered ones.
    """
    if not text:
        return text
    extra = set().union(*(_variants(s) for s in extra_secrets))
    with _lock:
        # Longest first, so a secret that contains another registered one is masked whole.
        secrets = sorted(_secrets | extra, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _BASIC.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _JSON_VALUE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _REPR_VALUE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _FORM_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _QUOTED_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(4)}", text)
    text = _JWT.sub(MASK, text)
    return text
