"""Air-gapped artifact signing as a ceremony: `resolve` (online) writes a notation request
bundle, `sign-descriptors --request` signs inside the session frame with the certificate the
workspace's CA issued for the token key, the response crosses the gap as REAL QR images
(`ceremony transfer send --png` / `receive`, zxing-cpp), `attach --response` pushes it to the
REAL docker-registry, and the REAL `notation verify` accepts it; after `ca revoke` the tool's
own verify refuses it with the CRL the revocation response carries."""

from __future__ import annotations

import json

from cryptography import x509

from tests.conftest import run_cli
from tests.notation.conftest import Notation, push_image

ROOT = "C=US, ST=WA, O=Example, CN=Signing Ceremony Root"
SIGNER = "C=US, ST=WA, O=Example, CN=signing ceremony"


def test_sign_ceremony_qr_attach_notation_verify(offline, registry, tmp_path):
    o, ws = offline, tmp_path / "ws"
    o.ok("key", "generate", "--token", "pkcs11:token=ca-root", "--label", "sc-root",
         "--algorithm", "ecdsa-p384", "--pin-source", o.pin("ca-root"))
    o.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", "sc-sign",
         "--algorithm", "ecdsa-p256", "--pin-source", o.pin("signer"))
    o.ok("notation", "ca", "init", "--workspace", str(ws), "--token", "pkcs11:token=ca-root",
         "--label", "sc-root", "--subject", ROOT, "--yes", "--pin-source", o.pin("ca-root"))
    o.ok("notation", "csr", "--token", "pkcs11:token=signer", "--label", "sc-sign",
         "--subject", SIGNER, "--out", str(tmp_path / "sc.csr"), "--pin-source",
         o.pin("signer"))
    assert run_cli("notation", "request", "csr", "--csr", str(tmp_path / "sc.csr"), "--out",
                   str(tmp_path / "csr.req")).returncode == 0
    o.ok("notation", "ca", "issue", "--workspace", str(ws), "--request",
         str(tmp_path / "csr.req"), "--out", str(tmp_path / "csr.resp"), "--yes",
         "--pin-source", o.pin("ca-root"))
    # online: two images, one request bundle
    descs = [push_image(registry, "ceremony", tag, f"ceremony {tag}".encode())
             for tag in ("v1", "v2")]
    r = run_cli("notation", "resolve", f"{registry}/ceremony:v1", f"{registry}/ceremony:v2",
                "--out", str(tmp_path / "sign.req"))
    assert r.returncode == 0, r.output
    body = json.loads((tmp_path / "sign.req").read_text())
    assert body["system"] == "notation" and body["content"]["type"] == "sign"
    # offline: the ceremony, confirmed by typing yes; the chain found in the workspace
    r = o.run("notation", "sign-descriptors", "--workspace", str(ws), "--request",
              str(tmp_path / "sign.req"), "--out", str(tmp_path / "sign.resp"), "--token",
              "pkcs11:token=signer", "--label", "sc-sign", "--envelope", "cose",
              "--pin-source", o.pin("signer"), "--json", input="yes\n")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["signed"] == 2 and result["logins"] == 1
    for d in descs:
        assert d["digest"] in r.stderr  # the review lists every digest
    assert "signer certificate words:" in r.stderr and "review words" in r.stderr
    assert o.env.pin("signer") not in r.output
    # across the gap as QR images, decoded by zxing-cpp
    r = run_cli("transfer", "send", str(tmp_path / "sign.resp"), "--png",
                str(tmp_path / "frames"))
    assert r.returncode == 0, r.output
    assert "NOTATION RESPONSE" in r.output
    r = run_cli("transfer", "receive", "--images", str(tmp_path / "frames"), "--out",
                str(tmp_path / "received.resp"))
    assert r.returncode == 0, r.output
    assert (tmp_path / "received.resp").read_bytes() == (tmp_path / "sign.resp").read_bytes()
    r = run_cli("notation", "attach", "--response", str(tmp_path / "received.resp"))
    assert r.returncode == 0, r.output
    # the real notation verifies both images against the pinned root
    n = Notation(tmp_path / "notation")
    r = run_cli("notation", "ca", "export", "--workspace", str(ws), "--out-dir",
                str(tmp_path / "public"))
    assert r.returncode == 0, r.output
    r = run_cli("notation", "trust-store", "--root", str(tmp_path / "public" / "root.crt"),
                "--config-dir", str(n.config), "--scope", "*", "--identity", SIGNER)
    assert r.returncode == 0, r.output
    for d in descs:
        r = n.run("verify", f"{registry}/ceremony@{d['digest']}")
        assert r.returncode == 0, r.output
    # revocation: the CRL response; the tool's verify refuses the signature with it
    chain = x509.load_pem_x509_certificates(
        (tmp_path / "public" / "chain.pem").read_bytes())
    assert len(chain) == 1
    from ceremony.notation import bundles
    from transfer.systembundle import read_system_bundle
    (_entry, envelope), _ = bundles.read_signatures(
        read_system_bundle(tmp_path / "sign.resp", "notation", "response").content)
    issued = json.loads(o.ok("notation", "ca", "show", "--workspace", str(ws),
                             "--json").stdout)["issued"]
    (serial,) = issued
    o.ok("notation", "ca", "revoke", "--workspace", str(ws), "--serial", serial, "--out",
         str(tmp_path / "revoke.resp"), "--yes", "--pin-source", o.pin("ca-root"))
    assert run_cli("notation", "unpack", "--response", str(tmp_path / "revoke.resp"),
                   "--out-dir", str(tmp_path / "crl")).returncode == 0
    (tmp_path / "sig.cose").write_bytes(envelope)
    bad = run_cli("notation", "verify", "--envelope", str(tmp_path / "sig.cose"), "--root",
                  str(tmp_path / "public" / "root.crt"), "--crl", str(tmp_path / "crl" /
                                                                       "crl.pem"))
    assert bad.returncode == 1 and "was revoked" in bad.stderr, bad.output
    # and the workspace no longer finds a certificate for the key: signing is refused
    assert run_cli("notation", "resolve", f"{registry}/ceremony:v1", "--out",
                   str(tmp_path / "again.req")).returncode == 0
    r = o.run("notation", "sign-descriptors", "--workspace", str(ws), "--request",
              str(tmp_path / "again.req"), "--out", str(tmp_path / "again.resp"), "--token",
              "pkcs11:token=signer", "--label", "sc-sign", "--yes", "--pin-source",
              o.pin("signer"))
    assert r.returncode == 1 and "no valid, unrevoked certificate" in r.stderr, r.output
    assert not (tmp_path / "again.resp").exists()
