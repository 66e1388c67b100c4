"""The Notary metadata model: one class per role, symmetric from_dict/to_dict.

`from_dict` reads the JSON data model (as parsed by `encoding.parse_json`) strictly: every field
Notary writes must be there with the right type, and nothing else may be. Errors are
MetadataFormatError with the field path relative to the object; containers prefix their part,
the reader adds the file name. `to_dict` gives the structure whose canonical encoding is exactly
what Notary signs and writes. Bytes are not this module's business (see encoding/serialization).

Shapes (tuf/data/*.go):
  Root      {"_type":"Root","consistent_snapshot":b,"expires":t,"keys":{id:KEY},
             "roles":{"root"|"targets"|"snapshot"|"timestamp":{"keyids":[..],"threshold":n}},
             "version":n}
  Targets   {"_type":"Targets","delegations":{"keys":{id:KEY},"roles":[{"keyids","name",
             "paths"?,"threshold"}]},"expires":t,"targets":{name:FILEMETA},"version":n}
  Snapshot  {"_type":"Snapshot","expires":t,"meta":{role:FILEMETA},"version":n}
  Timestamp {"_type":"Timestamp","expires":t,"meta":{"snapshot":FILEMETA},"version":n}
  FILEMETA  {"custom"?:json,"hashes":{alg:b64},"length":n}
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, ClassVar, Generic, TypeVar

from ceremony.errors import MetadataFormatError, RoleTypeError
from ceremony.notary.format.encoding import (
    MAX_SAFE_INT,
    Columns,
    b64_all_clean,
    b64decode,
    b64decode_all,
    b64encode,
    join_path,
    parse_time_offset,
)
from ceremony.notary.format.instant import Instant
from ceremony.notary.format.keys import Key
from groundfloor.strictjson import Reader

ROOT, TARGETS, SNAPSHOT, TIMESTAMP = "root", "targets", "snapshot", "timestamp"
TOP_LEVEL_ROLES = (ROOT, TARGETS, SNAPSHOT, TIMESTAMP)
HASH_SIZES = {"sha256": 32, "sha512": 64}


# --- small strict readers -----------------------------------------------------------------------

def _fail(where: str, problem: str) -> MetadataFormatError:
    return MetadataFormatError(problem, field=where or None)


# The one strict reader (groundfloor.strictjson), speaking as this model does: paths relative
# to the object being read (containers prefix theirs), a missing or unknown field named in it.
_READ = Reader(_fail, join=join_path, key_in_path=True,
               unknown_hint=" (Notary does not write it)")
_str = _READ.string
_str_list = _READ.strings


def _fields(data: Any, required: tuple[str, ...], optional: tuple[str, ...] = (),
            what: str = "an object") -> None:
    _READ.fields(data, "", required, optional, what)


def _int(value: Any, name: str, minimum: int) -> int:
    return _READ.integer(value, name, minimum=minimum, maximum=MAX_SAFE_INT,
                         too_large="Notary can verify (2**53)")


def _keys(value: Any, name: str) -> dict[str, Key]:
    keys = {}
    for keyid, data in _READ.mapping(value, name).items():
        try:
            keys[keyid] = Key.from_dict(data, "")
        except MetadataFormatError as exc:
            raise exc.under(join_path(name, keyid)) from None
    return keys


def _check_json_value(value: Any, path: str = "") -> None:
    """A free-form value (a target's `custom`) must be encodable the way Notary verifies it."""
    if value is None or type(value) in (bool, str):
        return
    if type(value) is int:
        if abs(value) > MAX_SAFE_INT:
            raise MetadataFormatError(f"{value} is larger than Notary can verify (2**53)",
                                      field=path or None)
        return
    if type(value) is list:
        for i, item in enumerate(value):
            _check_json_value(item, f"{path}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise MetadataFormatError("object keys must be strings", field=path or None)
            _check_json_value(item, join_path(path, key))
        return
    raise MetadataFormatError(f"{type(value).__name__} is not a JSON integer, string, boolean, "
                              "null, array or object", field=path or None)


# --- values -------------------------------------------------------------------------------------

def _instant(value: Any, name: str) -> Instant:
    _READ.string(value, name, what="a time string")
    try:
        return Instant(*parse_time_offset(value))
    except ValueError as exc:
        raise MetadataFormatError(f"{value!r}: {exc}", field=name) from None


@dataclass(slots=True)
class Signature:
    """One entry of a file's `signatures` (outside the signed part)."""

    keyid: str
    method: str
    sig: bytes

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        _fields(data, ("keyid", "method", "sig"), what="a signature object")
        keyid = _str(data["keyid"], "keyid")
        # Go lower-cases the method when it reads a signature (tuf/data/types.go).
        method = _str(data["method"], "method").lower()
        try:
            sig = b64decode(data["sig"])
        except ValueError as exc:
            raise MetadataFormatError(str(exc), field="sig") from None
        return cls(keyid, method, sig)

    def to_dict(self) -> dict[str, Any]:
        return {"keyid": self.keyid, "method": self.method, "sig": b64encode(self.sig)}


@dataclass(slots=True)
class Role:
    """A top-level role as root.json lists it: its keys and threshold."""

    keyids: list[str]
    threshold: int

    @classmethod
    def from_dict(cls, data: Any) -> Role:
        _fields(data, ("keyids", "threshold"))
        return cls(_str_list(data["keyids"], "keyids"), _int(data["threshold"], "threshold", 1))

    def to_dict(self) -> dict[str, Any]:
        return {"keyids": list(self.keyids), "threshold": self.threshold}


@dataclass(slots=True)
class DelegatedRole:
    """A delegation as its parent targets file lists it. `paths` [""] means every path."""

    name: str
    keyids: list[str]
    threshold: int
    paths: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> DelegatedRole:
        _fields(data, ("keyids", "name", "threshold"), ("paths",))
        paths: list[str] = []
        if "paths" in data:
            paths = _str_list(data["paths"], "paths")
            if not paths:  # Go omits empty paths (omitempty); it never writes "paths":[]
                raise MetadataFormatError('"paths": [] is never written by Notary (it omits '
                                          "the field)", field="paths")
        return cls(_str(data["name"], "name"), _str_list(data["keyids"], "keyids"),
                   _int(data["threshold"], "threshold", 1), paths)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"keyids": list(self.keyids), "name": self.name,
                               "threshold": self.threshold}
        if self.paths:
            out["paths"] = list(self.paths)
        return out


@dataclass(slots=True)
class Delegations:
    """A targets file's delegations: always present, possibly empty."""

    keys: dict[str, Key] = field(default_factory=dict)
    roles: list[DelegatedRole] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> Delegations:
        _fields(data, ("keys", "roles"))
        keys = _keys(data["keys"], "keys")
        raw_roles = _READ.array(data["roles"], "roles")
        roles = []
        for i, item in enumerate(raw_roles):
            try:
                role = DelegatedRole.from_dict(item)
            except MetadataFormatError as exc:
                raise exc.under(f"roles[{i}]") from None
            for keyid in role.keyids:
                if keyid not in keys:
                    raise MetadataFormatError(
                        f"key ID {keyid} listed for {role.name} has no key in delegations.keys",
                        field=f"roles[{i}].keyids")
            roles.append(role)
        return cls(keys, roles)

    def to_dict(self) -> dict[str, Any]:
        return {"keys": {keyid: key.to_dict() for keyid, key in self.keys.items()},
                "roles": [role.to_dict() for role in self.roles]}

    def role(self, name: str) -> DelegatedRole | None:
        """The first role of that name (Go uses the first one too)."""
        for role in self.roles:
            if role.name == name:
                return role
        return None


_NO_CUSTOM: Any = object()


@dataclass(slots=True)
class FileMeta:
    """Length and hashes of a file (a target, or a metadata file in snapshot/timestamp)."""

    length: int
    hashes: dict[str, bytes]
    custom: Any = _NO_CUSTOM  # any JSON value, or absent

    @property
    def has_custom(self) -> bool:
        return self.custom is not _NO_CUSTOM

    @classmethod
    def from_dict(cls, data: Any) -> FileMeta:
        # The hot path of big targets files (100,000 entries): the usual shape is checked
        # inline; anything else goes through the general checks, which name the problem.
        if type(data) is dict and len(data) == 2:
            length, raw = data.get("length"), data.get("hashes")
            if type(length) is int and 0 <= length <= MAX_SAFE_INT and type(raw) is dict:
                hashes = b64decode_all(raw)
                if hashes is not None:
                    return cls(length, hashes)
        _fields(data, ("hashes", "length"), ("custom",))
        length = _int(data["length"], "length", 0)
        raw = _READ.mapping(data["hashes"], "hashes")
        hashes = {}
        for name, text in raw.items():
            try:
                hashes[name] = b64decode(text)
            except ValueError as exc:
                raise MetadataFormatError(str(exc), field=join_path("hashes", name)) from None
        custom = data.get("custom", _NO_CUSTOM)
        if custom is not _NO_CUSTOM:
            if custom is None:  # Go reads null as "absent" and would drop it
                raise MetadataFormatError('"custom": null is never written by Notary',
                                          field="custom")
            _check_json_value(custom, "custom")
        return cls(length, hashes, custom)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hashes": {name: b64encode(value)
                                          for name, value in self.hashes.items()},
                               "length": self.length}
        if self.custom is not _NO_CUSTOM:
            out["custom"] = self.custom
        return out


