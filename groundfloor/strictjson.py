"""The one strict JSON reader of the tool: parse a document, then read typed fields from it.

Every format the tool reads strictly (bundles, transcripts, Notary's metadata model) parses and
reads fields through this module, so they refuse the same things the same way:

- parsing (`loads`, `read_document`): a duplicate key, NaN or infinity, a number with a fraction
  or exponent (or, where a format has such numbers, one that is not finite), an integer longer
  than a bound, nesting past Python's limit; `read_document` also refuses an empty, non-ASCII
  or over-costly document (groundfloor.jsonlimits) before parsing.
- reading (`Reader`): a parsed value and the path where it was found ("where") give a typed
  field, or a refusal in one line naming that path: an object with exactly its allowed keys, a
  string (length, printable, pattern), an integer (a JSON true/false is not one), an array
  (length), lowercase hex, canonical base64, one of a few names, free JSON of bounded depth.

A format keeps its own error class and its own way of writing paths: it makes one Reader with
`fail(where, problem) -> Exception` (and, if it wants, how a key joins a path), then calls it.
Canonical writing is groundfloor.canonical; Notary's own Go-exact parser (duplicate keys named
as Go does, numbers as float64) stays in the Notary format package.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Collection
from typing import Any

from groundfloor.errors import GroundFloorError
from groundfloor.jsonlimits import check_parse_cost

MAX_INT_DIGITS = 19  # an int64's worth; a format's integers are never longer
_HEX = re.compile(r"[0-9a-f]*")


class StrictJSONError(GroundFloorError):
    """A document or a field refused by a strict reader; `where` and `problem` kept apart so a
    format can put them into its own error."""

    def __init__(self, where: str, problem: str):
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


# --- parsing ------------------------------------------------------------------------------------

class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text[:20]!r} has a fraction or exponent (not allowed)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (not allowed)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as infinity, which no writer writes
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _bounded_int(limit: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > limit:
            raise ValueError(f"number {text[:20]}... is too large")
        return int(text)
    return parse


_INT_PARSERS = {MAX_INT_DIGITS: _bounded_int(MAX_INT_DIGITS)}


def loads(text: str | bytes, *, floats: bool = False,
          max_int_digits: int | None = MAX_INT_DIGITS) -> Any:
    """Parse JSON strictly: duplicate keys, NaN and infinity refused; numbers with a fraction or
    exponent refused, or with `floats` read when finite; integers of at most `max_int_digits`
    digits (None: any). Raises ValueError (its message is the problem, without a place) or
    RecursionError for nesting past Python's limit."""
    int_parser = None
    if max_int_digits is not None:
        int_parser = _INT_PARSERS.get(max_int_digits) or _bounded_int(max_int_digits)
    return json.loads(text, object_pairs_hook=_no_duplicates,
                      parse_float=_finite_float if floats else _no_float,
                      parse_int=int_parser, parse_constant=_no_constant)


def read_document(data: bytes, what: str, *, error: Callable[[str], Exception] = GroundFloorError,
                  floats: bool = False, max_int_digits: int | None = MAX_INT_DIGITS) -> Any:
    """Parse a whole ASCII JSON document (`what` names it in every refusal): empty, non-ASCII,
    over-costly, truncated, invalid and everything `loads` refuses, raised as `error(message)`."""
    if not data.strip():
        raise error(f"{what} is empty")
    if not data.isascii():
        offset = next(i for i, byte in enumerate(data) if byte > 0x7F)
        raise error(f"{what} has a non-ASCII byte at offset {offset} (corrupted, or not a "
                    f"{what})")
    check_parse_cost(data, what, error=error)
    text = data.decode("ascii")
    try:
        return loads(text, floats=floats, max_int_digits=max_int_digits)
    except _Duplicate as exc:
        raise error(f"{what} has a {exc}") from None
    except RecursionError:
        raise error(f"{what} is nested too deeply") from None
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        if exc.pos >= len(body) or (body.startswith("{") and not body.endswith("}")):
            raise error(f"{what} is truncated: the JSON ends early after {len(data)} "
                        "bytes") from None
        raise error(f"{what} is not valid JSON ({exc.msg}, byte {exc.pos})") from None
    except ValueError as exc:
        raise error(f"{what}: {exc}") from None


# --- reading fields -----------------------------------------------------------------------------

