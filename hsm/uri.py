"""PKCS#11 URIs (RFC 7512): parse, match, format.

    pkcs11:token=root-a;object=root;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so

Path attributes select a token and an object; query attributes say where the module is and
where the PIN comes from. `pin-value` is refused: a PIN in a URI ends up in shell history, the
process table and logs. Unknown attributes are refused too (a typo must not silently widen a
selection); vendor attributes (`x-...`) are ignored, as the RFC allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hsm.errors import URIError

SCHEME = "pkcs11:"

# Attributes whose value is text (UTF-8 after percent-decoding).
_PATH_TEXT = ("token", "manufacturer", "serial", "model", "object", "type",
              "library-manufacturer", "library-description", "slot-description",
              "slot-manufacturer", "slot-id")
_PATH_BYTES = ("id",)
_QUERY = ("module-path", "pin-source")
_REFUSED = {
    "pin-value": "a PIN must never be written in a URI or on the command line; "
                 "use pin-source=env:NAME or pin-source=file:PATH",
    "module-name": "module-name is not supported; give the module file with module-path=PATH "
                   "or --module PATH",
    "library-version": "library-version matching is not supported; remove it from the URI",
}
OBJECT_TYPES = ("private", "public", "cert", "secret-key", "data")

# RFC 3986 unreserved plus the sub-delims RFC 7512 allows unescaped in values.
_SAFE_PATH = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                       b"-._~:[]@!$'()*+,=&")
_SAFE_QUERY = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        b"-._~:[]@!$'()*+,=/?|")


@dataclass(frozen=True)
class Pkcs11URI:
    """A parsed PKCS#11 URI. Empty fields select anything."""

    token: str | None = None
    manufacturer: str | None = None
    serial: str | None = None
    model: str | None = None
    object: str | None = None
    id: bytes | None = None
    type: str | None = None
    slot_id: int | None = None
    slot_description: str | None = None
    slot_manufacturer: str | None = None
    library_manufacturer: str | None = None
    library_description: str | None = None
    module_path: str | None = None
    pin_source: str | None = None
    vendor: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def selects_token(self) -> bool:
        """True if the URI names at least one token attribute."""
        return any(v is not None for v in (self.token, self.manufacturer, self.serial,
                                           self.model, self.slot_id, self.slot_description,
                                           self.slot_manufacturer))

    def token_matches(self, *, label: str, serial: str, manufacturer: str, model: str) -> bool:
        return all(want is None or want == have for want, have in (
            (self.token, label), (self.serial, serial), (self.manufacturer, manufacturer),
            (self.model, model)))

    def slot_matches(self, *, slot_id: int, description: str, manufacturer: str) -> bool:
        return all(want is None or want == have for want, have in (
            (self.slot_id, slot_id), (self.slot_description, description),
            (self.slot_manufacturer, manufacturer)))

    def library_matches(self, *, manufacturer: str, description: str) -> bool:
        return all(want is None or want == have for want, have in (
            (self.library_manufacturer, manufacturer),
            (self.library_description, description)))

    def __str__(self) -> str:
        return format_uri(self)


def parse_uri(text: str) -> Pkcs11URI:
    """Parse a PKCS#11 URI. A bare word (no `pkcs11:` scheme) is taken as a token label."""
    if not isinstance(text, str) or not text.strip():
        raise URIError("empty PKCS#11 URI: expected e.g. pkcs11:token=root-a or a token label")
    if not text[:len(SCHEME)].lower() == SCHEME:
        if ":" in text or ";" in text or "?" in text or "=" in text:
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: it must start with "
                           "'pkcs11:' (e.g. pkcs11:token=root-a;object=root)")
        return Pkcs11URI(token=text)
    body = text[len(SCHEME):]
    if "#" in body:
        raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: fragments ('#') are not allowed")
    path, _, query = body.partition("?")
    values: dict[str, object] = {}
    vendor: dict[str, str] = {}
    _parse_part(text, path, ";", _PATH_TEXT + _PATH_BYTES, values, vendor)
    _parse_part(text, query, "&", _QUERY, values, vendor)

    kind = values.get("type")
    if kind is not None and kind not in OBJECT_TYPES:
        raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: type={kind!r} is not one of "
                       f"{', '.join(OBJECT_TYPES)}")
    slot_id: int | None = None
    if "slot-id" in values:
        raw = str(values.pop("slot-id"))
        if not (raw.isascii() and raw.isdigit()):
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: slot-id must be a "
                           f"decimal number, not {raw!r}")
        slot_id = int(raw)
    kwargs = {k.replace("-", "_"): v for k, v in values.items()}
    return Pkcs11URI(slot_id=slot_id, vendor=vendor, **kwargs)  # type: ignore[arg-type]


