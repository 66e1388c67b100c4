"""The bytes of TUF 1.0 metadata: strict JSON in, canonical JSON of `signed` out.

Reading is the tool's one strict reader (groundfloor.strictjson: no duplicate key, no number
with a fraction or exponent, no NaN or infinity, integers of at most 19 digits) after the
parse-cost bound of groundfloor.jsonlimits; TUF adds only what is its own: UTF-8 (not ASCII
only), no lone surrogate, and every refusal a TufFormatError naming the file.

Canonical JSON as securesystemslib's `encode_canonical` writes it (what every TUF 1.0 client
verifies): object keys sorted by code point, no whitespace, strings with only `\\` and `"`
escaped (every other character as is, UTF-8), integers only. Floats have no canonical form,
so they are refused on reading, not rounded.

Why this is not groundfloor.canonical (the tool's own canonical JSON for bundles and
transcripts), though both sort keys by code point and write no whitespace: groundfloor's is
ASCII only, writing every non-ASCII character as a `\\uXXXX` escape and every control
character as `\\n`, `\\t` or `\\u001f`, where OLPC canonical JSON writes both as they are
(UTF-8): `{"a":"é<newline>"}` is `{"a":"\\u00e9\\n"}` there and the bytes
`{"a":"<c3 a9><0a>"}` here. groundfloor's also writes numbers with a fraction, which have no
form here. A PEM key in every root holds newlines, so one encoder cannot serve both: a
signature over the other bytes would not verify in any TUF client.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ceremony.tuf.errors import TufFormatError
from groundfloor.jsonlimits import check_parse_cost
from groundfloor.strictjson import MAX_INT_DIGITS, loads, loads_without_key_check

_CLEAN_COPY = "; TUF metadata is strict JSON, ask its author for a clean copy"


def check_cost(data: bytes, file: str | None = None) -> int:
    """Refuse a document whose parse would cost more memory than the tool's bound
    (groundfloor.jsonlimits), before it is parsed by either reader; the number of colons
    in `data` (count_colons, from the same pass) if not."""
    try:
        return check_parse_cost(data, "metadata", error=TufFormatError)
    except TufFormatError as exc:
        raise exc.located(file) from None


def load_json(data: bytes, file: str | None = None) -> Any:
    """Parse `data` strictly (check_cost, then parse_strict)."""
    check_cost(data, file)
    return parse_strict(data, file)


def parse_strict(data: bytes, file: str | None = None) -> Any:
    """Parse `data` (its cost checked) strictly: UTF-8, and groundfloor.strictjson.loads'
    rules (duplicate keys, fractions, exponents, NaN, infinity, long integers refused)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TufFormatError(f"not UTF-8 (byte {exc.start})", file=file) from None
    try:
        value = loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise TufFormatError(f"not JSON ({exc})", file=file) from None
    except ValueError as exc:  # the strict reader's refusal, in its words
        raise TufFormatError(f"{exc}{_CLEAN_COPY}", file=file) from None
    # UTF-8 text cannot hold a lone surrogate, but a \ud800 escape can: such a string has
    # no UTF-8 (so no canonical) form. Only files with such escapes pay for the walk.
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(value, file)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def count_colons(text: str | bytes) -> int:
    """The number of `:` in `text` (see load_json_counted)."""
    return text.count(":") if isinstance(text, str) else text.count(b":")


