"""Notary key objects and key IDs for public keys and root certificates.

The one piece of Notary's format this layer needs, so that keys are shown with the IDs users
will see in root.json and `notary key list`:

    {"keytype":T,"keyval":{"private":null,"public":B64}}   (canonical JSON: sorted, no spaces)
    key ID = hex SHA-256 of exactly those bytes

- `ecdsa` / `rsa`: public = base64(SubjectPublicKeyInfo DER); `ed25519`: base64(raw 32 bytes).
- `ecdsa-x509` / `rsa-x509`: public = base64(certificate PEM text). Its ID is the "cert key ID"
  (the one in root.json and in trust pinning); the ID of the plain key from the certificate's
  public key is Notary's "canonical key ID" (what `notary key list` shows).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from hsm.errors import AlgorithmError


@dataclass(frozen=True)
class NotaryKey:
    keytype: str
    public: bytes  # the bytes whose base64 is keyval.public

    def to_dict(self) -> dict[str, object]:
        return {"keytype": self.keytype,
                "keyval": {"private": None, "public": base64.b64encode(self.public).decode()}}

    def canonical(self) -> bytes:
        """The canonical JSON bytes; their SHA-256 is the key ID."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def public_key_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_pem(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def notary_key(public_key: PublicKeyTypes) -> NotaryKey:
    """The plain Notary key object of a public key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return NotaryKey("ecdsa", public_key_der(public_key))
    if isinstance(public_key, rsa.RSAPublicKey):
        return NotaryKey("rsa", public_key_der(public_key))
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return NotaryKey("ed25519", public_key.public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw))
    raise AlgorithmError(f"Notary has no key type for {type(public_key).__name__}")


def certificate_pem(cert: x509.Certificate) -> bytes:
    """PEM text of a certificate, laid out as Go's pem.Encode writes it."""
    return cert.public_bytes(serialization.Encoding.PEM)


def notary_cert_key(cert: x509.Certificate) -> NotaryKey:
    """The x509 Notary key object of a (leaf) certificate."""
    public_key = cert.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return NotaryKey("ecdsa-x509", certificate_pem(cert))
    if isinstance(public_key, rsa.RSAPublicKey):
        return NotaryKey("rsa-x509", certificate_pem(cert))
    raise AlgorithmError("Notary certificate keys are ecdsa-x509 or rsa-x509 only; this "
                         f"certificate holds a {type(public_key).__name__}")
