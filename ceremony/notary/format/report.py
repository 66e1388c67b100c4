"""What a verification found, as objects for the ceremony layer and as data for `--json`.

The JSON form (`RepositoryReport.to_dict`) is a stable interface documented in docs/verify.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ceremony.errors import MetadataError
from ceremony.notary.format.certs import common_name
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import Instant

REPORT_FORMAT = 1


class KeyReport:
    """A key with both of its IDs, labelled. Certificate details are read when first asked for."""

    def __init__(self, key_id: str, key: Key):
        self.key_id = key_id  # for certificates: the cert key ID (root.json, signatures, pinning)
        self.key = key
        self.keytype = key.keytype

    @classmethod
    def of(cls, key_id: str, key: Key) -> KeyReport:
        return cls(key_id, key)

    @cached_property
    def _details(self) -> tuple[str | None, str | None, str | None, str | None, str | None]:
        try:
            canonical = self.key.canonical_key_id
            if not self.key.is_certificate:
                return canonical, None, None, None, None
            leaf = self.key.certificates[0]
            return (canonical, common_name(leaf), _utc(leaf.not_valid_before_utc),
                    _utc(leaf.not_valid_after_utc), None)
        except MetadataError as exc:
            return None, None, None, None, exc.reason
        except Exception as exc:  # a certificate that parses but whose parts do not
            return None, None, None, None, f"unreadable certificate: {exc}"

    @property
    def canonical_key_id(self) -> str | None:
        """Notary's canonical key ID (`notary key list`); None if the key is unreadable."""
        return self._details[0]

    @property
    def common_name(self) -> str | None:
        return self._details[1]

    @property
    def not_before(self) -> str | None:
        return self._details[2]

    @property
    def not_after(self) -> str | None:
        return self._details[3]

    @property
    def problem(self) -> str | None:
        return self._details[4]

    def to_dict(self) -> dict[str, Any]:
        certificate = None
        if self.key.is_certificate and self.problem is None:
            certificate = {"common_name": self.common_name, "not_before": self.not_before,
                           "not_after": self.not_after}
        return {"key_id": self.key_id, "canonical_key_id": self.canonical_key_id,
                "keytype": self.keytype, "certificate": certificate, "problem": self.problem}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SignatureReport:
    """One signature of a file and whether it counted toward the role's threshold."""

    key_id: str
    method: str
    status: str  # "valid", "invalid", "ignored"
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "method": self.method, "status": self.status,
                "detail": self.detail}


@dataclass
class RoleReport:
    """A role: its file, version, expiry, keys, threshold and who signed it."""

    name: str
    file: str | None = None
    version: int | None = None
    expires: Instant | None = None
    threshold: int | None = None
    keys: list[KeyReport] = field(default_factory=list)
    signatures: list[SignatureReport] = field(default_factory=list)
    signed_by: list[str] = field(default_factory=list)
    verified: bool = False
    go_exact: bool | None = None
    parent: str | None = None  # delegations only
    paths: list[str] | None = None  # delegations only: paths as listed
    targets: int | None = None  # targets roles: targets it validly lists

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "role": self.name, "file": self.file, "version": self.version,
            "expires": str(self.expires) if self.expires is not None else None,
            "threshold": self.threshold, "keys": [key.to_dict() for key in self.keys],
            "signatures": [sig.to_dict() for sig in self.signatures],
            "signed_by": list(self.signed_by), "verified": self.verified,
            "go_exact": self.go_exact}
        if self.name.startswith("targets"):
            out["targets"] = self.targets
        if self.parent is not None:
            out["delegation"] = {"parent": self.parent, "paths": self.paths}
        return out


@dataclass
class RootVersionReport:
    """One root of the verified chain."""

    version: int
    file: str
    expires: Instant
    root_key_ids: list[str]
    threshold: int
    signed_by: list[str]  # its own root keys that signed it
    signed_by_previous: list[str] | None = None  # root keys of the version before it (rotation)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "file": self.file, "expires": str(self.expires),
                "root_key_ids": self.root_key_ids, "threshold": self.threshold,
                "signed_by": self.signed_by, "signed_by_previous": self.signed_by_previous}


@dataclass
class RepositoryReport:
    """Everything `verify_repository` established, plus every warning and error."""

    gun: str
    verified_at: Instant
    source: str = ""
    trust: str | None = None  # "pinned", "trusted-root" or "tofu"
    anchor_version: int | None = None
    pinned_cert_ids: list[str] = field(default_factory=list)
    root_chain: list[RootVersionReport] = field(default_factory=list)
    roles: list[RoleReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[MetadataError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def targets_count(self) -> int:
        return sum(role.targets or 0 for role in self.roles if role.verified)

    def role(self, name: str) -> RoleReport | None:
        for role in self.roles:
            if role.name == name:
                return role
        return None

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def raise_for_errors(self) -> None:
        """Raise the first error (a typed MetadataError) if verification failed."""
        if self.errors:
            raise self.errors[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT, "gun": self.gun, "source": self.source,
            "verified_at": str(self.verified_at), "ok": self.ok,
            "trust": {"mode": self.trust, "anchor_version": self.anchor_version,
                      "pinned_cert_ids": list(self.pinned_cert_ids)},
            "root_chain": [root.to_dict() for root in self.root_chain],
            "roles": [role.to_dict() for role in self.roles],
            "targets_count": self.targets_count,
            "warnings": list(self.warnings),
            "errors": [{"type": type(exc).__name__, "file": exc.file, "field": exc.field,
                        "message": str(exc)} for exc in self.errors],
        }
