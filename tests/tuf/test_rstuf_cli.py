"""RSTUF's real CLI (repository-service-tuf 1.0.0b1, installed by scripts/tuf-peers) makes a
bootstrap payload offline (`rstuf admin ceremony --dry-run`): root threshold 2, the RSTUF
operator's key and a token key, signed by the operator only. `ceremony tuf sign` adds the
token's signature; the payload comes back unchanged but for that signature, and RSTUF's own
check (python-tuf's root verification, as `rstuf admin ceremony` runs it) passes."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tuf.api.metadata import Metadata

from tests.tuf.peers import TOOLS

RSTUF_PYTHON = TOOLS / "rstuf-1.0.0b1" / "bin" / "python"
DRIVER = Path(__file__).parent / "peers" / "rstuf" / "ceremony.py"


def _key_files(folder: Path, name: str, password: bytes | None) -> tuple[Path, Path]:
    private = ec.generate_private_key(ec.SECP256R1())
    pub = folder / f"{name}.pub"
    pub.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    key = folder / f"{name}.key"
    key.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption()))
    return pub, key


def test_rstuf_bootstrap_payload_signed_on_a_token(offline, tmp_path):
    assert RSTUF_PYTHON.exists(), "run scripts/tuf-peers (scripts/bootstrap) first"
    token = offline.ok("tuf", "key", "--token", "tuf-a", "--label", "tuf-root")  # ECDSA
    token_pub = tmp_path / "token.pub"
    token_pub.write_text(token["key"]["keyval"]["public"])
    admin_pub, admin_key = _key_files(tmp_path, "admin", b"admin-password")
    online_pub, _ = _key_files(tmp_path, "online", None)
    password = tmp_path / "admin.password"
    password.write_text("admin-password")
    made = subprocess.run([str(RSTUF_PYTHON), str(DRIVER), str(tmp_path), str(admin_pub),
                           str(admin_key), str(password), str(token_pub), str(online_pub)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    payload_file = tmp_path / "payload.json"
    payload = json.loads(payload_file.read_bytes())
    root = payload["metadata"]["root"]
    assert token["keyid"] in root["signed"]["roles"]["root"]["keyids"]  # rstuf's key ID = ours
    assert len(root["signatures"]) == 1

    out = tmp_path / "signed-payload.json"
    r = offline.run("tuf", "sign", str(payload_file), "--out", str(out), "--token", "tuf-a",
                    *offline.pins("tuf-a"), "--yes", "--json")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["rstuf_payload"] == "bootstrap" and result["complete"]
    signed = json.loads(out.read_bytes())
    assert {k: v for k, v in signed.items() if k != "metadata"} == \
        {k: v for k, v in payload.items() if k != "metadata"}
    assert signed["metadata"]["root"]["signed"] == root["signed"]
    md = Metadata.from_dict(copy.deepcopy(signed["metadata"]["root"]))
    check = md.signed.get_root_verification_result(None, md.signed_bytes, md.signatures)
    assert check.verified and len(md.signatures) == 2
    offline.assert_no_pin()