def json_type(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words ("an array", "null")."""
    if value is None:
        return "null"
    kind = _TYPE_NAMES.get(type(value))
    return kind if kind is not None else type(value).__name__


_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number with a fraction",
               str: "a string", list: "an array", dict: "an object"}


def dotted(where: str, key: str) -> str:
    """The default path of a key: `where.key` (`key` at the top)."""
    return f"{where}.{key}" if where else key


class Reader:
    """Typed fields of parsed JSON for one format: each method returns the value it was given
    (checked) or raises `fail(where, problem)`.

    `join(where, key)` writes a key's path (default `where.key`). `key_in_path`: whether a
    missing or unknown field is named in the path (`signed.expires: missing field`) or in the
    problem (`content: missing field 'server'`). `missing` and `unknown` are those two
    problems' words; `unknown_hint` follows the latter, and `list_allowed` adds the keys allowed
    there. `describe(value)` names what was found instead (default: JSON's words; a YAML reader
    passes its own, which knows dates and decimals)."""

    __slots__ = ("fail", "join", "key_in_path", "missing", "unknown", "unknown_hint",
                 "list_allowed", "describe", "_field_sets")

    def __init__(self, fail: Callable[[str, str], Exception] = StrictJSONError, *,
                 join: Callable[[str, str], str] = dotted, key_in_path: bool = False,
                 missing: str = "missing field", unknown: str = "unknown field",
                 unknown_hint: str = "", list_allowed: bool = False,
                 describe: Callable[[Any], str] | None = None):
        self.fail = fail
        self.join = join
        self.key_in_path = key_in_path
        self.missing = missing
        self.unknown = unknown
        self.unknown_hint = unknown_hint
        self.list_allowed = list_allowed
        self.describe = describe or json_type
        self._field_sets: dict[tuple[tuple[str, ...], tuple[str, ...]],
                               tuple[frozenset[str], frozenset[str]]] = {}

    def _expected(self, value: Any, where: str, what: str) -> Exception:
        return self.fail(where, f"expected {what}, got {self.describe(value)}")

    def mapping(self, value: Any, where: str, what: str = "an object") -> dict[str, Any]:
        """Any JSON object."""
        if type(value) is not dict:
            raise self._expected(value, where, what)
        return value

    def fields(self, value: Any, where: str, required: tuple[str, ...],
               optional: tuple[str, ...] = (), what: str = "an object") -> dict[str, Any]:
        """An object with every `required` key, and no key that is neither required nor
        `optional`; the first missing (in `required`'s order), else the first unknown (sorted),
        is named."""
        if type(value) is not dict:
            raise self._expected(value, where, what)
        names = self._field_sets.get((required, optional))
        if names is None:  # the usual objects: all optional fields absent, or all present
            names = self._field_sets[required, optional] = (frozenset(required),
                                                            frozenset(required + optional))
        keys = value.keys()
        if keys == names[0] or keys == names[1]:
            return value
        for key in required:
            if key not in value:
                raise self._field_problem(where, key, self.missing)
        unknown = sorted(set(value) - names[1], key=str)
        if unknown:
            hint = self.unknown_hint
            if self.list_allowed:
                hint += f" (allowed here: {', '.join(sorted(names[1])) or 'none'})"
            raise self._field_problem(where, unknown[0], self.unknown + hint)
        return value

    def _field_problem(self, where: str, key: str, problem: str) -> Exception:
        if self.key_in_path:
            return self.fail(self.join(where, key), problem)
        return self.fail(where, f"{problem} {key!r}")

    def string(self, value: Any, where: str, *, max_len: int | None = None,
               printable: bool = False, pattern: re.Pattern[str] | None = None,
               what: str = "a string", like: str = "") -> str:
        """A string; at most `max_len` characters, printable, matching `pattern` (`like`
        describes the pattern in the refusal) where asked."""
        if type(value) is not str:
            raise self._expected(value, where, what)
        if max_len is not None and len(value) > max_len:
            raise self.fail(where, f"longer than {max_len} characters")
        if printable and not value.isprintable():
            raise self.fail(where, "must be printable (no control characters)")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(where, f"{value!r} is not {like or 'in the expected form'}")
        return value

    def boolean(self, value: Any, where: str, *, what: str = "a boolean") -> bool:
        if type(value) is not bool:
            raise self._expected(value, where, what)
        return value

    def integer(self, value: Any, where: str, *, minimum: int | None = None,
                maximum: int | None = None, too_large: str = "",
                what: str = "an integer") -> int:
        """An integer (JSON true/false are not integers); bounds inclusive. `too_large` says
        why `maximum` is the bound (`{value} is larger than <too_large>`)."""
        if type(value) is not int:
            raise self._expected(value, where, what)
        if minimum is not None and value < minimum:
            raise self.fail(where, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(where, f"{value} is larger than {too_large or maximum}")
        return value

    def array(self, value: Any, where: str, *, max_items: int | None = None,
              what: str = "an array", items: str = "items") -> list[Any]:
        """An array of at most `max_items` entries (`items` names them in the refusal)."""
        if type(value) is not list:
            raise self._expected(value, where, what)
        if max_items is not None and len(value) > max_items:
            raise self.fail(where, f"more than {max_items} {items}")
        return value

    def strings(self, value: Any, where: str, *, max_items: int | None = None) -> list[str]:
        """An array of strings; a wrong item is named by its index (`where[2]`)."""
        self.array(value, where, max_items=max_items, what="an array of strings")
        for i, item in enumerate(value):
            if type(item) is not str:
                raise self._expected(item, f"{where}[{i}]", "a string")
        return list(value)

    def choice(self, value: Any, where: str, choices: Collection[str]) -> str:
        """One of a few names."""
        if type(value) is not str or value not in choices:
            listed = ", ".join(sorted(choices))
            raise self.fail(where, f"{value!r} is not one of {listed}")
        return value

    def hex(self, value: Any, where: str, *, length: int) -> str:
        """Exactly `length` lowercase hex digits (a digest)."""
        if type(value) is not str or len(value) != length or not _HEX.fullmatch(value):
            raise self.fail(where, f"must be {length} lowercase hex digits")
        return value

    def base64(self, value: Any, where: str, *, limit: int) -> bytes:
        """Bytes (at most `limit`) from standard base64 in its one canonical spelling (padded,
        no line breaks, no stray bits): the same bytes always read from the same text."""
        self.string(value, where)
        if len(value) > (limit + 2) // 3 * 4:
            raise self.fail(where, f"more than the limit of {limit} bytes")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(where, "not valid base64") from None
        if base64.b64encode(raw).decode("ascii") != value:
            raise self.fail(where, "base64 is not in canonical form")
        return raw

    def json_value(self, value: Any, where: str, *, max_depth: int,
                   floats: bool = False) -> Any:
        """Free JSON (parameters, a resumable state): string keys, bounded depth, and numbers
        with a fraction only where `floats` says the format has them."""
        self._json_value(value, where, max_depth, floats, 0)
        return value

    def _json_value(self, value: Any, where: str, max_depth: int, floats: bool,
                    depth: int) -> None:
        if depth > max_depth:
            raise self.fail(where, f"nested more than {max_depth} levels deep")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise self.fail(where, "object keys must be strings")
                self._json_value(v, where, max_depth, floats, depth + 1)
        elif isinstance(value, list):
            for v in value:
                self._json_value(v, where, max_depth, floats, depth + 1)
        elif isinstance(value, float):
            if not floats:
                raise self.fail(where, "numbers with a fraction or exponent are not allowed")
            if not math.isfinite(value):
                raise self.fail(where, f"{value} is not a JSON number")
        elif value is not None and not isinstance(value, str | int):
            raise self.fail(where, f"{type(value).__name__} is not a JSON value")


# --- for a format that proves the absence of duplicate keys itself -----------------------------

# A number starts after `:`, `[`, `,` or whitespace, perhaps with a `-`: all of these become `!`
# and every digit `0`, so an integer longer than a bound shows as `!` and a run of `0`s.
_NUMBER_STARTS = bytes.maketrans(b"0123456789:[,- \t\n\r", b"0000000000" + b"!" * 8)


def loads_without_key_check(data: bytes, *,
                            max_int_digits: int | None = MAX_INT_DIGITS) -> Any | None:
    """`loads` of UTF-8 `data` at json.loads' own speed (no per-object and no per-integer
    hook), for a format that proves the absence of duplicate keys another way (TUF counts
    colons, ceremony/tuf/canonical.py). The integer bound is kept by one pass over the bytes
    (long_integer_in_text): None (call `loads`, which decides) when it finds one, and for the
    document `null`, which `loads` reads as None all the same. With `max_int_digits` None the
    pass is the caller's, who must then bound every integer of the value (integers_within, or
    its own equivalent) before trusting it. Fractions, exponents, NaN and infinity raise
    ValueError as in `loads`; bytes that are not UTF-8 and invalid JSON raise ValueError
    subclasses too, deep nesting RecursionError."""
    if max_int_digits is not None and long_integer_in_text(data, max_int_digits):
        return None
    return json.loads(data.decode("utf-8"), parse_float=_no_float, parse_constant=_no_constant)


def long_integer_in_text(data: bytes, max_int_digits: int = MAX_INT_DIGITS) -> bool:
    """Whether more than `max_int_digits` digits follow a place in `data` where a JSON number
    may start, a string's characters included (an over-estimate: then `loads` decides)."""
    if b"!" + b"0" * (max_int_digits + 1) in data.translate(_NUMBER_STARTS):
        return True
    return re.match(rb"[ \t\n\r]*-?[0-9]{%d}" % (max_int_digits + 1), data) is not None


def integers_within(value: Any, max_int_digits: int = MAX_INT_DIGITS, *,
                    skip: Any = None) -> bool:
    """Whether every integer of the parsed JSON `value` has at most `max_int_digits` digits,
    except inside the container `skip` (by identity), which the caller bounds itself. The same
    decision as the bound `loads` keeps while parsing: JSON writes an integer without leading
    zeros, so it has at most n digits exactly when its magnitude is below 10**n (-0 is 0)."""
    bound = 10 ** max_int_digits
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            if item is not skip:
                stack.extend(item.values())  # keys are strings
        elif kind is list:
            stack.extend(item)
        elif kind is int and not -bound < item < bound:
            return False
    return True
