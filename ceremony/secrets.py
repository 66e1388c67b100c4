"""Secrets that must never be written anywhere: a process-wide registry and a guard.

The code that obtains a PIN (or any other secret) registers it here the moment it has it;
everything that records or prints (the transcript first of all) checks its output against the
registry and refuses -- or, for error text, scrubs -- anything that contains a registered value.
The module depends on nothing but the standard library and CeremonyError, so the PKCS#11 layer
can register PINs without pulling in the domain.

Matching: a secret of 8 characters or more counts wherever it occurs. A shorter one (a typical
PIN) counts only where it stands alone, not next to a letter or digit: "pin=1234", "--pin 1234"
and "1234" are caught, while a digest or serial that merely contains "1234" among other
hex digits is not -- refusing those would make some ceremonies impossible to record at all.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from ceremony.errors import CeremonyError

REDACTED = "[REDACTED]"
_ANYWHERE_LENGTH = 8

_lock = threading.Lock()
_patterns: dict[str, re.Pattern[str]] = {}


class SecretLeakError(CeremonyError):
    """Something about to be recorded contains a registered secret. The message never does."""


def _pattern(secret: str) -> re.Pattern[str]:
    escaped = re.escape(secret)
    if len(secret) >= _ANYWHERE_LENGTH:
        return re.compile(escaped)
    return re.compile(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])")


def register_secret(secret: str | bytes) -> None:
    """Remember `secret` for this process: from now on it is never recorded or printed."""
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8", "surrogateescape")
    if not isinstance(secret, str) or not secret:
        raise ValueError("a secret must be a non-empty string")
    with _lock:
        _patterns.setdefault(secret, _pattern(secret))


def forget_secret(secret: str | bytes) -> None:
    """Stop guarding `secret` (tests; a ceremony keeps its PINs registered until it exits)."""
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8", "surrogateescape")
    with _lock:
        _patterns.pop(secret, None)


def contains_secret(text: str) -> bool:
    """True if `text` contains a registered secret (see the matching rule above)."""
    with _lock:
        patterns = list(_patterns.values())
    return any(p.search(text) for p in patterns)


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by [REDACTED]."""
    with _lock:
        patterns = list(_patterns.values())
    for p in patterns:
        text = p.sub(REDACTED, text)
    return text


def scrub_value(value: Any) -> Any:
    """A copy of a JSON-like value with every string scrubbed (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def check_no_secret(value: Any, what: str) -> None:
    """Raise SecretLeakError if any string in `value` (keys included) contains a secret."""
    if isinstance(value, str):
        if contains_secret(value):
            raise SecretLeakError(f"refusing to record {what}: it contains a value registered as "
                                  "secret (a PIN?); nothing was written")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            check_no_secret(k, what)
            check_no_secret(v, what)
    elif isinstance(value, list | tuple):
        for v in value:
            check_no_secret(v, what)
    elif isinstance(value, bytes | bytearray):
        check_no_secret(bytes(value).decode("latin-1"), what)