def load_json_counted(data: bytes, colons: int | None = None, *,
                      bound_integers: bool = True) -> tuple[Any, int] | None:
    """Parse `data` (its cost checked) without the per-object duplicate-key hook
    (strictjson.loads_without_key_check), with the number of colons its text holds (`colons`
    if the caller has counted them: check_cost does); None where a colon may be written as an
    escape, and on any refusal (then parse_strict names it). With `bound_integers` False the
    integer bound is the caller's to keep on the value (Metadata.from_bytes does, where the
    model has read the integers already: ints_bounded).

    Why that proves there is no duplicate key: in JSON text a colon is either the separator
    of one key-value pair or a character inside a string, and with no `\\u` escape in the
    text every colon of a string is written as itself. The compact JSON of the parsed value
    (canonical or json.dumps: neither escapes a colon) holds one colon per pair and the same
    colons in its strings. A duplicate key, which json.loads silently collapses, drops at
    least one pair, so the parsed value shows fewer colons than the text: the caller
    compares (Metadata.from_bytes). (A colon is one byte in UTF-8 and in no other character's
    bytes, so the bytes are counted.)"""
    if b"\\" in data and b"\\u" in data:  # the first scan is memchr, several times faster
        return None
    try:
        value = loads_without_key_check(
            data, max_int_digits=MAX_INT_DIGITS if bound_integers else None)
    except (ValueError, RecursionError):
        return None
    if value is None:
        return None
    return value, count_colons(data) if colons is None else colons


def _check_strings(value: Any, file: str | None) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise TufFormatError(f"string {ascii(item[:40])} holds a lone UTF-16 "
                                     "surrogate: it has no UTF-8 form", file=file) from None


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


canonical_string = _string  # a key or string as canonical JSON writes it


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if not isinstance(key, str):
                raise TufFormatError(f"object key {key!r} is not a string")
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise TufFormatError(f"{type(value).__name__} {value!r} has no canonical JSON form")


def encode_canonical(value: Any) -> bytes:
    """The canonical JSON bytes of `value` (what is signed and what key IDs hash)."""
    out: list[str] = []
    try:
        _encode(value, out)
    except RecursionError:
        raise TufFormatError("nested too deeply to encode; no TUF metadata nests like "
                             "this") from None
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise TufFormatError("a string holds a lone UTF-16 surrogate: it has no UTF-8 "
                             "form") from None


# The escapes json.dumps(ensure_ascii=False) writes that canonical JSON writes too. Any other
# (\n, \t, \u001f, ...) means a string holds a control character, which canonical JSON writes
# as it is.
_SAME_ESCAPES = re.compile(r'\\["\\]')
# Every escape json.dumps writes: each backslash of its output starts one (a backslash in a
# string is written `\\`), so a left-to-right scan meets exactly the escapes, never a part.
_JSON_ESCAPE = re.compile(r'\\(["\\bfnrt]|u00[0-1][0-9a-fA-F])')
_CONTROL = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def fast_path_is_exact(json_text: str) -> bool:
    """Whether `json_text`, as json.dumps(ensure_ascii=False) wrote it, is byte for byte the
    canonical form: json.dumps escapes `"` and `\\` as canonical JSON does, and every other
    character it escapes is a control character. So if no backslash starts any other escape,
    the two encoders agree."""
    if "\\" not in json_text:
        return True
    return "\\" not in _SAME_ESCAPES.sub("", json_text)


def _control(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in ('"', "\\"):
        return match.group(0)  # the two escapes canonical JSON keeps
    return _CONTROL.get(code) or chr(int(code[1:], 16))


def encode_canonical_parsed(value: Any) -> bytes:
    """encode_canonical for a value read by load_json (string keys, integers only: checked
    when it was read) through the C JSON encoder, several times faster on a large targets
    file. Its output is used as is when that is provably the canonical form
    (fast_path_is_exact: the common case); a document whose strings hold control characters
    (a PEM key's newlines in every root) gets them written back as they are, escape by escape;
    anything else goes to the exact encoder. Parsed JSON has no reference cycles, so the
    encoder's cycle check is skipped."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          allow_nan=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return encode_canonical(value)  # the strict encoder names the problem
    if not fast_path_is_exact(text):
        text = _JSON_ESCAPE.sub(_control, text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return encode_canonical(value)  # a lone surrogate: the exact encoder refuses it


def dump_pretty(value: Any) -> bytes:
    """A metadata file as python-tuf's JSONSerializer writes it (indent 1, sorted keys)."""
    return json.dumps(value, indent=1, separators=(",", ": "), sort_keys=True).encode("utf-8")
