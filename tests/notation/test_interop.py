"""The tool's CA, token keys and envelopes against the REAL notation CLI and a REAL registry.

One module-scoped world: a root CA (P-384 key on token ca-root), a signing key on token
signer (P-256) with a certificate the tool issued from the token's CSR, and a local key
(RSA 3072, as `notation sign` users have) whose certificate the tool issued from its CSR.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ceremony.notation.registry import Registry, tag_schema_tag
from ceremony.notation.verify import verify
from tests.conftest import run_cli
from tests.notation.conftest import CRLServer, Notation, push_image

ROOT_SUBJECT = "C=US, ST=WA, O=Example, CN=Example Notation Root"
TOKEN_SIGNER = "C=US, ST=WA, O=Example, CN=ceremony signer"
LOCAL_SIGNER = "C=US, ST=WA, O=Example, CN=ci signer"


@pytest.fixture(scope="module")
def world(offline, registry, tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    ca = folder / "ca"
    crl_server = CRLServer(ca)
    o = offline
    o.ok("key", "generate", "--token", "pkcs11:token=ca-root", "--label", "root",
         "--algorithm", "ecdsa-p384", "--pin-source", o.pin("ca-root"))
    o.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", "sign",
         "--algorithm", "ecdsa-p256", "--pin-source", o.pin("signer"))
    o.ok("notation", "ca", "init", "--ca-dir", str(ca), "--token", "pkcs11:token=ca-root",
         "--label", "root", "--subject", ROOT_SUBJECT, "--pin-source", o.pin("ca-root"))
    o.ok("notation", "ca", "crl", "--ca-dir", str(ca), "--pin-source", o.pin("ca-root"))
    # the token signer: CSR made on the token; its certificate has no CRL distribution point
    # (the revocation test issues its own, with one, so test order does not matter)
    o.ok("notation", "csr", "--token", "pkcs11:token=signer", "--label", "sign",
         "--subject", TOKEN_SIGNER, "--out", str(folder / "signer.csr"),
         "--pin-source", o.pin("signer"))
    o.ok("notation", "ca", "issue", "--ca-dir", str(ca), "--csr", str(folder / "signer.csr"),
         "--out", str(folder / "signer-chain.pem"), "--pin-source", o.pin("ca-root"))
    # a local key for `notation sign`
    local = rsa.generate_private_key(65537, 3072)
    (folder / "local.key").write_bytes(local.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    subject = x509.Name.from_rfc4514_string("CN=ci signer,O=Example,ST=WA,C=US")
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(local,
                                                                          hashes.SHA256())
    (folder / "local.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    o.ok("notation", "ca", "issue", "--ca-dir", str(ca), "--csr", str(folder / "local.csr"),
         "--out", str(folder / "local-chain.pem"), "--pin-source", o.pin("ca-root"))
    yield {"folder": folder, "ca": ca, "registry": registry, "crl": crl_server}
    crl_server.close()


def notation_for(world, tmp_path: Path, identities: list[str], root: Path | None = None,
                 ) -> Notation:
    n = Notation(tmp_path / "notation")
    r = run_cli("notation", "trust-store", "--root", str(root or world["ca"] / "ca.crt"),
                "--config-dir", str(n.config), "--scope", "*",
                *sum((["--identity", i] for i in identities), []))
    assert r.returncode == 0, r.output
    keys = {"default": "ci", "keys": [{"name": "ci", "keyPath": str(world["folder"] / "local.key"),
                                       "certPath": str(world["folder"] / "local-chain.pem")}]}
    (n.config / "signingkeys.json").write_text(json.dumps(keys))
    return n


def sign_with_tool(world, offline, repo: str, tag: str, envelope: str, out: Path,
                   chain: Path | None = None) -> str:
    """resolve (online) -> sign-descriptors (air-gapped, token key) -> attach (online)."""
    host = world["registry"]
    desc = push_image(host, repo, tag, f"{repo}:{tag}".encode())
    out.mkdir(parents=True, exist_ok=True)
    r = run_cli("notation", "resolve", f"{host}/{repo}:{tag}", "--out", str(out / "req.json"))
    assert r.returncode == 0, r.output
    offline.ok("notation", "sign-descriptors", "--descriptors", str(out / "req.json"),
               "--token", "pkcs11:token=signer", "--label", "sign", "--chain",
               str(chain or world["folder"] / "signer-chain.pem"), "--envelope", envelope,
               "--out-dir", str(out / "sigs"), "--pin-source", offline.pin("signer"))
    r = run_cli("notation", "attach", "--signatures", str(out / "sigs"))
    assert r.returncode == 0, r.output
    return f"{host}/{repo}@{desc['digest']}"


@pytest.mark.parametrize("envelope", ["jws", "cose"])
def test_notation_verifies_token_signatures(world, offline, tmp_path, envelope):
    ref = sign_with_tool(world, offline, "app", envelope, envelope, tmp_path)
    n = notation_for(world, tmp_path, [TOKEN_SIGNER])
    r = n.run("verify", ref)
    assert r.returncode == 0, r.output
    assert "Successfully verified" in r.output
    # the signature is in the tag schema index, as notation found it
    host, rest = ref.split("/", 1)
    digest = rest.split("@")[1]
    index = Registry(host).manifest("app", tag_schema_tag(digest))
    assert index is not None
    assert [e["artifactType"] for e in json.loads(index[1])["manifests"]] == [
        "application/vnd.cncf.notary.signature"]


def test_notation_refuses_other_root(world, offline, tmp_path):
    ref = sign_with_tool(world, offline, "other", "v1", "jws", tmp_path)
    other = tmp_path / "other"
    offline.ok("key", "generate", "--token", "pkcs11:token=ca-inter", "--label", "other-root",
               "--algorithm", "ecdsa-p256", "--pin-source", offline.pin("ca-inter"))
    offline.ok("notation", "ca", "init", "--ca-dir", str(other), "--token",
               "pkcs11:token=ca-inter", "--label", "other-root", "--subject",
               "C=US, ST=WA, O=Other, CN=Other Root", "--pin-source", offline.pin("ca-inter"))
    n = notation_for(world, tmp_path, [TOKEN_SIGNER], root=other / "ca.crt")
    r = n.run("verify", ref)
    assert r.returncode != 0
    assert "Successfully verified" not in r.output


def test_notation_sign_with_tool_certificate_and_both_on_one_image(world, offline, tmp_path):
    ref = sign_with_tool(world, offline, "both", "v1", "jws", tmp_path)
    n = notation_for(world, tmp_path, [LOCAL_SIGNER])
    r = n.run("sign", "--signature-format", "cose", ref)
    assert r.returncode == 0, r.output
    r = n.run("ls", ref)
    assert r.returncode == 0, r.output
    assert r.stdout.count("sha256:") >= 3   # the subject + two signatures
    # only the notation-made signature's identity is trusted here
    assert n.run("verify", ref).returncode == 0
    # only the tool's identity: the tool's signature must pass with both present
    n2 = notation_for(world, tmp_path / "n2", [TOKEN_SIGNER])
    r = n2.run("verify", ref)
    assert r.returncode == 0, r.output
    # the tool's verify accepts both envelopes, and refuses a tampered one
    host, rest = ref.split("/", 1)
    repo, digest = rest.split("@")
    reg = Registry(host)
    root = x509.load_pem_x509_certificate((world["ca"] / "ca.crt").read_bytes())
    signers = set()
    for entry in reg.referrers(repo, digest):
        found = reg.manifest(repo, entry["digest"])
        assert found is not None
        layer = json.loads(found[1])["layers"][0]
        from ceremony.notation.payload import Descriptor
        envelope = reg.blob(repo, Descriptor(layer["mediaType"], layer["digest"], layer["size"]))
        result = verify(envelope, [root], media_type=layer["mediaType"])
        assert result.content.target.digest == digest
        signers.add((result.signer, layer["mediaType"]))
        path = tmp_path / f"env-{len(signers)}"
        path.write_bytes(envelope)
        ok = run_cli("notation", "verify", "--envelope", str(path), "--root",
                     str(world["ca"] / "ca.crt"))
        assert ok.returncode == 0, ok.output
        tampered = bytearray(envelope)
        i = envelope.find(b"sha256:") + 10  # inside the payload's digest (JWS: base64 text)
        if layer["mediaType"] == "application/jose+json":
            i = envelope.find(b'"payload":"') + 20
        tampered[i] ^= 0x01
        path.write_bytes(bytes(tampered))
        bad = run_cli("notation", "verify", "--envelope", str(path), "--root",
                      str(world["ca"] / "ca.crt"))
        assert bad.returncode == 1
        assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    assert {s[1] for s in signers} == {"application/jose+json", "application/cose"}
    assert {s[0].split(",")[0] for s in signers} == {"CN=ceremony signer", "CN=ci signer"}


def test_notation_refuses_after_revocation(world, offline, tmp_path):
    """A certificate with a CRL distribution point (served on 127.0.0.1): notation fetches
    the CA's CRL, accepts before `ca revoke` and refuses after it."""
    chain = tmp_path / "crl-chain.pem"
    offline.ok("notation", "ca", "issue", "--ca-dir", str(world["ca"]), "--csr",
               str(world["folder"] / "signer.csr"), "--out", str(chain), "--crl-url",
               f"{world['crl'].url}/crl.der", "--pin-source", offline.pin("ca-root"))
    ref = sign_with_tool(world, offline, "revoked", "v1", "cose", tmp_path, chain)
    n = notation_for(world, tmp_path, [TOKEN_SIGNER])
    r = n.run("verify", ref, cache="cache-before")
    assert r.returncode == 0, r.output
    offline.ok("notation", "ca", "revoke", "--ca-dir", str(world["ca"]), "--cert",
               str(chain), "--pin-source", offline.pin("ca-root"))
    r = n.run("verify", ref, cache="cache-after")
    assert r.returncode != 0
    assert "revoked" in r.output.lower(), r.output
    # and the tool's own verify, given the CRL, refuses it too
    from ceremony.notation.sign_cli import read_signatures
    sig = tmp_path / "sig.cose"
    sig.write_bytes(read_signatures(tmp_path / "sigs")[0][1])
    bad = run_cli("notation", "verify", "--envelope", str(sig), "--root",
                  str(world["ca"] / "ca.crt"), "--crl", str(world["ca"] / "crl.pem"))
    assert bad.returncode == 1 and "was revoked" in bad.stderr
    shutil.rmtree(tmp_path / "sigs")


