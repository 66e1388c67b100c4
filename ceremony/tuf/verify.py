"""Full offline verification of a TUF 1.0 repository's metadata, in the order of the
specification's client workflow (section 5):

1. root: from the trusted root (given, or `1.root.json`), each `N+1.root.json` must carry a
   threshold of root N's root keys AND a threshold of its own, with version exactly N+1; the
   newest root must not be expired (freeze attack); `root.json`, if present, is the newest.
2. timestamp: threshold of root's timestamp keys, not expired, not older than a previous
   trusted copy (rollback).
3. snapshot: the version, length and hashes timestamp lists; threshold; not expired; no file
   it listed before has gone or gone back.
4. targets and every delegated role reachable from it: the version, length and hashes
   snapshot lists, a threshold of the delegator's keys for that role, not expired.
5. optionally the target files: where a client downloads them, their length and hashes.

Every failure is a named error (errors.py); what is suspicious but allowed (a target outside
its role's delegated paths, a file no role reaches) is a warning in the report.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceremony.tuf.errors import (
    ConsistencyError,
    DelegationError,
    ExpiredError,
    RollbackError,
    RootChainError,
    ThresholdError,
    TufError,
    TufFormatError,
)
from ceremony.tuf.files import file_digests, read_metadata
from ceremony.tuf.keys import Key
from ceremony.tuf.model import Metadata, MetaFile, Role, Snapshot, Timestamp
from ceremony.tuf.targets import DelegatedRole, SuccinctRoles, TargetFile, Targets

_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def verify_threshold(md: Metadata, keys: dict[str, Key], role: Role, *, role_name: str,
                     signer_desc: str, payload: bytes | None = None) -> list[str]:
    """The key IDs of `role` whose valid signatures `md` carries; ThresholdError below the
    threshold. Each key counts once, even when listed under two key IDs (one key holder must
    not meet a threshold of two); signatures by keys outside the role do not count."""
    if payload is None:
        payload = md.signed_bytes()
    valid = sorted({s.keyid for s in md.signatures
                    if s.keyid in role.keyids and s.keyid in keys
                    and keys[s.keyid].verify(s.sig, payload)})
    distinct = len({keys[k].material() for k in valid})
    if distinct < role.threshold:
        twice = f" ({len(valid)} key IDs, but the same key is listed under more than one)" \
            if distinct != len(valid) else ""
        raise ThresholdError(
            f"{distinct} valid signature(s){twice} of {signer_desc}'s '{role_name}' keys, "
            f"threshold "
            f"{role.threshold} (keys: {', '.join(k[:12] for k in role.keyids)}); the file is "
            "not signed enough or was changed after signing: collect the missing signatures",
            file=md.file)
    return valid


def check_expiry(md: Metadata, now: datetime, role_name: str) -> None:
    if md.signed.expires_at <= now:
        raise ExpiredError(f"'{role_name}' v{md.signed.version} expired at "
                           f"{md.signed.expires}; the repository must renew it (a client "
                           "refuses it: freeze attack protection)", file=md.file)


def check_file(data: bytes, meta: MetaFile, file: str, lister: str) -> None:
    """Length and hashes of `data` against what `lister` says of it."""
    if meta.length is not None and len(data) != meta.length:
        raise ConsistencyError(f"is {len(data)} bytes but {lister} says {meta.length}",
                               file=file)
    for algorithm, expected in (meta.hashes or {}).items():
        if algorithm not in _HASHES:
            continue
        actual = _HASHES[algorithm](data).hexdigest()
        if actual != expected.lower():
            raise ConsistencyError(f"{algorithm} is {actual} but {lister} says {expected}",
                                   file=file)


@dataclass
class Report:
    """What the verification established (JSON-ready with `to_json`)."""

    metadata_dir: str
    root_chain: list[dict[str, Any]] = field(default_factory=list)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    consistent_snapshot: bool = False
    warnings: list[str] = field(default_factory=list)
    targets: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "metadata_dir": self.metadata_dir, "root_chain": self.root_chain,
                "roles": self.roles, "consistent_snapshot": self.consistent_snapshot,
                "targets": self.targets, "warnings": self.warnings}


@dataclass
class Previous:
    """Versions a client trusted before (from an earlier copy of the metadata), for the
    rollback checks of section 5.3.11, 5.4.3-5.4.4 and 5.5.5."""

    root: int = 0
    timestamp: int = 0
    snapshot: int = 0
    meta: dict[str, int] = field(default_factory=dict)
    # key IDs of the timestamp and snapshot roles in the root trusted then (5.3.11)
    role_keys: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, folder: str | os.PathLike[str]) -> Previous:
        folder = Path(folder)
        prev = cls()
        roots = [int(p.name.split(".")[0]) for p in folder.glob("*.root.json")
                 if p.name.split(".")[0].isdigit()]
        if (folder / "root.json").exists():
            roots.append(_read(folder / "root.json", "root").signed.version)
        prev.root = max(roots, default=0)
        newest = _versioned(folder, "root", prev.root) if prev.root else None
        if newest is not None:
            root = _read(folder / newest, "root").signed
            prev.role_keys = {r: sorted(root.roles[r].keyids) for r in ("timestamp", "snapshot")}
        if (folder / "timestamp.json").exists():
            ts = _read(folder / "timestamp.json", "timestamp").signed
            prev.timestamp = ts.version
            prev.snapshot = ts.snapshot_meta.version
            name = _versioned(folder, "snapshot", ts.snapshot_meta.version)
            if name is not None:
                prev.meta = {k: v.version for k, v in
                             _read(folder / name, "snapshot").signed.meta.items()}
        return prev


def _versioned(folder: Path, role: str, version: int) -> str | None:
    for name in (f"{version}.{role}.json", f"{role}.json"):
        if (folder / name).exists():
            return name
    return None


def _read(path: Path, expected: str) -> Metadata:
    return Metadata.from_bytes(read_metadata(path), str(path), expected)


class RepositoryVerifier:
    """One verification run over a metadata folder (see the module docstring)."""

    def __init__(self, metadata_dir: str | os.PathLike[str], *, trusted_root: bytes | None = None,
                 now: datetime | None = None, previous: Previous | None = None,
                 targets_dir: str | os.PathLike[str] | None = None) -> None:
        self.dir = Path(metadata_dir)
        self._folder = str(self.dir)
        self.targets_dir = Path(targets_dir) if targets_dir is not None else None
        self.trusted_root = trusted_root
        self.now = now or datetime.now(UTC)
        self.previous = previous or Previous()
        self.report = Report(str(self.dir))

    def _path(self, name: str) -> str:
        """str(self.dir / name), by os.path on strings: pathlib's objects cost more than the
        look-up, and a chain of 1,000 roots makes thousands."""
        return name if self._folder == "." else os.path.join(self._folder, name)

    def _load(self, name: str, expected: str) -> tuple[Metadata, bytes]:
        path = self._path(name)
        try:
            data = read_metadata(path)
        except TufFormatError:  # looked at only on failure: one stat less per file read
            if not os.path.isfile(path):
                raise ConsistencyError(f"is missing (needed as the '{expected}' role)",
                                       file=path) from None
            raise
        return Metadata.from_bytes(data, path, expected), data

    def run(self) -> Report:
        root = self.verify_roots()
        timestamp = self.verify_timestamp(root)
        snapshot = self.verify_snapshot(root, timestamp)
        self.verify_targets(root, snapshot)
        return self.report

    # -- 5.3 root ---------------------------------------------------------------------------
    def verify_roots(self) -> Metadata:
        if self.trusted_root is not None:
            trusted = Metadata.from_bytes(self.trusted_root, "trusted root", "root")
        elif (self.dir / "1.root.json").exists():
            trusted, _ = self._load("1.root.json", "root")
        elif (self.dir / "root.json").exists():
            trusted, _ = self._load("root.json", "root")
        else:
            raise ConsistencyError("has neither 1.root.json nor root.json: give the metadata "
                                   "folder of the repository, or the trusted root with "
                                   "--trusted-root", file=str(self.dir))
        self._root_step(trusted, trusted, "itself")
        while os.path.exists(self._path(f"{trusted.signed.version + 1}.root.json")):
            version = trusted.signed.version + 1
            new, _ = self._load(f"{version}.root.json", "root")
            if new.signed.version != version:
                raise RootChainError(f"holds root v{new.signed.version}, not v{version}; root "
                                     "versions must go up by exactly one", file=new.file)
            self._root_step(new, trusted, f"root v{trusted.signed.version}")
            trusted = new
        if (self.dir / "root.json").exists():
            current, _ = self._load("root.json", "root")
            if current.signed.version > trusted.signed.version:
                raise RootChainError(
                    f"is root v{current.signed.version} but the chain of N.root.json files "
                    f"stops at v{trusted.signed.version}: publish every root version",
                    file=current.file)
            if current.signed.version == trusted.signed.version and \
                    current.signed_bytes() != trusted.signed_bytes():
                raise RootChainError(f"differs from {trusted.signed.version}.root.json with "
                                     "the same version", file=current.file)
            if current.signed.version < trusted.signed.version:
                self.report.warnings.append(
                    f"root.json is v{current.signed.version}, older than the newest "
                    f"{trusted.signed.version}.root.json")
        if trusted.signed.version < self.previous.root:
            raise RollbackError(f"newest root is v{trusted.signed.version}, older than the "
                                f"v{self.previous.root} trusted before", file=trusted.file)
        self._fast_forward_recovery(trusted)
        check_expiry(trusted, self.now, "root")
        self.report.consistent_snapshot = bool(trusted.signed.consistent_snapshot)
        return trusted

    def _fast_forward_recovery(self, root: Metadata) -> None:
        """Spec 5.3.11: if the root rotated the timestamp or snapshot keys since the
        previous trusted state, that state's timestamp and snapshot are no longer trusted,
        so that a repository recovering from a fast-forward attack can start again."""
        prev = self.previous
        rotated = [r for r, keyids in prev.role_keys.items()
                   if sorted(root.signed.roles[r].keyids) != keyids]
        if rotated:
            self.report.warnings.append(
                f"the {' and '.join(rotated)} keys were rotated since the previous state: its "
                "timestamp and snapshot versions are not held against this one (spec 5.3.11)")
            prev.timestamp, prev.snapshot, prev.meta = 0, 0, {}

    def _root_step(self, new: Metadata, old: Metadata, old_desc: str) -> None:
        entry: dict[str, Any] = {"version": new.signed.version, "file": new.file,
                                 "expires": new.signed.expires}
        payload = new.signed_bytes()
        if new is not old:
            keys, role = old.signed.role_keys("root")
            try:
                entry["signed_by_previous"] = verify_threshold(
                    new, keys, role, role_name="root", signer_desc=old_desc, payload=payload)
            except ThresholdError as exc:
                raise RootChainError(exc.reason, file=exc.file) from None
        keys, role = new.signed.role_keys("root")
        entry["signed_by_own"] = verify_threshold(new, keys, role, role_name="root",
                                                  signer_desc="its own", payload=payload)
        entry["threshold"] = role.threshold
        self.report.root_chain.append(entry)

    # -- 5.4 timestamp ----------------------------------------------------------------------
    def _role(self, md: Metadata, keys: dict[str, Key], role: Role, name: str,
              signer: str) -> None:
        valid = verify_threshold(md, keys, role, role_name=name, signer_desc=signer)
        check_expiry(md, self.now, name)
        self.report.roles[name] = {"version": md.signed.version, "expires": md.signed.expires,
                                   "file": md.file, "threshold": role.threshold,
                                   "signed_by": valid}

    def verify_timestamp(self, root: Metadata) -> Timestamp:
        md, _ = self._load("timestamp.json", "timestamp")
        keys, role = root.signed.role_keys("timestamp")
        self._role(md, keys, role, "timestamp", "root")
        ts: Timestamp = md.signed
        if ts.version < self.previous.timestamp:
            raise RollbackError(f"timestamp v{ts.version} is older than the "
                                f"v{self.previous.timestamp} trusted before", file=md.file)
        if ts.snapshot_meta.version < self.previous.snapshot:
            raise RollbackError(f"lists snapshot v{ts.snapshot_meta.version}, older than the "
                                f"v{self.previous.snapshot} trusted before", file=md.file)
        return ts

    # -- 5.5 snapshot -----------------------------------------------------------------------
    def _name(self, role: str, version: int) -> str:
        quoted = urllib.parse.quote(role, safe="")
        return f"{version}.{quoted}.json" if self.report.consistent_snapshot else \
            f"{quoted}.json"

    def verify_snapshot(self, root: Metadata, ts: Timestamp) -> Snapshot:
        meta = ts.snapshot_meta
        md, data = self._load(self._name("snapshot", meta.version), "snapshot")
        check_file(data, meta, str(md.file), "timestamp")
        keys, role = root.signed.role_keys("snapshot")
        self._role(md, keys, role, "snapshot", "root")
        snap: Snapshot = md.signed
        if snap.version != meta.version:
            raise ConsistencyError(f"is snapshot v{snap.version} but timestamp lists "
                                   f"v{meta.version}", file=md.file)
        for name, version in self.previous.meta.items():
            now = snap.meta.get(name)
            if now is None:
                raise RollbackError(f"no longer lists {name} (listed before at v{version})",
                                    file=md.file)
            if now.version < version:
                raise RollbackError(f"lists {name} v{now.version}, older than the v{version} "
                                    "trusted before", file=md.file)
        if "targets.json" not in snap.meta:
            raise ConsistencyError("does not list targets.json", file=md.file)
        return snap

    # -- 5.6 targets and delegations --------------------------------------------------------
    def _delegated(self, name: str, snap: Snapshot, keys: dict[str, Key], role: Role,
                   delegator: str) -> Metadata:
        meta = snap.meta.get(f"{name}.json")
        if meta is None:
            raise DelegationError(f"role '{name}' (delegated by '{delegator}') is not listed "
                                  "in snapshot", file=f"{name}.json")
        md, data = self._load(self._name(name, meta.version), "targets")
        check_file(data, meta, str(md.file), "snapshot")
        self._role(md, keys, role, name, delegator)
        if md.signed.version != meta.version:
            raise ConsistencyError(f"is '{name}' v{md.signed.version} but snapshot lists "
                                   f"v{meta.version}", file=md.file)
        return md

    def verify_targets(self, root: Metadata, snap: Snapshot) -> None:
        keys, role = root.signed.role_keys("targets")
        top = self._delegated("targets", snap, keys, role, "root")
        seen = {"targets"}
        queue: list[tuple[str, Targets]] = [("targets", top.signed)]
        listed = {n[:-len(".json")] for n in snap.meta if n.endswith(".json")}
        while queue:
            delegator, targets = queue.pop(0)
            self.report.targets += len(targets.targets)
            if self.targets_dir is not None:
                for path, target in targets.targets.items():
                    self._check_target_file(delegator, path, target)
            delegations = targets.delegations
            if delegations is None:
                continue
            for name in delegations.role_names(listed):
                if name in seen:
                    continue
                seen.add(name)
                role = delegations.role(name)
                child = self._delegated(name, snap, delegations.keys, role, delegator)
                try:
                    self._check_paths(name, role, child.signed)
                except TufError as exc:
                    raise exc.located(child.file) from None
                queue.append((name, child.signed))
        for name in sorted(listed - seen - {"snapshot", "timestamp", "root"}):
            self.report.warnings.append(f"snapshot lists {name}.json, which no delegation "
                                        "reaches")

    def _check_target_file(self, role: str, path: str, target: TargetFile) -> None:
        """A target file against its length and hashes, found where a client downloads it
        (`dir/<hash>.<name>` with consistent snapshots, one name per hash)."""
        assert self.targets_dir is not None
        folder, _, name = path.rpartition("/")
        if self.report.consistent_snapshot:
            names = [f"{digest}.{name}" for digest in target.hashes.values()]
        else:
            names = [name]
        for file_name in names:
            file = self.targets_dir / folder / file_name
            if not file.is_file():
                raise ConsistencyError(f"target {path} (listed by '{role}') is missing",
                                       file=str(file))
            length, digests = file_digests(file, list(target.hashes))
            if length != target.length:
                raise ConsistencyError(f"is {length} bytes but '{role}' says {target.length}",
                                       file=str(file))
            for algorithm, actual in digests.items():
                if actual != target.hashes[algorithm].lower():
                    raise ConsistencyError(f"{algorithm} is {actual} but '{role}' says "
                                           f"{target.hashes[algorithm]}", file=str(file))

    def _check_paths(self, name: str, role: Role, targets: Targets) -> None:
        for path in targets.targets:
            if isinstance(role, DelegatedRole):
                allowed = role.is_delegated_path(path)
            else:
                assert isinstance(role, SuccinctRoles)
                allowed = role.role_for_target(path) == name
            if not allowed:
                self.report.warnings.append(
                    f"'{name}' lists target {path}, outside the paths delegated to it "
                    "(clients ignore it)")


def verify_repository(metadata_dir: str | os.PathLike[str], *, trusted_root: bytes | None = None,
                      now: datetime | None = None, previous: Previous | None = None,
                      targets_dir: str | os.PathLike[str] | None = None) -> Report:
    """Verify a repository's metadata folder (and its target files if `targets_dir` is
    given); the report, or a named TufError."""
    return RepositoryVerifier(metadata_dir, trusted_root=trusted_root, now=now,
                              previous=previous, targets_dir=targets_dir).run()
