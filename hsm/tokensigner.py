"""`TokenSigner`: the Signer interface (hsm.signer) for a private key on a token.

- "ecdsa":  CKM_ECDSA over SHA-256(message) computed here -> raw r||s, as Notary wants it;
- "rsapss": CKM_RSA_PKCS_PSS over SHA-256(message), MGF1-SHA-256, salt 32;
- "eddsa":  CKM_EDDSA over the message (Ed25519 hashes internally).
Other formats choose the hash themselves (the Notary Project: SHA-384 for P-384 and RSA 3072,
SHA-512 for P-521 and RSA 4096; TUF's ecdsa-sha2-nistp384): `sign_digest(digest, hash)` signs a
digest made here or by the caller, `sign_hashed(message, hash)` hashes first. Both check the
token's mechanism list before signing and verify the signature in software before returning it.
Notary v1's `sign` and `sign_certificate` are unchanged.
The session it uses is the token's one logged-in session: signing never logs in again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import MGF, Mechanism
from pkcs11 import exceptions as p11

from hsm.errors import AlgorithmError, TokenNotFoundError, TokenOperationError
from hsm.keys import Algorithm
from hsm.mechanisms import DIGEST_MECHANISMS, Capabilities, capabilities, refuse_digest_signing

PSS_PARAMS = (Mechanism.SHA256, MGF.SHA256, 32)
PSS_SALT = 32
# DER DigestInfo prefix for SHA-256 (RFC 8017 9.2): with CKM_RSA_PKCS over prefix + digest the
# token makes the same PKCS#1 v1.5 signature as CKM_SHA256_RSA_PKCS over the message.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
# The hashes `sign_digest` takes: (PSS hash mechanism, MGF1, DigestInfo prefix, cryptography hash).
HASHES: dict[str, tuple[Mechanism, MGF, bytes, type[hashes.HashAlgorithm]]] = {
    "sha256": (Mechanism.SHA256, MGF.SHA256, SHA256_DIGEST_INFO, hashes.SHA256),
    "sha384": (Mechanism.SHA384, MGF.SHA384,
               bytes.fromhex("3041300d060960864801650304020205000430"), hashes.SHA384),
    "sha512": (Mechanism.SHA512, MGF.SHA512,
               bytes.fromhex("3051300d060960864801650304020305000440"), hashes.SHA512),
}
RSA_PADDINGS = ("pss", "pkcs1v15")


class TokenSigner:
    """Signs with a key that never leaves its token. Implements `hsm.signer.Signer`."""

    def __init__(self, *, private_key: Any, public_key: PublicKeyTypes, algorithm: Algorithm,
                 label: str, key_id: bytes, token_label: str) -> None:
        self._key = private_key
        self._public_key = public_key
        self._algorithm = algorithm
        self._method = algorithm.method
        self.label = label
        self.key_id = key_id
        self.token_label = token_label
        if self._method == "ecdsa":
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            self._sig_len = 2 * ((public_key.curve.key_size + 7) // 8)
        elif self._method == "rsapss":
            assert isinstance(public_key, rsa.RSAPublicKey)
            self._sig_len = (public_key.key_size + 7) // 8
        else:
            self._sig_len = 64
        self._caps: Capabilities | None = None

    @property
    def public_key(self) -> PublicKeyTypes:
        return self._public_key

    @property
    def method(self) -> str:
        return self._method

    @property
    def algorithm(self) -> str:
        return self._algorithm.name

    def __repr__(self) -> str:
        return (f"TokenSigner(token={self.token_label!r}, label={self.label!r}, "
                f"id={self.key_id.hex()}, algorithm={self._algorithm.name!r})")

    def sign(self, message: bytes) -> bytes:
        """Sign `message` with Notary's method for this key; returns what Notary expects."""
        method = self._method
        try:
            if method == "ecdsa":
                sig = self._key.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA)
            elif method == "rsapss":
                sig = self._key.sign(hashlib.sha256(message).digest(),
                                     mechanism=Mechanism.RSA_PKCS_PSS, mechanism_param=PSS_PARAMS)
            else:
                sig = self._key.sign(message, mechanism=Mechanism.EDDSA)
        except p11.PKCS11Error as exc:
            raise self._error(exc) from None
        if len(sig) != self._sig_len:
            raise TokenOperationError(
                f"token '{self.token_label}' returned a {len(sig)}-byte {method} signature for "
                f"key '{self.label}' (expected {self._sig_len}); refusing to use it")
        return sig

    def sign_hashed(self, message: bytes, hash: str, *, padding: str = "pss") -> bytes:
        """Hash `message` with `hash` ("sha256", "sha384" or "sha512") and sign the digest
        on the token: see `sign_digest`."""
        self._check_hash(hash)
        return self.sign_digest(hashlib.new(hash, message).digest(), hash, padding=padding)

    def sign_digest(self, digest: bytes, hash: str, *, padding: str = "pss") -> bytes:
        """Sign a prehashed `digest` made with `hash` ("sha256", "sha384" or "sha512").

        - ECDSA keys: CKM_ECDSA over the digest; returns raw r||s (fixed width), as JWS, COSE
          and Notary want it (`encode_dss_signature` gives the DER that X.509 and TUF want).
        - RSA keys, padding "pss": CKM_RSA_PKCS_PSS with MGF1 of the same hash and salt length
          = the hash length (what the Notary Project and securesystemslib make).
        - RSA keys, padding "pkcs1v15": CKM_RSA_PKCS over DER DigestInfo || digest.
        - Ed25519 keys have no prehashed form: refused.
        The token's mechanism list is checked first (a missing mechanism is one AlgorithmError
        line, nothing signed), and the signature is verified against the public key before it
        is returned."""
        self.require_digest_signing(hash, padding=padding)
        rsa_padding = padding if self._method == "rsapss" else None
        hash_mech, mgf, digest_info, hash_cls = HASHES[hash]
        if len(digest) != hash_cls.digest_size:
            raise AlgorithmError(f"a {hash} digest is {hash_cls.digest_size} bytes, not "
                                 f"{len(digest)}")
        mech = DIGEST_MECHANISMS[(self._method, rsa_padding)]
        try:
            if rsa_padding == "pss":
                sig = self._key.sign(digest, mechanism=mech,
                                     mechanism_param=(hash_mech, mgf, hash_cls.digest_size))
            elif rsa_padding == "pkcs1v15":
                sig = self._key.sign(digest_info + digest, mechanism=mech)
            else:
                sig = self._key.sign(digest, mechanism=mech)
        except p11.PKCS11Error as exc:
            raise self._error(exc) from None
        sig = bytes(sig)
        if len(sig) != self._sig_len or not verify_digest_signature(
                self._public_key, digest, hash, sig, padding=rsa_padding or "pss"):
            raise TokenOperationError(
                f"token '{self.token_label}' returned a {self._method} signature for key "
                f"'{self.label}' that does not verify ({hash}); refusing to use it")
        return sig

    def require_digest_signing(self, hash: str, *, padding: str = "pss") -> None:
        """Refuse (AlgorithmError, one line) what `sign_digest(_, hash, padding=padding)` could
        not do with this key on this token: an unknown hash or padding, an Ed25519 key, or a
        mechanism missing from the token's list. Signs nothing: call it before a review."""
        self._check_hash(hash)
        if self._method == "rsapss" and padding not in RSA_PADDINGS:
            raise AlgorithmError(f"unknown RSA padding {padding!r}: choose pss or pkcs1v15")
        refuse_digest_signing(self._capabilities(), self._method,
                              padding if self._method == "rsapss" else None, self.token_label,
                              self.label)

    def _check_hash(self, hash: str) -> None:
        if hash not in HASHES:
            raise AlgorithmError(f"unsupported hash {hash!r}: choose one of {', '.join(HASHES)}")

    def _capabilities(self) -> Capabilities:
        """The token's mechanisms, read once through the key's own session (no login)."""
        if self._caps is None:
            try:
                self._caps = capabilities(self._key.session.token.slot)
            except AttributeError:  # not a python-pkcs11 object: let the token answer itself
                self._caps = Capabilities(frozenset(), {}, known=False)
        return self._caps

    def sign_certificate(self, tbs: bytes) -> bytes:
        """Signature over a TBSCertificate, encoded as X.509 wants it: ECDSA as a DER
        ECDSA-Sig-Value (ecdsa-with-SHA256), RSA as PKCS#1 v1.5 (sha256WithRSAEncryption, which
        is what Notary's Go code makes for RSA root certificates)."""
        if self._method == "ecdsa":
            raw = self.sign(tbs)
            half = len(raw) // 2
            return utils.encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                              int.from_bytes(raw[half:], "big"))
        if self._method == "rsapss":
            try:
                return self._key.sign(tbs, mechanism=Mechanism.SHA256_RSA_PKCS)
            except p11.MechanismInvalid:
                pass  # e.g. openCryptoki's software token: hash here, pad on the token
            except p11.PKCS11Error as exc:
                raise self._error(exc) from None
            try:
                return self._key.sign(SHA256_DIGEST_INFO + hashlib.sha256(tbs).digest(),
                                      mechanism=Mechanism.RSA_PKCS)
            except p11.PKCS11Error as exc:
                raise self._error(exc) from None
        raise AlgorithmError("Notary root certificates hold ECDSA or RSA keys only")

    def _error(self, exc: p11.PKCS11Error) -> Exception:
        if isinstance(exc, (p11.TokenNotPresent, p11.DeviceRemoved, p11.SessionClosed,
                            p11.SessionHandleInvalid, p11.ObjectHandleInvalid,
                            p11.KeyHandleInvalid)):
            return TokenNotFoundError(
                f"token '{self.token_label}' was removed or its session closed while signing "
                f"with key '{self.label}' ({type(exc).__name__}); reinsert it and run again")
        if isinstance(exc, p11.MechanismInvalid):
            return AlgorithmError(f"token '{self.token_label}' does not support the {self._method} "
                                  f"mechanism for key '{self.label}' (CKR_MECHANISM_INVALID)")
        if isinstance(exc, p11.UserNotLoggedIn):
            return TokenOperationError(f"token '{self.token_label}' is no longer logged in "
                                       "(someone logged out); run again")
        return TokenOperationError(f"token '{self.token_label}' failed to sign with key "
                                   f"'{self.label}' ({type(exc).__name__})")


