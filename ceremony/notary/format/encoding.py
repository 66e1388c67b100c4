"""Notary's bytes: strict JSON reading and Go-exact JSON writing. The byte format lives here only.

What Notary (Go, github.com/docker/go/canonical/json) writes, measured against the real client:
- the signed part is canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace,
  strings raw UTF-8 with only `"` and `\\` escaped, integers only;
- the file is `{"signed":<canonical>,"signatures":[{"keyid":..,"method":..,"sig":..}]}`, written
  by Go's json.Marshal, which passes the canonical bytes through an HTML-escaping compactor:
  `<`, `>`, `&`, U+2028 and U+2029 become `\\u003c`, `\\u003e`, `\\u0026`, `\\u2028`, `\\u2029`
  inside the signed part too (signatures are still over the unescaped canonical bytes);
- times are RFC3339Nano (fractional seconds without trailing zeros) in the zone of the machine
  that wrote them: `Z` on servers and UTC machines, `+02:00` on a workstation in Berlin;
- byte strings are standard padded base64.

Go cannot write a string holding a control character (its compactor refuses the raw byte that
its canonical encoder emits), and its verifier reads numbers as float64; so a strict reader here
refuses control characters in the signed part and integers beyond 2**53.
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

from ceremony.errors import MetadataFormatError
from groundfloor.errors import GroundFloorError
from groundfloor.jsonlimits import check_parse_cost

# Largest integer Notary's verifier (numbers decoded as float64) reproduces exactly.
MAX_SAFE_INT = 2**53

ENVELOPE_PREFIX = b'{"signed":'

# From this size on, parse_json checks for duplicate keys by counting strings after parsing
# instead of with a hook per object (same results; the hook is cheaper for small files).
FAST_PARSE_MIN_BYTES = 32 * 1024


# --- strict reading ---------------------------------------------------------------------------

class _Float(str):
    """Marks a non-integer number literal during error location."""


class _Constant(str):
    """Marks NaN/Infinity during error location."""


class _Pairs(list):
    """An object's (key, value) pairs in file order, duplicates kept, during error location."""


def _refuse_float(literal: str) -> Any:
    raise _NotInteger(literal)


def _refuse_constant(literal: str) -> Any:
    raise _NotInteger(literal)


class _NotInteger(ValueError):
    pass


class _Duplicate(ValueError):
    pass


@dataclass(frozen=True)
class Columns:
    """Many objects with the same keys in the same order, their values a key at a time."""

    objects: list[dict[str, Any]]
    keys: tuple[str, ...]
    values: dict[str, list[Any]]  # key -> the value under it in each object, in order
    kinds: dict[str, set[type]]  # key -> the types of those values


@dataclass(frozen=True)
class ParsedJSON:
    """A strictly parsed document.

    `unsorted_objects` counts objects whose keys are not in canonical (sorted) order in the file;
    the reader uses it to decide whether the bytes are already canonical. `may_hold_zero` is
    False only when no integer in it is 0 (so no `-0` either). `columns` is what the parse of a
    big file learnt on the way (see `columns_of`).
    """

    value: Any
    unsorted_objects: int
    may_hold_zero: bool = True
    columns: dict[int, tuple[Any, Columns]] = field(default_factory=dict, repr=False,
                                                    compare=False)

    def columns_of(self, container: Any) -> Columns | None:
        """For a dict whose values, or a list whose items, are many objects with the same keys in
        the same order: those objects as Columns. None when not known."""
        found = self.columns.get(id(container))
        return found[1] if found is not None and found[0] is container else None


