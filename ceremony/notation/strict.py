"""How the Notary Project side reads JSON: through the tool's one strict reader
(groundfloor.strictjson), so a notation document refuses what every format refuses (duplicate
keys, NaN, numbers with a fraction where integers belong, wrong types, unknown fields, documents
too costly to parse), each in one line naming the document and the field.

Two ways in, by who wrote the bytes:
- `read_file`: the tool's own files (descriptors lists, signatures folders, CA state): ASCII,
  as json.dumps writes them, through `read_document`.
- `parse_utf8`: what other implementations write (JWS headers and payloads, OCI manifests and
  indexes): UTF-8 JSON (RFC 7515 and the OCI image spec say UTF-8, and annotations may hold any
  text), decoded strictly and parsed by `loads`, its parse cost bounded first.

Then a Reader speaking each error class: READ (NotationError), ENVELOPE (EnvelopeError),
REGISTRY (RegistryError).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from ceremony.notation.errors import EnvelopeError, NotationError, RegistryError
from groundfloor.jsonlimits import check_parse_cost
from groundfloor.strictjson import Reader, loads, read_document


def _reader(error: type[NotationError]) -> Reader:
    return Reader(lambda where, problem: error(f"{where}: {problem}" if where else problem))


READ = _reader(NotationError)
ENVELOPE = _reader(EnvelopeError)
REGISTRY = _reader(RegistryError)


def read_file(data: bytes, what: str) -> Any:
    """One of the tool's own JSON files (ASCII), parsed strictly; refused as a NotationError."""
    return read_document(data, what, error=NotationError)


def parse_utf8(data: bytes, what: str, error: type[NotationError] = EnvelopeError) -> Any:
    """UTF-8 JSON another implementation wrote, parsed strictly; refused as `error`."""
    check_parse_cost(data, what, error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what}: not UTF-8 (byte {exc.start})") from None
    try:
        return loads(text)
    except RecursionError:
        raise error(f"{what}: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what}: not valid JSON ({exc.msg}, byte {exc.pos})") from None
    except ValueError as exc:  # duplicate key, NaN, a fraction, an over-long integer
        raise error(f"{what}: {exc}") from None


# RFC 3339 as Go's time.Time writes and reads it (notation-go's JWS headers): an upper-case T,
# Z or a numeric offset, seconds with up to nine fraction digits.
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def rfc3339_time(value: Any, where: str, reader: Reader = ENVELOPE) -> dt.datetime:
    """An RFC 3339 date-time string with its offset, as an aware datetime."""
    m = _RFC3339.fullmatch(reader.string(value, where, max_len=40))
    if m is None:
        raise reader.fail(where, f"{value!r} is not an RFC 3339 time (2026-12-04T21:00:00Z)")
    fraction = f".{m[2][:6]}" if m[2] else ""  # datetime keeps microseconds
    try:
        return dt.datetime.fromisoformat(m[1] + fraction + m[3].replace("Z", "+00:00"))
    except ValueError:
        raise reader.fail(where, f"{value!r} is not a valid date and time") from None
