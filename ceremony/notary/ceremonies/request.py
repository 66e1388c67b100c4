"""Checking a request against the workspace, before anything is shown or signed.

The trust rule: the request comes from the online machine and is believed only as far as it
verifies against what this workspace already trusts. Refused, each with one line and nothing
written:
- an operation other than the one this ceremony performs;
- for a new repository: the server already has trust data, or this workspace already trusts or
  signed a root for the GUN, or a server key is missing or unreadable;
- for an existing repository: a GUN this workspace holds no trusted root for (an unknown root);
  a root history that does not chain from the pinned trusted roots (or differs from them);
  metadata that does not verify (signatures, thresholds, expiry, mix-and-match, delegations);
  a version older than one this machine already signed (rollback); a "server key" in the
  request that is not the key the trusted root lists for that role (a swapped key).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.errors import MetadataError, RollbackError
from ceremony.notary.format.encoding import parse_json
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, Root, Snapshot, Targets
from ceremony.notary.format.report import RepositoryReport
from ceremony.notary.format.repository import RepositoryFiles
from ceremony.notary.format.repository_check import verify_repository
from ceremony.notary.format.serialization import MetadataFile, read_metadata
from ceremony.workspace import Workspace
from transfer.bundle import RequestEntry


@dataclass
class RepoState:
    """A repository as the request shows it, after it verified against the workspace."""

    gun: str
    entry: RequestEntry
    server_keys: dict[str, Key]
    files: dict[str, MetadataFile] = field(default_factory=dict)  # role -> current file
    report: RepositoryReport | None = None
    trusted_root_bytes: bytes | None = None  # the newest root trusted after the checks
    new_trusted_roots: list[tuple[int, bytes]] = field(default_factory=list)  # to pin too
    existed: bool | None = None  # set when `files` is let go after signing (runner)

    @property
    def exists(self) -> bool:
        return self.existed if self.existed is not None else ROOT in self.files

    @property
    def root(self) -> Root:
        return self.files[ROOT].signed  # type: ignore[return-value]

    @property
    def targets(self) -> Targets:
        return self.files[TARGETS].signed  # type: ignore[return-value]

    @property
    def snapshot(self) -> Snapshot | None:
        f = self.files.get(SNAPSHOT)
        return f.signed if f is not None else None  # type: ignore[return-value]

    def delegations(self) -> dict[str, MetadataFile]:
        return {role: f for role, f in self.files.items() if role.startswith("targets/")}


def server_key(data: bytes, gun: str, role: str) -> Key:
    """A server-managed public key as carried in a request (the body of GET .../ROLE.key)."""
    try:
        parsed = parse_json(data, f"{role}.key")
        return Key.from_dict(parsed.value, "")
    except MetadataError as exc:
        raise CeremonyRefused(f"{gun}: the server's {role} key in the request is not a Notary "
                              f"public key object: {exc}") from None


def check_operation(entry: RequestEntry, operations: tuple[str, ...]) -> None:
    if entry.operation not in operations:
        raise CeremonyRefused(
            f"{entry.gun}: the request asks for '{entry.operation}', but this ceremony is "
            f"'{operations[0]}'; fetch a request with --operation {operations[0]}")


def check_new(entry: RequestEntry, ws: Workspace, operations: tuple[str, ...], *,
              need_snapshot_key: bool) -> RepoState:
    """A repository to create: nothing on the server, nothing trusted or signed here."""
    gun = entry.gun
    check_operation(entry, operations)
    if entry.exists:
        raise CeremonyRefused(f"{gun}: the server already has trust data for this repository "
                              f"(root version {len(entry.root_history)}); init refuses to "
                              "replace it")
    if ws.latest_root_version(gun) is not None:
        raise CeremonyRefused(f"{gun}: this workspace already trusts root version "
                              f"{ws.latest_root_version(gun)} of this repository; init "
                              "refuses to start it again")
    for role in (ROOT, TARGETS):
        if ws.last_signed_version(gun, role) is not None:
            raise CeremonyRefused(f"{gun}: this machine already signed {role} version "
                                  f"{ws.last_signed_version(gun, role)} for this repository "
                                  "(an earlier init not yet published or co-signed); finish "
                                  "that one")
    keys = {}
    for role in (TIMESTAMP, SNAPSHOT):
        if role in entry.server_keys:
            keys[role] = server_key(entry.server_keys[role], gun, role)
    if TIMESTAMP not in keys:
        raise CeremonyRefused(f"{gun}: the request carries no timestamp key from the server "
                              "(fetch it with `ceremony online fetch`)")
    if need_snapshot_key and SNAPSHOT not in keys:
        raise CeremonyRefused(f"{gun}: the request carries no snapshot key from the server; "
                              "fetch with --snapshot-key always, or hold the snapshot key "
                              "offline with --snapshot-token")
    return RepoState(gun, entry, keys)


def check_existing(entry: RequestEntry, ws: Workspace, operations: tuple[str, ...]) -> RepoState:
    """A repository this workspace already trusts: verify the request against it."""
    gun = entry.gun
    check_operation(entry, operations)
    if not entry.exists:
        raise CeremonyRefused(f"{gun}: the server has no trust data for this repository; "
                              "start it with `ceremony init`")
    history = ws.trusted_root_history(gun)
    if not history:
        raise CeremonyRefused(f"{gun}: unknown root: this workspace holds no trusted root for "
                              "this repository (it was not initialised here), so the request "
                              "cannot be checked")
    served = {n: data for n, data in enumerate(entry.root_history, start=1)}
    for version, data in history.items():
        if version in served and served[version] != data:
            raise CeremonyRefused(f"{gun}: root version {version} in the request differs from "
                                  "the trusted root of that version in this workspace (a "
                                  "forged or replaced root history)")
    latest = max(history)
    trusted_versions = {}
    for role in [ROOT, TARGETS, *sorted(r for r in entry.metadata if r.startswith("targets/"))]:
        signed = ws.last_signed_version(gun, role)
        if signed is not None:
            trusted_versions[role] = signed
    files = RepositoryFiles(roles=dict(entry.metadata), root_history=served,
                            source="request bundle")
    read: dict[str, MetadataFile] = {}
    report = verify_repository(files, gun, trusted_root=history[latest],
                               trusted_versions=trusted_versions, read=read)
    if not report.ok:
        error = report.errors[0]
        hint = ""
        if isinstance(error, RollbackError):
            hint = ("; this machine already signed a newer version than this request shows: if "
                    "that response was published, this request is stale: fetch a fresh one "
                    "(ceremony online fetch); if it was not, publish it (or finish co-signing "
                    "it) first")
        raise CeremonyRefused(f"{gun}: the request's metadata does not verify against this "
                              f"workspace: {error}{hint}", errors=[str(e) for e in report.errors])
    state = RepoState(gun, entry, {}, report=report)
    for role, data in entry.metadata.items():
        cls = {ROOT: Root, TARGETS: Targets, SNAPSHOT: Snapshot}.get(role)
        if role == TIMESTAMP:
            continue
        if cls is None and not role.startswith("targets/"):
            continue
        # the objects the verifier read and verified, not a second parse of the same bytes
        state.files[role] = read.get(role) or read_metadata(data, f"{role}.json", cls or Targets)
    root = state.root
    state.trusted_root_bytes = entry.metadata[ROOT]
    state.new_trusted_roots = [(n, data) for n, data in sorted(served.items()) if n > latest]
    for role in (TIMESTAMP, SNAPSHOT):
        if role not in entry.server_keys:
            continue
        key = server_key(entry.server_keys[role], gun, role)
        if key.key_id not in root.roles[role].keyids:
            listed = ", ".join(root.roles[role].keyids)
            raise CeremonyRefused(
                f"{gun}: the request's {role} key {key.key_id} is not the {role} key the "
                f"trusted root (version {root.version}) lists ({listed}): refusing a swapped "
                "server key (changing a server key is a root rotation)")
        state.server_keys[role] = key
    return state
