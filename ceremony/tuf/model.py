"""TUF 1.0 metadata: the envelope and root, snapshot, timestamp (targets.py has targets).

One class per role, `from_dict`/`to_dict` symmetric: reading a file written by python-tuf
and writing it back gives the same `signed` (unknown fields kept in `unrecognized`). The
bytes live in canonical.py; verification in verify.py.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from ceremony.tuf import fields as f
from ceremony.tuf.canonical import (
    canonical_string,
    check_cost,
    count_colons,
    dump_pretty,
    encode_canonical,
    encode_canonical_parsed,
    load_json_counted,
    parse_strict,
)
from ceremony.tuf.errors import TufError, TufFormatError
from ceremony.tuf.keys import Key
from ceremony.tuf.signed import TOP_LEVEL_ROLES, Role, Signed, read_keys
from ceremony.tuf.targetmap import TargetMap
from groundfloor.strictjson import MAX_INT_DIGITS, integers_within, long_integer_in_text


@dataclass
class Root(Signed):
    type: ClassVar[str] = "root"
    keys: dict[str, Key] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    consistent_snapshot: bool | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Root:
        rest = dict(data)
        common = cls.common(rest, cls.type)
        consistent = f.take_bool(rest, "consistent_snapshot", None)
        keys = read_keys(rest)
        roles = f.take_each(rest, "roles", Role.from_dict)
        if set(roles) != set(TOP_LEVEL_ROLES):
            raise TufFormatError(f"must list exactly {', '.join(TOP_LEVEL_ROLES)}, not "
                                 f"{', '.join(sorted(roles)) or 'nothing'}", field="roles")
        for name in roles:
            for keyid in roles[name].keyids:
                if keyid not in keys:
                    raise TufFormatError(f"key ID {keyid} is not in root's keys",
                                         field=f"roles.{name}.keyids")
        return cls(**common, unrecognized=rest, keys=keys, roles=roles,
                   consistent_snapshot=consistent)

    def to_dict(self) -> dict[str, Any]:
        out = {**self.common_dict(), "keys": {k: v.to_dict() for k, v in self.keys.items()},
               "roles": {k: v.to_dict() for k, v in self.roles.items()}}
        if self.consistent_snapshot is not None:
            out["consistent_snapshot"] = self.consistent_snapshot
        return {**out, **self.unrecognized}

    def role_keys(self, role: str) -> tuple[dict[str, Key], Role]:
        r = self.roles[role]
        return {k: self.keys[k] for k in r.keyids}, r


@dataclass
class MetaFile:
    """A file listed in snapshot or timestamp `meta`."""

    version: int
    length: int | None = None
    hashes: dict[str, str] | None = None
    unrecognized: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> MetaFile:
        rest = dict(f.mapping(data))
        version = f.take_int(rest, "version", 1)
        length = f.take_int(rest, "length", 0, None)
        hashes = f.take(rest, "hashes", None)
        if hashes is not None:
            f.check_hashes(hashes)
        return cls(version, length, hashes, rest)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.length is not None:
            out["length"] = self.length
        if self.hashes is not None:
            out["hashes"] = self.hashes
        return {**out, **self.unrecognized}


@dataclass
class MetaListing(Signed):
    """A role whose content is `meta`, the metadata files it lists: snapshot and timestamp."""

    meta: dict[str, MetaFile] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        rest = dict(data)
        common = cls.common(rest, cls.type)
        meta = f.take_each(rest, "meta", MetaFile.from_dict)
        cls.check_listed(meta)
        return cls(**common, meta=meta, unrecognized=rest)

    @classmethod
    def check_listed(cls, meta: dict[str, MetaFile]) -> None:
        """What the role must list (anything, unless a role says otherwise)."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.common_dict(), "meta": {k: v.to_dict() for k, v in self.meta.items()},
                **self.unrecognized}


@dataclass
class Snapshot(MetaListing):
    type: ClassVar[str] = "snapshot"


