"""Token and key inventory records kept in the workspace: public data only.

What a ceremony needs to find a key again and to show it to people -- token label and serial,
key label and CKA_ID, algorithm, both key IDs, public key and certificate PEM, the attributes
read back from the token as evidence -- and nothing that could be secret. Records are checked
when made: IDs are hex, PEM blocks parse as a public key or certificate, no string carries a
private key block or a registered secret.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from ceremony.errors import CeremonyError
from ceremony.secrets import SecretLeakError, check_no_secret
from groundfloor.names import InvalidName, validate_gun, validate_role

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_TEXT_MAX = 256


class InventoryError(CeremonyError):
    """An inventory record that cannot be stored; the message says which field and why."""


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InventoryError(f"inventory: {name} must be a string")
    if required and not value:
        raise InventoryError(f"inventory: {name} is empty")
    if len(value) > _TEXT_MAX or not value.isprintable():
        raise InventoryError(f"inventory: {name} must be printable and at most {_TEXT_MAX} "
                             "characters")
    return value


def _check_public(record: Mapping[str, Any], what: str) -> None:
    try:
        check_no_secret(dict(record), what)
    except SecretLeakError as exc:
        raise InventoryError(str(exc)) from None
    for value in _strings(record):
        if "PRIVATE KEY" in value:
            raise InventoryError(f"refusing to store {what}: it contains a private key block "
                                 "(the inventory holds public data only)")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


@dataclass(frozen=True)
class TokenRecord:
    """A PKCS#11 token as it identifies itself."""

    serial: str
    label: str
    manufacturer: str = ""
    model: str = ""
    added: str = ""

    def __post_init__(self) -> None:
        _text(self.serial, "token serial")
        _text(self.label, "token label")
        _text(self.manufacturer, "token manufacturer", required=False)
        _text(self.model, "token model", required=False)
        _text(self.added, "token added time", required=False)
        _check_public(asdict(self), f"token {self.label}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenRecord:
        return cls(**dict(data))


# The trust systems whose keys the inventory holds. "notary" is the default and is never
# written, so Notary records made before the field existed read and hash as they did.
SYSTEMS = ("notary", "tuf", "notation")
NOTATION_ROLES = ("root-ca", "intermediate-ca", "signing")


def _check_role(system: str, role: str, names: tuple[str, ...]) -> None:
    """Role and names checked by the rules of the key's own system."""
    if system == "notary":
        validate_role(role)
        for gun in names:
            validate_gun(gun)
        return
    if system == "notation" and role not in NOTATION_ROLES:
        raise InvalidName(f"notation role must be one of {', '.join(NOTATION_ROLES)}")
    _text(role, "role")  # TUF: a top-level role or any delegation name the repository uses
    for name in names:
        _text(name, f"{system} name")


@dataclass(frozen=True)
class KeyRecord:
    """A key on a token, by what identifies it in its trust system and on the token.

    Notary (system "notary", the default): key_id is the TUF key ID as in root.json,
    canonical_id Notary's canonical key ID, guns the GUNs. TUF 1.0 ("tuf"): key_id is the
    key ID as the repository's root lists it, canonical_id the SHA-256 of the key's
    SubjectPublicKeyInfo DER, guns the repository names. Notation ("notation"): key_id and
    canonical_id are both the SHA-256 of the SPKI DER (the key, not a certificate: the key
    in custody outlives the certificates issued for it), guns the CA names and certificate
    subjects the key serves.
    """

    key_id: str  # the system's own key ID (see above)
    canonical_id: str  # Notary: canonical key ID; others: SHA-256 of the SPKI DER
    role: str  # Notary/TUF: root, targets, snapshot, timestamp or a delegation name;
    # notation: root-ca, intermediate-ca or signing
    algorithm: str  # e.g. ecdsa-p256, rsa-3072
    token_serial: str
    token_label: str
    key_label: str  # CKA_LABEL
    pkcs11_id: str  # CKA_ID, hex
    public_key_pem: str
    cert_pem: str = ""  # root keys: the certificate root.json carries
    # What the key serves (`names`): stored as "guns" for every system, Notary's word kept
    # because the records on disk and their digests carry it; the field is not renamed.
    guns: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)  # e.g. CKA_LOCAL read back
    added: str = ""
    system: str = "notary"
    last_used: str = ""  # when a ceremony last signed with it (TUF sign-request); "" unknown

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise InventoryError(f"inventory: system must be one of {', '.join(SYSTEMS)}")
        for name in ("key_id", "canonical_id"):
            if not isinstance(getattr(self, name), str) or \
                    not _HEX64.fullmatch(getattr(self, name)):
                raise InventoryError(f"inventory: {name} must be 64 lowercase hex digits")
        try:
            _check_role(self.system, self.role, tuple(self.guns))
        except InvalidName as exc:
            raise InventoryError(f"inventory: key {self.key_id[:12]}: {exc}") from None
        if not isinstance(self.guns, tuple):
            object.__setattr__(self, "guns", tuple(self.guns))
        for name in ("algorithm", "token_serial", "token_label", "key_label"):
            _text(getattr(self, name), name)
        _text(self.added, "key added time", required=False)
        _text(self.last_used, "key last used time", required=False)
        if not isinstance(self.pkcs11_id, str) or not _HEX.fullmatch(self.pkcs11_id):
            raise InventoryError("inventory: pkcs11_id must be lowercase hex")
        if not isinstance(self.evidence, Mapping):
            raise InventoryError("inventory: evidence must be a mapping")
        _check_public(self.to_dict(), f"key {self.key_id[:12]}")
        try:
            load_pem_public_key(self.public_key_pem.encode("ascii"))
            if self.cert_pem:
                x509.load_pem_x509_certificate(self.cert_pem.encode("ascii"))
        except (ValueError, TypeError, UnicodeEncodeError, AttributeError):
            raise InventoryError(f"inventory: key {self.key_id[:12]} has a public key or "
                                 "certificate PEM that does not parse") from None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["guns"] = list(self.guns)
        data["evidence"] = dict(self.evidence)
        if self.system == "notary":
            del data["system"]  # Notary records stay byte-identical to those made before
        if not self.last_used:
            del data["last_used"]  # likewise every record no signing ceremony touched
        return data

    @property
    def names(self) -> tuple[str, ...]:
        """What the key serves in its system: GUNs, TUF repositories or CA names/subjects."""
        return self.guns

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyRecord:
        data = dict(data)
        data["guns"] = tuple(data.get("guns", ()))
        data.setdefault("system", "notary")
        return cls(**data)


