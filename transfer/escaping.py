"""The one display-escaping rule for every string that came from input (what a person reads).

Token labels, certificate CNs, bundle and transcript fields, QR frame heads, file names: any of
them may carry a terminal escape sequence (which can move the cursor and overwrite a digest
line), a bidi override (which reverses what follows), a newline (which forges a line of its
own), a lone surrogate (which crashes the encoder) or bytes that are not UTF-8. `shown()` keeps
printable text as it is and replaces everything else by a visible escape, so a person sees
exactly what is there: `\\x1b`, `\\u202e`, `\\n`, `\\ud800`. Look-alike letters are printable
and kept; where a name must be compared letter by letter (GUNs, roles) callers use `ascii()`.
"""

from __future__ import annotations

from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(value: object) -> str:
    """`value` as text a terminal shows as is: printable characters kept, the rest escaped.

    Bytes are decoded as UTF-8; an undecodable byte is shown as `\\xNN`.
    """
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="surrogateescape")
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def shown_lines(text: str) -> str:
    """Like shown(), but the newlines of a multi-line text the tool composed are kept."""
    return "\n".join(shown(line) for line in text.split("\n"))


def shown_data(value: Any) -> Any:
    """`value` (dicts, lists, strings, numbers) with every string, keys included, shown():
    what a human printer is handed, so that no field can forge or hide a line."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {shown_data(k): shown_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(shown_data(v) for v in value)
    return value
