"""Every Notary Project key spec a token key can have, against the REAL notation CLI.

A root CA whose key is P-521 on token ca-root (its certificates signed ECDSA with SHA-512), and
signing keys on token signer: P-384 (ES384), P-521 (ES512), RSA 3072 (PS384), RSA 4096 (PS512).
Each signs a JWS and a COSE envelope through hsm's digest signing; `notation verify` must accept
them with only the root pinned, and `notation inspect` must name the algorithm.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import run_cli
from tests.notation.conftest import Notation, push_image

ROOT_SUBJECT = "C=US, ST=WA, O=Example, CN=Example P-521 Root"
SIGNER = "C=US, ST=WA, O=Example, CN=hash-aware signer"
EXPECTED = {"ecdsa-p384": ("ES384", "ECDSA-SHA-384"), "ecdsa-p521": ("ES512", "ECDSA-SHA-512"),
            "rsa-3072": ("PS384", "RSASSA-PSS-SHA-384"),
            "rsa-4096": ("PS512", "RSASSA-PSS-SHA-512")}


@pytest.fixture(scope="module")
def p521_ca(offline, tmp_path_factory) -> Path:
    ca = tmp_path_factory.mktemp("p521") / "ca"
    offline.ok("key", "generate", "--token", "pkcs11:token=ca-root", "--label", "root-p521",
               "--algorithm", "ecdsa-p521", "--pin-source", offline.pin("ca-root"))
    offline.ok("notation", "ca", "init", "--ca-dir", str(ca), "--token", "pkcs11:token=ca-root",
               "--label", "root-p521", "--subject", ROOT_SUBJECT,
               "--pin-source", offline.pin("ca-root"))
    return ca


@pytest.fixture(scope="module")
def signing_keys(offline, p521_ca, tmp_path_factory) -> dict[str, Path]:
    """One signing key per algorithm on token signer, each with a chain issued by the CA."""
    folder = tmp_path_factory.mktemp("chains")
    chains = {}
    for algorithm in EXPECTED:
        label = f"hash-{algorithm}"
        offline.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", label,
                   "--algorithm", algorithm, "--pin-source", offline.pin("signer"))
        offline.ok("notation", "csr", "--token", "pkcs11:token=signer", "--label", label,
                   "--subject", SIGNER, "--out", str(folder / f"{algorithm}.csr"),
                   "--pin-source", offline.pin("signer"))
        offline.ok("notation", "ca", "issue", "--ca-dir", str(p521_ca), "--csr",
                   str(folder / f"{algorithm}.csr"), "--out", str(folder / f"{algorithm}.pem"),
                   "--pin-source", offline.pin("ca-root"))
        chains[algorithm] = folder / f"{algorithm}.pem"
    return chains


def test_the_p521_root_ca_signs_with_sha512(p521_ca):
    root = x509.load_pem_x509_certificate((p521_ca / "ca.crt").read_bytes())
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp521r1"
    assert root.signature_hash_algorithm is not None
    assert root.signature_hash_algorithm.name == "sha512"
    root.verify_directly_issued_by(root)


@pytest.mark.parametrize("envelope", ["jws", "cose"])
@pytest.mark.parametrize("algorithm", sorted(EXPECTED))
def test_notation_verifies_each_key_spec(registry, offline, p521_ca, signing_keys, tmp_path,
                                         algorithm, envelope):
    jws_alg, notation_alg = EXPECTED[algorithm]
    repo, tag = f"alg-{algorithm}", envelope
    desc = push_image(registry, repo, tag, f"{algorithm} {envelope}".encode())
    assert run_cli("notation", "resolve", f"{registry}/{repo}:{tag}", "--out",
                   str(tmp_path / "req.json")).returncode == 0
    offline.ok("notation", "sign-descriptors", "--descriptors", str(tmp_path / "req.json"),
               "--token", "pkcs11:token=signer", "--label", f"hash-{algorithm}", "--chain",
               str(signing_keys[algorithm]), "--envelope", envelope,
               "--out-dir", str(tmp_path / "sigs"), "--pin-source", offline.pin("signer"))
    (entry,) = json.loads((tmp_path / "sigs" / "signatures.json").read_text())["signatures"]
    if envelope == "jws":
        jws = json.loads(base64.b64decode(entry["envelope"]))
        header = json.loads(base64.urlsafe_b64decode(jws["protected"] + "=="))
        assert header["alg"] == jws_alg
    assert run_cli("notation", "attach", "--signatures", str(tmp_path / "sigs")).returncode == 0

    n = Notation(tmp_path / "notation")
    r = run_cli("notation", "trust-store", "--root", str(p521_ca / "ca.crt"),
                "--config-dir", str(n.config), "--scope", "*", "--identity", SIGNER)
    assert r.returncode == 0, r.output
    ref = f"{registry}/{repo}@{desc['digest']}"
    r = n.run("verify", ref)
    assert r.returncode == 0, r.output
    assert "Successfully verified" in r.output
    r = n.run("inspect", "--output", "json", ref)
    assert r.returncode == 0, r.output
    (sig,) = json.loads(r.stdout)["Signatures"]
    assert sig["signatureAlgorithm"] == notation_alg
    assert sig["signedArtifact"] == desc


def test_another_root_is_refused(registry, offline, signing_keys, tmp_path):
    """The same ES512 signature with a different root pinned: notation must refuse it."""
    desc = push_image(registry, "alg-other", "v1", b"other root")
    assert run_cli("notation", "resolve", f"{registry}/alg-other:v1", "--out",
                   str(tmp_path / "req.json")).returncode == 0
    offline.ok("notation", "sign-descriptors", "--descriptors", str(tmp_path / "req.json"),
               "--token", "pkcs11:token=signer", "--label", "hash-ecdsa-p521", "--chain",
               str(signing_keys["ecdsa-p521"]), "--envelope", "cose",
               "--out-dir", str(tmp_path / "sigs"), "--pin-source", offline.pin("signer"))
    assert run_cli("notation", "attach", "--signatures", str(tmp_path / "sigs")).returncode == 0
    offline.ok("key", "generate", "--token", "pkcs11:token=ca-inter", "--label", "p521-other",
               "--algorithm", "ecdsa-p521", "--pin-source", offline.pin("ca-inter"))
    other = tmp_path / "other"
    offline.ok("notation", "ca", "init", "--ca-dir", str(other), "--token",
               "pkcs11:token=ca-inter", "--label", "p521-other", "--subject",
               "C=US, ST=WA, O=Other, CN=Other P-521 Root", "--pin-source",
               offline.pin("ca-inter"))
    n = Notation(tmp_path / "notation")
    assert run_cli("notation", "trust-store", "--root", str(other / "ca.crt"), "--config-dir",
                   str(n.config), "--scope", "*", "--identity", SIGNER).returncode == 0
    r = n.run("verify", f"{registry}/alg-other@{desc['digest']}")
    assert r.returncode != 0
    assert "Successfully verified" not in r.output
