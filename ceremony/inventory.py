"""Token and key inventory records kept in the workspace: public data only.

What a ceremony needs to find a key again and to show it to people -- token label and serial,
key label and CKA_ID, algorithm, both key IDs, public key and certificate PEM, the attributes
read back from the token as evidence -- and nothing that could be secret. Records are checked
when made: IDs are hex, PEM blocks parse as a public key or certificate, no string carries a
private key block or a registered secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

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


@dataclass(frozen=True)
class KeyRecord:
    """A key on a token, by what identifies it in Notary and on the token."""

    key_id: str  # TUF key ID as in root.json and signatures (the cert key ID for x509 keys)
    canonical_id: str  # Notary's canonical key ID (of the plain public key), as `notary` shows
    role: str  # root, targets, snapshot or a delegation name
    algorithm: str  # e.g. ecdsa-p256, rsa-3072
    token_serial: str
    token_label: str
    key_label: str  # CKA_LABEL
    pkcs11_id: str  # CKA_ID, hex
    public_key_pem: str
    cert_pem: str = ""  # root keys: the certificate root.json carries
    guns: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)  # e.g. CKA_LOCAL read back
    added: str = ""

    def __post_init__(self) -> None:
        for name in ("key_id", "canonical_id"):
            if not isinstance(getattr(self, name), str) or \
                    not _HEX64.fullmatch(getattr(self, name)):
                raise InventoryError(f"inventory: {name} must be 64 lowercase hex digits")
        try:
            validate_role(self.role)
            for gun in self.guns:
                validate_gun(gun)
        except InvalidName as exc:
            raise InventoryError(f"inventory: key {self.key_id[:12]}: {exc}") from None
        if not isinstance(self.guns, tuple):
            object.__setattr__(self, "guns", tuple(self.guns))
        for name in ("algorithm", "token_serial", "token_label", "key_label"):
            _text(getattr(self, name), name)
        _text(self.added, "key added time", required=False)
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
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyRecord:
        data = dict(data)
        data["guns"] = tuple(data.get("guns", ()))
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
