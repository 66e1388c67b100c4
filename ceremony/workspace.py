"""The offline workspace: what this machine trusts and has signed, per repository, crash-safely.

`--workspace DIR` or CEREMONY_WORKSPACE. Layout:

    DIR/workspace.json                  format marker
    DIR/current -> state/gen-00000042   the commit point (a relative symlink)
    DIR/state/gen-00000042/             the generation (its number is what is in force)
    DIR/inventory/<kind>/<bucket>/00000040.json
                                        tokens, keys, retired keys (public data only), in
                                        buckets by key ID, versioned like the repositories
                                        (see inventory_store.py)
    DIR/repos/<repository, '/' as '+'>/<snapshot number, e.g. 00000040>/
        repo.json                       index: name (stored as "gun"), root versions and
                                        digests, signed versions
        roots/<N>.root.json             trusted root history, exact bytes
        signed/<role>.json              the last bytes this machine signed per role
        systems/<system>/               a trust system's own files (workspace_systems.py)
    DIR/transcripts/                    ceremony transcripts (append-only, see transcript.py)
    DIR/.lock                           held by the one open transaction

A repository's state in generation G is its snapshot numbered highest at or below G.
repos/ is the trusted root history Notary v1 keeps (its root.json files, by GUN); its stored
names stay as they are on disk (`repo.json`'s "gun", `<N>.root.json`), the code says
repository. Other trust systems keep theirs in their own section (systems/<system>/).

Every change is a transaction. Commit makes generation G+1: a snapshot numbered G+1 for each
repository it changes (unchanged files hard-linked from the previous snapshot), a file
numbered G+1 for each inventory bucket it changes, and the generation folder; makes all of
it durable; then switches `current` with one atomic rename and fsyncs DIR. A SIGKILL or
power cut at any point leaves `current` naming either the old generation or the new one, both
complete. What a killed commit left is removed by the next one (see workspace_files.py),
which also removes all but the current and previous generation, and the older snapshots of
the repositories and buckets it changed (the previous ones are kept so a reader racing with
one commit still sees whole files).

This module keeps state and refuses what is inconsistent as state (a root version that does not
follow the last, a signed version below the last). Whether a root is trustworthy -- its
signatures, thresholds, the chain -- is ceremony logic on top of the metadata verifier.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceremony import inventory_store as records
from ceremony import workspace_files as store
from ceremony import workspace_systems as systems
from ceremony.inventory import InventoryError, KeyRecord, RetiredKey, TokenRecord
from ceremony.workspace_rules import (  # the state's rules and records, re-exported here
    RollbackError,
    SignedRecord,
    WorkspaceError,
    _checked,
    _content,
    _now,
    _Repo,
    _repository_name,
    _role,
    _same_record,
    _sha,
    _system_path,
    _version,
)
from groundfloor.errors import GroundFloorError
from groundfloor.faults import fault_point
from groundfloor.files import DIR_MODE, atomic_write, fsync_dir, make_dirs
from groundfloor.names import (
    InvalidName,
    gun_dirname,
    gun_from_dirname,
    role_relpath,
)

ENV = "CEREMONY_WORKSPACE"
FORMAT = "notary-ceremony-workspace"  # stored marker: the tool's name, kept as written
VERSION = 3  # 1: all repositories in each generation; 2: one inventory file (upgraded)
_GEN = store.GEN


_DAMAGE = (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError,
           InventoryError)


@dataclass
class _Inventory:
    tokens: records.Bucketed  # TokenRecord by serial
    keys: records.Bucketed  # KeyRecord by key ID
    retired: records.Bucketed  # RetiredKey by key ID
    canonical: records.Bucketed  # canonical key ID -> key IDs (active or retired)

    def kinds(self) -> list[records.Bucketed]:
        return [self.tokens, self.keys, self.retired, self.canonical]


class _Reader:
    """Read access to one generation, plus the staged changes of a transaction."""

    def __init__(self, workspace: Workspace, generation: Path | None):
        self._ws = workspace
        self._gen = generation
        self._repos: dict[str, _Repo] = {}
        self._inventory: _Inventory | None = None
        self._systems: dict[str, dict[str, bytes]] = {}

    # loading ---------------------------------------------------------------------------------

    def _corrupt(self, what: str) -> WorkspaceError:
        return WorkspaceError(f"workspace {self._ws.path} is damaged: {what}; restore it from "
                              "a backup (nothing was changed)")

    def _repo(self, repository: str) -> _Repo:
        name = _repository_name(repository)
        if name in self._repos:
            return self._repos[name]
        ws = self._ws
        if ws is not self and ws._gen == self._gen and name in ws._repos:  # read by the ceremony
            known = ws._repos[name]  # before its transaction: the same (immutable) bytes, shared
            self._repos[name] = _Repo(name, dict(known.roots), dict(known.signed))
            return self._repos[name]
        repo = _Repo(name, {}, {})
        folder = self._snapshot(name)
        if folder is not None:
            try:
                index = json.loads((folder / "repo.json").read_bytes())
                if index.get(store.NAME_FIELD) != name:
                    raise self._corrupt(f"{folder}/repo.json names another repository")
                for n, digest in index["roots"].items():
                    data = (folder / "roots" / f"{int(n)}.root.json").read_bytes()
                    if _sha(data) != digest:
                        raise self._corrupt(f"{name} root version {n} does not match its digest")
                    repo.roots[int(n)] = data
                for role, rec in index["signed"].items():
                    data = (folder / "signed" / role_relpath(role)).read_bytes()
                    if _sha(data) != rec["sha256"]:
                        raise self._corrupt(f"{name} last signed {role} does not match its digest")
                    repo.signed[role] = SignedRecord(role, int(rec["version"]), rec["sha256"],
                                                     rec["time"], data)
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError,
                    InvalidName) as exc:
                raise self._corrupt(f"cannot read {folder} ({type(exc).__name__})") from None
        self._repos[name] = repo
        return repo

    def _snapshot(self, repository: str) -> Path | None:
        """The folder of `repository`'s state in this generation, or None."""
        if self._gen is None:
            return None
        return store.snapshot_at(self._ws.path / "repos" / gun_dirname(repository),
                                 store.gen_number(self._gen))

    def _system(self, system: str) -> dict[str, bytes]:
        if system not in self._systems:
            _checked(systems.check_system, system)
            try:
                self._systems[system] = systems.load(self._gen, system)
            except _DAMAGE as exc:
                raise self._corrupt(f"cannot read the {system} section ({type(exc).__name__}: "
                                    f"{exc})") from None
        return self._systems[system]

    def _inv(self) -> _Inventory:
        if self._inventory is None:
            top = self._ws.path / "inventory" if self._gen is not None else None
            number = store.gen_number(self._gen)

            def damaged(path: str, exc: BaseException) -> WorkspaceError:
                return self._corrupt(f"cannot read {path} ({type(exc).__name__})")

            def kind(name: str, parse: Any, dump: Any = records.to_dict) -> records.Bucketed:
                return records.Bucketed(top, number, name, parse, dump, _DAMAGE, damaged)
            self._inventory = _Inventory(
                kind("tokens", TokenRecord.from_dict), kind("keys", KeyRecord.from_dict),
                kind("retired", RetiredKey.from_dict), kind("canonical", records.id_set, sorted))
        return self._inventory

    # reading ---------------------------------------------------------------------------------

    def guns(self) -> list[str]:
        """Names of the repositories this workspace holds anything for (Notary calls them
        GUNs; the method keeps that name for its callers)."""
        found = set(g for g, r in self._repos.items() if r.roots or r.signed)
        repos = self._ws.path / "repos"
        if self._gen is not None and repos.is_dir():
            number = store.gen_number(self._gen)
            for folder in repos.iterdir():
                try:
                    repository = gun_from_dirname(folder.name)
                except InvalidName:
                    raise self._corrupt(f"unexpected folder {folder}") from None
                # a repository first made by a killed commit has no snapshot in force yet
                if store.snapshot_at(folder, number) is not None:
                    found.add(repository)
        return sorted(found)

    def system_file(self, system: str, path: str) -> bytes | None:
        """A file of a trust system's own section (e.g. "notation", "ca/root/ca.json")."""
        return self._system(system).get(_system_path(path))

    def system_paths(self, system: str, prefix: str = "") -> list[str]:
        """The paths in a trust system's section, sorted; only those under `prefix` if given."""
        return sorted(p for p in self._system(system) if p.startswith(prefix))

    def trusted_root_history(self, repository: str) -> dict[int, bytes]:
        """Trusted root.json versions of `repository`, exact bytes, by version."""
        return dict(sorted(self._repo(repository).roots.items()))

    def trusted_roots(self, repository: str) -> list[bytes]:
        """Trusted root.json files of `repository` in ascending version order (exact bytes)."""
        return list(self.trusted_root_history(repository).values())

    def latest_root_version(self, repository: str) -> int | None:
        roots = self._repo(repository).roots
        return max(roots) if roots else None

    def last_signed(self, repository: str, role: str) -> SignedRecord | None:
        return self._repo(repository).signed.get(_role(role))

    def last_signed_version(self, repository: str, role: str) -> int | None:
        rec = self.last_signed(repository, role)
        return rec.version if rec else None

    def compare_version(self, repository: str, role: str, version: int) -> int:
        """-1 if `version` is older than the last signed one, 0 if equal, 1 if newer or none."""
        last = self.last_signed_version(repository, role)
        _version(version, f"{repository} {role}")
        return 1 if last is None or version > last else (0 if version == last else -1)

    def require_newer(self, repository: str, role: str, version: int) -> None:
        """Raise RollbackError unless `version` is above the last this machine signed."""
        if self.compare_version(repository, role, version) < 1:
            last = self.last_signed_version(repository, role)
            raise RollbackError(f"{repository}: refusing to sign {role} version {version}: this "
                                f"machine already signed version {last}")

    def tokens(self) -> list[TokenRecord]:
        return sorted(self._inv().tokens.values(), key=lambda t: (t.label, t.serial))

    def keys(self, *, include_retired: bool = False) -> list[KeyRecord]:
        keys = list(self._inv().keys.values())
        if include_retired:
            keys += [r.key for r in self._inv().retired.values()]
        return sorted(keys, key=lambda k: (k.role, k.key_id))

    def key(self, key_id: str) -> KeyRecord | None:
        inv = self._inv()
        if key_id in inv.keys:
            return inv.keys[key_id]
        return inv.retired[key_id].key if key_id in inv.retired else None

    def key_by_canonical_id(self, canonical_id: str) -> KeyRecord | None:
        """The key (active or retired; the first by role and key ID) whose canonical key ID is
        `canonical_id`, parsing only the records that match."""
        found = self.keys_by_canonical_id(canonical_id)
        return min(found, key=lambda k: (k.role, k.key_id)) if found else None

    def keys_by_canonical_id(self, canonical_id: str) -> list[KeyRecord]:
        """Every key (active or retired) with canonical key ID `canonical_id`, from the index."""
        inv = self._inv()
        candidates = inv.canonical.get(canonical_id, []) if isinstance(canonical_id, str) else []
        return [k for k in map(self.key, sorted(candidates))
                if k is not None and k.canonical_id == canonical_id]

    def retired_keys(self) -> list[RetiredKey]:
        return sorted(self._inv().retired.values(), key=lambda r: (r.retired_at, r.key.key_id))

    def is_retired(self, key_id: str) -> bool:
        return key_id in self._inv().retired


