"""Encodings of a public key that the token layer needs: DER and PEM SubjectPublicKeyInfo.

Nothing here knows Notary's formats: Notary key objects and key IDs are made in
`ceremony.notary.format.keys` (the one place for them, see docs/hsm.md).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def public_key_der(public_key: PublicKeyTypes) -> bytes:
    """DER SubjectPublicKeyInfo: the identity of a key, whatever wraps it."""
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_pem(public_key: PublicKeyTypes) -> bytes:
    """PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`)."""
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
