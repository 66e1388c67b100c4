"""Root certificates signed by the token, checked by `cryptography` and by `openssl`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import subprocess
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from ceremony.notary.format.keys import key_from_certificate, key_from_public_key
from hsm.errors import AlgorithmError, HSMError
from hsm.x509 import common_name, parse_validity, replace_signature

GUN = "example.com/org/app"


def _openssl(*args: str, data: bytes | None = None) -> str:
    proc = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


@pytest.mark.parametrize("algorithm, sig_oid", [
    ("ecdsa-p256", SignatureAlgorithmOID.ECDSA_WITH_SHA256),
    ("ecdsa-p384", SignatureAlgorithmOID.ECDSA_WITH_SHA256),
    ("rsa-3072", SignatureAlgorithmOID.RSA_WITH_SHA256),
])
def test_root_certificate(keyring, tmp_path, algorithm, sig_oid):
    _, token, keys = keyring
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = token.certificate(f"k-{algorithm}", GUN)
    cert = result.certificate
    # Self-signed, by the token's key.
    cert.verify_directly_issued_by(cert)
    assert cert.public_key() == keys[algorithm].public_key
    assert cert.signature_algorithm_oid == sig_oid
    # Notary's shape.
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == GUN
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_encipherment
    assert not (ku.value.key_cert_sign or ku.value.crl_sign or ku.value.content_commitment)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(eku.value) == [ExtendedKeyUsageOID.CODE_SIGNING]
    assert cert.serial_number.bit_length() == 128
    assert before <= cert.not_valid_before_utc <= before + dt.timedelta(seconds=5)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=3650)
    # Notary key IDs, computed here from scratch.
    pem = cert.public_bytes(serialization.Encoding.PEM)
    keytype = "ecdsa" if algorithm.startswith("ecdsa") else "rsa"
    cert_obj = {"keytype": f"{keytype}-x509",
                "keyval": {"private": None, "public": base64.b64encode(pem).decode()}}
    canon = json.dumps(cert_obj, sort_keys=True, separators=(",", ":")).encode()
    assert canon.startswith(b'{"keytype":"') and b" " not in canon
    cert_key = key_from_certificate(result.certificate)
    assert cert_key.keytype == f"{keytype}-x509"
    assert cert_key.key_id == hashlib.sha256(canon).hexdigest()
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    plain = json.dumps({"keytype": keytype, "keyval": {"private": None,
                        "public": base64.b64encode(spki).decode()}},
                       sort_keys=True, separators=(",", ":")).encode()
    assert cert_key.canonical_key_id == hashlib.sha256(plain).hexdigest()
    assert key_from_public_key(cert.public_key()).key_id == hashlib.sha256(plain).hexdigest()
    assert cert_key.canonical_key_id == key_from_public_key(keys[algorithm].public_key).key_id
    # openssl agrees: it parses it, and the self-signature verifies.
    path = tmp_path / "root.pem"
    path.write_bytes(pem)
    text = _openssl("x509", "-in", str(path), "-noout", "-text")
    assert f"Subject: CN = {GUN}" in text and f"Issuer: CN = {GUN}" in text
    assert "CA:FALSE" in text and "Code Signing" in text
    assert "Digital Signature, Key Encipherment" in text
    assert "Signature Algorithm: " + ("ecdsa-with-SHA256" if keytype == "ecdsa"
                                      else "sha256WithRSAEncryption") in text
    assert _openssl("verify", "-CAfile", str(path), "-check_ss_sig", str(path)).strip() \
        == f"{path}: OK"


def test_openssl_rejects_a_tampered_signature(keyring, tmp_path):
    _, token, _ = keyring
    cert = token.certificate("k-ecdsa-p256", GUN).certificate
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01
    path = tmp_path / "bad.pem"
    path.write_bytes(x509.load_der_x509_certificate(bytes(der)).public_bytes(
        serialization.Encoding.PEM))
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(path), "-check_ss_sig",
                           str(path)], capture_output=True, timeout=60)
    assert proc.returncode != 0


def test_reissue_same_key_new_certificate(keyring):
    _, token, _ = keyring
    first = token.certificate("k-ecdsa-p256", GUN, valid_for=parse_validity("365d"))
    second = token.certificate("k-ecdsa-p256", GUN)
    assert first.certificate.serial_number != second.certificate.serial_number
    first_key, second_key = (key_from_certificate(r.certificate) for r in (first, second))
    assert first_key.key_id != second_key.key_id
    assert first_key.canonical_key_id == second_key.canonical_key_id
    assert first.certificate.not_valid_after_utc - first.certificate.not_valid_before_utc \
        == dt.timedelta(days=365)


def test_store_on_token_replaces_earlier_certificate(keyring):
    _, token, keys = keyring
    first = token.certificate("k-rsa-4096", GUN, store=True)
    assert first.stored_on_token and first.replaced_certificates == []
    second = token.certificate("k-rsa-4096", GUN, store=True)
    assert second.replaced_certificates == [first.certificate]
    assert [key_from_certificate(c).key_id for c in second.replaced_certificates] == \
        [key_from_certificate(first.certificate).key_id]
    listed = next(k for k in token.keys() if k.label == "k-rsa-4096")
    assert listed.certificate == second.certificate
    assert key_from_certificate(listed.certificate).key_id == \
        key_from_certificate(second.certificate).key_id
    assert listed.id == keys["rsa-4096"].id


def test_long_gun_beyond_x509_cn_bound(keyring):
    _, token, _ = keyring
    gun = "registry.example.com/" + "a" * 80
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks out to a user's terminal
        cert = token.certificate("k-ecdsa-p256", gun).certificate
        assert common_name(cert) == gun
        assert any(k.certificate is not None for k in token.keys())


def test_ed25519_and_bad_inputs_refused(keyring):
    _, token, _ = keyring
    with pytest.raises(AlgorithmError, match="ECDSA or RSA keys only"):
        token.certificate("k-ed25519", GUN)
    for gun in ("", " padded", "bad\ngun"):
        with pytest.raises(HSMError, match="GUN"):
            token.certificate("k-ecdsa-p256", gun)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    with pytest.raises(HSMError, match="more than a day ahead"):
        token.certificate("k-ecdsa-p256", GUN, not_before=future)


@pytest.mark.parametrize("text, days", [("10y", 3650), ("365d", 365), ("2w", 14), ("1y", 365),
                                        ("6m", 180), ("3m", 90)])
def test_parse_validity(text, days):
    assert parse_validity(text) == dt.timedelta(days=days)


@pytest.mark.parametrize("text", ["", "10", "y", "0d", "-1d", "1.5y", "10 years", "3s", "101y",
                                  "\u0661y"])
def test_parse_validity_refuses(text):
    with pytest.raises(HSMError, match="validity"):
        parse_validity(text)


def test_replace_signature_checks_its_input():
    with pytest.raises(ValueError):
        replace_signature(b"\x30\x03\x02\x01\x01", b"", b"")
