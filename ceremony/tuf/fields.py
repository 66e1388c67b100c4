"""Field readers shared by the role models: one place says what a valid field is.

Each takes the dict being read (popping the field, so that what is left is the unknown
fields to keep) and raises TufFormatError naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ceremony.tuf.errors import TufFormatError

_HEX = re.compile(r"[0-9a-fA-F]+")
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MISSING = object()


def take(data: dict[str, Any], name: str, default: Any = MISSING) -> Any:
    if name in data:
        return data.pop(name)
    if default is MISSING:
        raise TufFormatError(f"missing required field '{name}'", field=name)
    return default


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def take_int(data: dict[str, Any], name: str, minimum: int, default: Any = MISSING) -> Any:
    value = take(data, name, default)
    if value is default and default is not MISSING:
        return value
    if not is_int(value) or value < minimum:
        raise TufFormatError(f"must be an integer >= {minimum}, not {value!r}", field=name)
    return value


def take_str(data: dict[str, Any], name: str) -> str:
    value = take(data, name)
    if not isinstance(value, str):
        raise TufFormatError(f"must be a string, not {type(value).__name__}", field=name)
    return value


def take_bool(data: dict[str, Any], name: str, default: Any = MISSING) -> Any:
    value = take(data, name, default)
    if value is default and default is not MISSING:
        return value
    if not isinstance(value, bool):
        raise TufFormatError(f"must be true or false, not {value!r}", field=name)
    return value


def take_dict(data: dict[str, Any], name: str, default: Any = MISSING) -> Any:
    value = take(data, name, default)
    if value is default and default is not MISSING:
        return value
    if not isinstance(value, dict):
        raise TufFormatError("must be an object", field=name)
    return value


def take_str_list(data: dict[str, Any], name: str, unique: bool = False,
                  default: Any = MISSING) -> Any:
    value = take(data, name, default)
    if value is default and default is not MISSING:
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TufFormatError("must be a list of strings", field=name)
    if unique and len(set(value)) != len(value):
        raise TufFormatError("lists the same entry twice", field=name)
    return value


def parse_expires(text: str) -> datetime:
    try:
        return datetime.strptime(text, EXPIRES_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise TufFormatError(f"'{text}' is not a time as YYYY-MM-DDTHH:MM:SSZ (UTC)",
                             field="expires") from None


def check_hashes(hashes: Any, name: str = "hashes") -> dict[str, str]:
    if not isinstance(hashes, dict) or not hashes:
        raise TufFormatError("must be a non-empty object of algorithm -> hex digest", field=name)
    for algorithm, digest in hashes.items():
        if not isinstance(digest, str):
            raise TufFormatError("must be a non-empty object of algorithm -> hex digest",
                                 field=name)
        # a digest becomes part of a file name (consistent snapshots): hex only
        if not _HEX.fullmatch(digest):
            raise TufFormatError(f"{ascii(digest[:80])} is not a hex digest",
                                 field=f"{name}.{algorithm}")
    return hashes
