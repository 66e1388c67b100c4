"""Metadata files <-> model: reading strictly, writing exactly what Notary writes.

Reading keeps three things together: the model, the file's exact bytes, and the canonical bytes
the signatures are over. Those are what Go's verifier computes: it parses the signed part and
re-encodes it canonically, whatever layout the file had. Writing gives the bytes Go's encoder
would produce for the model, so write(read(b)) == b for every file Notary wrote.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, Generic

from ceremony.errors import MetadataFormatError
from ceremony.notary.format.encoding import (
    ENVELOPE_PREFIX,
    EncodingError,
    b64encode,
    canonical_json,
    envelope,
    envelope_suffix,
    is_verbatim_canonical,
    parse_json,
)
from ceremony.notary.format.model import AnySigned, Metadata, Signature, SignedT


@dataclass(eq=False)
class MetadataFile(Generic[SignedT]):
    """A metadata file as read.

    - `name`: how messages name it (e.g. "root.json", "3.root.json", "targets/releases.json");
    - `raw`: its exact bytes (what snapshot/timestamp hash);
    - `metadata`: the model;
    - `signed_bytes`: the canonical signed part, i.e. the message the signatures are over;
    - `go_exact`: whether `raw` is byte for byte what Notary writes for `metadata`.
    """

    name: str
    raw: bytes
    metadata: Metadata[SignedT]
    signed_bytes: bytes
    go_exact: bool
    # Signature verification results, memoised: (key ID, method, sig) -> problem or None.
    checked: dict[tuple[str, str, bytes], str | None] = field(default_factory=dict, repr=False)

    @property
    def signed(self) -> SignedT:
        return self.metadata.signed

    @property
    def signatures(self) -> list[Signature]:
        return self.metadata.signatures


def _signature_fields(signatures: list[Signature]) -> list[tuple[str, str, str]]:
    return [(sig.keyid, sig.method, b64encode(sig.sig)) for sig in signatures]


def read_metadata(data: bytes, name: str,
                  expected: type[SignedT] | None = None) -> MetadataFile[SignedT]:
    """Read one metadata file strictly. `expected` is the role class the file must hold.

    Raises MetadataFormatError (RoleTypeError for a file of the wrong role) naming `name`.
    """
    # Parsed JSON holds no reference cycles: the cyclic collector would only slow big files
    # down, rescanning every live object each time the many new dicts trigger it.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _read(data, name, expected)
    finally:
        if enabled:
            gc.enable()


def _read(data: bytes, name: str, expected: type[SignedT] | None) -> MetadataFile[SignedT]:
    parsed = parse_json(data, name)
    try:
        metadata: Metadata[Any] = Metadata.from_dict(parsed.value, expected,
                                                     columns_of=parsed.columns_of)
    except MetadataFormatError as exc:
        raise exc.in_file(name) from None
    except RecursionError:
        raise MetadataFormatError("JSON nested too deeply", file=name) from None
    suffix = envelope_suffix(_signature_fields(metadata.signatures))
    if data.startswith(ENVELOPE_PREFIX) and data.endswith(suffix):
        segment = data[len(ENVELOPE_PREFIX):len(data) - len(suffix)]
        # The envelope itself ("signed" before "signatures") is the one unsorted object.
        if is_verbatim_canonical(segment, parsed.unsorted_objects - 1, parsed.may_hold_zero):
            return MetadataFile(name, data, metadata, segment, True)
    # Go's view: parse the signed part and re-encode it canonically.
    try:
        signed_bytes = canonical_json(parsed.value["signed"])
    except EncodingError as exc:
        raise MetadataFormatError(str(exc), file=name, field="signed") from None
    except RecursionError:
        raise MetadataFormatError("JSON nested too deeply", file=name) from None
    exact = envelope(signed_bytes, _signature_fields(metadata.signatures)) == data
    return MetadataFile(name, data, metadata, signed_bytes, exact)


def signed_bytes(signed: AnySigned) -> bytes:
    """The canonical bytes of a signed part: exactly what its signatures are over."""
    try:
        return canonical_json(signed.to_dict())
    except EncodingError as exc:
        raise MetadataFormatError(str(exc), field="signed") from None


def write_metadata(metadata: Metadata[Any]) -> bytes:
    """The file Notary's encoder writes for `metadata`, byte for byte."""
    return envelope(signed_bytes(metadata.signed), _signature_fields(metadata.signatures))
