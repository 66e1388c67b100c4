"""The signer interface: all that code outside `hsm/` ever sees of a key.

A signer holds a public key and can sign a message with one of Notary's signature methods:
- "ecdsa":  raw r||s (fixed width, not DER) over SHA-256 of the message;
- "rsapss": RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32;
- "eddsa":  Ed25519 over the message.
The message is the exact bytes to be signed (the canonical `signed` of a metadata file); the
signer does any hashing itself.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


@runtime_checkable
class Signer(Protocol):
    @property
    def public_key(self) -> PublicKeyTypes:
        """The public half, as a `cryptography` public key object."""

    @property
    def method(self) -> str:
        """Notary signature method: "ecdsa", "rsapss" or "eddsa"."""

    def sign(self, message: bytes) -> bytes:
        """Sign `message` with `method`; returns the signature bytes Notary expects."""