def _files(value: Any, name: str) -> dict[str, FileMeta]:
    files = {}
    from_dict = FileMeta.from_dict
    for path, data in _READ.mapping(value, name).items():
        try:
            files[path] = from_dict(data)
        except MetadataFormatError as exc:
            raise exc.under(join_path(name, path)) from None
    return files


class TargetFiles(MutableMapping[str, FileMeta]):
    """The targets of a targets file read from bytes: name -> FileMeta, like a dict.

    A big targets file lists 100,000s of targets and verification only needs their names. Every
    entry is checked when the file is read; the FileMeta of a plain entry (hashes and length) is
    made from the checked JSON when first looked up. Equal to a dict with the same items.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: dict[str, Any]):
        # name -> FileMeta, or the checked JSON object {"hashes": {alg: base64}, "length": n}
        self._entries = entries

    def __getitem__(self, name: str) -> FileMeta:
        entry = self._entries[name]
        if type(entry) is dict:
            a2b = binascii.a2b_base64
            entry = self._entries[name] = FileMeta(
                entry["length"], {alg: a2b(text) for alg, text in entry["hashes"].items()})
        return entry

    def __setitem__(self, name: str, meta: FileMeta) -> None:
        self._entries[name] = meta

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"

    def copy(self) -> dict[str, FileMeta]:
        return dict(self.items())


ColumnsOf = Callable[[Any], Columns | None]


def _target_files(value: Any, name: str, columns_of: ColumnsOf | None = None) -> TargetFiles:
    """A targets file's `targets`, checked as _files checks them, in bulk when it can.

    With `columns_of` the value comes from the reader's own parse, which the model may keep;
    otherwise it belongs to the caller and is copied."""
    if type(value) is dict and _plain_entries_valid(value, columns_of):
        return TargetFiles(value if columns_of is not None else dict(value))
    return TargetFiles(_files(value, name))


def _plain_entries_valid(value: dict[str, Any], columns_of: ColumnsOf | None = None) -> bool:
    """Whether every entry is {"hashes": {alg: base64}, "length": n} that FileMeta.from_dict
    accepts. The checks are done a field at a time over all entries by builtins, with the
    columns the parser made when it has them; False means "check each entry" (which names the
    problem, or accepts entries with `custom`)."""
    known = columns_of(value) if columns_of is not None and value else None
    if known is not None:
        if sorted(known.keys) != ["hashes", "length"] or known.kinds["length"] != {int} \
                or known.kinds["hashes"] != {dict}:
            return False
        lengths, hashes = known.values["length"], known.values["hashes"]
        if min(lengths) < 0 or max(lengths) > MAX_SAFE_INT:
            return False
        by_algorithm = columns_of(hashes)  # type: ignore[misc]
        if by_algorithm is not None:
            return all(map(b64_all_clean, by_algorithm.values.values()))
        return b64_all_clean(list(chain.from_iterable(map(dict.values, hashes))))
    entries = list(value.values())
    try:  # every entry an object with these two fields (itemgetter refuses anything else)
        lengths = list(map(itemgetter("length"), entries))
        hashes = list(map(itemgetter("hashes"), entries))
    except (KeyError, TypeError):
        return False
    if entries and set(map(len, entries)) != {2}:
        return False
    if lengths and (set(map(type, lengths)) != {int} or min(lengths) < 0
                    or max(lengths) > MAX_SAFE_INT):
        return False
    if not hashes:
        return True
    if set(map(type, hashes)) != {dict}:
        return False
    if len(set(map(len, hashes))) == 1:  # usually the same algorithms everywhere: by algorithm
        try:
            columns = [list(map(itemgetter(alg), hashes)) for alg in hashes[0]]
        except KeyError:
            pass
        else:
            return all(map(b64_all_clean, columns))
    return b64_all_clean(list(chain.from_iterable(map(dict.values, hashes))))


def _check_hash_sizes(meta: FileMeta, name: str, required: str = "sha256") -> None:
    """Go's CheckValidHashStructures plus the sha256 it requires in snapshot/timestamp."""
    if required not in meta.hashes:
        raise MetadataFormatError(f"missing the {required} hash Notary requires",
                                  field=f"{name}.hashes")
    for alg, size in HASH_SIZES.items():
        if alg in meta.hashes and len(meta.hashes[alg]) != size:
            raise MetadataFormatError(f"a {alg} hash is {size} bytes, not "
                                      f"{len(meta.hashes[alg])}", field=f"{name}.hashes.{alg}")


