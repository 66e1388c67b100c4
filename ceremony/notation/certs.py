"""Certificates of a Notary Project CA, signed by a key on a token.

`cryptography` builds the TBSCertificate, signed first by a throwaway software key of the same
kind and hash so that the AlgorithmIdentifier is right; hsm.x509.replace_signature swaps in the
signature the token makes over the same TBS bytes, and the result is verified against the
issuer's public key before anyone sees it.

Profiles (signature-specification.md, "Certificate Requirements"):
- CA (root, intermediate): basicConstraints critical cA=TRUE with a path length; keyUsage
  critical keyCertSign + cRLSign; SKI; AKI (the root's names its own key).
- signing (leaf): keyUsage critical digitalSignature only; EKU codeSigning; basicConstraints
  critical cA=FALSE; no CRL distribution point unless asked (an air-gapped verifier cannot
  fetch one).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID

from ceremony.notation.errors import CertificateRuleError, NotationError
from ceremony.notation.keyspec import SigningKey, key_spec
from hsm.x509 import replace_signature

YEAR = dt.timedelta(days=365)


@functools.cache
def _throwaway(kind: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    # Only makes `cryptography` emit TBS bytes; its signature is replaced.
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def random_serial() -> int:
    """Positive, 128 random bits (RFC 5280 allows up to 20 octets)."""
    return secrets.randbits(127) | (1 << 127)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sign_with(builder: x509.CertificateBuilder | x509.CertificateRevocationListBuilder
              | x509.CertificateSigningRequestBuilder, issuer: SigningKey) -> bytes:
    """DER of `builder` signed by `issuer` (a key on a token or in software)."""
    spec = key_spec(issuer.public_key)
    if isinstance(issuer.public_key, ec.EllipticCurvePublicKey):
        draft = builder.sign(_throwaway("ec"), spec.hash)
    else:
        draft = builder.sign(_throwaway("rsa"), spec.hash, rsa_padding=padding.PKCS1v15())
    if isinstance(draft, x509.CertificateRevocationList):
        tbs = draft.tbs_certlist_bytes
    elif isinstance(draft, x509.CertificateSigningRequest):
        tbs = draft.tbs_certrequest_bytes
    else:
        tbs = draft.tbs_certificate_bytes
    return replace_signature(draft.public_bytes(Encoding.DER), tbs, issuer.sign_x509(tbs))


def _checked(der: bytes, issuer_cert: x509.Certificate | None) -> x509.Certificate:
    cert = x509.load_der_x509_certificate(der)
    try:
        cert.verify_directly_issued_by(issuer_cert or cert)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise NotationError("the token's certificate signature does not verify against the "
                            f"issuer ({type(exc).__name__}); nothing was written") from None
    return cert


def _validity(valid_for: dt.timedelta, issuer: x509.Certificate | None) -> tuple[dt.datetime,
                                                                                  dt.datetime]:
    if valid_for <= dt.timedelta(0):
        raise NotationError("validity must be positive, e.g. --valid-for 365d")
    start = now()
    end = start + valid_for
    if issuer is not None and end > issuer.not_valid_after_utc:
        raise NotationError(
            f"the certificate would outlive its issuer (until {end:%Y-%m-%d}, issuer until "
            f"{issuer.not_valid_after_utc:%Y-%m-%d}): choose a shorter --valid-for")
    return start, end


def _ca_builder(subject: x509.Name, public_key: PublicKeyTypes, issuer_name: x509.Name,
                issuer_key: PublicKeyTypes, path_length: int, start: dt.datetime,
                end: dt.datetime) -> x509.CertificateBuilder:
    key_spec(public_key)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
            .serial_number(random_serial()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key),
                           critical=False))


def parse_subject(text: str) -> x509.Name:
    """'C=US, ST=WA, O=Example, CN=Root' (RFC 4514, most significant first as notation
    writes it) -> Name."""
    try:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        name = x509.Name.from_rfc4514_string(",".join(reversed(parts)))
    except ValueError as exc:
        raise NotationError(f"invalid subject {text!r} ({exc}): write it as "
                            "'C=US, ST=WA, O=Example, CN=Example Root CA'") from None
    if not name.rdns:
        raise NotationError("the subject is empty: give one, e.g. 'C=US, O=Example, CN=Root'")
    return name


def root_ca(key: SigningKey, subject: x509.Name, *, valid_for: dt.timedelta = 20 * YEAR,
            path_length: int = 1) -> x509.Certificate:
    """A self-signed root CA certificate whose signature the token computes."""
    start, end = _validity(valid_for, None)
    builder = _ca_builder(subject, key.public_key, subject, key.public_key, path_length,
                          start, end)
    return _checked(sign_with(builder, key), None)


def intermediate_ca(issuer: SigningKey, issuer_cert: x509.Certificate,
                    public_key: PublicKeyTypes, subject: x509.Name, *,
                    valid_for: dt.timedelta = 10 * YEAR) -> x509.Certificate:
    """An intermediate CA (path length 0) for a key on another token."""
    _require_ca(issuer_cert, issues_ca=True)
    start, end = _validity(valid_for, issuer_cert)
    builder = _ca_builder(subject, public_key, issuer_cert.subject, issuer_cert.public_key(),
                          0, start, end)
    return _checked(sign_with(builder, issuer), issuer_cert)


def _require_ca(cert: x509.Certificate, *, issues_ca: bool = False) -> None:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise CertificateRuleError("the issuer certificate is not a CA (basicConstraints cA "
                                   "missing): give the CA certificate")
    if issues_ca and bc.path_length == 0:
        raise CertificateRuleError("this CA has path length 0: it cannot issue intermediates; "
                                   "make a root with --path-length 1")


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    chain: list[x509.Certificate]   # leaf first, then intermediates, then the root

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(Encoding.PEM) for c in self.chain)


def signing_certificate(issuer: SigningKey, issuer_chain: list[x509.Certificate],
                        csr: x509.CertificateSigningRequest, *,
                        valid_for: dt.timedelta = YEAR,
                        crl_url: str | None = None) -> Issued:
    """A Notary Project signing certificate for a CSR that passed csrpolicy.check_csr."""
    issuer_cert = issuer_chain[0]
    _require_ca(issuer_cert)
    start, end = _validity(valid_for, issuer_cert)
    builder = (x509.CertificateBuilder()
               .subject_name(csr.subject).issuer_name(issuer_cert.subject)
               .public_key(csr.public_key()).serial_number(random_serial())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=False,
                   crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                              critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_cert.public_key()), critical=False))
    if crl_url:
        if not crl_url.startswith(("http://", "https://")):
            raise NotationError("--crl-url must be an http:// or https:// URL")
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
    cert = _checked(sign_with(builder, issuer), issuer_cert)
    return Issued(cert, [cert, *issuer_chain])



def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def signing_request(key: SigningKey, subject: x509.Name) -> x509.CertificateSigningRequest:
    """A PKCS#10 CSR for a key on a token, its signature made by the token.

    `cryptography` puts the signing key's own public key in a CSR, so the
    CertificationRequestInfo is written here (RFC 2986: version 0, subject, SPKI, empty
    attributes) and only the AlgorithmIdentifier is taken from a throwaway CSR."""
    spec = key_spec(key.public_key)
    spki = key.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    info = _tlv(0x30, b"\x02\x01\x00" + subject.public_bytes() + spki + b"\xa0\x00")
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    kind = "ec" if isinstance(key.public_key, ec.EllipticCurvePublicKey) else "rsa"
    kwargs = {} if kind == "ec" else {"rsa_padding": padding.PKCS1v15()}
    draft = builder.sign(_throwaway(kind), spec.hash, **kwargs).public_bytes(Encoding.DER)
    # draft = SEQUENCE { info, algorithm, signature }: skip its header and its info TLV.
    body = draft[2 + (draft[1] & 0x7F if draft[1] & 0x80 else 0):]
    info_len = body[1] & 0x7F if body[1] & 0x80 else 0
    length = int.from_bytes(body[2:2 + info_len], "big") if info_len else body[1]
    rest = body[2 + info_len + length:]
    algorithm = rest[:2 + rest[1]]  # short form: an AlgorithmIdentifier is < 128 bytes
    der = _tlv(0x30, info + algorithm + _tlv(0x03, b"\x00" + key.sign_x509(info)))
    csr = x509.load_der_x509_csr(der)
    if not csr.is_signature_valid:
        raise NotationError("the token's CSR signature does not verify; nothing was written")
    return csr