def parse_json(data: bytes, source: str) -> ParsedJSON:
    """Parse `data` as strict JSON: UTF-8, no duplicate keys, integers only, no NaN/Infinity.

    Raises MetadataFormatError naming `source` and, where it can, the field.
    """
    try:
        check_parse_cost(data, "metadata")
    except GroundFloorError as exc:
        raise MetadataFormatError(str(exc).removeprefix("metadata: "), file=source) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MetadataFormatError(f"not valid UTF-8 (byte {exc.start})", file=source) from None
    unsorted = 0

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal unsorted
        obj = dict(pairs)
        size = len(pairs)
        if len(obj) != size:
            raise _Duplicate()
        if size == 2:  # the most common object: a quick look
            if pairs[0][0] > pairs[1][0]:
                unsorted += 1
        elif size > 2 and pairs != sorted(pairs):  # keys are unique: values never compared
            unsorted += 1
        return obj

    try:
        counted = _parse_counted(data, text) if len(data) >= FAST_PARSE_MIN_BYTES else None
        if counted is not None:
            return counted
        value = json.loads(text, object_pairs_hook=pairs_hook, parse_float=_refuse_float,
                           parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise MetadataFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", file=source
        ) from None
    except (_Duplicate, _NotInteger):
        raise _locate_error(text, source) from None
    except RecursionError:
        raise MetadataFormatError("JSON nested too deeply", file=source) from None
    except ValueError as exc:  # an integer literal over Python's 4300-digit limit
        reason = "a number has thousands of digits" if "digits" in str(exc) else str(exc)
        raise MetadataFormatError(f"invalid JSON: {reason}", file=source) from None
    return ParsedJSON(value, unsorted)


def _parse_counted(data: bytes, text: str) -> ParsedJSON | None:
    """parse_json for big files: duplicate keys found by counting strings, not by a hook per
    object. None when that cannot tell (then the hook's pass runs). Raises what json.loads does.

    Without escapes, every `"` in the bytes delimits a string, so the document holds exactly
    count('"') / 2 strings, keys included. json.loads without a hook (the C decoder builds the
    dicts), then the census counts the strings of the result, never one twice: all of them are
    there only if no object had a duplicate key. Otherwise the hook's pass names the duplicate
    (or, if the census fell short for another reason, parses again).
    """
    if b"\\" in data:
        return None
    value = json.loads(text, parse_float=_refuse_float, parse_constant=_refuse_constant)
    census = _Census(value)
    if 2 * census.strings != data.count(b'"'):
        return None
    return ParsedJSON(value, census.unsorted, census.zero, census.columns)


class _Census:
    """Strings, unsorted objects and zeros of a parsed document, counted without recursion.

    `strings` counts the strings in it, object keys included, each at most once (all of them
    unless an object has more keys than the others of its batch, see _one_shape); `unsorted` the
    objects whose keys are not in ascending order; `zero` whether an integer is 0. The counts are
    used only when `strings` is complete. Values are handled a batch at a
    time (an object's values; the values under one key of many objects of the same shape, such
    as the entries of a big targets file), so that the work per value is done by builtins; such
    objects are kept in `columns` by the id of the object or list holding them.
    """

    def __init__(self, value: Any):
        self.strings = self.unsorted = 0
        self.zero = False
        self.columns: dict[int, tuple[Any, Columns]] = {}
        self._batches: list[tuple[list[Any], set[type], Any]] = [([value], {type(value)}, None)]
        while self._batches:
            self._count(*self._batches.pop())

    def _push(self, items: list[Any], kinds: set[type] | None, holder: Any) -> None:
        self._batches.append((items, set(map(type, items)) if kinds is None else kinds, holder))

    def _count(self, items: list[Any], kinds: set[type], holder: Any) -> None:
        for kind in kinds:
            group = items if len(kinds) == 1 else [item for item in items if type(item) is kind]
            if kind is str:
                self.strings += len(group)
            elif kind is int:
                self.zero = self.zero or 0 in group
            elif kind is list:
                self._push(list(chain.from_iterable(group)), None, None)
            elif kind is dict:
                self._objects(group, holder if group is items else None)
            # bool, None: nothing to count (parse_float/parse_constant refused the rest)

    def _objects(self, group: list[dict[str, Any]], holder: Any) -> None:
        if len(group) <= 16:  # a few objects: one at a time
            for obj in group:
                keys = list(obj)
                self.strings += len(keys)
                if keys != sorted(keys):
                    self.unsorted += 1
                self._push(list(obj.values()), None, obj)
            return
        by_shape = self._one_shape(group)
        if by_shape is None:
            shapes = set(map(tuple, group))  # the keys of each object, in file order
            if len(shapes) == 1:
                by_shape = {shapes.pop(): (group, None)}
            elif len(shapes) > 16:  # objects of many shapes: their values all together
                self.strings += sum(map(len, group))
                disordered = [shape for shape in shapes if list(shape) != sorted(shape)]
                if disordered:
                    counts = Counter(map(tuple, group))
                    self.unsorted += sum(counts[shape] for shape in disordered)
                self._push(list(chain.from_iterable(map(dict.values, group))), None, None)
                return
            else:
                holder = None
                by_shape = {}
                for obj in group:
                    by_shape.setdefault(tuple(obj), ([], None))[0].append(obj)
        for shape, (objects, values) in by_shape.items():
            self.strings += len(shape) * len(objects)
            if list(shape) != sorted(shape):
                self.unsorted += len(objects)
            if values is None:
                values = {key: list(map(itemgetter(key), objects)) for key in shape}
            kinds = {key: set(map(type, column)) for key, column in values.items()}
            if holder is not None:
                self.columns[id(holder)] = (holder, Columns(objects, shape, values, kinds))
            for key in shape:  # the values under one key: usually of one type
                self._push(values[key], kinds[key], values[key])

    @staticmethod
    def _one_shape(group: list[dict[str, Any]]) -> dict[tuple[str, ...], Any] | None:
        """The usual case of objects with one or two keys, without a tuple per object: the keys
        of the first one in each, and the same first key. An object with more keys is not seen
        here, but it cannot go unnoticed: its other keys are not counted, so the strings counted
        fall short of the strings in the bytes and parse_json does not use the census."""
        first = tuple(group[0])
        if len(first) > 2:
            return None
        try:
            values = {key: list(map(itemgetter(key), group)) for key in first}
        except KeyError:
            return None
        if len(first) == 2 and set(map(next, map(iter, group))) != {first[0]}:
            return None
        return {first: (group, values)}