def test_intermediate_on_another_token(world, offline, tmp_path):
    """root (ca-root) -> intermediate (ca-inter) -> signing key (signer): notation verifies
    with only the root pinned."""
    inter = tmp_path / "inter"
    offline.ok("key", "generate", "--token", "pkcs11:token=ca-inter", "--label", "inter",
               "--algorithm", "rsa-3072", "--pin-source", offline.pin("ca-inter"))
    offline.ok("notation", "ca", "intermediate", "--ca-dir", str(world["ca"]), "--out-dir",
               str(inter), "--token", "pkcs11:token=ca-inter", "--label", "inter",
               "--subject", "C=US, ST=WA, O=Example, CN=Example Notation Issuing CA",
               "--pin-source", offline.pin("ca-root"))
    offline.ok("notation", "ca", "issue", "--ca-dir", str(inter), "--csr",
               str(world["folder"] / "signer.csr"), "--out", str(tmp_path / "chain.pem"),
               "--pin-source", offline.pin("ca-inter"))
    assert len(x509.load_pem_x509_certificates((tmp_path / "chain.pem").read_bytes())) == 3
    host = world["registry"]
    desc = push_image(host, "inter", "v1", b"inter")
    assert run_cli("notation", "resolve", f"{host}/inter:v1", "--out",
                   str(tmp_path / "req.json")).returncode == 0
    offline.ok("notation", "sign-descriptors", "--descriptors", str(tmp_path / "req.json"),
               "--token", "pkcs11:token=signer", "--label", "sign", "--chain",
               str(tmp_path / "chain.pem"), "--envelope", "jws", "--out-dir",
               str(tmp_path / "sigs"), "--pin-source", offline.pin("signer"))
    assert run_cli("notation", "attach", "--signatures", str(tmp_path / "sigs")).returncode == 0
    n = notation_for(world, tmp_path, [TOKEN_SIGNER])
    r = n.run("verify", f"{host}/inter@{desc['digest']}")
    assert r.returncode == 0, r.output


