"""Typed readers for the values of a ceremony script: each returns the value or raises a
ScriptError naming the field (`steps[2] (init).root-tokens[0]: ...`).

Types, keys and bounds are checked by the tool's one strict reader (groundfloor.strictjson),
worded for scripts; what is only the scripts' own stays here: text that is not empty and has no
control or bidi characters, names and key labels, a digest YAML read as a number, paths, lists
without repeats, the duration grammar.

YAML's implicit typing is not trusted: a field that wants text refuses a number, a boolean or
a date (write it in quotes), and a field that wants a number refuses text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from ceremony.errors import CeremonyError
from ceremony.scripts.yamlread import ScriptError
from groundfloor import strictjson
from groundfloor.names import InvalidName, validate_gun, validate_role
from hsm.errors import HSMError

NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
SHA256 = re.compile(r"[0-9a-f]{64}")
KEY_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_TEXT = 4000
MAX_LIST = 10_000

Reader = Callable[[Any, str], Any]


def fail(where: str, problem: str) -> ScriptError:
    return ScriptError(f"{where}: {problem}")


# What YAML made of a value, in a script writer's words; checked in this order because a
# boolean is an int and a datetime is a date.
_YAML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean (true/false)"), (int, "a number"), (float, "a decimal number"),
    (dt.date, "a date (write it in quotes)"), (str, "text"), (list, "a list"),
    (dict, "a mapping"), (type(None), "nothing (null)"))


def type_name(value: Any) -> str:
    return next((words for kind, words in _YAML_TYPES if isinstance(value, kind)),
                type(value).__name__)


# The scripts' one strict reader: a missing or unknown key is named in the path
# (`steps[0] (init).colour: unknown key (allowed here: ...)`).
READ = strictjson.Reader(fail, key_in_path=True, missing="missing (required)",
                         unknown="unknown key", list_allowed=True, describe=type_name)


def mapping(value: Any, where: str, *, required: tuple[str, ...] = (),
            optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A mapping with exactly the allowed keys: the first missing one is named, else the first
    unknown one with the keys allowed there."""
    return READ.fields(value, where, required, optional, what="a mapping")


def text(value: Any, where: str, *, multiline: bool = False, limit: int = 200) -> str:
    READ.string(value, where, max_len=MAX_TEXT if multiline else limit, what="text")
    if not value.strip():
        raise fail(where, "is empty")
    bad = [c for c in value if (ord(c) < 32 and not (multiline and c in "\n\t"))
           or 0x7f <= ord(c) < 0xa0 or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]
    if bad:
        raise fail(where, f"contains a control character ({bad[0]!r})")
    return value


def name(value: Any, where: str) -> str:
    return READ.string(text(value, where, limit=64), where, pattern=NAME,
                       like="a name: lowercase letters, digits and '-', at most 64 characters")


def key_label(value: Any, where: str) -> str:
    return READ.string(text(value, where, limit=64), where, pattern=KEY_LABEL,
                       like="a key label: letters, digits, '.', '_', '-'")


def integer(value: Any, where: str, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
    return READ.integer(value, where, minimum=minimum, maximum=maximum,
                        too_large=f"{maximum}, the most allowed here", what="a whole number")


def boolean(value: Any, where: str) -> bool:
    return READ.boolean(value, where, what="true or false")


def sha256(value: Any, where: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise fail(where, "a SHA-256 must be written in quotes (YAML read it as a number)")
    value = text(value, where, limit=64).lower()
    if not SHA256.fullmatch(value):
        raise fail(where, "expected a SHA-256 digest: 64 hexadecimal characters")
    return value


def gun(value: Any, where: str) -> str:
    try:
        return validate_gun(READ.string(value, where, what="a GUN"))
    except InvalidName as exc:
        raise fail(where, str(exc)) from None


def delegation_role(value: Any, where: str) -> str:
    try:
        role = validate_role(READ.string(value, where, what="a role name"))
    except InvalidName as exc:
        raise fail(where, str(exc)) from None
    if not role.startswith("targets/"):
        raise fail(where, f"{role!r} is not a delegation (targets/NAME)")
    return role


def grammar(parse: Callable[[str, str], Any]) -> Reader:
    """A value in the tool's one duration grammar (hsm/duration.py), checked by `parse` (the
    function the command line uses for the same option) and kept as written."""
    def read(value: Any, where: str) -> str:
        if not isinstance(value, str) or value.strip():  # an empty one: the grammar's words
            value = text(value, where, limit=32)
        try:
            parse(value, where)
        except (CeremonyError, HSMError) as exc:  # its message names `where`: said once
            problem = " ".join(str(exc).split()).removeprefix(where).strip()
            raise fail(where, problem) from None
        return value
    return read


def duration(value: Any, where: str) -> dt.timedelta:
    """A DURATION (hsm/duration.py), refused in the words every duration option uses."""
    from hsm.duration import parse_duration
    return parse_duration(grammar(parse_duration)(value, where), where)


def choice(options: tuple[str, ...]) -> Reader:
    """One of a few names; a value that is not text is named as what YAML made of it."""
    expected = f"one of {', '.join(sorted(options))}"

    def read(value: Any, where: str) -> str:
        return READ.choice(READ.string(value, where, what=expected), where, options)
    return read


def pin_source(value: Any, where: str) -> str:
    from hsm.errors import HSMError
    from hsm.pin import parse_pin_source
    value = text(value, where, limit=1024)
    try:
        parse_pin_source(value)
    except HSMError as exc:
        raise fail(where, " ".join(str(exc).split())) from None
    return value


def path(value: Any, where: str, *, relative: bool = False) -> str:
    """A file name. Output paths (`relative`) must stay inside the outputs folder."""
    value = text(value, where, limit=1024)
    p = PurePosixPath(value)
    if relative and (p.is_absolute() or ".." in p.parts or value.startswith("~")):
        raise fail(where, f"{value!r}: outputs are relative paths inside the outputs folder "
                          "(no '/' at the start, no '..')")
    if p.name in ("", ".", ".."):
        raise fail(where, f"{value!r} is not a file name")
    return value


def listed(reader: Reader, *, minimum: int = 0, unique: bool = True) -> Reader:
    def read(value: Any, where: str) -> list[Any]:
        READ.array(value, where, max_items=MAX_LIST, what="a list")
        if len(value) < minimum:
            raise fail(where, f"needs at least {minimum} item(s)")
        out = [reader(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if unique:
            seen: set[Any] = set()
            for i, item in enumerate(out):
                if item in seen:
                    raise fail(f"{where}[{i}]", f"{item!r} is listed twice")
                seen.add(item)
        return out
    return read


def versions(value: Any, where: str) -> dict[str, int]:
    READ.mapping(value, where, what="a mapping of role to version")
    out = {}
    for role, number in value.items():
        try:
            validate_role(role)
        except InvalidName as exc:
            raise fail(f"{where}.{role}", str(exc)) from None
        out[role] = integer(number, f"{where}.{role}")
    return out


def read_fields(raw: Mapping[str, Any], where: str, spec: Mapping[str, Reader]) -> dict[str, Any]:
    """Read each present key of `raw` with its reader (keys already checked by `mapping`)."""
    return {key: spec[key](value, f"{where}.{key}") for key, value in raw.items() if key in spec}
