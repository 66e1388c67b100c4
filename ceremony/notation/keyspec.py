"""Key specs of the Notary Project and the keys that sign with them.

The signature algorithm is chosen by the key (signature-specification.md, "Algorithm
Selection"; notation-core-go signature.ExtractKeySpec):
RSA 2048/3072/4096 -> RSASSA-PSS with SHA-256/384/512 (salt = hash length), PS256/384/512;
EC P-256/384/521 -> ECDSA with SHA-256/384/512, ES256/384/512 (raw r||s in JWS and COSE).
Certificates and CRLs this tool signs use the same hash; RSA ones use PKCS#1 v1.5, which
the specification allows for certificates and every X.509 verifier accepts.

Two kinds of `SigningKey`: `TokenKey` (a key on a PKCS#11 token, through hsm's digest signing)
and `SoftwareKey` (a `cryptography` private key: used for keys that are not ours, e.g. a
verifier's test fixtures). Both return signatures as the envelope wants them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ceremony.notation.errors import CertificateRuleError
from hsm.signer import DigestSigner


@dataclass(frozen=True)
class KeySpec:
    name: str          # e.g. "EC P-256", "RSA 3072"
    hash_name: str     # sha256 | sha384 | sha512
    jws_alg: str
    cose_alg: int

    @property
    def hash(self) -> hashes.HashAlgorithm:
        return {"sha256": hashes.SHA256, "sha384": hashes.SHA384,
                "sha512": hashes.SHA512}[self.hash_name]()

    def digest(self, message: bytes) -> bytes:
        return hashlib.new(self.hash_name, message).digest()


_EC = {"secp256r1": KeySpec("EC P-256", "sha256", "ES256", -7),
       "secp384r1": KeySpec("EC P-384", "sha384", "ES384", -35),
       "secp521r1": KeySpec("EC P-521", "sha512", "ES512", -36)}
_RSA = {2048: KeySpec("RSA 2048", "sha256", "PS256", -37),
        3072: KeySpec("RSA 3072", "sha384", "PS384", -38),
        4096: KeySpec("RSA 4096", "sha512", "PS512", -39)}
BY_JWS_ALG = {s.jws_alg: s for s in (*_EC.values(), *_RSA.values())}
BY_COSE_ALG = {s.cose_alg: s for s in (*_EC.values(), *_RSA.values())}


def key_spec(public_key: PublicKeyTypes) -> KeySpec:
    """The Notary Project key spec of a public key; other keys break the rules."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        spec = _EC.get(public_key.curve.name)
        if spec is None:
            raise CertificateRuleError(
                f"rule 'EC keys use P-256, P-384 or P-521': curve {public_key.curve.name} is "
                "not allowed by the Notary Project")
        return spec
    if isinstance(public_key, rsa.RSAPublicKey):
        spec = _RSA.get(public_key.key_size)
        if spec is None:
            raise CertificateRuleError(
                f"rule 'RSA keys are 2048, 3072 or 4096 bits': this key has "
                f"{public_key.key_size} bits")
        return spec
    raise CertificateRuleError("rule 'keys are RSA or EC': this key is "
                               f"{type(public_key).__name__}, which the Notary Project refuses")


def raw_to_der(raw: bytes) -> bytes:
    half = len(raw) // 2
    return utils.encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                      int.from_bytes(raw[half:], "big"))


def der_to_raw(der: bytes, public_key: ec.EllipticCurvePublicKey) -> bytes:
    r, s = utils.decode_dss_signature(der)
    width = (public_key.curve.key_size + 7) // 8
    return r.to_bytes(width, "big") + s.to_bytes(width, "big")


def pss(spec: KeySpec) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(spec.hash), salt_length=spec.hash.digest_size)


def verify_envelope_signature(public_key: PublicKeyTypes, spec: KeySpec, message: bytes,
                              signature: bytes) -> bool:
    """Check a JWS/COSE signature (raw r||s for EC, PSS for RSA) in software."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            width = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * width:
                return False
            public_key.verify(raw_to_der(signature), message, ec.ECDSA(spec.hash))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, pss(spec), spec.hash)
        else:
            return False
    except InvalidSignature:
        return False
    return True


class SigningKey(Protocol):
    @property
    def public_key(self) -> PublicKeyTypes: ...

    def sign_envelope(self, message: bytes) -> bytes:
        """JWS/COSE signature over `message` with the key spec's algorithm."""

    def sign_x509(self, tbs: bytes) -> bytes:
        """Signature over a TBSCertificate / TBSCertList as X.509 wants it (DER ECDSA or
        PKCS#1 v1.5), with the key spec's hash."""


class SoftwareKey:
    """A `cryptography` private key as a SigningKey."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
        self._key = private_key
        self.spec = key_spec(private_key.public_key())

    @property
    def public_key(self) -> PublicKeyTypes:
        return self._key.public_key()

    def sign_envelope(self, message: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            der = self._key.sign(message, ec.ECDSA(self.spec.hash))
            return der_to_raw(der, self._key.public_key())
        return self._key.sign(message, pss(self.spec), self.spec.hash)

    def sign_x509(self, tbs: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(tbs, ec.ECDSA(self.spec.hash))
        return self._key.sign(tbs, padding.PKCS1v15(), self.spec.hash)


class TokenKey:
    """A key on a token as a SigningKey: the key spec's hash is made here and the digest is
    signed on the token through hsm's public digest signing (`DigestSigner.sign_digest`:
    CKM_ECDSA; CKM_RSA_PKCS_PSS with MGF1 of the same hash and salt = hash length; CKM_RSA_PKCS
    over DigestInfo for certificates and CRLs), in the token's one logged-in session. A token
    that lacks the mechanism is refused before anything is signed, and every signature is
    verified against the public key before it is used."""

    def __init__(self, token_signer: DigestSigner) -> None:
        self._signer = token_signer
        self.spec = key_spec(token_signer.public_key)
        self.label = getattr(token_signer, "label", "")
        self.token_label = getattr(token_signer, "token_label", "")

    @property
    def public_key(self) -> PublicKeyTypes:
        return self._signer.public_key

    def require_envelope_signing(self) -> None:
        """Refuse (one line, nothing signed) a token that lacks the envelope's mechanism."""
        self._signer.require_digest_signing(self.spec.hash_name)

    def sign_envelope(self, message: bytes) -> bytes:
        # sign_digest has checked the signature's width and verified it over this digest
        return self._signer.sign_digest(self.spec.digest(message), self.spec.hash_name)

    def sign_x509(self, tbs: bytes) -> bytes:
        digest = self.spec.digest(tbs)
        if isinstance(self.public_key, ec.EllipticCurvePublicKey):
            return raw_to_der(self._signer.sign_digest(digest, self.spec.hash_name))
        return self._signer.sign_digest(digest, self.spec.hash_name, padding="pkcs1v15")
