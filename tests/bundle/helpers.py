"""Bundles to test with, and a way to re-seal hand-edited ones (valid digest, bad content)."""

from __future__ import annotations

import json
from typing import Any

from groundfloor.canonical import canonical_json, sha256_hex
from transfer.bundle import (
    PendingSignatures,
    RequestBundle,
    RequestEntry,
    ResponseBundle,
    ResponseEntry,
    SignedFile,
)

# Bytes no JSON string could carry: invalid UTF-8, NUL, CR LF, a BOM, spelled-out escapes.
AWKWARD = b'\xff\xfe{"signed":\x00"caf\xc3\xa9 \\u00e9 \\/"}\r\n\xef\xbb\xbf'


def sample_request(n_guns: int = 2) -> RequestBundle:
    entries = [RequestEntry(
        gun="example.com/app", operation="rotate-targets", params={"reason": "compromise",
                                                                   "n": 3, "ok": True},
        fetched_at="2026-01-02T03:04:05Z",
        metadata={"root": b'{"signed":{"version":2}}', "targets": AWKWARD,
                  "targets/releases": b"{}", "snapshot": b"s", "timestamp": b"t"},
        root_history=(b'{"signed":{"version":1}}', b'{"signed":{"version":2}}'),
        server_keys={"timestamp": b'{"keytype":"ed25519"}', "snapshot": b'{"keytype":"x"}'})]
    entries += [RequestEntry(gun=f"docker.io/library/new{i}", operation="init",
                             fetched_at="2026-01-02T03:04:06Z",
                             server_keys={"timestamp": b'{"keytype":"ecdsa"}'})
                for i in range(n_guns - 1)]
    return RequestBundle(server="https://notary.example.com:4443", entries=tuple(entries),
                         created="2026-01-02T03:04:07Z")


def sample_response(partial: bool = False) -> ResponseBundle:
    pending = PendingSignatures(missing=({"role": "root", "keyid": "ab" * 32},),
                                state={"signed": 1}) if partial else None
    return ResponseBundle(entries=(
        ResponseEntry("example.com/app", (SignedFile("root", b'{"signed":{"version":3}}'),
                                          SignedFile("targets", AWKWARD),
                                          SignedFile("targets/releases", b"{}"))),
        ResponseEntry("example.com/other", (SignedFile("targets", b"x"),), pending),
    ), request_sha256="0" * 64, created="2026-01-02T03:04:08Z")


def as_obj(data: bytes) -> dict[str, Any]:
    return json.loads(data)


def seal(obj: dict[str, Any]) -> bytes:
    """Serialise a (possibly broken) bundle object canonically with a matching digest."""
    unsealed = {k: v for k, v in obj.items() if k != "sha256"}
    sealed = dict(unsealed, sha256=sha256_hex(canonical_json(unsealed)))
    return canonical_json(sealed) + b"\n"
