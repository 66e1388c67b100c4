"""Stand-ins for rehearsing a `tuf-sign` script step (`ceremony run --dry-run`): when the real
request (and the other site's partial response) is not here yet, a throwaway repository of the
same shape takes its place, so the script runs end to end on the rehearsal's tokens.

Root v1 is made with software keys; root v2 (what the "other tool" proposes) lists a key
generated on each of the step's throwaway tokens plus one software key standing for the other
site, threshold = all of them: the step's tokens alone leave it partial. With `with_partial`,
the other site's signature comes in a partial response (as site B receives it from site A).
Nothing here is trusted by anything but the rehearsal's throwaway workspace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from ceremony.tuf.bundles import Partial, TufRequest, TufResponse, request_bundle, response_bundle
from ceremony.tuf.canonical import dump_pretty, encode_canonical
from ceremony.tuf.keys import key_from_public
from transfer.systembundle import write_system_bundle

REPOSITORY = "rehearsal"
KEY_LABEL = "tuf-root"


@dataclass(frozen=True)
class StandIn:
    request: Path
    partial: Path | None
    first_root_sha256: str


class _Soft:
    def __init__(self) -> None:
        self.private = ed25519.Ed25519PrivateKey.generate()
        self.key = key_from_public(self.private.public_key())

    def sign(self, signed: dict[str, Any]) -> dict[str, str]:
        return {"keyid": self.key.keyid, "sig": self.private.sign(encode_canonical(signed)).hex()}


def _file(signed: dict[str, Any], signers: Sequence[_Soft]) -> bytes:
    return dump_pretty({"signatures": [s.sign(signed) for s in signers], "signed": signed})


def _root(version: int, keys: dict[str, Any], roles: dict[str, tuple[list[str], int]]
          ) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"_type": "root", "spec_version": "1.0.31", "version": version, "expires": expires,
            "consistent_snapshot": True, "keys": {k: v.to_dict() for k, v in keys.items()},
            "roles": {name: {"keyids": ids, "threshold": n} for name, (ids, n) in roles.items()}}


def token_keys(uris: Sequence[str], module: str | None) -> list[Any]:
    """A key labelled tuf-root on each throwaway token (generated there if absent)."""
    from ceremony.ceremonies.tokens import CeremonyTokens
    out = []
    with CeremonyTokens(module=module) as tokens:
        for uri in uris:
            token = tokens.open(uri, purpose="rehearsal stand-in")
            info, _ = tokens.generate_or_reuse(token, KEY_LABEL, "ecdsa-p256")
            out.append(key_from_public(info.public_key))
    return out


def make_stand_ins(folder: Path, uris: Sequence[str], module: str | None, *,
                   with_partial: bool) -> StandIn:
    folder.mkdir(parents=True, exist_ok=True)
    old_root, other_site = _Soft(), _Soft()
    online = {role: _Soft() for role in ("targets", "snapshot", "timestamp")}
    online_roles = {role: ([s.key.keyid], 1) for role, s in online.items()}
    keys = {s.key.keyid: s.key for s in online.values()}
    v1_signed = _root(1, {**keys, old_root.key.keyid: old_root.key},
                      {"root": ([old_root.key.keyid], 1), **online_roles})
    v1 = _file(v1_signed, [old_root])
    on_tokens = token_keys(uris, module)
    root_keys = [k.keyid for k in on_tokens] + [other_site.key.keyid]
    v2_signed = _root(2, {**keys, **{k.keyid: k for k in on_tokens},
                          other_site.key.keyid: other_site.key},
                      {"root": (root_keys, len(root_keys)), **online_roles})
    request = request_bundle(TufRequest(
        repository=REPOSITORY, operation="sign", params={"file": "2.root.json"},
        metadata={"1.root.json": v1}, proposed={"2.root.json": _file(v2_signed, [old_root])},
        summary=("rehearsal stand-in: sign root v2 of 'rehearsal'",)))
    request_path = write_system_bundle(folder / "stand-in.request", request, overwrite=True)
    partial_path = None
    if with_partial:
        signed_by_other = _file(v2_signed, [old_root, other_site])
        needed = {"own_root": {"threshold": len(root_keys), "valid": [other_site.key.keyid],
                               "missing": [k.keyid for k in on_tokens]}}
        response = response_bundle(TufResponse(
            repository=REPOSITORY, operation="sign", files={"2.root.json": signed_by_other},
            request_sha256=request.digest_hex,
            transcript_sha256=hashlib.sha256(b"rehearsal stand-in").hexdigest(),
            partial=Partial("2.root.json", tuple(sorted([old_root.key.keyid,
                                                         other_site.key.keyid])), needed),
            summary=("rehearsal stand-in: the other site's partial response",)))
        partial_path = write_system_bundle(folder / "stand-in.partial", response,
                                           overwrite=True)
    return StandIn(request_path, partial_path, hashlib.sha256(v1).hexdigest())
