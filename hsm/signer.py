"""The signer interface: all that code outside `hsm/` ever sees of a key.

A signer holds a public key and can sign a message with one of Notary's signature methods:
- "ecdsa":  raw r||s (fixed width, not DER) over SHA-256 of the message;
- "rsapss": RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32;
- "eddsa":  Ed25519 over the message.
The message is the exact bytes to be signed (the canonical `signed` of a metadata file); the
signer does any hashing itself.

Formats that choose the hash by key (the Notary Project's ES384/ES512/PS384/PS512, TUF's
`ecdsa-sha2-nistp384`) use a `DigestSigner` (token keys: `hsm.tokensigner.TokenSigner`):
`sign_digest(digest, hash)` signs a digest of "sha256", "sha384" or "sha512" -- ECDSA as raw
r||s, RSA as PSS (MGF1 of the same hash, salt = hash length) or, with `padding="pkcs1v15"`,
PKCS#1 v1.5 -- and `sign_hashed(message, hash)` hashes the message first.
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


@runtime_checkable
class DigestSigner(Signer, Protocol):
    def sign_digest(self, digest: bytes, hash: str, *, padding: str = "pss") -> bytes:
        """Sign a prehashed digest; AlgorithmError (one line) before signing when the key or
        its token cannot (Ed25519, a missing mechanism, an unknown hash or padding)."""

    def sign_hashed(self, message: bytes, hash: str, *, padding: str = "pss") -> bytes:
        """Hash `message` with `hash`, then `sign_digest`."""

    def require_digest_signing(self, hash: str, *, padding: str = "pss") -> None:
        """The same refusals as `sign_digest`, signing nothing (before a review)."""
