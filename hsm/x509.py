"""Self-signed root certificates whose signature a token computes.

Notary's rules (trustpinning/certs.go, tuf/utils/x509.go; see docs/verify.md): a non-CA leaf
with CN = GUN, KeyUsage digitalSignature+keyEncipherment (critical), EKU codeSigning,
BasicConstraints CA:FALSE (critical), a random 128-bit serial, SHA-256 (never SHA-1), RSA keys
of at least 2048 bits, ECDSA or RSA only (Notary has no ed25519-x509 key type), NotBefore no
later than now, default validity 10 years of 365 days (Notary's own `notary.Year`).

`cryptography` builds the TBSCertificate, signed first by a throwaway software key of the same
kind so that the signature AlgorithmIdentifier is right; the throwaway signature is then cut
out and replaced by the one the token makes over the same TBS bytes. The result is verified
against the token's public key before anyone sees it.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import warnings
from collections.abc import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hsm.errors import AlgorithmError, HSMError, TokenOperationError

NOTARY_YEAR = dt.timedelta(days=365)
DEFAULT_VALIDITY = 10 * NOTARY_YEAR
MIN_RSA_BITS = 2048

# (TBS bytes) -> signature as X.509 wants it (DER ECDSA-Sig-Value, or PKCS#1 v1.5 bytes).
TbsSigner = Callable[[bytes], bytes]


def check_gun(gun: str) -> None:
    if not gun or gun != gun.strip() or any(ord(c) < 0x20 or c == "\x7f" for c in gun):
        raise HSMError("the GUN must be a non-empty name without spaces at its ends or control "
                       "characters, e.g. docker.io/library/app")


@functools.cache
def _throwaway_key(kind: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    # Only used to make `cryptography` emit a TBSCertificate; its signature is discarded.
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def build_tbs(public_key: PublicKeyTypes, gun: str, *, not_before: dt.datetime,
              not_after: dt.datetime, serial: int) -> x509.Certificate:
    """A certificate with the right TBS and a throwaway signature (to be replaced)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        kind = "ec"
    elif isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise AlgorithmError(f"Notary refuses RSA root keys under {MIN_RSA_BITS} bits")
        kind = "rsa"
    else:
        raise AlgorithmError("Notary root certificates hold ECDSA or RSA keys only (there is no "
                             "ed25519-x509 key type); use an ecdsa-p256/ecdsa-p384/rsa-3072/"
                             "rsa-4096 key for a root, ed25519 keys can serve as targets keys")
    # X.509 bounds a CN at 64 characters; Notary (Go) does not, and GUNs can be longer.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gun, _validate=False)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    kwargs = {"rsa_padding": padding.PKCS1v15()} if kind == "rsa" else {}
    return builder.sign(_throwaway_key(kind), hashes.SHA256(), **kwargs)


def common_name(cert: x509.Certificate) -> str | None:
    """The subject CN (the GUN), without `cryptography`'s warning for CNs over 64 chars."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def random_serial() -> int:
    """A positive serial of exactly 128 bits (top bit set)."""
    return secrets.randbits(127) | (1 << 127)


def issue_root_certificate(public_key: PublicKeyTypes, gun: str, sign_tbs: TbsSigner, *,
                           valid_for: dt.timedelta = DEFAULT_VALIDITY,
                           not_before: dt.datetime | None = None) -> x509.Certificate:
    """Build a self-signed root certificate whose signature comes from `sign_tbs`."""
    check_gun(gun)
    if valid_for <= dt.timedelta(0):
        raise HSMError("certificate validity must be positive")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = (not_before or now).astimezone(dt.UTC).replace(microsecond=0)
    if start > now + dt.timedelta(days=1):
        raise HSMError("Notary rejects certificates whose NotBefore is more than a day ahead")
    draft = build_tbs(public_key, gun, not_before=start, not_after=start + valid_for,
                      serial=random_serial())
    tbs = draft.tbs_certificate_bytes
    signature = sign_tbs(tbs)
    der = replace_signature(draft.public_bytes(Encoding.DER), tbs, signature)
    cert = x509.load_der_x509_certificate(der)
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise TokenOperationError("the token's certificate signature does not verify against "
                                  f"its public key ({type(exc).__name__}); nothing was "
                                  "written") from None
    return cert


# --- minimal DER, just enough to swap the signature ---------------------------------------

def _read_tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at `pos`."""
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def _encode_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        head = bytes([tag, n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([tag, 0x80 | len(raw)]) + raw
    return head + value


def replace_signature(cert_der: bytes, tbs: bytes, signature: bytes) -> bytes:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }"""
    tag, start, end = _read_tlv(cert_der, 0)
    if tag != 0x30 or end != len(cert_der):
        raise ValueError("not a DER certificate")
    _, tbs_start, tbs_end = _read_tlv(cert_der, start)
    # the TLV of the TBS starts at `start`; its header length is tbs_start - start
    if cert_der[start:tbs_end] != tbs:
        raise ValueError("TBS bytes do not match the certificate")
    _, _, alg_end = _read_tlv(cert_der, tbs_end)
    algorithm = cert_der[tbs_end:alg_end]
    bit_string = _encode_tlv(0x03, b"\x00" + signature)
    return _encode_tlv(0x30, tbs + algorithm + bit_string)


MAX_VALIDITY = 100 * NOTARY_YEAR


def parse_validity(text: str) -> dt.timedelta:
    """A certificate validity in the tool's one duration grammar (hsm/duration.py)."""
    from hsm.duration import parse_duration
    return parse_duration(text, "invalid validity")
