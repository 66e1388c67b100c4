"""Key algorithms, generation templates, and what is read back from a key on a token.

Private keys are generated ON the token with TOKEN, PRIVATE, SENSITIVE, EXTRACTABLE=false and
SIGN as their only capability (no DECRYPT, UNWRAP, DERIVE). The token's own answer for
CKA_LOCAL, CKA_NEVER_EXTRACTABLE and CKA_ALWAYS_SENSITIVE is read back as evidence that the key
was born there and never left: `Custody`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import DEFAULT, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error

from hsm.errors import AlgorithmError
from hsm.pubkey import public_key_pem
from hsm.x509 import common_name

# DER of the named-curve OIDs (CKA_EC_PARAMS).
P256_PARAMS = bytes.fromhex("06082a8648ce3d030107")        # 1.2.840.10045.3.1.7
P384_PARAMS = bytes.fromhex("06052b81040022")              # 1.3.132.0.34
P521_PARAMS = bytes.fromhex("06052b81040023")              # 1.3.132.0.35
ED25519_PARAMS = bytes.fromhex("06032b6570")               # 1.3.101.112
ED25519_NAME_PARAMS = b"\x13\x0cedwards25519"              # PrintableString form (PKCS#11 3.0)


@dataclass(frozen=True)
class Algorithm:
    name: str
    key_type: KeyType
    bits: int
    method: str               # Notary signature method
    gen_mechanism: Mechanism
    ec_params: bytes | None = None

    @property
    def is_rsa(self) -> bool:
        return self.key_type == KeyType.RSA


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("ecdsa-p256", KeyType.EC, 256, "ecdsa", Mechanism.EC_KEY_PAIR_GEN, P256_PARAMS),
    Algorithm("ecdsa-p384", KeyType.EC, 384, "ecdsa", Mechanism.EC_KEY_PAIR_GEN, P384_PARAMS),
    # P-521: for the Notary Project (ES512) and TUF; Notary v1 ceremonies keep their own list.
    Algorithm("ecdsa-p521", KeyType.EC, 521, "ecdsa", Mechanism.EC_KEY_PAIR_GEN, P521_PARAMS),
    Algorithm("rsa-3072", KeyType.RSA, 3072, "rsapss", Mechanism.RSA_PKCS_KEY_PAIR_GEN),
    Algorithm("rsa-4096", KeyType.RSA, 4096, "rsapss", Mechanism.RSA_PKCS_KEY_PAIR_GEN),
    Algorithm("ed25519", KeyType.EC_EDWARDS, 256, "eddsa", Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
              ED25519_PARAMS),
)}
DEFAULT_ALGORITHM = "ecdsa-p256"


def get_algorithm(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise AlgorithmError(f"unsupported algorithm {name!r}: choose one of "
                             f"{', '.join(ALGORITHMS)}") from None


def keypair_templates(algorithm: Algorithm, label: str, key_id: bytes, *,
                      sign_only: bool = True) -> tuple[dict[Attribute, Any], dict[Attribute, Any]]:
    """(public, private) templates for C_GenerateKeyPair. `sign_only=False` leaves
    CKA_ENCRYPT/CKA_DECRYPT to the module: tpm2-pkcs11 makes every EC key with the TPM's
    decrypt attribute and fails (CKR_GENERAL_ERROR) when asked for DECRYPT=false; the key's
    real answer is then read back and reported as custody evidence."""
    public: dict[Attribute, Any] = {
        Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: algorithm.key_type,
        Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.LABEL: label,
        Attribute.ID: key_id, Attribute.VERIFY: True, Attribute.ENCRYPT: False,
        Attribute.WRAP: False, Attribute.DERIVE: False,
    }
    if algorithm.ec_params is not None:
        public[Attribute.EC_PARAMS] = algorithm.ec_params
    if algorithm.is_rsa:
        public[Attribute.MODULUS_BITS] = algorithm.bits
        public[Attribute.PUBLIC_EXPONENT] = b"\x01\x00\x01"
    private: dict[Attribute, Any] = {
        Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: algorithm.key_type,
        Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False, Attribute.LABEL: label, Attribute.ID: key_id,
        Attribute.SIGN: True, Attribute.DECRYPT: False, Attribute.UNWRAP: False,
        Attribute.DERIVE: False, Attribute.SIGN_RECOVER: False,
    }
    if not sign_only:
        public[Attribute.ENCRYPT] = DEFAULT
        private[Attribute.DECRYPT] = DEFAULT
    return public, private


# --- custody evidence --------------------------------------------------------------------

CUSTODY_ATTRIBUTES: dict[str, Attribute] = {
    "local": Attribute.LOCAL,
    "never_extractable": Attribute.NEVER_EXTRACTABLE,
    "always_sensitive": Attribute.ALWAYS_SENSITIVE,
    "sensitive": Attribute.SENSITIVE,
    "extractable": Attribute.EXTRACTABLE,
    "token": Attribute.TOKEN,
    "private": Attribute.PRIVATE,
    "sign": Attribute.SIGN,
    "decrypt": Attribute.DECRYPT,
    "unwrap": Attribute.UNWRAP,
    "derive": Attribute.DERIVE,
}
# What each attribute must say for a key we trust with a root or targets role.
CUSTODY_EXPECTED: dict[str, bool] = {
    "local": True, "never_extractable": True, "always_sensitive": True, "sensitive": True,
    "extractable": False, "token": True, "private": True, "sign": True, "decrypt": False,
    "unwrap": False, "derive": False,
}
# Of those, what says the key was born on the token and cannot leave it: a key the token says
# fails one of these is refused. The others (extra capabilities such as decrypt) are reported,
# not refused: some modules cannot make a sign-only key (tpm2-pkcs11 keys can also decrypt).
CUSTODY_ESSENTIAL = ("local", "never_extractable", "always_sensitive", "sensitive",
                     "extractable", "token", "private", "sign")


@dataclass(frozen=True)
class Custody:
    """The token's answers about a private key; None where the token would not say."""

    local: bool | None
    never_extractable: bool | None
    always_sensitive: bool | None
    sensitive: bool | None
    extractable: bool | None
    token: bool | None
    private: bool | None
    sign: bool | None
    decrypt: bool | None
    unwrap: bool | None
    derive: bool | None

    @property
    def problems(self) -> list[str]:
        out = []
        for name, want in CUSTODY_EXPECTED.items():
            have = getattr(self, name)
            if have is None:
                out.append(f"{name} unknown")
            elif have != want:
                out.append(f"{name}={'true' if have else 'false'}")
        return out

    @property
    def essential_problems(self) -> list[str]:
        """Where the key was born or whether it can leave the token, answered WRONG by the
        token. A token that does not answer ("name unknown", e.g. a module without
        CKA_ALWAYS_SENSITIVE) is reported in `problems`, not counted here: the officer sees
        exactly what the token would not say."""
        return [p for p in self.problems
                if "=" in p and p.split("=")[0] in CUSTODY_ESSENTIAL]

    @property
    def ok(self) -> bool:
        """Generated on this token, never readable outside it, usable only for signing."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in CUSTODY_ATTRIBUTES}
        data["ok"] = self.ok
        data["problems"] = self.problems
        return data

    def summary(self) -> str:
        def yn(v: bool | None) -> str:
            return "?" if v is None else ("yes" if v else "no")
        return (f"local={yn(self.local)} never-extractable={yn(self.never_extractable)} "
                f"always-sensitive={yn(self.always_sensitive)} sensitive={yn(self.sensitive)} "
                f"extractable={yn(self.extractable)} sign-only="
                f"{yn(self.sign and not (self.decrypt or self.unwrap or self.derive))}")


def read_attributes(obj: Any, attrs: list[Attribute]) -> dict[Attribute, Any]:
    """Read attributes; ones the token will not give (invalid/sensitive) are left out."""
    try:
        return dict(obj.get_attributes(attrs))
    except (PKCS11Error, UnicodeDecodeError):
        out: dict[Attribute, Any] = {}
        for attr in attrs:
            try:
                out[attr] = obj[attr]
            except PKCS11Error:
                continue
            except UnicodeDecodeError as exc:  # a label that is not UTF-8: kept, shown escaped
                out[attr] = bytes(exc.object).decode("utf-8", "surrogateescape")
        return out


def read_custody(private_key: Any) -> Custody:
    values = read_attributes(private_key, list(CUSTODY_ATTRIBUTES.values()))
    return Custody(**{name: (bool(values[attr]) if attr in values else None)
                      for name, attr in CUSTODY_ATTRIBUTES.items()})


# --- public keys -------------------------------------------------------------------------

_CURVES: dict[bytes, tuple[str, ec.EllipticCurve | None]] = {
    P256_PARAMS: ("ecdsa-p256", ec.SECP256R1()),
    P384_PARAMS: ("ecdsa-p384", ec.SECP384R1()),
    P521_PARAMS: ("ecdsa-p521", ec.SECP521R1()),
    ED25519_PARAMS: ("ed25519", None),
    ED25519_NAME_PARAMS: ("ed25519", None),
}


def _unwrap_point(point: bytes, raw_len: int) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING by the spec; some tokens return the raw point."""
    if len(point) == raw_len:
        return point
    if point[:1] == b"\x04":
        if len(point) == raw_len + 2 and point[1] == raw_len:
            return point[2:]
        if len(point) == raw_len + 3 and point[1] == 0x81 and point[2] == raw_len:
            return point[3:]
    raise AlgorithmError(f"token returned an EC point of unexpected length {len(point)}")


