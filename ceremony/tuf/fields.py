"""Field readers shared by the role models: one place says what a valid field is.

TUF keeps unknown fields, so each reader takes the dict being read and pops the field (what is
left is the unknown fields to keep). The type checks are the tool's one strict reader's
(groundfloor.strictjson.Reader), speaking as TUF errors do: a TufFormatError whose field is
the path, which the containers prefix as the error travels up (TufError.located).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ceremony.tuf.errors import TufError, TufFormatError
from groundfloor.strictjson import Reader

_HEX = re.compile(r"[0-9a-fA-F]+")
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MISSING = object()


def _fail(where: str, problem: str) -> TufFormatError:
    return TufFormatError(problem, field=where or None)


READ = Reader(_fail)


def take(data: dict[str, Any], name: str, default: Any = MISSING) -> Any:
    if name in data:
        return data.pop(name)
    if default is MISSING:
        raise TufFormatError(f"missing required field '{name}'", field=name)
    return default


def _take_checked(data: dict[str, Any], name: str, default: Any,
                  check: Callable[[Any, str], Any]) -> Any:
    """take(), then `check(value, name)` unless the field was absent (or null) and has a
    default."""
    value = take(data, name, default)
    if value is default and default is not MISSING:
        return value
    return check(value, name)


def take_int(data: dict[str, Any], name: str, minimum: int, default: Any = MISSING) -> Any:
    return _take_checked(data, name, default, lambda value, where: READ.integer(
        value, where, minimum=minimum, what=f"an integer >= {minimum}"))


def take_str(data: dict[str, Any], name: str) -> str:
    return _take_checked(data, name, MISSING, READ.string)


def take_bool(data: dict[str, Any], name: str, default: Any = MISSING) -> Any:
    return _take_checked(data, name, default, lambda value, where: READ.boolean(
        value, where, what="true or false"))


def take_dict(data: dict[str, Any], name: str, default: Any = MISSING) -> Any:
    return _take_checked(data, name, default, READ.mapping)


def take_str_list(data: dict[str, Any], name: str, unique: bool = False,
                  default: Any = MISSING) -> Any:
    value = _take_checked(data, name, default, READ.strings)
    if unique and value is not default and len(set(value)) != len(value):
        raise TufFormatError("lists the same entry twice", field=name)
    return value


T = TypeVar("T")


def take_each(data: dict[str, Any], name: str, read: Callable[[Any], T]) -> dict[str, T]:
    """take_dict(), each value read by `read`; an error names its entry (`name.key...`)."""
    out = {}
    for key, value in take_dict(data, name).items():
        try:
            out[key] = read(value)
        except TufError as exc:
            raise exc.located(prefix=f"{name}.{key}") from None
    return out


def mapping(value: Any) -> dict[str, Any]:
    """An object being read (a role, key, target...): its containers name where it is."""
    return READ.mapping(value, "")


def parse_expires(text: str) -> datetime:
    try:
        return datetime.strptime(text, EXPIRES_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise TufFormatError(f"'{text}' is not a time as YYYY-MM-DDTHH:MM:SSZ (UTC)",
                             field="expires") from None


def check_hashes(hashes: Any, name: str = "hashes") -> dict[str, str]:
    READ.mapping(hashes, name, what="an object of algorithm -> hex digest")
    if not hashes:
        raise TufFormatError("must name at least one algorithm and its hex digest", field=name)
    for algorithm, digest in hashes.items():
        READ.string(digest, f"{name}.{algorithm}")
        # a digest becomes part of a file name (consistent snapshots): hex only
        if not _HEX.fullmatch(digest):
            raise TufFormatError(f"{ascii(digest[:80])} is not a hex digest",
                                 field=f"{name}.{algorithm}")
    return hashes
