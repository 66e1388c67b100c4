"""Which public keys Notary can ever verify a signature with: the rules of its verifiers.

Read from Notary's own source (notaryproject/notary, tuf/signed/verifiers.go), not guessed:
- ECDSA (`ecdsa`, `ecdsa-x509`): the key is parsed with Go's x509.ParsePKIXPublicKey (or taken
  from the certificate), which knows the NIST curves P-224, P-256, P-384 and P-521 only; any
  other curve -- secp256k1, brainpool -- fails to parse, so every signature fails (ErrInvalid).
- RSA (`rsa`, `rsa-x509`): `minRSAKeySizeBit = 2048`; a smaller modulus is ErrInvalidKeyLength.
  Go's crypto/rsa also refuses a public exponent below 2 or above 2^31 - 1.
- Ed25519 (`ed25519`): a 32-byte key.
- Nothing else: DSA, Ed448, X25519 have no key type and no verifier.

A key that breaks a rule is refused where it enters (a signer's or a delegation's key, a root
key or certificate, a key on a token), with the rule named: put into metadata, it could never
sign anything Notary accepts.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ceremony.errors import KeyFormatError

MIN_RSA_BITS = 2048  # verifiers.go: minRSAKeySizeBit
GO_X509_CURVES = {"secp224r1": "P-224", "secp256r1": "P-256", "secp384r1": "P-384",
                  "secp521r1": "P-521"}


def unverifiable(public_key: PublicKeyTypes) -> str | None:
    """Why Notary could never verify a signature by `public_key`, or None if it can."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in GO_X509_CURVES:
            return (f"an ECDSA key on curve {public_key.curve.name}: Notary's ECDSA verifier "
                    f"reads keys with Go's x509 package, which knows only "
                    f"{', '.join(GO_X509_CURVES.values())}: use a P-256 key")
        return None
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        if public_key.key_size < MIN_RSA_BITS:
            return (f"an RSA-{public_key.key_size} key: Notary's RSA verifiers refuse keys under "
                    f"{MIN_RSA_BITS} bits (minRSAKeySizeBit); use RSA-3072 or P-256")
        if not 2 <= numbers.e <= 2**31 - 1:
            return ("an RSA key whose public exponent is outside 2..2^31-1: Go's crypto/rsa, "
                    "which Notary verifies with, refuses it")
        return None
    # Ed25519: always 32 bytes here. Other kinds (DSA, Ed448) have no Notary key type at all:
    # the key constructors say so in their own words.
    return None


def require_verifiable(public_key: PublicKeyTypes) -> None:
    """Raise KeyFormatError naming the rule when Notary could never verify this key."""
    problem = unverifiable(public_key)
    if problem is not None:
        raise KeyFormatError(f"Notary can never verify {problem}")
