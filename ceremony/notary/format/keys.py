"""Notary key objects and key IDs: the one place that knows them.

A key object is `{"keytype": T, "keyval": {"private": null, "public": B64}}` where the public part
is, by type:
- `ecdsa`, `rsa`: DER SubjectPublicKeyInfo;
- `ecdsa-x509`, `rsa-x509`: the PEM text of a certificate chain, leaf first, laid out as Go's
  encoding/pem writes it (64-column base64 lines, trailing newline);
- `ed25519`: the raw 32 bytes.

Two IDs matter, and users must see both, labelled:
- the *key ID* (for certificates: the "cert key ID"): hex SHA-256 of the canonical key object,
  private part null. It is what root.json, signatures and `trust_pinning.certs` use.
- Notary's *canonical key ID* (`utils.CanonicalKeyID`): for a certificate, the key ID of the plain
  key made from the certificate's public key; otherwise the key ID itself. `notary key list`
  shows it and names private key files with it. It does not work for trust pinning.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ceremony.errors import KeyFormatError, MetadataError, MetadataFormatError
from ceremony.notary.format.encoding import b64decode, b64encode

ECDSA, ECDSA_X509, RSA, RSA_X509, ED25519 = "ecdsa", "ecdsa-x509", "rsa", "rsa-x509", "ed25519"
KEY_TYPES = (ECDSA, ECDSA_X509, RSA, RSA_X509, ED25519)
CERTIFICATE_TYPES = (ECDSA_X509, RSA_X509)

# Signature method each key type signs with by default (what Notary's own signers use).
DEFAULT_METHOD = {ECDSA: "ecdsa", ECDSA_X509: "ecdsa", RSA: "rsapss", RSA_X509: "rsapss",
                  ED25519: "eddsa"}

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----\r?\n?",
                        re.DOTALL)
_KEY_FIELDS, _KEYVAL_FIELDS = frozenset(("keytype", "keyval")), frozenset(("private", "public"))
# One certificate as Go writes it: what _PEM_BLOCK finds is then the whole text.
_CERT_BEGIN, _CERT_END = b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n"


class _WholeCertificate:
    """The one match _PEM_BLOCK finds in a text that is a single certificate."""

    def __init__(self, text: bytes):
        self.text = text

    def group(self, index: int) -> bytes:
        return b"CERTIFICATE" if index == 1 else self.text


def _pem_blocks(public: bytes) -> Any:
    """_PEM_BLOCK.finditer(public), without the scan for the usual single certificate."""
    if public.startswith(_CERT_BEGIN) and public.endswith(_CERT_END) and \
            public.count(b"-----") == 4:
        return (_WholeCertificate(public),)
    return _PEM_BLOCK.finditer(public)


class cached_property:  # noqa: N801 - functools.cached_property without its lock
    """A value computed on first access and kept in the instance's __dict__ (so later reads do
    not come here); nothing is kept when it raises. Python 3.11's functools.cached_property
    takes a lock on every first access, which costs more than most of the values here."""

    def __init__(self, func: Any):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


def key_id_of(keytype: str, public: bytes) -> str:
    """Hex SHA-256 of the canonical key object (what Go's TUFKey.ID() hashes)."""
    # keytype is one of KEY_TYPES and base64 needs no escaping: the canonical form is fixed.
    canonical = (f'{{"keytype":"{keytype}","keyval":{{"private":null,'
                 f'"public":"{b64encode(public)}"}}}}').encode("ascii")
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Key:
    """A public key as Notary metadata carries it."""

    keytype: str
    public: bytes

    def __post_init__(self) -> None:
        if self.keytype not in KEY_TYPES:
            raise KeyFormatError(f"unknown key type {self.keytype!r} "
                                 f"(Notary knows {', '.join(KEY_TYPES)})")

    # -- dict form -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Key:
        def at(name: str) -> str:
            return f"{path}.{name}" if path else name

        if type(data) is not dict:
            raise MetadataFormatError("expected a key object", field=path or None)
        if data.keys() != _KEY_FIELDS:
            raise MetadataFormatError(_fields_message(data, {"keytype", "keyval"}),
                                      field=path or None)
        keytype, keyval = data["keytype"], data["keyval"]
        if type(keytype) is not str:
            raise MetadataFormatError("expected a string", field=at("keytype"))
        if keytype not in KEY_TYPES:
            raise KeyFormatError(f"unknown key type {keytype!r} (Notary knows "
                                 f"{', '.join(KEY_TYPES)})", field=at("keytype"))
        if type(keyval) is not dict or keyval.keys() != _KEYVAL_FIELDS:
            raise MetadataFormatError(
                'expected {"private": null, "public": "<base64>"}', field=at("keyval"))
        if keyval["private"] is not None:
            raise MetadataFormatError("a public key object must have \"private\": null",
                                      field=at("keyval.private"))
        try:
            public = b64decode(keyval["public"])
        except ValueError as exc:
            raise MetadataFormatError(str(exc), field=at("keyval.public")) from None
        if keytype == ED25519 and len(public) != 32:
            raise KeyFormatError(f"an ed25519 public key is 32 bytes, not {len(public)}",
                                 field=at("keyval.public"))
        return cls(keytype, public)

    def to_dict(self) -> dict[str, Any]:
        return {"keytype": self.keytype,
                "keyval": {"private": None, "public": b64encode(self.public)}}

    # -- identity --------------------------------------------------------------------------------
    @cached_property
    def key_id(self) -> str:
        """The key ID; for certificates the "cert key ID" (root.json, signatures, pinning)."""
        return key_id_of(self.keytype, self.public)

    @cached_property
    def canonical_key_id(self) -> str:
        """Notary's canonical key ID (`notary key list`, private key file names)."""
        if not self.is_certificate:
            return self.key_id
        spki = self.certificates[0].public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return key_id_of(self.keytype.removesuffix("-x509"), spki)

    @property
    def is_certificate(self) -> bool:
        return self.keytype in CERTIFICATE_TYPES

    # -- cryptography objects --------------------------------------------------------------------
    @cached_property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """The certificate chain of an x509 key, leaf first. KeyFormatError if unreadable."""
        if not self.is_certificate:
            raise KeyFormatError(f"a {self.keytype} key has no certificate")
        certs = []
        for match in _pem_blocks(self.public):
            if match.group(1) != b"CERTIFICATE":  # Go's bundle loader refuses other blocks
                raise KeyFormatError(
                    f"unexpected PEM block {match.group(1).decode()!r} in a certificate key")
            try:
                with warnings.catch_warnings():  # cryptography's deprecation notices
                    warnings.simplefilter("ignore")
                    cert = x509.load_pem_x509_certificate(match.group(0))
                    # Parts `cryptography` decodes only when asked: decoded here, once, so that
                    # a malformed key or extension is this error and not a crash where it is read.
                    cert.public_key()
                    cert.extensions  # noqa: B018
                    cert.subject  # noqa: B018
                    cert.issuer  # noqa: B018
            # `cryptography` reports undecodable parts with many types (ValueError,
            # UnsupportedAlgorithm, DuplicateExtension, even KeyError for an unknown ASN.1
            # string type): in this block, any of them means an unreadable certificate.
            except Exception as exc:
                raise KeyFormatError(f"unreadable certificate: {exc}") from None
            certs.append(cert)
        if not certs:
            raise KeyFormatError("public part holds no PEM certificate")
        return tuple(certs)

    @cached_property
    def pem_is_go_layout(self) -> bool:
        """Whether an x509 key's PEM is byte for byte what Go writes for its certificates."""
        return certificate_pem(self.certificates) == self.public

    @cached_property
    def spki(self) -> bytes:
        """DER SubjectPublicKeyInfo of the public key: the same key whatever wraps it."""
        return self.public_key.public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def identity(self) -> bytes | None:
        """`spki`, or None for a key that is unusable (damaged bytes, unknown type): two key
        objects are the same key when their identities are equal and not None. This is how
        the ceremony's tokens find a Notary key (ceremony.ceremonies.signers.PublicKeyIdentity)."""
        try:
            return self.spki
        except (MetadataError, ValueError):
            return None

    @cached_property
    def public_key(self) -> PublicKeyTypes:
        """The `cryptography` public key (for certificates: the leaf's). KeyFormatError if bad."""
        certificates = self.certificates if self.is_certificate else ()
        try:  # untrusted bytes: any failure makes the key unusable
            if certificates:
                key = certificates[0].public_key()
            elif self.keytype == ED25519:
                key = ed25519.Ed25519PublicKey.from_public_bytes(self.public)
            else:
                key = serialization.load_der_public_key(self.public)
        except Exception as exc:
            raise KeyFormatError(f"unreadable {self.keytype} public key: {exc}") from None
        expected = rsa.RSAPublicKey if self.keytype in (RSA, RSA_X509) else (
            ec.EllipticCurvePublicKey if self.keytype in (ECDSA, ECDSA_X509)
            else ed25519.Ed25519PublicKey)
        if not isinstance(key, expected):
            raise KeyFormatError(f"a {self.keytype} key holds {_describe(key)}")
        return key

    @property
    def default_method(self) -> str:
        return DEFAULT_METHOD[self.keytype]


def _describe(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "an ECDSA key"
    if isinstance(key, rsa.RSAPublicKey):
        return "an RSA key"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "an Ed25519 key"
    return f"a {type(key).__name__} key"


def _fields_message(data: dict[str, Any], expected: set[str]) -> str:
    missing = sorted(expected - data.keys())
    unknown = sorted(data.keys() - expected)
    parts = []
    if missing:
        parts.append("missing " + ", ".join(repr(m) for m in missing))
    if unknown:
        parts.append("unknown " + ", ".join(repr(u) for u in unknown))
    return "; ".join(parts)


def certificate_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    """PEM text of a chain exactly as Go's pem.Encode lays it out (Python matches it)."""
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)


def key_from_public_key(public_key: PublicKeyTypes) -> Key:
    """A plain key object (`ecdsa`, `rsa` or `ed25519`) for a `cryptography` public key."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return Key(ED25519, public_key.public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw))
    spki = public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return Key(ECDSA, spki)
    if isinstance(public_key, rsa.RSAPublicKey):
        return Key(RSA, spki)
    raise KeyFormatError(f"Notary has no key type for {type(public_key).__name__}")


def key_from_certificate(certificate: x509.Certificate,
                         intermediates: Sequence[x509.Certificate] = ()) -> Key:
    """An `ecdsa-x509`/`rsa-x509` key object for a certificate (and its chain), as Notary makes."""
    public_key = certificate.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        keytype = ECDSA_X509
    elif isinstance(public_key, rsa.RSAPublicKey):
        keytype = RSA_X509
    else:
        raise KeyFormatError("Notary certificates hold ECDSA or RSA keys only")
    return Key(keytype, certificate_pem([certificate, *intermediates]))