class Transaction(_Reader):
    """Staged changes to a workspace; committed all at once or not at all."""

    def __init__(self, workspace: Workspace, generation: Path | None):
        super().__init__(workspace, generation)
        self._dirty_repos: set[str] = set()
        self._dirty_inventory = False
        self._dirty_systems: set[str] = set()

    def put_system_file(self, system: str, path: str, data: bytes) -> None:
        """Create or replace a file of a trust system's section (committed with the rest)."""
        files, path = self._system(system), _system_path(path)
        data = _checked(systems.check_data, data, f"{system}/{path}")
        if files.get(path) != data:
            files[path] = data
            self._dirty_systems.add(system)

    def remove_system_file(self, system: str, path: str) -> None:
        """Remove a file of a trust system's section (absent: nothing to do)."""
        if self._system(system).pop(_system_path(path), None) is not None:
            self._dirty_systems.add(system)

    def add_trusted_root(self, repository: str, version: int, data: bytes) -> None:
        """Pin root.json `version` of `repository` (exact bytes): the next version after the last
        one trusted, or any version for a repository with no history yet. Re-adding identical
        bytes is a no-op; different bytes for a known version are refused."""
        repo = self._repo(repository)
        version = _version(version, f"{repository} root")
        data = _content(data, f"{repository} root version {version}")
        if version in repo.roots:
            if repo.roots[version] != data:
                raise RollbackError(f"{repository}: root version {version} is already trusted with "
                                    "different content; refusing to replace it")
            return
        last = max(repo.roots) if repo.roots else None
        if last is not None and version != last + 1:
            raise RollbackError(f"{repository}: root version {version} does not follow the last "
                                f"trusted version {last} (expected {last + 1})")
        repo.roots[version] = data
        self._dirty_repos.add(repo.name)

    def record_signed(self, repository: str, role: str, version: int, data: bytes, *,
                      allow_same_version: bool = False) -> SignedRecord:
        """Record that this machine signed `role` at `version` (exact bytes of the file).

        A lower version than the last recorded is refused (rollback). The same version with
        different bytes is refused unless `allow_same_version` (co-signing adds signatures to
        the same version: the ceremony checks the signed part is unchanged before saying so).
        """
        repo = self._repo(repository)
        role = _role(role)
        version = _version(version, f"{repository} {role}")
        data = _content(data, f"{repository} {role} version {version}")
        last = repo.signed.get(role)
        if last is not None:
            if version < last.version:
                raise RollbackError(f"{repository}: {role} version {version} is below version "
                                    f"{last.version} already signed here")
            if version == last.version and last.data != data and not allow_same_version:
                raise RollbackError(f"{repository}: {role} version {version} was already signed "
                                    "here with different content")
        record = SignedRecord(role, version, _sha(data), _now(), data)
        repo.signed[role] = record
        self._dirty_repos.add(repo.name)
        return record

    def add_token(self, token: TokenRecord) -> None:
        """Add a token, or update the record of one with the same serial."""
        if not isinstance(token, TokenRecord):
            raise WorkspaceError("add_token takes a TokenRecord")
        existing = self._inv().tokens.get(token.serial)
        if existing is not None and _same_record(existing.to_dict(), token.to_dict()):
            return  # every ceremony notes its tokens: rewriting the inventory each time is O(N)
        if not token.added:
            token = TokenRecord(**{**token.to_dict(), "added": _now()})
        self._inv().tokens[token.serial] = token
        self._dirty_inventory = True

    def add_key(self, key: KeyRecord) -> None:
        """Add a key, or update the record of one with the same key ID (e.g. more repositories)."""
        if not isinstance(key, KeyRecord):
            raise WorkspaceError("add_key takes a KeyRecord")
        if self.is_retired(key.key_id):
            raise WorkspaceError(f"key {key.key_id} is retired and cannot be added again")
        existing = self._inv().keys.get(key.key_id)
        if existing is not None and _same_record(existing.to_dict(), key.to_dict()):
            return
        if not key.added:
            key = KeyRecord.from_dict({**key.to_dict(), "added": _now()})
        inv = self._inv()
        inv.keys[key.key_id] = key
        known = inv.canonical.get(key.canonical_id, set())
        if key.key_id not in known:  # found by its canonical ID without reading every key
            known.add(key.key_id)  # a set: 10,000 root certificates of one key, added in bulk
            inv.canonical[key.canonical_id] = known
        self._dirty_inventory = True

    def retire_key(self, key_id: str, reason: str) -> RetiredKey:
        """Take a key out of use, keeping its record and the reason."""
        inv = self._inv()
        if key_id not in inv.keys:
            raise WorkspaceError(f"no active key {key_id} in the inventory")
        if not isinstance(reason, str) or not reason.strip() or not reason.isprintable():
            raise WorkspaceError("retiring a key needs a printable reason")
        retired = RetiredKey(inv.keys.pop(key_id), reason, _now())
        inv.retired[key_id] = retired
        self._dirty_inventory = True
        return retired

    @property
    def changed(self) -> bool:
        return bool(self._dirty_repos) or self._dirty_inventory or bool(self._dirty_systems)


