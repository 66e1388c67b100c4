"""TUF 1.0 targets metadata: target files and delegations (explicit roles with `paths` or
`path_hash_prefixes`, or succinct hash-bin roles), as python-tuf reads and writes them."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ceremony.tuf import fields as f
from ceremony.tuf.errors import TufError, TufFormatError
from ceremony.tuf.keys import Key
from ceremony.tuf.signed import TOP_LEVEL_ROLES, Role, Signed, read_keys
from ceremony.tuf.targetmap import TargetFile, TargetMap  # TargetFile: one entry of the map


@dataclass
class DelegatedRole(Role):
    name: str = ""
    terminating: bool = False
    paths: list[str] | None = None
    path_hash_prefixes: list[str] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> DelegatedRole:
        rest = dict(f.mapping(data))
        name = f.take_str(rest, "name")
        terminating = f.take_bool(rest, "terminating")
        paths = f.take_str_list(rest, "paths", default=None)
        prefixes = f.take_str_list(rest, "path_hash_prefixes", default=None)
        if (paths is None) == (prefixes is None):
            raise TufFormatError("needs exactly one of 'paths' and 'path_hash_prefixes'",
                                 field=name)
        base = Role.from_dict(rest)
        return cls(base.keyids, base.threshold, base.unrecognized, name, terminating, paths,
                   prefixes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "keyids": self.keyids,
                               "threshold": self.threshold, "terminating": self.terminating}
        if self.paths is not None:
            out["paths"] = self.paths
        if self.path_hash_prefixes is not None:
            out["path_hash_prefixes"] = self.path_hash_prefixes
        return {**out, **self.unrecognized}

    def is_delegated_path(self, target_path: str) -> bool:
        """Whether this role may list `target_path` (python-tuf's and the spec's rule: a
        pattern matches part by part, `*` never crosses `/`)."""
        if self.path_hash_prefixes is not None:
            digest = hashlib.sha256(target_path.encode("utf-8")).hexdigest()
            return any(digest.startswith(p) for p in self.path_hash_prefixes)
        target_parts = target_path.split("/")
        for pattern in self.paths or []:
            parts = pattern.split("/")
            if len(parts) == len(target_parts) and all(
                    fnmatch.fnmatchcase(t, p) for t, p in zip(target_parts, parts, strict=True)):
                return True
        return False


@dataclass
class SuccinctRoles(Role):
    """Hash-bin delegation in one entry (TAP 15): bins `<prefix>-<hex>`."""

    bit_length: int = 1
    name_prefix: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> SuccinctRoles:
        rest = dict(f.mapping(data))
        bit_length = f.take_int(rest, "bit_length", 1)
        if bit_length > 32:
            raise TufFormatError("must be between 1 and 32", field="bit_length")
        prefix = f.take_str(rest, "name_prefix")
        base = Role.from_dict(rest)
        return cls(base.keyids, base.threshold, base.unrecognized, bit_length, prefix)

    def to_dict(self) -> dict[str, Any]:
        return {"keyids": self.keyids, "threshold": self.threshold,
                "bit_length": self.bit_length, "name_prefix": self.name_prefix,
                **self.unrecognized}

    @property
    def suffix_len(self) -> int:
        return len(f"{2 ** self.bit_length - 1:x}")

    def role_for_target(self, target_path: str) -> str:
        head = hashlib.sha256(target_path.encode("utf-8")).digest()[:4]
        number = int.from_bytes(head, "big") >> (32 - self.bit_length)
        return f"{self.name_prefix}-{number:0{self.suffix_len}x}"

    def is_delegated_role(self, name: str) -> bool:
        prefix = self.name_prefix + "-"
        suffix = name[len(prefix):]
        if not name.startswith(prefix) or len(suffix) != self.suffix_len:
            return False
        try:
            return int(suffix, 16) < 2 ** self.bit_length and suffix == suffix.lower()
        except ValueError:
            return False

    def roles(self) -> Iterator[str]:
        for i in range(2 ** self.bit_length):
            yield f"{self.name_prefix}-{i:0{self.suffix_len}x}"


@dataclass
class Delegations:
    keys: dict[str, Key]
    roles: dict[str, DelegatedRole] | None = None
    succinct_roles: SuccinctRoles | None = None
    unrecognized: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> Delegations:
        rest = dict(f.mapping(data))
        keys = read_keys(rest)
        raw_roles = f.take(rest, "roles", None)
        raw_succinct = f.take(rest, "succinct_roles", None)
        if (raw_roles is None) == (raw_succinct is None):
            raise TufFormatError("needs exactly one of 'roles' and 'succinct_roles'")
        roles = None
        succinct = None
        if raw_roles is not None:
            roles = {}
            for i, item in enumerate(f.READ.array(raw_roles, "roles")):
                try:
                    role = DelegatedRole.from_dict(item)
                except TufError as exc:
                    raise exc.located(prefix=f"roles[{i}]") from None
                if role.name in roles or role.name in TOP_LEVEL_ROLES:
                    raise TufFormatError(f"role name '{role.name}' is used twice or is a "
                                         "top-level role", field=f"roles[{i}].name")
                roles[role.name] = role
        else:
            try:
                succinct = SuccinctRoles.from_dict(raw_succinct)
            except TufError as exc:
                raise exc.located(prefix="succinct_roles") from None
        for role in [*(roles or {}).values(), *([succinct] if succinct else [])]:
            for keyid in role.keyids:
                if keyid not in keys:
                    raise TufFormatError(f"key ID {keyid} is not in the delegation's keys",
                                         field="roles")
        return cls(keys, roles, succinct, rest)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"keys": {k: v.to_dict() for k, v in self.keys.items()}}
        if self.roles is not None:
            out["roles"] = [r.to_dict() for r in self.roles.values()]
        if self.succinct_roles is not None:
            out["succinct_roles"] = self.succinct_roles.to_dict()
        return {**out, **self.unrecognized}

    def role_names(self, listed: set[str] | None = None) -> list[str]:
        """Delegated role names, in order; for succinct roles those bins in `listed`
        (snapshot's meta) -- a repository may leave empty bins out."""
        if self.roles is not None:
            return list(self.roles)
        assert self.succinct_roles is not None
        if listed is None:
            return list(self.succinct_roles.roles())
        return sorted(n for n in listed if self.succinct_roles.is_delegated_role(n))

    def role(self, name: str) -> Role:
        if self.roles is not None:
            return self.roles[name]
        assert self.succinct_roles is not None
        return self.succinct_roles


@dataclass
class Targets(Signed):
    type: ClassVar[str] = "targets"
    targets: dict[str, TargetFile] | TargetMap = field(default_factory=dict)
    delegations: Delegations | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Targets:
        rest = dict(data)
        common = cls.common(rest, cls.type)
        # every entry checked now, its TargetFile built when used (targetmap.py)
        targets = TargetMap.read(f.take_dict(rest, "targets"))
        raw_delegations = f.take(rest, "delegations", None)
        delegations = None
        if raw_delegations is not None:
            try:
                delegations = Delegations.from_dict(raw_delegations)
            except TufError as exc:
                raise exc.located(prefix="delegations") from None
        return cls(**common, unrecognized=rest, targets=targets, delegations=delegations)

    def to_dict(self) -> dict[str, Any]:
        out = {**self.common_dict(),
               "targets": self.targets.raw() if isinstance(self.targets, TargetMap) else
               {k: v.to_dict() for k, v in self.targets.items()}}
        if self.delegations is not None:
            out["delegations"] = self.delegations.to_dict()
        return {**out, **self.unrecognized}
