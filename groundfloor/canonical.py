"""The tool's own canonical JSON: sorted keys, no whitespace, ASCII only, no NaN or infinity.

One rule for every format the tool itself defines (bundles, transcripts and their anchors): the
same object always gives the same bytes, so a digest over them is a digest over the content.
Two other byte rules exist because other software fixes them, and are NOT this one: Notary's
Go-exact serialisation (ceremony/notary/format/encoding.py, serialization.py) and TUF's OLPC
canonical form (ceremony/tuf/canonical.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                            allow_nan=False)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data` in hex: how the tool's own formats name bytes (bundle digests,
    transcript chains, the files a bundle carries)."""
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """`obj` in the canonical form (raises ValueError for NaN or infinity)."""
    return _ENCODER.encode(obj).encode("ascii")


def canonical_chunks(obj: Any) -> Iterator[bytes]:
    """canonical_json(obj) in pieces (the same bytes): a bundle of 10,000 repositories is
    ~100 MB, and hashing or writing it whole held several copies at once."""
    for chunk in _ENCODER.iterencode(obj):
        yield chunk.encode("ascii")


def is_canonical(data: bytes, obj: Any) -> bool:
    """data == canonical_json(obj) (+ one newline), compared piece by piece as the encoder
    yields them: a big document is not serialised whole (its chunks, text and bytes) again."""
    pos = 0
    for piece in canonical_chunks(obj):
        if data[pos:pos + len(piece)] != piece:
            return False
        pos += len(piece)
    return data[pos:] in (b"", b"\n")