class Workspace(_Reader):
    """An offline workspace. Reads see the last committed state; writes go through
    `transaction()` (or the one-change helpers below, each its own transaction)."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(self, None)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *,
             create: bool = False) -> Workspace:
        """Open the workspace at `path`, or at $CEREMONY_WORKSPACE if `path` is None.

        With `create`, an absent or empty directory becomes a new workspace.
        """
        if path is None:
            path = os.environ.get(ENV) or None
            if path is None:
                raise WorkspaceError(f"no workspace: give --workspace DIR or set {ENV}")
        folder = Path(path).absolute()
        marker = folder / "workspace.json"
        if not marker.exists():
            if not create:
                raise WorkspaceError(f"{folder} is not a ceremony workspace (no "
                                     "workspace.json)")
            # Empty, or holding only the temp file of a creation that was killed.
            if folder.exists() and (not folder.is_dir() or any(
                    not (p.name.startswith(".workspace.json.") and p.name.endswith(".tmp"))
                    for p in folder.iterdir())):
                raise WorkspaceError(f"cannot create a workspace in {folder}: it exists and is "
                                     "not an empty directory")
            made = not folder.exists()
            try:
                make_dirs(folder)
            except OSError as exc:
                raise WorkspaceError(f"cannot create {folder}: {exc.strerror}") from None
            try:
                _atomic(marker, json.dumps({"format": FORMAT, "version": VERSION}).encode())
            except WorkspaceError:
                if made:  # disk full: leave no empty folder behind
                    shutil.rmtree(folder, ignore_errors=True)
                raise
        try:
            info = json.loads(marker.read_bytes())
        except (OSError, ValueError):
            raise WorkspaceError(f"{marker} is unreadable") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise WorkspaceError(f"{folder} is not a ceremony workspace")
        if info.get("version") not in (1, 2, VERSION):
            raise WorkspaceError(f"workspace {folder} has format version {info.get('version')!r}; "
                                 f"this tool reads version {VERSION}")
        # Made here, not only at creation: a creation may have been cut short.
        try:
            for sub in ("state", "transcripts"):
                if not (folder / sub).is_dir():
                    (folder / sub).mkdir(mode=DIR_MODE)
                    fsync_dir(folder)
            if not (folder / ".lock").exists():
                os.close(os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644))
        except OSError as exc:
            raise WorkspaceError(f"cannot set up workspace {folder}: "
                                 f"{exc.strerror or exc}") from None
        workspace = cls(folder)
        if info.get("version") == 1:
            workspace._upgrade()
        if info.get("version") in (1, 2):
            workspace._upgrade_inventory()
        return workspace

    def _upgrade(self) -> None:
        """Version 1 -> 2 (store.upgrade_repos); killed part way, the marker still says 1 and
        the next open does it again from the start."""
        with self._locked():
            try:
                store.upgrade_repos(self.path, self._current())
            except OSError as exc:
                raise WorkspaceError(f"cannot upgrade workspace {self.path} to format version "
                                     f"{VERSION}: {exc.strerror or exc}") from None
            _atomic(self.path / "workspace.json",
                    json.dumps({"format": FORMAT, "version": 2}).encode())

    def _upgrade_inventory(self) -> None:
        """Version 2 -> 3: the current generation's inventory.json becomes bucket files
        numbered with that generation (records as they are), then the marker says 3. Killed
        part way, the marker still says 2 and the next open does it again from the start."""
        with self._locked():
            gen = self._current()
            source = gen / "inventory.json" if gen is not None else None
            try:
                raw = records.from_one_file(source)
            except _DAMAGE as exc:
                raise self._corrupt(f"cannot read {source} ({type(exc).__name__})") from None
            try:
                records.rewrite(self.path, store.gen_number(gen), raw)
            except OSError as exc:
                raise WorkspaceError(f"cannot upgrade workspace {self.path} to format version "
                                     f"{VERSION}: {exc.strerror or exc}") from None
            _atomic(self.path / "workspace.json",
                    json.dumps({"format": FORMAT, "version": VERSION}).encode())

    # reads always look at the generation committed now ------------------------------------------

    def _current(self) -> Path | None:
        link = f"{self.path}/current"
        try:
            target = os.readlink(link)
        except FileNotFoundError:
            return None
        except OSError:
            raise WorkspaceError(f"{link} is not the workspace's commit link") from None
        seen = getattr(self, "_seen", None)  # read on every access (~10 per repository in a bulk
        if seen is not None and seen[0] == target:  # ceremony): no new Path unless it moved
            return seen[1]
        parts = Path(target).parts
        if len(parts) != 2 or parts[0] != "state" or not _GEN.fullmatch(parts[1]):
            raise WorkspaceError(f"{link} points outside the workspace state ({target!r})")
        self._seen = (target, self.path / target)
        return self._seen[1]

    def _refresh(self) -> None:
        gen = self._current()
        if gen != self._gen:
            self._gen, self._repos, self._inventory, self._systems = gen, {}, None, {}

    def _repo(self, repository: str) -> _Repo:
        self._refresh()
        return super()._repo(repository)

    def _inv(self) -> _Inventory:
        self._refresh()
        return super()._inv()

    def _system(self, system: str) -> dict[str, bytes]:
        self._refresh()
        return super()._system(system)

    def guns(self) -> list[str]:
        self._refresh()
        return super().guns()

    @property
    def transcripts_dir(self) -> Path:
        return self.path / "transcripts"

    def new_transcript_path(self, label: str) -> Path:
        """A fresh transcript file name: transcripts/<UTC time>-<label>.jsonl."""
        safe = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60] or "ceremony"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return self.transcripts_dir / f"{stamp}-{safe}.jsonl"

    # writing ------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise WorkspaceError(f"workspace {self.path} is in use by another ceremony "
                                     "(another process holds its lock)") from None
            yield
        finally:
            os.close(lock)  # releases the lock

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Stage changes; commit them atomically when the block ends without an exception."""
        with self._locked():
            tx = Transaction(self, self._current())
            yield tx
            if tx.changed:
                self._commit(tx)

    def repo_folder(self, repository: str) -> Path | None:
        """The folder holding `repository`'s committed state (for people and auditors), or None."""
        self._refresh()
        return self._snapshot(_repository_name(repository))

    def add_trusted_root(self, repository: str, version: int, data: bytes) -> None:
        with self.transaction() as tx:
            tx.add_trusted_root(repository, version, data)

    def record_signed(self, repository: str, role: str, version: int, data: bytes, *,
                      allow_same_version: bool = False) -> SignedRecord:
        with self.transaction() as tx:
            return tx.record_signed(repository, role, version, data,
                                    allow_same_version=allow_same_version)

    def add_token(self, token: TokenRecord) -> None:
        with self.transaction() as tx:
            tx.add_token(token)

    def add_key(self, key: KeyRecord) -> None:
        with self.transaction() as tx:
            tx.add_key(key)

    def retire_key(self, key_id: str, reason: str) -> RetiredKey:
        with self.transaction() as tx:
            return tx.retire_key(key_id, reason)

    def _commit(self, tx: Transaction) -> None:
        state, repos = self.path / "state", self.path / "repos"
        numbers = [int(m.group(1)) for p in state.iterdir() if (m := _GEN.fullmatch(p.name))]
        old = tx._gen
        old_number = store.gen_number(old)
        number = max(numbers, default=0) + 1
        new = state / store.gen_name(number)
        dirty = sorted(tx._dirty_repos)
        writer = store.Writer(bulk=len(dirty) > store.BULK_REPOS and store.can_sync_filesystem())
        switched = False
        try:
            if any(n > old_number for n in numbers):  # a commit was killed: clear up first
                store.sweep(repos, old_number)
                records.sweep(self.path / "inventory", old_number)
            new.mkdir(mode=DIR_MODE)
            fsync_dir(state)  # the number is taken before any snapshot carries it
            for repository in dirty:
                folder = repos / gun_dirname(repository)
                repo = tx._repos[repository]
                store.write_snapshot(writer, folder / store.snapshot_name(number), repository,
                                     repo.roots, repo.signed,
                                     store.snapshot_at(folder, old_number) if old else None)
            buckets = records.write(writer, self.path / "inventory", number,
                                    tx._inv().kinds()) if tx._dirty_inventory else []
            for system in sorted(set(systems.systems_in(old)) | tx._dirty_systems):
                systems.write(writer, old, new, system, tx._systems[system]
                              if system in tx._dirty_systems else None)
            writer.folders.add(new)
            writer.durable(self.path)
            fault_point("workspace.commit.built")
            link_tmp = self.path / "current.new"
            if link_tmp.is_symlink() or link_tmp.exists():
                link_tmp.unlink()
            os.symlink(f"state/{new.name}", link_tmp)
            fault_point("workspace.commit.link_made")
            os.replace(link_tmp, self.path / "current")
            switched = True
            fault_point("workspace.commit.switched")
            fsync_dir(self.path)
            fault_point("workspace.commit.durable")
        except OSError as exc:
            if switched:  # the new state is in place; only its durability is in doubt
                raise WorkspaceError(f"workspace {self.path} was updated but could not be "
                                     f"synced to disk: {exc.strerror or exc}") from None
            for repository in dirty:
                folder = repos / gun_dirname(repository)
                shutil.rmtree(folder / store.snapshot_name(number), ignore_errors=True)
                if not store.snapshots(folder):  # a repository new in this commit
                    shutil.rmtree(folder, ignore_errors=True)
            if tx._dirty_inventory:
                records.discard(self.path / "inventory", number, tx._inv().kinds())
            shutil.rmtree(new, ignore_errors=True)
            raise WorkspaceError(f"cannot update workspace {self.path}: "
                                 f"{exc.strerror or exc}; it is unchanged") from None
        self._collect(keep={new.name, old.name if old else ""})
        for repository in dirty:
            folder = repos / gun_dirname(repository)
            previous = store.snapshot_at(folder, old_number) if old else None
            store.collect_repo(folder, {number} | ({int(previous.name)} if previous else set()))
        for folder in buckets:
            before = records.in_force(folder, old_number)
            records.collect(folder, {number} | ({records.versions_of(before)} if before else set()))

    def _collect(self, keep: set[str]) -> None:
        """Remove generations other than `keep` (half-built ones from crashes included)."""
        for folder in sorted((self.path / "state").iterdir()):
            if folder.name not in keep and _GEN.fullmatch(folder.name):
                shutil.rmtree(folder, ignore_errors=True)
                fault_point("workspace.gc.removed")


# --- files -----------------------------------------------------------------------------------

def _atomic(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data, overwrite=True)
    except GroundFloorError as exc:
        raise WorkspaceError(str(exc)) from None