# --- roles ----------------------------------------------------------------------------------------

class _Signed:
    """What every signed part has: type, version, expiry."""

    __slots__ = ()
    TYPE: ClassVar[str]
    ROLE: ClassVar[str]
    version: int
    expires: Instant

    @classmethod
    def _common(cls, data: Any, required: tuple[str, ...]) -> tuple[int, Instant]:
        _READ.mapping(data, "")
        if "_type" in data and data["_type"] != cls.TYPE:
            found = data["_type"]
            _READ.string(found, "_type")
            raise RoleTypeError(f"is {found!r}, expected {cls.TYPE!r}"
                                + (f" (a {found} file where {cls.ROLE} belongs?)"
                                   if found in _TYPES else ""), field="_type")
        _fields(data, required)
        return _int(data["version"], "version", 1), _instant(data["expires"], "expires")

    def _common_dict(self) -> dict[str, Any]:
        return {"_type": self.TYPE, "expires": str(self.expires), "version": self.version}


@dataclass(slots=True)
class Root(_Signed):
    TYPE: ClassVar[str] = "Root"
    ROLE: ClassVar[str] = ROOT

    version: int
    expires: Instant
    keys: dict[str, Key]
    roles: dict[str, Role]
    consistent_snapshot: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> Root:
        version, expires = cls._common(
            data, ("_type", "consistent_snapshot", "expires", "keys", "roles", "version"))
        consistent = _READ.boolean(data["consistent_snapshot"], "consistent_snapshot")
        keys = _keys(data["keys"], "keys")
        raw_roles = _READ.mapping(data["roles"], "roles")
        roles = {}
        for name in TOP_LEVEL_ROLES:
            if name not in raw_roles:
                raise MetadataFormatError(f"missing the {name} role", field="roles")
        for name, item in raw_roles.items():
            if name not in TOP_LEVEL_ROLES:
                raise MetadataFormatError("root lists only root, targets, snapshot and "
                                          "timestamp", field=join_path("roles", name))
            try:
                roles[name] = Role.from_dict(item)
            except MetadataFormatError as exc:
                raise exc.under(join_path("roles", name)) from None
            for keyid in roles[name].keyids:
                if keyid not in keys:
                    raise MetadataFormatError(f"key ID {keyid} has no key in keys",
                                              field=f"roles.{name}.keyids")
        return cls(version, expires, keys, roles, consistent)

    def to_dict(self) -> dict[str, Any]:
        out = self._common_dict()
        out["consistent_snapshot"] = self.consistent_snapshot
        out["keys"] = {keyid: key.to_dict() for keyid, key in self.keys.items()}
        out["roles"] = {name: role.to_dict() for name, role in self.roles.items()}
        return out

    def role_keys(self, role: str) -> dict[str, Key]:
        """The keys root lists for a top-level role, by key ID."""
        if role not in self.roles:
            raise MetadataFormatError(f"root lists no {role} role", field="roles")
        missing = [keyid for keyid in self.roles[role].keyids if keyid not in self.keys]
        if missing:
            raise MetadataFormatError(f"key ID {missing[0]} has no key in keys",
                                      field=f"roles.{role}.keyids")
        return {keyid: self.keys[keyid] for keyid in self.roles[role].keyids}