def _locate_error(text: str, source: str) -> MetadataFormatError:
    """Second, slow pass that keeps duplicates and number literals to name the bad field."""
    try:
        value = json.loads(text, object_pairs_hook=_Pairs, parse_float=_Float,
                           parse_constant=_Constant)
    except json.JSONDecodeError as exc:  # broken further on than the first problem seen
        return MetadataFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", file=source)
    except RecursionError:
        return MetadataFormatError("JSON nested too deeply", file=source)
    except ValueError:  # int() refuses a literal of thousands of digits
        return MetadataFormatError("invalid JSON (a number with thousands of digits)",
                                   file=source)
    found = _find_bad(value, "")
    if found is None:  # pragma: no cover - the first pass saw something
        return MetadataFormatError("invalid JSON", file=source)
    path, reason = found
    return MetadataFormatError(reason, file=source, field=path or "(top level)")


def _find_bad(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, _Float):
        return path, f"number {value} is not an integer (Notary metadata holds integers only)"
    if isinstance(value, _Constant):
        return path, f"{value} is not valid in Notary metadata"
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, _ in value:
            if key in seen:
                return path, f"duplicate key {json.dumps(key, ensure_ascii=False)}"
            seen.add(key)
        for key, item in value:
            found = _find_bad(item, join_path(path, key))
            if found:
                return found
    if isinstance(value, list) and not isinstance(value, _Pairs):
        for i, item in enumerate(value):
            found = _find_bad(item, f"{path}[{i}]")
            if found:
                return found
    return None


_IDENT = re.compile(r"[A-Za-z0-9_-]+\Z")


def join_path(path: str, key: str) -> str:
    """`signed.roles.root`, `signed.keys.1f2e...`, or `signed.targets["a/b.tar"]` for other keys."""
    if _IDENT.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def find_unencodable(value: Any, path: str = "") -> tuple[str, str] | None:
    """First string Notary cannot write: a control character or a lone surrogate."""
    if isinstance(value, str):
        return _string_problem(value, path)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _string_problem(key, path)
            if problem:
                return problem[0], f"key {json.dumps(key)} {problem[1]}"
            found = find_unencodable(item, join_path(path, key))
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = find_unencodable(item, f"{path}[{i}]")
            if found:
                return found
    return None