@dataclass(frozen=True)
class RetiredKey:
    """A key taken out of use (rotated after compromise, lost token...), and why."""

    key: KeyRecord
    reason: str
    retired_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key.to_dict(), "reason": self.reason, "retired_at": self.retired_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetiredKey:
        return cls(KeyRecord.from_dict(data["key"]), data["reason"], data["retired_at"])



def spki_sha256(public_key: Any) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo DER, hex: the TUF and notation records'
    canonical ID (and notation's key ID), the same fingerprint notation reviews show."""
    return hashlib.sha256(public_key.public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def token_key_record(ws: Any, tokens: Any, *, system: str, key_id: str, role: str,
                     names: list[str], token: Any, info: Any, cert_pem: str = "") -> KeyRecord:
    """The record of a key on a token for a TUF or notation ceremony: public data and the
    custody evidence read back from the token (CKA_LOCAL, NEVER_EXTRACTABLE...), the names it
    serves merged with those the workspace already lists for it."""
    existing = ws.key(key_id)
    merged = sorted(set(names) | set(existing.guns if existing is not None else ()))
    custody = tokens.custody(token, info).get("custody") or {}
    pem = info.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return KeyRecord(key_id=key_id, canonical_id=spki_sha256(info.public_key), role=role,
                     algorithm=info.algorithm, token_serial=token.info.serial,
                     token_label=token.label, key_label=info.label, pkcs11_id=info.id.hex(),
                     public_key_pem=pem.decode("ascii"), cert_pem=cert_pem,
                     guns=tuple(merged), evidence=custody, system=system)


def listing(ws: Any, *, retired: bool = False, token_label: str | None = None) -> list[dict]:
    """The workspace's key inventory as rows for people and auditors: which key on which token
    serves what in which trust system, and (with `retired`) which keys were retired and why."""
    rows = [{**_row(k), "retired": False} for k in ws.keys()]
    if retired:
        rows += [{**_row(r.key), "retired": True, "reason": r.reason,
                  "retired_at": r.retired_at} for r in ws.retired_keys()]
    if token_label is not None:
        rows = [r for r in rows if r["token"] == token_label]
    return sorted(rows, key=lambda r: (r["retired"], r["system"], r["role"], r["key_id"]))


def _row(k: KeyRecord) -> dict[str, Any]:
    return {"system": k.system, "role": k.role, "key_id": k.key_id,
            "canonical_id": k.canonical_id, "algorithm": k.algorithm, "token": k.token_label,
            "token_serial": k.token_serial, "key_label": k.key_label, "names": list(k.guns),
            "custody": dict(k.evidence), "added": k.added, "last_used": k.last_used}
