"""Hostile CSRs refused by `ceremony notation ca issue` (REAL SoftHSM CA key, air-gapped),
each with the rule named and nothing written; and the certificates the CA makes follow the
Notary Project profiles."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

SUBJECT = x509.Name.from_rfc4514_string("CN=ci,O=Example,ST=WA,C=US")


@pytest.fixture(scope="module")
def ca(offline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules")
    offline.ok("key", "generate", "--token", "pkcs11:token=ca-root", "--label", "rules-root",
               "--algorithm", "rsa-3072", "--pin-source", offline.pin("ca-root"))
    offline.ok("notation", "ca", "init", "--ca-dir", str(folder / "ca"), "--token",
               "pkcs11:token=ca-root", "--label", "rules-root", "--subject",
               "C=US, ST=WA, O=Example, CN=Rules Root", "--pin-source", offline.pin("ca-root"))
    return folder


def _csr(key, *, ca=False, ku=None, eku=None, subject=SUBJECT) -> bytes:
    b = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    if ku:
        b = b.add_extension(ku, critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def _sha1_csr() -> bytes:
    """A CSR signed with sha1WithRSAEncryption, built by hand: `cryptography` no longer signs
    X.509 objects with SHA-1, but old tools and hostile requesters still do."""
    key = rsa.generate_private_key(65537, 2048)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    info = _tlv(0x30, b"\x02\x01\x00" + SUBJECT.public_bytes() + spki + b"\xa0\x00")
    sha1_rsa = bytes.fromhex("300d06092a864886f70d0101050500")
    sig = key.sign(info, padding.PKCS1v15(), hashes.SHA1())
    return _tlv(0x30, info + sha1_rsa + _tlv(0x03, b"\x00" + sig))


def _tamper(pem: bytes) -> bytes:
    csr = x509.load_pem_x509_csr(pem)
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    return bytes(der)


P256 = ec.generate_private_key(ec.SECP256R1())
CASES = {
    "bad signature": (lambda: _tamper(_csr(P256)), "the CSR is signed by its key"),
    "RSA 1024": (lambda: _csr(rsa.generate_private_key(65537, 1024)),
                 "RSA keys are 2048, 3072 or 4096 bits"),
    "curve secp256k1": (lambda: _csr(ec.generate_private_key(ec.SECP256K1())),
                        "EC keys use P-256, P-384 or P-521"),
    "CA:TRUE asked": (lambda: _csr(P256, ca=True), "signing certificates are not CAs"),
    "keyCertSign asked": (lambda: _csr(P256, ku=x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
        encipher_only=False, decipher_only=False)), "signing certificates are not CAs"),
    "serverAuth asked": (lambda: _csr(P256, eku=[ExtendedKeyUsageOID.SERVER_AUTH]),
                         "code signing only"),
    "SHA-1": (_sha1_csr, "no SHA-1"),
    "not a CSR": (lambda: b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END "
                  b"CERTIFICATE REQUEST-----\n", "is not a PKCS#10 CSR"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_csr_refused_with_rule_named(offline, ca, tmp_path, case):
    make, rule = CASES[case]
    (tmp_path / "x.csr").write_bytes(make())
    before = (ca / "ca" / "ca.json").read_bytes()
    r = offline.run("notation", "ca", "issue", "--ca-dir", str(ca / "ca"), "--csr",
                    str(tmp_path / "x.csr"), "--out", str(tmp_path / "chain.pem"),
                    "--pin-source", offline.pin("ca-root"))
    assert r.returncode == 1, r.output
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert rule in r.stderr
    assert not (tmp_path / "chain.pem").exists()
    assert (ca / "ca" / "ca.json").read_bytes() == before


def test_issued_certificates_follow_the_profiles(offline, ca, tmp_path):
    (tmp_path / "ok.csr").write_bytes(_csr(ec.generate_private_key(ec.SECP521R1())))
    offline.ok("notation", "ca", "issue", "--ca-dir", str(ca / "ca"), "--csr",
               str(tmp_path / "ok.csr"), "--out", str(tmp_path / "chain.pem"),
               "--pin-source", offline.pin("ca-root"))
    leaf, root = x509.load_pem_x509_certificates((tmp_path / "chain.pem").read_bytes())
    # root: RSA 3072 -> SHA-384, critical CA:TRUE with path length, keyCertSign+cRLSign
    assert isinstance(root.signature_hash_algorithm, hashes.SHA384)
    bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 1
    ku = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert not ku.value.digital_signature
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert root.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier == ski
    # leaf: P-521 key, digitalSignature only, codeSigning, CA:FALSE, no CRL/OCSP URL
    leaf.verify_directly_issued_by(root)
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_encipherment
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CODE_SIGNING]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier == ski
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess)


def test_existing_output_not_overwritten(offline, ca, tmp_path):
    (tmp_path / "ok.csr").write_bytes(_csr(P256))
    (tmp_path / "chain.pem").write_bytes(b"keep")
    r = offline.run("notation", "ca", "issue", "--ca-dir", str(ca / "ca"), "--csr",
                    str(tmp_path / "ok.csr"), "--out", str(tmp_path / "chain.pem"),
                    "--pin-source", offline.pin("ca-root"))
    assert r.returncode == 1 and "--force" in r.stderr
    assert (tmp_path / "chain.pem").read_bytes() == b"keep"


def test_key_commands_refuse_a_networked_machine(offline, ca, tmp_path):
    from tests.conftest import run_cli
    (tmp_path / "ok.csr").write_bytes(_csr(P256))
    r = run_cli("notation", "ca", "issue", "--ca-dir", str(ca / "ca"), "--csr",
                str(tmp_path / "ok.csr"), "--out", str(tmp_path / "chain.pem"),
                "--pin-source", offline.pin("ca-root"), env=offline.env.env)
    from ceremony.airgap import network_findings
    if network_findings():   # this test machine has a network: the command must refuse
        assert r.returncode == 1 and "not air-gapped" in r.stderr
        assert not (tmp_path / "chain.pem").exists()
    else:
        assert r.returncode == 0, r.output
