"""Notation keys in the workspace's key inventory, and `notation csr` as a ceremony.

ca init records the root CA key (system "notation", key ID the SHA-256 of its SPKI, role
root-ca, the CA's name and subject, its certificate, custody evidence read back from the
token); ca intermediate the intermediate CA key; `notation csr --workspace` (the ceremony of
the script action `notation-csr`: review with the key's SHA-256 in hex and words, typed
confirmation or --yes, transcript, a request bundle for `ca issue`) the signing key. Without
--workspace `notation csr` stays the compatibility mode and says it is not a ceremony."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ceremony.inventory import spki_sha256
from ceremony.transcript import verify_transcript
from ceremony.workspace import Workspace
from tests.conftest import run_cli

ROOT = "C=US, O=Example, CN=Inventory Root"
SIGNER = "C=US, O=Example, CN=inventory signer"


def _keys(ws: Path) -> dict[str, object]:
    return {k.role: k for k in Workspace.open(ws).keys()}


def _csr(offline, ws: Path, out: Path, *extra: str, input: str | None = None):
    return offline.run("notation", "csr", "--workspace", str(ws), "--token",
                       "pkcs11:token=signer", "--label", "inv-sign", "--algorithm", "ecdsa-p256",
                       "--subject", SIGNER, "--out", str(out), "--pin-source",
                       offline.pin("signer"), *extra, "--json", input=input)


def test_notation_keys_recorded_by_each_ceremony(offline, tmp_path):
    ws = tmp_path / "ws"
    r = offline.run("notation", "ca", "init", "--workspace", str(ws), "--token",
                    "pkcs11:token=ca-root", "--label", "inv-root", "--algorithm", "ecdsa-p384",
                    "--subject", ROOT, "--yes", "--pin-source", offline.pin("ca-root"),
                    "--json")
    assert r.returncode == 0, r.output
    root = _keys(ws)["root-ca"]
    assert root.system == "notation" and root.token_label == "ca-root"
    assert root.key_label == "inv-root" and root.algorithm == "ecdsa-p384"
    public = load_pem_public_key(root.public_key_pem.encode())
    assert root.key_id == root.canonical_id == spki_sha256(public)
    assert root.guns == ("ca:root", "subject:CN=Inventory Root,O=Example,C=US")
    assert x509.load_pem_x509_certificate(root.cert_pem.encode()).subject.rfc4514_string() \
        == "CN=Inventory Root,O=Example,C=US"
    assert root.evidence["local"] is True and root.evidence["never_extractable"] is True
    assert root.to_dict()["system"] == "notation"

    r = offline.run("notation", "ca", "intermediate", "--workspace", str(ws), "--token",
                    "pkcs11:token=ca-inter", "--label", "inv-inter", "--algorithm", "rsa-3072",
                    "--subject", "C=US, O=Example, CN=Inventory Issuing", "--yes",
                    "--pin-source", f"ca-root={offline.pin('ca-root')}", "--pin-source",
                    f"ca-inter={offline.pin('ca-inter')}", "--json")
    assert r.returncode == 0, r.output
    inter = _keys(ws)["intermediate-ca"]
    assert inter.token_label == "ca-inter" and inter.algorithm == "rsa-3072"
    assert inter.guns[0] == "ca:issuing" and inter.evidence["local"] is True

    r = _csr(offline, ws, tmp_path / "csr.req", "--yes")
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    signing = _keys(ws)["signing"]
    assert signing.key_id == out["key_sha256"] and signing.token_label == "signer"
    assert signing.guns == ("subject:CN=inventory signer,O=Example,C=US",)
    assert signing.evidence["local"] is True and not signing.cert_pem

    # the listing: one answer for every system (here notation only), from the workspace
    r = run_cli("token", "keys", "--workspace", str(ws), "--json")
    assert r.returncode == 0, r.output
    rows = json.loads(r.stdout)["keys"]
    assert sorted((row["system"], row["role"]) for row in rows) == [
        ("notation", "intermediate-ca"), ("notation", "root-ca"), ("notation", "signing")]
    r = run_cli("token", "keys", "pkcs11:token=signer", "--workspace", str(ws))
    assert r.returncode == 0, r.output
    assert "[notation] signing" in r.stdout and "root-ca" not in r.stdout

    # the ceremony's bundle is what `ca issue` answers
    r = offline.run("notation", "ca", "issue", "--workspace", str(ws), "--ca", "issuing",
                    "--request", str(tmp_path / "csr.req"), "--out",
                    str(tmp_path / "issued.resp"), "--yes", "--pin-source",
                    offline.pin("ca-inter"))
    assert r.returncode == 0, r.output
    signing = _keys(ws)["signing"]  # the issued certificate noted on the key's record
    cert = x509.load_pem_x509_certificate(signing.cert_pem.encode())
    assert cert.subject.rfc4514_string() == "CN=inventory signer,O=Example,C=US"
    assert "ca:issuing" in signing.guns and signing.evidence["local"] is True

    # a key the workspace signs with, not recorded before (its CSR made elsewhere): the sign
    # ceremony records it with its certificate
    offline.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", "inv-other",
               "--algorithm", "ecdsa-p256", "--pin-source", offline.pin("signer"))
    assert offline.run("notation", "csr", "--token", "pkcs11:token=signer", "--label",
                       "inv-other", "--subject", "CN=other signer", "--out",
                       str(tmp_path / "other.csr"), "--pin-source",
                       offline.pin("signer")).returncode == 0
    assert run_cli("notation", "request", "csr", "--csr", str(tmp_path / "other.csr"), "--out",
                   str(tmp_path / "other.req")).returncode == 0
    assert offline.run("notation", "ca", "issue", "--workspace", str(ws), "--ca", "issuing",
                       "--request", str(tmp_path / "other.req"), "--out",
                       str(tmp_path / "other.resp"), "--yes", "--pin-source",
                       offline.pin("ca-inter")).returncode == 0
    assert len(Workspace.open(ws).keys()) == 3  # issued, but not a key the workspace holds
    from ceremony.notation.bundles import sign_request
    from ceremony.notation.payload import Descriptor
    from transfer.systembundle import write_system_bundle
    desc = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "cd" * 32, 9)
    write_system_bundle(tmp_path / "sign.req", sign_request([("localhost:5000/app:1", desc)]))
    r = offline.run("notation", "sign-descriptors", "--workspace", str(ws), "--request",
                    str(tmp_path / "sign.req"), "--out", str(tmp_path / "sign.resp"),
                    "--token", "pkcs11:token=signer", "--label", "inv-other", "--yes",
                    "--pin-source", offline.pin("signer"))
    assert r.returncode == 0, r.output
    other = [k for k in Workspace.open(ws).keys() if k.key_label == "inv-other"]
    assert len(other) == 1 and other[0].role == "signing" and other[0].cert_pem
    assert other[0].guns == ("subject:CN=other signer",)


def test_csr_ceremony_reviews_confirms_and_records(offline, tmp_path):
    ws = tmp_path / "ws"
    assert offline.run("notation", "ca", "init", "--workspace", str(ws), "--token",
                       "pkcs11:token=ca-root", "--label", "inv-root2", "--algorithm",
                       "ecdsa-p256", "--subject", ROOT, "--yes", "--pin-source",
                       offline.pin("ca-root")).returncode == 0
    out = tmp_path / "csr.req"
    # no confirmation: refused, nothing written, the key not in the inventory
    r = _csr(offline, ws, out, input="no\n")
    assert r.returncode == 1 and not out.exists()
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "signing" not in _keys(ws)
    # typed yes: the review shows subject, key type, key SHA-256 hex and words
    r = _csr(offline, ws, out, input="yes\n")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert "subject:       CN=inventory signer,O=Example,C=US" in r.stderr
    assert "key:           EC P-256 on token 'signer'" in r.stderr
    assert result["key_sha256"] in r.stderr and "key words:" in r.stderr
    paths = sorted((ws / "transcripts").glob("*notation-csr*.jsonl"))
    assert len(paths) == 2  # the refused run is recorded too
    logs = {p: [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
            for p in paths}
    assert sorted(log[-1]["data"]["outcome"] for log in logs.values()) == [
        "completed", "refused"]
    path = next(p for p, log in logs.items() if log[-1]["data"]["outcome"] == "completed")
    log = logs[path]
    kinds = [e["kind"] for e in log]
    assert kinds.index("review") < kinds.index("confirmation") < kinds.index("output")
    assert verify_transcript(path).final_digest == result["transcript_sha256"]
    assert offline.pin("signer") not in path.read_text()
    assert _keys(ws)["signing"].key_id == result["key_sha256"]
    # an existing output is not overwritten without --force
    r = _csr(offline, ws, out, "--yes")
    assert r.returncode == 1 and "error:" in r.stderr


def test_plain_csr_without_workspace_says_it_is_not_a_ceremony(offline, tmp_path):
    out = tmp_path / "signer.csr"
    offline.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", "plain-sign",
               "--algorithm", "ecdsa-p256", "--pin-source", offline.pin("signer"))
    r = offline.run("notation", "csr", "--token", "pkcs11:token=signer", "--label",
                    "plain-sign", "--subject", SIGNER, "--out", str(out), "--pin-source",
                    offline.pin("signer"))
    assert r.returncode == 0, r.output
    assert "not a ceremony" in r.stderr
    assert x509.load_pem_x509_csr(out.read_bytes()).is_signature_valid
    r = offline.run("notation", "csr", "--token", "pkcs11:token=signer", "--label",
                    "plain-sign", "--algorithm", "ecdsa-p256", "--subject", SIGNER, "--out",
                    str(tmp_path / "x.csr"), "--pin-source", offline.pin("signer"))
    assert r.returncode == 2 and "--workspace" in r.stderr
