"""The workspace's "tuf" section: what this machine trusts and has signed for each TUF 1.0
repository, committed with the ceremony that changed it (one crash-safe transaction).

Layout (paths inside the section; NAME is the repository's name, bundles.REPOSITORY_NAME):

    NAME/roots/N.root.json     every trusted root, exact bytes (N = its version, 1, 2, ...)
    NAME/first-pin.json        where the history starts for a repository this workspace first
                               met at root vN (any N), pinned on the operator's word rather
                               than made here ({"version": N, "sha256": ..., "how": ...})
    NAME/signed/ROLE.json      the last version of ROLE this machine signed, exact bytes
                               (root, targets, a delegated role): the next must be newer

API (stable; branch i14b builds on it):
- `TufState.load(ws_or_tx, name)`: the section of one repository (read, parsed lazily);
  `.exists`, `.roots` {version: bytes}, `.latest_root` (version, bytes), `.trusted_root()`
  (Metadata), `.signed` {role: bytes}, `.last_version(role)`.
- `stage_root(tx, name, data)`: pin the next root (version = latest + 1, or 1 for a new
  repository; the same bytes again is a no-op, other bytes for a known version refused).
- `pin_first_root(tx, name, data)`: start the history of a repository the workspace has no
  root of at the root `data`, whatever its version (first contact: the caller has checked it
  against a digest the operator gave); recorded in first-pin.json (`TufState.first_pin`).
- `stage_signed(tx, name, role, data)`: record a signed file of ROLE; a version lower than the
  last one signed is refused (rollback), the same version only with the same bytes.
- `repositories(ws_or_tx)`: the names with a section.
Everything raises TufStateError (one line, says what to do). Staging changes nothing on disk
until the transaction commits.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ceremony.tuf.bundles import REPOSITORY_NAME
from ceremony.tuf.errors import TufError
from ceremony.tuf.model import Metadata

SECTION = "tuf"
FIRST_PIN = "first-pin.json"
_ROOT_FILE = re.compile(r"([1-9][0-9]{0,18})\.root\.json")
_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,120}")


class TufStateError(TufError, code="state"):
    """The workspace's TUF section refuses a change (rollback, a fork of the root chain)."""


class _Reads(Protocol):
    def system_file(self, system: str, path: str) -> bytes | None: ...
    def system_paths(self, system: str, prefix: str = "") -> list[str]: ...


class _Writes(_Reads, Protocol):
    def put_system_file(self, system: str, path: str, data: bytes) -> None: ...


def check_name(name: str) -> str:
    if not isinstance(name, str) or not REPOSITORY_NAME.fullmatch(name):
        raise TufStateError(f"{ascii(name)[:80]} is not a repository name (letters, digits, "
                            "'.', '_', '-'; at most 64)")
    return name


def check_role(role: str) -> str:
    if not isinstance(role, str) or not _ROLE.fullmatch(role) or role.endswith("."):
        raise TufStateError(f"role name {ascii(role)[:80]} cannot be kept in the workspace "
                            "(letters, digits, '.', '_', '+', '-')")
    return role


@dataclass
class TufState:
    name: str
    roots: dict[int, bytes] = field(default_factory=dict)
    signed: dict[str, bytes] = field(default_factory=dict)
    # {"version", "sha256", "how"} when the history starts at a root pinned on first contact
    first_pin: dict[str, Any] | None = None

    @classmethod
    def load(cls, ws: _Reads, name: str) -> TufState:
        check_name(name)
        state = cls(name)
        for path in ws.system_paths(SECTION, f"{name}/"):
            data = ws.system_file(SECTION, path)
            assert data is not None
            rest = path[len(name) + 1:]
            folder, _, file = rest.partition("/")
            if folder == "roots" and (m := _ROOT_FILE.fullmatch(file)):
                state.roots[int(m.group(1))] = data
            elif folder == "signed" and file.endswith(".json"):
                state.signed[file[:-5]] = data
            elif rest == FIRST_PIN:
                state.first_pin = json.loads(data)
        state.roots = dict(sorted(state.roots.items()))
        return state

    @property
    def exists(self) -> bool:
        return bool(self.roots)

    @property
    def latest_root(self) -> tuple[int, bytes]:
        if not self.roots:
            raise TufStateError(f"the workspace has no TUF repository '{self.name}': run "
                                "`ceremony tuf init` for it first (or check --workspace)")
        version = max(self.roots)
        return version, self.roots[version]

    def trusted_root(self) -> Metadata:
        version, data = self.latest_root
        return Metadata.from_bytes(data, f"workspace {self.name}/roots/{version}.root.json",
                                   "root")

    def signed_metadata(self, role: str) -> Metadata | None:
        data = self.signed.get(role)
        if data is None:
            return None
        return Metadata.from_bytes(data, f"workspace {self.name}/signed/{role}.json")

    def last_version(self, role: str) -> int | None:
        if role == "root" and self.roots:
            return max(self.roots)
        md = self.signed_metadata(role)
        return md.signed.version if md is not None else None


