"""The bytes of TUF 1.0 metadata: strict JSON in, canonical JSON of `signed` out.

Canonical JSON as securesystemslib's `encode_canonical` writes it (what every TUF 1.0 client
verifies): object keys sorted by code point, no whitespace, strings with only `\\` and `"`
escaped (every other character as is, UTF-8), integers only. Floats have no canonical form,
so they are refused on reading, not rounded.
"""

from __future__ import annotations

import json
from typing import Any

from ceremony.tuf.errors import TufFormatError


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise TufFormatError(f"duplicate key '{key}' in a JSON object; the file is ambiguous, "
                                 "ask its author for a clean copy")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise TufFormatError(f"number {text} is not an integer; TUF metadata has integers only")


def load_json(data: bytes, file: str | None = None) -> Any:
    """Parse `data` strictly: UTF-8, no duplicate keys, no floats, no NaN/Infinity."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TufFormatError(f"not UTF-8 (byte {exc.start})", file=file) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                          parse_constant=_no_float)
    except TufFormatError as exc:
        raise exc.located(file) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise TufFormatError(f"not JSON ({exc})", file=file) from None


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
    _encode(value, out)
    return "".join(out).encode("utf-8")


def dump_pretty(value: Any) -> bytes:
    """A metadata file as python-tuf's JSONSerializer writes it (indent 1, sorted keys)."""
    return json.dumps(value, indent=1, separators=(",", ": "), sort_keys=True).encode("utf-8")