def algorithm_of(attrs: dict[Attribute, Any]) -> str | None:
    """Our algorithm name from KEY_TYPE + EC_PARAMS / MODULUS_BITS, or None if unsupported."""
    key_type = attrs.get(Attribute.KEY_TYPE)
    if key_type in (KeyType.EC, KeyType.EC_EDWARDS):
        name, _ = _CURVES.get(bytes(attrs.get(Attribute.EC_PARAMS) or b""), (None, None))
        return name
    if key_type == KeyType.RSA:
        bits = attrs.get(Attribute.MODULUS_BITS)
        if bits is None and attrs.get(Attribute.MODULUS):
            bits = len(attrs[Attribute.MODULUS]) * 8
        return f"rsa-{bits}" if bits else None
    return None


def describe_key_type(attrs: dict[Attribute, Any]) -> str:
    key_type = attrs.get(Attribute.KEY_TYPE)
    try:
        name = KeyType(key_type).name
    except (ValueError, TypeError):
        name = f"0x{key_type:x}" if isinstance(key_type, int) else "unknown"
    if key_type in (KeyType.EC, KeyType.EC_EDWARDS):
        params = attrs.get(Attribute.EC_PARAMS)
        return f"{name} (curve parameters {bytes(params).hex() if params else 'unknown'})"
    return name