@dataclass
class Timestamp(MetaListing):
    type: ClassVar[str] = "timestamp"

    @classmethod
    def check_listed(cls, meta: dict[str, MetaFile]) -> None:
        if set(meta) != {"snapshot.json"}:
            raise TufFormatError("must list exactly 'snapshot.json'", field="meta")

    @property
    def snapshot_meta(self) -> MetaFile:
        return self.meta["snapshot.json"]


_SIGNATURE_FIELDS = {"keyid", "sig"}


@dataclass
class Signature:
    keyid: str
    sig: str
    unrecognized: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        if type(data) is dict and data.keys() == _SIGNATURE_FIELDS:  # the usual shape
            keyid, sig = data["keyid"], data["sig"]
            if type(keyid) is str and type(sig) is str:
                return cls(keyid, sig, {})
        rest = dict(f.mapping(data))  # anything else field by field, naming a fault
        return cls(f.take_str(rest, "keyid"), f.take_str(rest, "sig"), rest)

    def to_dict(self) -> dict[str, Any]:
        return {"keyid": self.keyid, "sig": self.sig, **self.unrecognized}


def _canonical_read(signed: Any) -> bytes:
    """encode_canonical_parsed of `signed.to_dict()` for a role read from bytes, the targets
    map (all but a few bytes of a big targets file) written by TargetMap.canonical_pieces
    where it can: the same bytes (tests/tuf/test_fast_reader.py), several times faster."""
    data = signed.to_dict()
    targets = getattr(signed, "targets", None)
    # (type(), not isinstance: TargetMap is a MutableMapping, whose isinstance check costs
    # more than a small role's whole encoding)
    pieces = targets.canonical_pieces() if type(targets) is TargetMap else None
    if pieces is None:
        return encode_canonical_parsed(data)
    out = ["{"]
    for key in sorted(data):
        out.append(canonical_string(key) + ":")
        if key == "targets":
            out += pieces
        else:
            out.append(encode_canonical_parsed(data[key]).decode("utf-8"))
        out.append(",")
    out[-1] = "}"
    return "".join(out).encode("utf-8")


def ints_bounded(value: dict[str, Any], signed: Any, data: bytes) -> bool:
    """Whether every integer of the document `value` (parsed from `data`, its integers not
    yet bounded; `signed` its model) has at most MAX_INT_DIGITS digits, as the strict reader
    requires. A big targets map read in its common shape (TargetMap.integers_as_read) holds
    no integer but its lengths: their maximum, then a walk of the rest of the document; any
    other document: the pass over its bytes (strictjson.long_integer_in_text)."""
    targets = getattr(signed, "targets", None)
    read = targets.integers_as_read() if type(targets) is TargetMap else None
    if read is None or value["signed"].get("targets") is not read[0]:
        return not long_integer_in_text(data)
    source, lengths = read
    return (not lengths or max(lengths) < 10 ** MAX_INT_DIGITS) and \
        integers_within(value, skip=source)


def _role_classes() -> dict[str, Any]:
    from ceremony.tuf.targets import Targets
    return {"root": Root, "targets": Targets, "snapshot": Snapshot, "timestamp": Timestamp}