_CONTROL = re.compile(r"[\x00-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _string_problem(text: str, path: str) -> tuple[str, str] | None:
    if _CONTROL.search(text):
        return path, "contains a control character, which Notary cannot encode"
    if _SURROGATE.search(text):
        return path, "contains an unpaired UTF-16 surrogate"
    return None


# --- canonical writing ------------------------------------------------------------------------

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            allow_nan=False, check_circular=False)
# Python escapes control characters; Go's canonical mode never needs to (Notary refuses them), so
# the only escapes allowed in canonical output are \" and \\ .
_ESCAPE = re.compile(r"\\(.)")


class EncodingError(ValueError):
    """A value that Notary's canonical encoder cannot represent."""


def canonical_json(value: Any) -> bytes:
    """The bytes docker/go's canonical encoder writes for `value` (a JSON-ready structure).

    `value` holds dicts with str keys, lists, str, int (|n| <= 2**53), bool and None.
    """
    text = _ENCODER.encode(value)
    if "\\" in text:
        for match in _ESCAPE.finditer(text):
            if match.group(1) not in '"\\':
                raise EncodingError(_describe_unencodable(value))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodingError(_describe_unencodable(value)) from None


def _describe_unencodable(value: Any) -> str:
    found = find_unencodable(value)
    if found is None:  # pragma: no cover
        return "value cannot be encoded as Notary canonical JSON"
    path, reason = found
    return f"{path or '(top level)'}: {reason}"


_HTML = re.compile(rb"[<>&]|\xe2\x80[\xa8\xa9]")
_HTML_REPLACEMENT = {b"<": b"\\u003c", b">": b"\\u003e", b"&": b"\\u0026",
                     b"\xe2\x80\xa8": b"\\u2028", b"\xe2\x80\xa9": b"\\u2029"}


def html_escape(canonical: bytes) -> bytes:
    """What Go's json.Marshal does to an embedded json.RawMessage (compact + HTML escaping)."""
    if _HTML.search(canonical) is None:
        return canonical
    return _HTML.sub(lambda m: _HTML_REPLACEMENT[m.group(0)], canonical)


_GO_STRING_TABLE = {i: f"\\u{i:04x}" for i in range(0x20)}
_GO_STRING_TABLE.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                         ord('"'): '\\"', ord("\\"): "\\\\", ord("<"): "\\u003c",
                         ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028",
                         0x2029: "\\u2029"})


_PLAIN = re.compile(r"[A-Za-z0-9+/=_.-]*\Z")  # key IDs, methods, base64: nothing to escape


def go_string(text: str) -> str:
    """A JSON string literal exactly as Go's json.Marshal writes it."""
    if _PLAIN.match(text):
        return f'"{text}"'
    return '"' + text.translate(_GO_STRING_TABLE) + '"'


def envelope_suffix(signatures: list[tuple[str, str, str]]) -> bytes:
    """`,"signatures":[...]}`: the part of a file after the signed object, as Go writes it.

    `signatures` holds (keyid, method, base64 sig) in order.
    """
    items = ",".join(
        f'{{"keyid":{go_string(keyid)},"method":{go_string(method)},"sig":{go_string(sig)}}}'
        for keyid, method, sig in signatures)
    return f',"signatures":[{items}]}}'.encode()


def envelope(canonical_signed: bytes, signatures: list[tuple[str, str, str]]) -> bytes:
    """A whole metadata file, byte for byte as Notary writes it."""
    return ENVELOPE_PREFIX + html_escape(canonical_signed) + envelope_suffix(signatures)


# Bytes that cannot occur in a signed part that is canonical *and* written by Go: whitespace
# (canonical has none outside strings; raw control characters are invalid JSON inside them),
# backslashes (canonical escapes only " and \\ , and Go would have HTML-escaped the rest), and the
# characters Go's compactor escapes. Single bytes: each is looked for with memchr.
_NOT_IN_VERBATIM = tuple(bytes([byte]) for byte in b" \t\n\r\\<>&")
# The number -0 (Go writes 0) ends with one of , ] } ; what precedes it is checked separately.
_MINUS_ZERO = re.compile(rb"-0[,\]}]")