def public_key_from_attrs(attrs: dict[Attribute, Any]) -> PublicKeyTypes | None:
    """Rebuild a `cryptography` public key from public attributes of a key object."""
    key_type = attrs.get(Attribute.KEY_TYPE)
    if key_type == KeyType.RSA:
        n, e = attrs.get(Attribute.MODULUS), attrs.get(Attribute.PUBLIC_EXPONENT)
        if not n or not e:
            return None
        return rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
    if key_type in (KeyType.EC, KeyType.EC_EDWARDS):
        point = attrs.get(Attribute.EC_POINT)
        name, curve = _CURVES.get(bytes(attrs.get(Attribute.EC_PARAMS) or b""), (None, None))
        if not point or name is None:
            return None
        if name == "ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(_unwrap_point(bytes(point), 32))
        assert curve is not None
        raw_len = 1 + 2 * ((curve.key_size + 7) // 8)
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, _unwrap_point(bytes(point),
                                                                                 raw_len))
    return None


PUBLIC_ATTRIBUTES = [Attribute.KEY_TYPE, Attribute.EC_PARAMS, Attribute.EC_POINT,
                     Attribute.MODULUS, Attribute.MODULUS_BITS, Attribute.PUBLIC_EXPONENT]


def algorithm_of_public_key(public_key: PublicKeyTypes) -> str | None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384",
                "secp521r1": "ecdsa-p521"}.get(public_key.curve.name)
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"rsa-{public_key.key_size}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return None


# --- a key as listed -----------------------------------------------------------------------

@dataclass(frozen=True)
class KeyInfo:
    """One key on a token: its objects (private/public/certificate) grouped by CKA_ID."""

    label: str
    id: bytes
    algorithm: str | None          # e.g. "ecdsa-p256"; None if this layer does not support it
    key_type: str                   # PKCS#11 key type as text, for unsupported keys
    public_key: PublicKeyTypes | None
    has_private: bool
    has_public: bool
    custody: Custody | None         # None when the private key is not visible
    certificate: x509.Certificate | None
    uri: str

    @property
    def method(self) -> str | None:
        return ALGORITHMS[self.algorithm].method if self.algorithm in ALGORITHMS else None

    def to_json(self) -> dict[str, Any]:
        """What the token says about the key. Notary key IDs are added by the ceremony layer."""
        cert = None
        if self.certificate is not None:
            cert = {
                "subject_cn": common_name(self.certificate),
                "not_before": _rfc3339(self.certificate.not_valid_before_utc),
                "not_after": _rfc3339(self.certificate.not_valid_after_utc),
                "serial": f"{self.certificate.serial_number:x}",
            }
        return {
            "label": self.label,
            "id": self.id.hex(),
            "uri": self.uri,
            "algorithm": self.algorithm,
            "key_type": self.key_type,
            "method": self.method,
            "has_private": self.has_private,
            "has_public": self.has_public,
            "public_key_pem": public_key_pem(self.public_key).decode()
            if self.public_key is not None else None,
            "custody": self.custody.to_json() if self.custody else None,
            "certificate": cert,
        }


def _rfc3339(dt: Any) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
