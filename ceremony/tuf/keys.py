"""TUF 1.0 keys: the key object of root and delegations, its key ID, and signature checks.

- `ecdsa` (or `ecdsa-sha2-nistp256`): scheme `ecdsa-sha2-nistp256` or `ecdsa-sha2-nistp384`,
  keyval.public a PEM SubjectPublicKeyInfo;
- `ed25519`: scheme `ed25519`, keyval.public 64 hex characters;
- `rsa`: scheme `rsassa-pss-sha256`, keyval.public a PEM SubjectPublicKeyInfo.

Signatures are lowercase hex of: DER for ECDSA (not Notary's raw r||s), the raw 64 bytes for
Ed25519, PSS with MGF1-SHA-256 for RSA (securesystemslib signs with salt = digest length and
verifies with any salt length, as here). The key ID is securesystemslib's default: SHA-256 of
the canonical JSON of {keytype, scheme, keyval}; clients do not recompute it, tools do.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ceremony.tuf.canonical import encode_canonical
from ceremony.tuf.errors import TufFormatError

# scheme -> the keytypes that may carry it (the older spelling of ECDSA keytypes included)
SCHEME_KEYTYPES: dict[str, tuple[str, ...]] = {
    "ecdsa-sha2-nistp256": ("ecdsa", "ecdsa-sha2-nistp256"),
    "ecdsa-sha2-nistp384": ("ecdsa", "ecdsa-sha2-nistp384"),
    "ed25519": ("ed25519",),
    "rsassa-pss-sha256": ("rsa",),
}
_CURVES: dict[str, tuple[type[ec.EllipticCurve], hashes.HashAlgorithm]] = {
    "ecdsa-sha2-nistp256": (ec.SECP256R1, hashes.SHA256()),
    "ecdsa-sha2-nistp384": (ec.SECP384R1, hashes.SHA384()),
}
_KEY_FIELDS = {"keytype", "scheme", "keyval"}
# made once, not per signature (they hold no state): a root chain checks thousands
_ECDSA = {scheme: ec.ECDSA(digest) for scheme, (_, digest) in _CURVES.items()}
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
_SHA256 = hashes.SHA256()


def compute_keyid(keytype: str, scheme: str, keyval: dict[str, Any]) -> str:
    """securesystemslib's default key ID."""
    return hashlib.sha256(encode_canonical(
        {"keytype": keytype, "scheme": scheme, "keyval": keyval})).hexdigest()


@dataclass(frozen=True)
class Key:
    """One public key as root or a delegation lists it; unknown fields are kept."""

    keyid: str
    keytype: str
    scheme: str
    keyval: dict[str, Any]
    unrecognized: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, keyid: str, data: Any) -> Key:
        if type(data) is dict and data.keys() == _KEY_FIELDS:  # the usual shape, in one step
            keytype, scheme, keyval = data["keytype"], data["scheme"], data["keyval"]
            if type(keytype) is str and type(scheme) is str and type(keyval) is dict and \
                    type(keyval.get("public")) is str:
                return cls(keyid, keytype, scheme, keyval, {})
        if not isinstance(data, dict):  # anything else field by field, naming a fault
            raise TufFormatError("a key must be an object", field=keyid)
        rest = dict(data)
        try:
            keytype, scheme, keyval = rest.pop("keytype"), rest.pop("scheme"), rest.pop("keyval")
        except KeyError as exc:
            raise TufFormatError(f"key is missing '{exc.args[0]}'", field=keyid) from None
        if not all(isinstance(v, str) for v in (keytype, scheme)):
            raise TufFormatError("keytype and scheme must be strings", field=keyid)
        if not isinstance(keyval, dict) or not isinstance(keyval.get("public"), str):
            raise TufFormatError("keyval must be an object with a string 'public'", field=keyid)
        return cls(keyid, keytype, scheme, keyval, rest)

    def to_dict(self) -> dict[str, Any]:
        return {"keytype": self.keytype, "scheme": self.scheme, "keyval": self.keyval,
                **self.unrecognized}

    @property
    def public(self) -> str:
        return str(self.keyval["public"])

    @property
    def supported(self) -> bool:
        return self.keytype in SCHEME_KEYTYPES.get(self.scheme, ())

    def default_keyid(self) -> str:
        """The key ID securesystemslib would give this key (tools compare it to `keyid`)."""
        return compute_keyid(self.keytype, self.scheme, self.keyval)

    def public_key(self) -> PublicKeyTypes:
        """The key as a `cryptography` object; TufFormatError if it cannot be one."""
        return _load(self.keytype, self.scheme, self.public)

    def material(self) -> bytes:
        """The key itself, however it is written (PEM line breaks, keytype spelling): DER
        SubjectPublicKeyInfo. Two key IDs with the same material are one key holder."""
        return _material(self.keytype, self.scheme, self.public)

    def describe(self) -> str:
        return f"{self.keyid[:16]} ({self.scheme})"

    def verify(self, signature_hex: Any, payload: bytes) -> bool:
        """Whether `signature_hex` is this key's signature of `payload`. A malformed signature
        is simply not a valid one (as python-tuf counts it)."""
        if not isinstance(signature_hex, str):
            return False
        try:
            signature = bytes.fromhex(signature_hex)
            public = self.public_key()
        except (ValueError, TufFormatError):
            return False
        try:
            if self.scheme == "ed25519":
                assert isinstance(public, ed25519.Ed25519PublicKey)
                public.verify(signature, payload)
            elif self.scheme == "rsassa-pss-sha256":
                assert isinstance(public, rsa.RSAPublicKey)
                public.verify(signature, payload, _PSS, _SHA256)
            else:
                assert isinstance(public, ec.EllipticCurvePublicKey)
                public.verify(signature, payload, _ECDSA[self.scheme])
        except (InvalidSignature, ValueError):
            return False
        return True