def is_verbatim_canonical(signed_segment: bytes, unsorted_objects: int,
                          may_hold_zero: bool = True) -> bool:
    """Whether the signed part as found in a file is already the canonical bytes.

    True only when every object in it had sorted keys (`unsorted_objects` == 0 for the signed
    part), and it contains no whitespace, no escape and no `-0`: then re-encoding the parsed value
    yields exactly these bytes, so the reader can skip re-encoding. False means "re-encode and
    compare", never "wrong". `may_hold_zero` False (no integer of the document is 0, see
    ParsedJSON) spares the search for `-0`.
    """
    if unsorted_objects != 0:
        return False
    for byte in _NOT_IN_VERBATIM:
        if byte in signed_segment:
            return False
    # U+2028 and U+2029 (Go escapes them) are the only non-ASCII characters to look for
    if not signed_segment.isascii() and (b"\xe2\x80\xa8" in signed_segment
                                         or b"\xe2\x80\xa9" in signed_segment):
        return False
    if not may_hold_zero:
        return True
    # the number -0: "-0" right before , ] or } and right after : [ or ,
    for match in _MINUS_ZERO.finditer(signed_segment):
        start = match.start()
        if signed_segment[start - 1:start] in (b":", b"[", b","):
            return False
    return True


# --- base64 -------------------------------------------------------------------------------------

def b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# Last base64 character before padding when the unused low bits are zero (as Go writes them).
_CLEAN_BEFORE_ONE_PAD = frozenset("AEIMQUYcgkosw048")
_CLEAN_BEFORE_TWO_PADS = frozenset("AQgw")


def b64decode(text: str) -> bytes:
    """Decode standard padded base64 written the one way Go writes it; ValueError otherwise."""
    if type(text) is not str:
        raise ValueError("expected a base64 string")
    if len(text) % 4:  # strict mode still accepts padding after a complete group ("AAAA==")
        raise ValueError("not valid standard base64")
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid standard base64") from None
    # strict mode guarantees the alphabet and the padding; what is left is the unused bits
    if text.endswith("=") and (text[-3] not in _CLEAN_BEFORE_TWO_PADS if text.endswith("==")
                               else text[-2] not in _CLEAN_BEFORE_ONE_PAD):
        raise ValueError("not base64 as Notary writes it (padding or trailing bits)")
    return raw


def b64decode_all(texts: dict[str, Any]) -> dict[str, bytes] | None:
    """b64decode for every value of a dict (a FileMeta's hashes), None if any is not clean.

    The hot path of big targets files; callers locate the problem with b64decode.
    """
    out = {}
    a2b = binascii.a2b_base64
    for name, text in texts.items():
        if type(text) is not str or len(text) % 4:
            return None
        try:
            out[name] = a2b(text, strict_mode=True)
        except ValueError:
            return None
        if text[-1:] == "=" and (text[-3] not in _CLEAN_BEFORE_TWO_PADS if text[-2] == "="
                                 else text[-2] not in _CLEAN_BEFORE_ONE_PAD):
            return None
    return out


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CLEAN_ONE_PAD_BYTES = "".join(sorted(_CLEAN_BEFORE_ONE_PAD)).encode()
_CLEAN_TWO_PADS_BYTES = "".join(sorted(_CLEAN_BEFORE_TWO_PADS)).encode()