def verify_digest_signature(public_key: PublicKeyTypes, digest: bytes, hash: str,
                            signature: bytes, *, padding: str = "pss") -> bool:
    """Check a `sign_digest` signature in software: ECDSA raw r||s, RSA-PSS (MGF1 of `hash`,
    salt = hash length) or PKCS#1 v1.5 (`padding="pkcs1v15"`)."""
    from cryptography.hazmat.primitives.asymmetric import padding as pad
    algorithm = utils.Prehashed(HASHES[hash][3]())
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                             int.from_bytes(signature[half:], "big"))
            public_key.verify(der, digest, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            scheme: pad.AsymmetricPadding = pad.PKCS1v15() if padding == "pkcs1v15" else pad.PSS(
                mgf=pad.MGF1(HASHES[hash][3]()), salt_length=HASHES[hash][3].digest_size)
            public_key.verify(signature, digest, scheme, algorithm)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_signature(public_key: PublicKeyTypes, method: str, message: bytes,
                     signature: bytes) -> bool:
    """Check a Notary-method signature in software (`cryptography`)."""
    try:
        if method == "ecdsa":
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            half = len(signature) // 2
            der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                             int.from_bytes(signature[half:], "big"))
            public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        elif method == "rsapss":
            assert isinstance(public_key, rsa.RSAPublicKey)
            public_key.verify(signature, message,
                              padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT),
                              hashes.SHA256())
        elif method == "eddsa":
            assert isinstance(public_key, ed25519.Ed25519PublicKey)
            public_key.verify(signature, message)
        else:
            return False
    except (InvalidSignature, AssertionError):
        return False
    return True