@dataclass
class Metadata:
    """A metadata file: `signed` (one of the role classes) and its signatures."""

    signed: Any
    signatures: list[Signature]
    unrecognized: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    # Read from bytes strictly (canonical.py): every value is JSON's (string keys, integers
    # only), so the fast canonical encoder gives the same bytes as the strict one.
    strictly_read: bool = field(default=False, repr=False, compare=False)
    # The canonical bytes of `signed` as read (from_bytes computes them to prove the file has
    # no duplicate key): a Metadata read from bytes stands for that file, so code that
    # changes one builds a new Metadata (plan.py), never edits a read one in place.
    _read_payload: bytes | None = field(default=None, repr=False, compare=False)
    _read_signed: Any = field(default=None, repr=False, compare=False)  # what it was made of

    @classmethod
    def from_bytes(cls, data: bytes, file: str | None = None,
                   expected: str | None = None) -> Metadata:
        # Parsed JSON holds no reference cycles: the cyclic collector would only slow big
        # files down, rescanning every live object each time the many new dicts trigger it.
        colons = check_cost(data, file)  # once, before either reader builds anything
        enabled = gc.isenabled()
        gc.disable()
        try:
            md = cls._from_bytes_counted(data, file, expected, colons)
            if md is None:  # the strict reader: names what is wrong, duplicate keys first
                md = cls.from_dict(parse_strict(data, file), file, expected)
                md.strictly_read = True
        finally:
            if enabled:
                gc.enable()
        return md

    @classmethod
    def _from_bytes_counted(cls, data: bytes, file: str | None, expected: str | None,
                            colons: int) -> Metadata | None:
        """The fast read: parsed without the duplicate-key hook (canonical.load_json_counted),
        then proved free of duplicate keys by counting colons: every one of the text must be
        in the canonical bytes of the model's `signed` (to_dict writes no pair or string the
        file lacks) or in the envelope. A duplicate, or a pair the model would drop (an
        explicit null), leaves fewer: None, and the file is read strictly. So does an integer
        over the strict reader's bound, found once the model has read the document
        (ints_bounded)."""
        counted = load_json_counted(data, colons, bound_integers=False)
        if counted is None or not isinstance(counted[0], dict):
            return None
        value, colons = counted
        try:
            md = cls.from_dict(value, file, expected)
        except TufError:
            return None  # reported by the strict reader (a duplicate key before the rest)
        if not ints_bounded(value, md.signed, data):
            return None
        md.strictly_read = True
        payload = _canonical_read(md.signed)
        envelope = {k: v for k, v in value.items() if k != "signed"}
        written = count_colons(payload) + 1 + count_colons(
            json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))
        if written != colons:
            return None
        md._read_payload, md._read_signed = payload, md.signed
        return md

    @classmethod
    def from_dict(cls, data: Any, file: str | None = None,
                  expected: str | None = None) -> Metadata:
        try:
            if not isinstance(data, dict):
                raise TufFormatError("a metadata file must be a JSON object")
            rest = dict(data)
            signed = f.take_dict(rest, "signed")
            signatures = []
            for i, item in enumerate(f.READ.array(f.take(rest, "signatures"), "signatures")):
                try:
                    signatures.append(Signature.from_dict(item))
                except TufError as exc:
                    raise exc.located(prefix=f"signatures[{i}]") from None
            keyids = [s.keyid for s in signatures]
            if len(set(keyids)) != len(keyids):
                raise TufFormatError("two signatures carry the same key ID", field="signatures")
            kind = signed.get("_type")
            if expected is not None and kind != expected:
                raise TufFormatError(f"is '{kind}', expected '{expected}'", field="signed._type")
            classes = _role_classes()
            if kind not in classes:
                raise TufFormatError(f"unknown role type {kind!r}", field="signed._type")
            try:
                model = classes[kind].from_dict(signed)
            except TufError as exc:
                raise exc.located(prefix="signed") from None
        except TufError as exc:
            raise exc.located(file) from None
        return cls(model, signatures, rest, file)

    def to_dict(self) -> dict[str, Any]:
        return {"signatures": [s.to_dict() for s in self.signatures],
                "signed": self.signed.to_dict(), **self.unrecognized}

    def to_bytes(self) -> bytes:
        """The file as python-tuf writes it (clients verify the canonical `signed`, not these
        bytes)."""
        return dump_pretty(self.to_dict())

    def signed_bytes(self) -> bytes:
        """What every signature signs: the canonical JSON of `signed`."""
        # (a `signed` replaced since reading is encoded afresh, never signed as the old bytes)
        if self._read_payload is not None and self.signed is self._read_signed:
            return self._read_payload
        if self.strictly_read:
            return _canonical_read(self.signed)
        return encode_canonical(self.signed.to_dict())