def b64_all_clean(texts: list[Any]) -> bool:
    """Whether b64decode accepts every one of `texts`, checked in bulk.

    The hashes of a big targets file (200,000 strings): instead of decoding each, the texts are
    checked together, the work per text done by builtins. Standard padded base64 as Go writes
    it is: only the alphabet and `=`, a length that is a multiple of 4, padding only as the last
    one or two characters, and zero unused bits before it. False means "look at each text",
    never that one is wrong.
    """
    count = len(texts)
    if count == 0:
        return True
    try:
        joined = "\n".join(texts).encode("ascii")
    except (TypeError, UnicodeEncodeError):  # not all strings, or not ASCII
        return False
    rest = joined.translate(None, _B64_ALPHABET)  # what is left: padding and the separators
    padding = rest.count(b"=")
    if padding + count - 1 != len(rest) or rest.count(b"\n") != count - 1:
        return False  # a character outside the alphabet (a newline in a text included)
    size = len(texts[0])
    if len(joined) == count * (size + 1) - 1 and joined[size::size + 1] == b"\n" * (count - 1):
        # every text `size` long (the hashes of one algorithm): look at the same places
        if size % 4:
            return False
        if padding == 0:
            return True
        step = size + 1
        last, before = joined[size - 1::step], joined[size - 2::step]
        if last.count(b"=") == count:
            if before.count(b"=") == 0:  # one `=` each, and nowhere else
                return padding == count and not before.translate(None, _CLEAN_ONE_PAD_BYTES)
            if before.count(b"=") == count:  # `==` each, and nowhere else
                return padding == 2 * count and not joined[size - 3::step].translate(
                    None, _CLEAN_TWO_PADS_BYTES)
    elif any(size % 4 for size in set(map(len, texts))):
        return False
    if padding == 0:
        return True
    seen = 0  # padding found at the end of the texts; any other `=` is misplaced
    for tail, number in Counter(map(itemgetter(slice(-3, None)), texts)).items():
        if tail.endswith("=="):
            if tail[0] not in _CLEAN_BEFORE_TWO_PADS:
                return False
            seen += 2 * number
        elif tail.endswith("="):
            if tail[1] not in _CLEAN_BEFORE_ONE_PAD:
                return False
            seen += number
    return seen == padding


# --- time ---------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                      r"(?:(Z)|([+-])(\d{2}):(\d{2}))\Z")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NS = 1_000_000_000
_FORM = "YYYY-MM-DDTHH:MM:SS[.fraction] then Z or +HH:MM/-HH:MM"


def parse_time(text: str) -> int:
    """Nanoseconds since the Unix epoch from RFC 3339 as Go writes it; see parse_time_offset."""
    return parse_time_offset(text)[0]


def parse_time_offset(text: str) -> tuple[int, int]:
    """(nanoseconds since the Unix epoch, UTC offset in minutes) from RFC 3339 as Go writes it.

    Go's RFC3339Nano writes a time in the zone of the machine that made it: `Z` in UTC, else
    `+HH:MM`/`-HH:MM`, with 0 to 9 fraction digits and no trailing zeros. Both numbers together
    give back the text byte for byte (format_time). ValueError for anything Go would never
    write (`+00:00`, trailing zeros in the fraction, a space for `T`).
    """
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 time as Go writes it ({_FORM})")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second), tzinfo=dt.UTC)
    except ValueError as exc:
        raise ValueError(f"not a valid time ({exc})") from None
    if fraction is not None and fraction.endswith("0"):
        raise ValueError("fraction of a second has trailing zeros; Go never writes them")
    offset = 0
    if not zulu:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError("not a valid UTC offset")
        offset = (int(off_h) * 60 + int(off_m)) * (-1 if sign == "-" else 1)
        if offset == 0:
            raise ValueError(f"a zero UTC offset is written Z by Go, never {sign}00:00")
    nanos = int((fraction or "").ljust(9, "0"))
    # The wall-clock time minus its offset is the instant.
    seconds = (moment - _EPOCH) // dt.timedelta(seconds=1) - offset * 60
    return seconds * _NS + nanos, offset


def format_time(ns: int, offset: int = 0) -> str:
    """RFC3339Nano as Go's time.Time.MarshalJSON writes it in a zone `offset` minutes from UTC.

    The tool itself always writes UTC (offset 0, `Z`); other offsets re-write what was read.
    """
    seconds, nanos = divmod(ns + offset * 60 * _NS, _NS)
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    if not 1 <= moment.year <= 9999:
        raise ValueError("year out of range")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.year < 1000:  # strftime does not zero-pad years everywhere
        text = f"{moment.year:04d}" + text[text.index("-"):]
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    if offset == 0:
        return text + "Z"
    hours, minutes = divmod(abs(offset), 60)
    return text + f"{'-' if offset < 0 else '+'}{hours:02d}:{minutes:02d}"
