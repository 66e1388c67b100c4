"""RSTUF payloads: a bootstrap payload as `rstuf admin ceremony --dry-run --out` writes it
(root v1 with one RSTUF-held root key that signed, and the token key, threshold 2) is signed
on the token; everything but the root's signatures comes back unchanged, and python-tuf
accepts the root. A metadata update payload (root v2) is signed against the trusted v1."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tuf.api.metadata import Metadata, Root

from tests.tuf.pytuf_repo import new_signer, token_key

KEY_NAME = "x-rstuf-key-name"           # the fields rstuf adds to keys (kept as found)
ONLINE_URI = "x-rstuf-online-key-uri"


def _bootstrap_payload(token: dict, rstuf_root_signer, online_signer) -> dict:
    """What `rstuf admin ceremony` (repository-service-tuf 1.0) writes: CeremonyPayload as a
    dict, indent 2; its root signed by the one root key the RSTUF operator holds."""
    root = Root(expires=datetime.now(UTC).replace(microsecond=0) + timedelta(days=365))
    theirs = copy.deepcopy(rstuf_root_signer.public_key)
    theirs.unrecognized_fields[KEY_NAME] = "rstuf-admin"
    ours = token_key(token)
    ours.unrecognized_fields[KEY_NAME] = "offline-token"
    root.add_key(theirs, "root")
    root.add_key(ours, "root")
    root.roles["root"].threshold = 2
    online = copy.deepcopy(online_signer.public_key)
    online.unrecognized_fields.update({KEY_NAME: "online", ONLINE_URI: "fn:online-key"})
    for role in ("timestamp", "snapshot", "targets"):
        root.add_key(online, role)
    md = Metadata(root)
    md.sign(rstuf_root_signer, append=True)
    return {"settings": {"roles": {"root": {"expiration": 365}, "timestamp": {"expiration": 1},
                                   "snapshot": {"expiration": 1},
                                   "targets": {"expiration": 365},
                                   "bins": {"expiration": 1, "number_of_delegated_bins": 4},
                                   "delegations": None}},
            "metadata": {"root": md.to_dict()}, "timeout": 300}


def test_bootstrap_payload_signed_on_a_token(offline, tmp_path):
    token = offline.ok("tuf", "key", "--token", "tuf-b", "--label", "tuf-root")
    payload = _bootstrap_payload(token, new_signer("ed25519"), new_signer("ed25519"))
    path = tmp_path / "ceremony-payload.json"
    path.write_text(json.dumps(payload, indent=2))
    out = tmp_path / "signed-payload.json"
    r = offline.run("tuf", "sign", str(path), "--out", str(out), "--token", "tuf-b",
                    *offline.pins("tuf-b"), "--yes", "--json")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["rstuf_payload"] == "bootstrap" and result["complete"]
    assert result["status"]["own_root"]["met"] and result["signed_with"] == [token["keyid"]]
    assert "(in an RSTUF bootstrap payload)" in r.stderr

    signed = json.loads(out.read_bytes())
    assert {k: v for k, v in signed.items() if k != "metadata"} == \
        {k: v for k, v in payload.items() if k != "metadata"}
    assert signed["metadata"]["root"]["signed"] == payload["metadata"]["root"]["signed"]
    root = Metadata.from_dict(copy.deepcopy(signed["metadata"]["root"]))
    root.signed.verify_delegate("root", root.signed_bytes, root.signatures)  # 2 of 2
    assert len(root.signatures) == 2
    keys = signed["metadata"]["root"]["signed"]["keys"]
    assert keys[token["keyid"]][KEY_NAME] == "offline-token"   # rstuf's fields kept
    offline.assert_no_pin()


def test_update_payload_needs_and_follows_the_trusted_root(offline, tmp_path):
    token = offline.ok("tuf", "key", "--token", "tuf-b", "--label", "tuf-root")
    rstuf_key = new_signer("ed25519")
    bootstrap = _bootstrap_payload(token, rstuf_key, new_signer("ed25519"))
    v1 = Metadata.from_dict(copy.deepcopy(bootstrap["metadata"]["root"]))
    v1_path = tmp_path / "1.root.json"
    signed_v1 = tmp_path / "signed-bootstrap.json"
    (tmp_path / "bootstrap.json").write_text(json.dumps(bootstrap, indent=2))
    r = offline.run("tuf", "sign", str(tmp_path / "bootstrap.json"), "--out", str(signed_v1),
                    "--token", "tuf-b", *offline.pins("tuf-b"), "--yes")
    assert r.returncode == 0, r.output
    v1_path.write_text(json.dumps(json.loads(signed_v1.read_bytes())["metadata"]["root"]))

    # `rstuf admin metadata update`: root v2 (a new expiry), signed by the RSTUF key
    v2 = Metadata.from_dict(copy.deepcopy(v1.to_dict()))
    v2.signed.version = 2
    v2.signed.expires = v1.signed.expires + timedelta(days=30)
    v2.signatures.clear()
    v2.sign(rstuf_key, append=True)
    update = tmp_path / "update-payload.json"
    update.write_text(json.dumps({"metadata": {"root": v2.to_dict()}}, indent=2))
    out = tmp_path / "signed-update.json"
    no_trusted = offline.run("tuf", "sign", str(update), "--out", str(out), "--token", "tuf-b",
                             *offline.pins("tuf-b"), "--yes")
    assert no_trusted.returncode == 1 and "give the trusted v1 with --trusted" in \
        no_trusted.stderr and not out.exists()
    r = offline.run("tuf", "sign", str(update), "--trusted", str(v1_path), "--out", str(out),
                    "--token", "tuf-b", *offline.pins("tuf-b"), "--yes", "--json")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["rstuf_payload"] == "metadata update" and result["complete"]
    new = Metadata.from_dict(json.loads(out.read_bytes())["metadata"]["root"])
    trusted = Metadata.from_bytes(v1_path.read_bytes())
    trusted.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    new.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    assert set(json.loads(out.read_bytes())) == {"metadata"}


def test_signatures_only_from_a_payload(offline, tmp_path):
    token = offline.ok("tuf", "key", "--token", "tuf-b", "--label", "tuf-root")
    payload = _bootstrap_payload(token, new_signer("ed25519"), new_signer("ed25519"))
    path = tmp_path / "ceremony-payload.json"
    path.write_text(json.dumps(payload, indent=2))
    out = tmp_path / "sigs.json"
    r = offline.run("tuf", "sign", str(path), "--out", str(out), "--token", "tuf-b",
                    *offline.pins("tuf-b"), "--yes", "--signatures-only")
    assert r.returncode == 0, r.output
    sigs = json.loads(Path(out).read_bytes())
    assert sigs["role"] == "root" and [s["keyid"] for s in sigs["signatures"]] == \
        [token["keyid"]]