@dataclass(slots=True)
class Targets(_Signed):
    TYPE: ClassVar[str] = "Targets"
    ROLE: ClassVar[str] = TARGETS

    version: int
    expires: Instant
    # a dict when built in code; a TargetFiles (a mapping made on demand) when read
    targets: MutableMapping[str, FileMeta] = field(default_factory=dict)
    delegations: Delegations = field(default_factory=Delegations)

    @classmethod
    def from_dict(cls, data: Any, columns_of: ColumnsOf | None = None) -> Targets:
        """`columns_of`: what the parser learnt of big containers (ParsedJSON.columns_of); the
        model may then keep parts of `data`."""
        version, expires = cls._common(
            data, ("_type", "delegations", "expires", "targets", "version"))
        try:
            delegations = Delegations.from_dict(data["delegations"])
        except MetadataFormatError as exc:
            raise exc.under("delegations") from None
        return cls(version, expires, _target_files(data["targets"], "targets", columns_of),
                   delegations)

    def to_dict(self) -> dict[str, Any]:
        out = self._common_dict()
        out["delegations"] = self.delegations.to_dict()
        out["targets"] = {name: meta.to_dict() for name, meta in self.targets.items()}
        return out


@dataclass(slots=True)
class _MetaRole(_Signed):
    """Snapshot and timestamp: a list of metadata files (`meta`) and nothing else."""

    version: int
    expires: Instant
    meta: dict[str, FileMeta] = field(default_factory=dict)

    @classmethod
    def _read(cls, data: Any) -> tuple[int, Instant, dict[str, FileMeta]]:
        version, expires = cls._common(data, ("_type", "expires", "meta", "version"))
        return version, expires, _files(data["meta"], "meta")

    def to_dict(self) -> dict[str, Any]:
        out = self._common_dict()
        out["meta"] = {name: meta.to_dict() for name, meta in self.meta.items()}
        return out


