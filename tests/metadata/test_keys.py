"""Key objects and both key IDs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ceremony.errors import KeyFormatError, MetadataFormatError
from ceremony.notary.format import Key, certificate_pem, key_from_certificate, key_from_public_key
from ceremony.notary.format.certs import check_root_key
from ceremony.notary.format.report import KeyReport
from tests.metadata.factory import notary_certificate


def reference_key_id(keytype: str, public: bytes) -> str:
    canonical = json.dumps({"keytype": keytype, "keyval": {"private": None,
                                                          "public": base64.b64encode(public)
                                                          .decode()}},
                           sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize(("private", "keytype"), [
    (ec.generate_private_key(ec.SECP256R1()), "ecdsa"),
    (ec.generate_private_key(ec.SECP384R1()), "ecdsa"),
    (rsa.generate_private_key(65537, 2048), "rsa"),
    (ed25519.Ed25519PrivateKey.generate(), "ed25519")])
def test_plain_keys(private, keytype):
    key = key_from_public_key(private.public_key())
    assert key.keytype == keytype
    assert key.key_id == key.canonical_key_id == reference_key_id(keytype, key.public)
    if keytype == "ed25519":
        assert len(key.public) == 32
    else:
        assert key.public == private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.public_key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo) == \
        private.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert Key.from_dict(key.to_dict()) == key


def test_certificate_keys_have_two_ids():
    private = ec.generate_private_key(ec.SECP256R1())
    cert = notary_certificate(private, "example.com/app")
    key = key_from_certificate(cert)
    assert key.keytype == "ecdsa-x509"
    assert key.public == cert.public_bytes(serialization.Encoding.PEM)
    assert key.public.startswith(b"-----BEGIN CERTIFICATE-----\n") and key.public.endswith(
        b"-----END CERTIFICATE-----\n")
    assert all(len(line) <= 64 for line in key.public.splitlines())
    assert key.key_id == reference_key_id("ecdsa-x509", key.public)  # cert key ID
    assert key.canonical_key_id == key_from_public_key(private.public_key()).key_id
    assert key.key_id != key.canonical_key_id
    assert key.pem_is_go_layout
    rsa_private = rsa.generate_private_key(65537, 2048)
    rsa_key = key_from_certificate(notary_certificate(rsa_private, "x"))
    assert rsa_key.keytype == "rsa-x509"
    assert rsa_key.canonical_key_id == key_from_public_key(rsa_private.public_key()).key_id


def test_certificate_chains_and_layout():
    leaf_key, ca_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    leaf, ca = notary_certificate(leaf_key, "a"), notary_certificate(ca_key, "ca", ca=True)
    key = key_from_certificate(leaf, [ca])
    assert key.certificates == (leaf, ca)
    assert key.public == certificate_pem([leaf, ca])
    relaid = Key("ecdsa-x509", key.public.replace(b"\n", b"\r\n"))
    assert relaid.certificates[0] == leaf and not relaid.pem_is_go_layout
    assert relaid.key_id != key.key_id


def test_unusable_keys():
    with pytest.raises(KeyFormatError, match="unknown key type 'dsa'"):
        Key("dsa", b"")
    with pytest.raises(KeyFormatError, match="unreadable ecdsa public key"):
        _ = Key("ecdsa", b"garbage").public_key
    rsa_spki = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyFormatError, match="a ecdsa key holds an RSA key"):
        _ = Key("ecdsa", rsa_spki).public_key
    with pytest.raises(KeyFormatError, match="public part holds no PEM certificate"):
        _ = Key("ecdsa-x509", b"not pem").certificates
    with pytest.raises(KeyFormatError, match="unexpected PEM block 'PUBLIC KEY'"):
        _ = Key("ecdsa-x509", b"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"
                ).certificates
    with pytest.raises(MetadataFormatError, match="keyval: expected"):
        Key.from_dict({"keytype": "ecdsa", "keyval": {"public": "AA=="}})


def test_damaged_certificates_make_unusable_keys_never_crashes():
    """Every single-bit flip of a root certificate: a problem reported, never an exception."""
    cert = notary_certificate(ec.generate_private_key(ec.SECP256R1()), "example.com/app")
    der = cert.public_bytes(serialization.Encoding.DER)
    now = dt.datetime.now(dt.UTC)
    for index in range(len(der)):
        damaged = bytearray(der)
        damaged[index] ^= 0x80 if index % 2 else 0x01
        body = base64.encodebytes(bytes(damaged)).replace(b"\n", b"")
        lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
        key = Key("ecdsa-x509", b"-----BEGIN CERTIFICATE-----\n" + lines +
                  b"\n-----END CERTIFICATE-----\n")
        verdict = check_root_key(key.key_id, key, "example.com/app", now)
        assert verdict.usable(check_time=True) == (not verdict.problems
                                                   and not verdict.time_problems)
        KeyReport.of(key.key_id, key).to_dict()
        try:
            _ = key.public_key
        except KeyFormatError:
            pass


def test_single_certificate_shortcut_reads_what_the_pem_scan_reads():
    import re
    import warnings

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    block = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----\r?\n?", re.DOTALL)

    def scanned(public: bytes):  # the general path, as it was written before the shortcut
        certs = []
        try:
            for match in block.finditer(public):
                if match.group(1) != b"CERTIFICATE":
                    return f"unexpected PEM block {match.group(1).decode()!r} in a certificate key"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        certs.append(x509.load_pem_x509_certificate(match.group(0)))
                except Exception as exc:
                    return f"unreadable certificate: {exc}"
        except Exception as exc:  # pragma: no cover
            return repr(exc)
        return [c.fingerprint(hashes.SHA256()) for c in certs] or \
            "public part holds no PEM certificate"

    def read(public: bytes):
        try:
            certs = Key("ecdsa-x509", public).certificates
        except KeyFormatError as exc:
            return exc.reason
        return [c.fingerprint(hashes.SHA256()) for c in certs]

    one = certificate_pem([notary_certificate(ec.generate_private_key(ec.SECP256R1()), "a")])
    two = certificate_pem([notary_certificate(ec.generate_private_key(ec.SECP256R1()), "b")])
    begin, end = b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n"
    body = one[len(begin):-len(end)]
    variants = [one, one + two, one.replace(b"\n", b"\r\n"), b"junk" + one, one + b"junk",
                one[:-1], one.replace(b"CERTIFICATE", b"PUBLIC KEY"), one + one,
                begin + body[:-1] + b"-" + end, begin + body + b"-----END CERTIFICATE\n" + end,
                begin + b"not base64\n" + end, begin + end, b""]
    for public in variants:
        assert read(public) == scanned(public), public[:40]
