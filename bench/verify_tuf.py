"""The TUF 1.0 workloads of bench/verify.py: a repository written to a folder in software (not
timed), verified from the folder by `ceremony.tuf.verify.verify_repository`, against the floor
of reading the same files, `json.loads` of each and the same signature verifications done
directly with `cryptography` on pre-loaded keys and pre-computed messages.

- root chain: N root versions, the root key rotated at each (root n+1 signed by root n's key
  and its own), then timestamp, snapshot and targets;
- big targets: one root, a targets file with T entries.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ceremony.tuf.canonical import encode_canonical
from ceremony.tuf.keys import compute_keyid
from ceremony.tuf.verify import verify_repository

Check = tuple[Any, bytes, bytes]  # (public key, signature, message)
EXPIRES = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")


class SoftKey:
    """A software key as a TUF root lists it (ECDSA P-256 or Ed25519)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "ecdsa":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            public = self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            self.entry = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
                          "keyval": {"public": public.decode()}}
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                         serialization.PublicFormat.Raw)
            self.entry = {"keytype": "ed25519", "scheme": "ed25519",
                          "keyval": {"public": raw.hex()}}
        self.keyid = compute_keyid(self.entry["keytype"], self.entry["scheme"],
                                   self.entry["keyval"])
        self.public = self.private.public_key()

    def sign(self, message: bytes) -> bytes:
        if self.kind == "ecdsa":
            return bytes(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return bytes(self.private.sign(message))

    def verify(self, sig: bytes, message: bytes) -> None:
        if self.kind == "ecdsa":
            self.public.verify(sig, message, ec.ECDSA(hashes.SHA256()))
        else:
            self.public.verify(sig, message)


def _signed(signed: dict[str, Any], signers: list[SoftKey], checks: list[Check],
            verified: list[SoftKey] | None = None) -> bytes:
    """The metadata file; the floor's checks get the signatures verification must check."""
    message = encode_canonical(signed)
    sigs = [(k, k.sign(message)) for k in signers]
    for k, sig in sigs:
        if verified is None or k in verified:
            checks.append((k, sig, message))
    return json.dumps({"signatures": [{"keyid": k.keyid, "sig": s.hex()} for k, s in sigs],
                       "signed": signed}, indent=1, sort_keys=True).encode()


def _root(version: int, root_key: SoftKey, online: dict[str, SoftKey]) -> dict[str, Any]:
    keys = {root_key.keyid: root_key.entry, **{k.keyid: k.entry for k in online.values()}}
    roles = {"root": {"keyids": [root_key.keyid], "threshold": 1}}
    roles.update({r: {"keyids": [k.keyid], "threshold": 1} for r, k in online.items()})
    return {"_type": "root", "spec_version": "1.0.31", "version": version, "expires": EXPIRES,
            "consistent_snapshot": True, "keys": keys, "roles": roles}


def build(folder: Path, versions: int, targets: int) -> list[Check]:
    """Write the repository into `folder`; the signature checks the floor makes."""
    checks: list[Check] = []
    online = {r: SoftKey("ed25519") for r in ("targets", "snapshot", "timestamp")}
    root_key = SoftKey("ecdsa")
    data = b""
    for version in range(1, versions + 1):
        new_key = root_key if version == 1 else SoftKey("ecdsa")
        signers = [root_key] if version == 1 else [root_key, new_key]
        data = _signed(_root(version, new_key, online), signers, checks)
        (folder / f"{version}.root.json").write_bytes(data)
        root_key = new_key
    (folder / "root.json").write_bytes(data)
    digest = hashlib.sha256(b"artifact").hexdigest()
    entries = {f"releases/v{i // 100}/artifact-{i:06d}.tar.gz":
               {"length": 8, "hashes": {"sha256": digest}} for i in range(targets)}
    t = _signed({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                 "expires": EXPIRES, "targets": entries}, [online["targets"]], checks)
    (folder / "1.targets.json").write_bytes(t)
    s = _signed({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
                 "expires": EXPIRES, "meta": {"targets.json": {"version": 1}}},
                [online["snapshot"]], checks)
    (folder / "1.snapshot.json").write_bytes(s)
    ts = _signed({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
                  "expires": EXPIRES, "meta": {"snapshot.json": {
                      "version": 1, "length": len(s),
                      "hashes": {"sha256": hashlib.sha256(s).hexdigest()}}}},
                 [online["timestamp"]], checks)
    (folder / "timestamp.json").write_bytes(ts)
    return checks


def floor_work(folder: Path, checks: list[Check]) -> None:
    for file in sorted(folder.iterdir()):
        json.loads(file.read_bytes())
    for key, sig, message in checks:
        key.verify(sig, message)


def tuf_breakdown(folder: Path, repeat: int, best_of: Callable[..., float]) -> dict[str, float]:
    """Where the time goes for the targets file alone (`best_of` times with the cyclic GC off, as
    in the reader: bench/verify.py gives it):
    the floor's json.loads; the parse-cost bound both readers are behind (check_cost, which
    also counts the colons); the reader without the duplicate-key hook as from_bytes runs it
    (load_json_counted, its integers bounded afterwards by ints_bounded) and the strict one
    with it (load_json, cost bound included: its fallback); the model; the canonical
    bytes that every signature covers (re-encoded: the file is pretty-printed; the targets map
    written directly, and by the general encoder for comparison); and the whole
    Metadata.from_bytes (all of these, and the colon count that proves no duplicate key)."""
    from ceremony.tuf.canonical import (
        check_cost,
        encode_canonical_parsed,
        load_json,
        load_json_counted,
    )
    from ceremony.tuf.model import Metadata, _canonical_read, ints_bounded
    data = (folder / "1.targets.json").read_bytes()
    assert Metadata.from_bytes(data)._read_payload is not None, \
        "the fast reader did not take the targets file"
    # One parsed document and its model kept for the steps (as many as before ints_bounded
    # was added: a third would raise the run's maximum RSS by ~85 MiB): parsed as from_bytes
    # parses, so the map's lengths bound its integers, not the text pass.
    counted = load_json_counted(data, 0, bound_integers=False)
    assert counted is not None
    parsed = counted[0]
    md = Metadata.from_dict(parsed)
    assert md.signed.targets.integers_as_read()[0] is parsed["signed"]["targets"]
    return {name: round(best_of(repeat, action), 4) for name, action in (
        ("json_loads", lambda: json.loads(data)),
        ("cost_check", lambda: check_cost(data)),
        ("counted_parse", lambda: load_json_counted(data, 0, bound_integers=False)),
        ("ints_bounded", lambda: ints_bounded(parsed, md.signed, data)),
        ("strict_parse", lambda: load_json(data)),
        ("model", lambda: Metadata.from_dict(parsed)),
        ("canonical_bytes", lambda: _canonical_read(md.signed)),
        ("canonical_bytes_general_encoder",
         lambda: encode_canonical_parsed(md.signed.to_dict())),
        ("from_bytes", lambda: Metadata.from_bytes(data)),
    )}


def bench_tuf(versions: int, targets: int, repeat: int,
              measure: Callable[..., dict[str, Any]],
              breakdown: Callable[..., dict[str, float]] | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-tuf-") as tmp:
        folder = Path(tmp)
        checks = build(folder, versions, targets)

        def ours() -> None:
            report = verify_repository(folder)
            assert len(report.root_chain) == versions and report.targets == targets

        ours()  # warm up, and fail loudly if it does not verify
        out = {"root_versions": versions, "targets": targets,
               "bytes": sum(f.stat().st_size for f in folder.iterdir()),
               "targets_json_bytes": (folder / "1.targets.json").stat().st_size,
               "signature_verifications": len(checks),
               **measure(ours, lambda: floor_work(folder, checks), repeat)}
        if breakdown is not None:
            out["breakdown_seconds"] = breakdown(folder, repeat)
        return out