@dataclass(slots=True)
class Snapshot(_MetaRole):
    TYPE: ClassVar[str] = "Snapshot"
    ROLE: ClassVar[str] = SNAPSHOT

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        version, expires, meta = cls._read(data)
        for role in (ROOT, TARGETS):  # IsValidSnapshotStructure
            if role not in meta:
                raise MetadataFormatError(f"missing the {role} entry", field="meta")
        for role, item in meta.items():
            _check_hash_sizes(item, join_path("meta", role))
        return cls(version, expires, meta)


@dataclass(slots=True)
class Timestamp(_MetaRole):
    TYPE: ClassVar[str] = "Timestamp"
    ROLE: ClassVar[str] = TIMESTAMP

    @classmethod
    def from_dict(cls, data: Any) -> Timestamp:
        version, expires, meta = cls._read(data)
        if set(meta) != {SNAPSHOT}:
            raise MetadataFormatError('expected exactly one entry, "snapshot"', field="meta")
        _check_hash_sizes(meta[SNAPSHOT], "meta.snapshot")
        return cls(version, expires, meta)


_TYPES: dict[str, type[Root | Targets | Snapshot | Timestamp]] = {
    "Root": Root, "Targets": Targets, "Snapshot": Snapshot, "Timestamp": Timestamp}

SignedT = TypeVar("SignedT", Root, Targets, Snapshot, Timestamp)
AnySigned = Root | Targets | Snapshot | Timestamp


@dataclass(slots=True)
class Metadata(Generic[SignedT]):
    """The signed envelope: a role's signed part and the signatures over its canonical bytes."""

    signed: SignedT
    signatures: list[Signature] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, expected: type[SignedT] | None = None, *,
                  columns_of: ColumnsOf | None = None) -> Metadata[Any]:
        """Read an envelope; `expected` is the role class the file must hold. `columns_of`:
        what the parser learnt of big containers (ParsedJSON.columns_of), to check faster; the
        model may then keep parts of `data`."""
        _fields(data, ("signed", "signatures"), what="a metadata object")
        signed_data = data["signed"]
        if expected is None:
            found = signed_data.get("_type") if type(signed_data) is dict else None
            if type(found) is not str or found not in _TYPES:
                raise MetadataFormatError(
                    f"unknown _type {found!r} (expected Root, Targets, Snapshot or Timestamp)",
                    field="signed._type")
            expected = _TYPES[found]  # type: ignore[assignment]
        try:
            if expected is Targets:
                signed = Targets.from_dict(signed_data, columns_of)
            else:
                signed = expected.from_dict(signed_data)  # type: ignore[union-attr]
        except MetadataFormatError as exc:
            raise exc.under("signed") from None
        raw_sigs = _READ.array(data["signatures"], "signatures")
        signatures = []
        for i, item in enumerate(raw_sigs):
            try:
                signatures.append(Signature.from_dict(item))
            except MetadataFormatError as exc:
                raise exc.under(f"signatures[{i}]") from None
        return cls(signed, signatures)

    def to_dict(self) -> dict[str, Any]:
        return {"signed": self.signed.to_dict(),
                "signatures": [sig.to_dict() for sig in self.signatures]}