@functools.lru_cache(maxsize=4096)
def _load(keytype: str, scheme: str, public: str) -> PublicKeyTypes:
    if keytype not in SCHEME_KEYTYPES.get(scheme, ()):
        raise TufFormatError(f"unsupported key: keytype '{keytype}' with scheme '{scheme}' "
                             f"(supported: {', '.join(sorted(SCHEME_KEYTYPES))})")
    try:
        if scheme == "ed25519":
            raw = bytes.fromhex(public)
            if len(raw) != 32 or public != public.lower():
                raise ValueError("an ed25519 public key is 64 lowercase hex characters")
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        key = serialization.load_pem_public_key(public.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise TufFormatError(f"public key does not load ({exc})") from None
    if scheme in _CURVES:
        if not isinstance(key, ec.EllipticCurvePublicKey) or \
                not isinstance(key.curve, _CURVES[scheme][0]):
            raise TufFormatError(f"public key is not on the curve scheme '{scheme}' names")
    elif not isinstance(key, rsa.RSAPublicKey):
        raise TufFormatError(f"public key is not an RSA key (scheme '{scheme}')")
    return key


@functools.lru_cache(maxsize=4096)
def _material(keytype: str, scheme: str, public: str) -> bytes:
    return bytes(_load(keytype, scheme, public).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def key_from_public(public_key: PublicKeyTypes) -> Key:
    """The TUF key for a public key, with securesystemslib's default scheme and key ID."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        keytype, scheme = "ed25519", "ed25519"
        public = public_key.public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()
    else:
        if isinstance(public_key, rsa.RSAPublicKey):
            keytype, scheme = "rsa", "rsassa-pss-sha256"
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and \
                public_key.curve.name in ("secp256r1", "secp384r1"):
            keytype = "ecdsa"
            scheme = "ecdsa-sha2-nistp256" if public_key.curve.name == "secp256r1" \
                else "ecdsa-sha2-nistp384"
        else:
            raise TufFormatError(f"no TUF key type for {type(public_key).__name__}")
        public = public_key.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    keyval = {"public": public}
    return Key(compute_keyid(keytype, scheme, keyval), keytype, scheme, keyval)


def same_public_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if isinstance(a, ed25519.Ed25519PublicKey) or isinstance(b, ed25519.Ed25519PublicKey):
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        return (isinstance(a, ed25519.Ed25519PublicKey) and isinstance(b, ed25519.Ed25519PublicKey)
                and a.public_bytes(*raw) == b.public_bytes(*raw))
    return bool(a.public_bytes(der, spki) == b.public_bytes(der, spki))
