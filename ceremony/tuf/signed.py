"""What every TUF 1.0 role is made of: the common `signed` fields, a role's key IDs and
threshold, a keys table. model.py (root, snapshot, timestamp, the envelope) and targets.py
(targets, delegations) both build on it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ceremony.tuf import fields as f
from ceremony.tuf.errors import TufError, TufFormatError
from ceremony.tuf.keys import Key

TOP_LEVEL_ROLES = ("root", "targets", "snapshot", "timestamp")
_ROLE_FIELDS = {"keyids", "threshold"}
SUPPORTED_MAJOR = "1"


@dataclass
class Signed:
    """The fields every role has; subclasses read the rest."""

    type: ClassVar[str] = ""
    spec_version: str
    version: int
    expires: str
    unrecognized: dict[str, Any]

    @property
    def expires_at(self) -> datetime:
        return _parse_expires(self.expires)

    @staticmethod
    def common(data: dict[str, Any], expected: str) -> dict[str, Any]:
        kind = f.take(data, "_type")
        if kind != expected:
            raise TufFormatError(f"is '{kind}', expected '{expected}'", field="_type")
        spec = f.take_str(data, "spec_version")
        parts = spec.split(".")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise TufFormatError(f"'{spec}' is not a version like 1.0.31", field="spec_version")
        if parts[0] != SUPPORTED_MAJOR:
            raise TufFormatError(f"specification version {spec} is not 1.x; this tool reads "
                                 "TUF 1.0 metadata", field="spec_version")
        version = f.take_int(data, "version", 1)
        expires = f.take_str(data, "expires")
        _parse_expires(expires)
        return {"spec_version": spec, "version": version, "expires": expires}

    def common_dict(self) -> dict[str, Any]:
        return {"_type": self.type, "spec_version": self.spec_version, "version": self.version,
                "expires": self.expires}


# strptime costs more than the rest of a small role's reading, and a chain of root versions
# (or any repository's roles) repeats one expiry many times: a refusal raises, so is never
# cached, and a datetime is immutable, so sharing one is safe.
_parse_expires = functools.lru_cache(maxsize=256)(f.parse_expires)


@dataclass
class Role:
    """A role's key IDs and threshold (root's `roles` entries, delegations' base)."""

    keyids: list[str]
    threshold: int
    unrecognized: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> Role:
        if type(data) is dict and data.keys() == _ROLE_FIELDS:  # the usual shape, checked here
            keyids, threshold = data["keyids"], data["threshold"]
            if type(keyids) is list and type(threshold) is int and threshold >= 1 and \
                    all(type(k) is str for k in keyids) and len(set(keyids)) == len(keyids):
                return cls(list(keyids), threshold, {})
        rest = dict(f.mapping(data))  # anything else: read field by field, which names a fault
        keyids = f.take_str_list(rest, "keyids", unique=True)
        threshold = f.take_int(rest, "threshold", 1)
        return cls(keyids, threshold, rest)

    def to_dict(self) -> dict[str, Any]:
        return {"keyids": self.keyids, "threshold": self.threshold, **self.unrecognized}


def read_keys(data: dict[str, Any], name: str = "keys") -> dict[str, Key]:
    raw = f.take_dict(data, name)
    keys = {}
    for keyid, value in raw.items():
        try:
            keys[keyid] = Key.from_dict(keyid, value)
        except TufError as exc:
            raise exc.located(prefix=name) from None
    return keys