def _parse_part(text: str, part: str, sep: str, allowed: tuple[str, ...],
                values: dict[str, object], vendor: dict[str, str]) -> None:
    if not part:
        return
    where = "path" if sep == ";" else "query"
    for item in part.split(sep):
        if not item:
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: empty attribute in the "
                           f"{where} (stray '{sep}')")
        name, eq, raw = item.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: {redact(item)!r} is not "
                           "name=value")
        if name in _REFUSED:
            raise URIError(f"PKCS#11 URI attribute '{name}' refused: {_REFUSED[name]}")
        if name.startswith("x-"):
            vendor[name] = _pct_decode(text, name, raw).decode("utf-8", "replace")
            continue
        if name not in allowed:
            other = _QUERY if sep == ";" else _PATH_TEXT + _PATH_BYTES
            if name in other:
                hint = f"it belongs in the {'query (after ?)' if sep == ';' else 'path'}"
            else:
                hint = f"supported: {', '.join(allowed)}"
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: unknown {where} attribute "
                           f"'{name}' ({hint})")
        if name in values:
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: attribute '{name}' given "
                           "twice")
        decoded = _pct_decode(text, name, raw)
        if not decoded:
            raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: attribute '{name}' is empty")
        if name in _PATH_BYTES:
            values[name] = decoded
        else:
            try:
                values[name] = decoded.decode("utf-8")
            except UnicodeDecodeError:
                raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: attribute '{name}' is "
                               "not UTF-8 after percent-decoding") from None


_PCT = re.compile(r"%([0-9A-Fa-f]{2})")


def _pct_decode(text: str, name: str, raw: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "%":
            m = _PCT.match(raw, i)
            if not m:
                raise URIError(f"malformed PKCS#11 URI {redact(text)!r}: bad percent-encoding in "
                               f"attribute '{name}' (expected %XX with two hex digits)")
            out.append(int(m.group(1), 16))
            i += 3
        else:
            out += ch.encode("utf-8")
            i += 1
    return bytes(out)


def _pct_encode(value: bytes, safe: frozenset[int], *, all_bytes: bool = False) -> str:
    return "".join(chr(b) if (b in safe and not all_bytes) else f"%{b:02x}" for b in value)


def format_uri(uri: Pkcs11URI | None = None, **fields: object) -> str:
    """Format a URI; keyword fields override those of `uri`. `id` is always fully %-encoded."""
    base = dict(uri.__dict__) if uri else {}
    base.update(fields)
    path: list[str] = []
    for name in ("token", "manufacturer", "serial", "model", "slot-description",
                 "slot-manufacturer", "library-manufacturer", "library-description"):
        value = base.get(name.replace("-", "_"))
        if value is not None:
            path.append(f"{name}={_pct_encode(str(value).encode(), _SAFE_PATH - {ord(';')})}")
    if base.get("slot_id") is not None:
        path.append(f"slot-id={base['slot_id']}")
    if base.get("object") is not None:
        label = str(base["object"]).encode("utf-8", "surrogateescape")  # a non-UTF-8 label too
        path.append(f"object={_pct_encode(label, _SAFE_PATH)}")
    if base.get("id") is not None:
        path.append(f"id={_pct_encode(bytes(base['id']), _SAFE_PATH, all_bytes=True)}")  # type: ignore[arg-type]
    if base.get("type") is not None:
        path.append(f"type={base['type']}")
    query: list[str] = []
    for name in ("module-path", "pin-source"):
        value = base.get(name.replace("-", "_"))
        if value is not None:
            query.append(f"{name}={_pct_encode(str(value).encode(), _SAFE_QUERY - {ord('&')})}")
    out = SCHEME + ";".join(path)
    if query:
        out += "?" + "&".join(query)
    return out


_PIN_VALUE = re.compile(r"(pin-value=)[^&;#]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Hide any pin-value in text that is about to be shown (errors quote the URI)."""
    return _PIN_VALUE.sub(r"\1<redacted>", text)