def _version_of(data: bytes, what: str, expected: str | None = None) -> int:
    md = Metadata.from_bytes(data, what, expected)
    return int(md.signed.version)


def stage_root(tx: _Writes, name: str, data: bytes) -> int:
    """Pin `data` as the next trusted root of `name`; returns its version."""
    state = TufState.load(tx, name)
    version = _version_of(data, f"root for '{name}'", "root")
    if version in state.roots:
        if state.roots[version] != data:
            raise TufStateError(f"'{name}': the workspace already trusts a different root "
                                f"v{version}; a root chain must not fork: start from the "
                                "workspace's latest root")
        return version
    expected = max(state.roots) + 1 if state.roots else 1
    if version != expected:
        raise TufStateError(f"'{name}': root v{version} does not follow the trusted root "
                            f"(expected v{expected}): versions go up by exactly one")
    tx.put_system_file(SECTION, f"{name}/roots/{version}.root.json", data)
    tx.put_system_file(SECTION, f"{name}/signed/root.json", data)
    return version


def pin_first_root(tx: _Writes, name: str, data: bytes) -> int:
    """Start `name`'s root history at `data` (any version; the caller vouches for it: a
    digest the operator gave); returns its version. Refused if the workspace already holds a
    root of `name`: then the next root must follow it (stage_root)."""
    state = TufState.load(tx, name)
    if state.exists:
        raise TufStateError(f"'{name}': the workspace already trusts root "
                            f"v{state.latest_root[0]}; a first pin is only for a repository "
                            "it has no root of: stage the next root from there instead")
    version = _version_of(data, f"root for '{name}'", "root")
    record = {"version": version, "sha256": hashlib.sha256(data).hexdigest(),
              "how": "first contact"}
    tx.put_system_file(SECTION, f"{name}/{FIRST_PIN}",
                       json.dumps(record, indent=1, sort_keys=True).encode() + b"\n")
    tx.put_system_file(SECTION, f"{name}/roots/{version}.root.json", data)
    tx.put_system_file(SECTION, f"{name}/signed/root.json", data)
    return version


def stage_signed(tx: _Writes, name: str, role: str, data: bytes) -> int:
    """Record `data` as the last signed version of `role` (rollback refused); its version."""
    check_role(role)
    if role == "root":
        return stage_root(tx, name, data)
    state = TufState.load(tx, name)
    version = _version_of(data, f"{role} for '{name}'")
    last = state.last_version(role)
    if last is not None and (version < last or (version == last and
                                                state.signed[role] != data)):
        raise TufStateError(f"'{name}': {role} v{version} would roll back the v{last} this "
                            "workspace signed last; ask for a request made from the current "
                            "repository")
    tx.put_system_file(SECTION, f"{name}/signed/{role}.json", data)
    return version


def repositories(ws: _Reads) -> list[str]:
    return sorted({p.split("/", 1)[0] for p in ws.system_paths(SECTION)})


def describe(state: TufState) -> dict[str, Any]:
    """The section of one repository for a JSON summary."""
    out: dict[str, Any] = {"repository": state.name, "roots": sorted(state.roots)}
    if state.first_pin is not None:
        out["first_pin"] = state.first_pin
    out["signed"] = {role: state.last_version(role) for role in sorted(state.signed)}
    return out