@pytest.mark.parametrize("envelope", ["jws", "cose"])
def test_rsa_token_key_ps384_accepted_by_notation(world, offline, tmp_path, envelope):
    """RSA 3072 on the token: RSASSA-PSS with SHA-384 (PS384), digest signed by CKM_RSA_PKCS_PSS."""
    label = f"sign-rsa-{envelope}"
    offline.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", label,
               "--algorithm", "rsa-3072", "--pin-source", offline.pin("signer"))
    offline.ok("notation", "csr", "--token", "pkcs11:token=signer", "--label", label,
               "--subject", TOKEN_SIGNER, "--out", str(tmp_path / "rsa.csr"),
               "--pin-source", offline.pin("signer"))
    offline.ok("notation", "ca", "issue", "--ca-dir", str(world["ca"]), "--csr",
               str(tmp_path / "rsa.csr"), "--out", str(tmp_path / "rsa-chain.pem"),
               "--pin-source", offline.pin("ca-root"))
    host = world["registry"]
    desc = push_image(host, "rsa", envelope, f"rsa {envelope}".encode())
    assert run_cli("notation", "resolve", f"{host}/rsa:{envelope}", "--out",
                   str(tmp_path / "req.json")).returncode == 0
    offline.ok("notation", "sign-descriptors", "--descriptors", str(tmp_path / "req.json"),
               "--token", "pkcs11:token=signer", "--label", label, "--chain",
               str(tmp_path / "rsa-chain.pem"), "--envelope", envelope, "--expiry", "30d",
               "--out-dir", str(tmp_path / "sigs"), "--pin-source", offline.pin("signer"))
    assert run_cli("notation", "attach", "--signatures", str(tmp_path / "sigs")).returncode == 0
    n = notation_for(world, tmp_path, [TOKEN_SIGNER])
    r = n.run("verify", f"{host}/rsa@{desc['digest']}")
    assert r.returncode == 0, r.output
    r = n.run("inspect", "--output", "json", f"{host}/rsa@{desc['digest']}")
    assert r.returncode == 0, r.output
    (sig,) = json.loads(r.stdout)["Signatures"]
    assert sig["mediaType"] == f"application/{'jose+json' if envelope == 'jws' else 'cose'}"
    assert sig["signatureAlgorithm"] == "RSASSA-PSS-SHA-384"
    attrs = sig["signedAttributes"]
    assert attrs["signingScheme"] == "notary.x509" and attrs["expiry"] > attrs["signingTime"]
    assert sig["unsignedAttributes"]["signingAgent"] == "notary-ceremony"
    assert sig["signedArtifact"] == desc
