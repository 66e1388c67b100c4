"""CLI behaviour around the Notary Project commands: offline code never loads the online
module, PINs stay out of outputs and files, mismatched inputs are refused in one line with
nothing written, and CSRs from another implementation (OpenSSL) are issued."""

from __future__ import annotations

import json
import subprocess
import sys

from cryptography import x509

from tests.conftest import ROOT, run_cli

OFFLINE_MODULES = ["ceremony.notation.cli", "ceremony.notation.sign_cli",
                   "ceremony.notation.verify", "ceremony.notation.truststore",
                   "ceremony.notation.crl", "ceremony.notation.castate",
                   "ceremony.notation.ca_cli", "ceremony.notation.ca_ceremonies",
                   "ceremony.notation.sign_ceremony", "ceremony.notation.csr_ceremony",
                   "ceremony.notation.frame", "ceremony.notation.bundles",
                   "ceremony.scripts.notation_steps", "ceremony.scripts.notation_rehearsal"]


def test_offline_modules_never_import_the_online_one():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in OFFLINE_MODULES) +
            "bad = [m for m in sys.modules if m in ('ceremony.notation.registry', "
            "'urllib.request', 'http.client')]\nprint(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def _ca(offline, tmp_path, label: str):
    offline.ok("key", "generate", "--token", "pkcs11:token=ca-root", "--label", label,
               "--algorithm", "ecdsa-p256", "--pin-source", offline.pin("ca-root"))
    offline.ok("notation", "ca", "init", "--ca-dir", str(tmp_path / "ca"), "--token",
               "pkcs11:token=ca-root", "--label", label, "--subject",
               f"C=US, ST=WA, O=Example, CN={label}", "--pin-source", offline.pin("ca-root"))
    return tmp_path / "ca"


def test_openssl_csr_issued_and_pins_kept_secret(offline, tmp_path):
    ca = _ca(offline, tmp_path, "cli-root")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-384", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-subj", "/C=US/ST=WA/O=Example/CN=openssl signer", "-out",
                    str(tmp_path / "o.csr")], check=True, capture_output=True)
    r = offline.ok("notation", "ca", "issue", "--ca-dir", str(ca), "--csr",
                   str(tmp_path / "o.csr"), "--out", str(tmp_path / "chain.pem"), "--json",
                   "--pin-source", offline.pin("ca-root"))
    data = json.loads(r.stdout)
    assert data["key"] == "EC P-384"
    # the review (stderr, before the token is used): subject, key, its fingerprint, chain
    assert "review: issue a Notary Project signing certificate" in r.stderr
    assert "CN=openssl signer" in r.stderr and "EC P-384 (signs ES384)" in r.stderr
    from ceremony.notation.review import key_fingerprint
    csr = x509.load_pem_x509_csr((tmp_path / "o.csr").read_bytes())
    assert key_fingerprint(csr.public_key()) in r.stderr
    leaf = x509.load_pem_x509_certificates((tmp_path / "chain.pem").read_bytes())[0]
    assert data["certificate"]["serial"] == f"{leaf.serial_number:x}"
    assert f"{leaf.serial_number:x}" in json.loads((ca / "ca.json").read_text())["issued"]
    pin = offline.env.pin("ca-root")
    assert pin not in r.output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert pin.encode() not in path.read_bytes(), path


def test_sign_descriptors_refuses_a_chain_of_another_key(offline, tmp_path):
    ca = _ca(offline, tmp_path, "cli-root2")
    offline.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", "cli-a",
               "--algorithm", "ecdsa-p256", "--pin-source", offline.pin("signer"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-subj", "/C=US/ST=WA/O=Example/CN=other", "-out",
                    str(tmp_path / "o.csr")], check=True, capture_output=True)
    offline.ok("notation", "ca", "issue", "--ca-dir", str(ca), "--csr", str(tmp_path / "o.csr"),
               "--out", str(tmp_path / "chain.pem"), "--pin-source", offline.pin("ca-root"))
    (tmp_path / "req.json").write_text(json.dumps({"version": 1, "artifacts": [
        {"reference": "localhost:5000/app:1", "descriptor": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + "ab" * 32, "size": 10}}]}))
    r = offline.run("notation", "sign-descriptors", "--descriptors", str(tmp_path / "req.json"),
                    "--token", "pkcs11:token=signer", "--label", "cli-a", "--chain",
                    str(tmp_path / "chain.pem"), "--out-dir", str(tmp_path / "sigs"),
                    "--pin-source", offline.pin("signer"))
    assert r.returncode == 1 and "is not the key of" in r.stderr, r.output
    # the review came first (stderr); then exactly one error line, the last
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("review: sign 1 artifact(s)")
    assert [x for x in lines if x.startswith("error:")] == [lines[-1]]
    assert not (tmp_path / "sigs" / "signatures.json").exists()


def test_verify_garbage_and_bad_inputs_one_line(tmp_path):
    cert_pem = tmp_path / "root.pem"
    cert_pem.write_bytes(b"not a cert")
    (tmp_path / "env").write_bytes(b"\x00garbage")
    r = run_cli("notation", "verify", "--envelope", str(tmp_path / "env"), "--root",
                str(cert_pem))
    assert r.returncode == 1 and r.stderr.startswith("error: ")
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("notation", "ca", "revoke", "--ca-dir", str(tmp_path))  # what to revoke first
    assert r.returncode == 1 and "give --cert or --serial" in r.stderr
    r = run_cli("notation", "ca", "revoke", "--ca-dir", str(tmp_path), "--serial", "01")
    assert r.returncode == 1 and "not a CA folder" in r.stderr
    r = run_cli("notation", "trust-store", "--root", str(cert_pem), "--config-dir",
                str(tmp_path / "cfg"), "--scope", "*")
    assert r.returncode == 1 and "no PEM or DER certificate" in r.stderr
    assert not (tmp_path / "cfg").exists()
