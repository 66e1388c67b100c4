"""Building new metadata: every file a ceremony signs is made here from trusted inputs.

Nothing is copied from a request without having been verified first (request.py); builders
take the verified current models and return new ones, never mutating their inputs. Lifetimes
are Notary's defaults (docs/verify.md): root 10 years, targets 3, snapshot 3, a year being
365 days as in Notary; expiries are whole seconds in UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.errors import MetadataError
from ceremony.notary.format.keyrules import require_verifiable
from ceremony.notary.format.keys import Key, key_from_certificate, key_from_public_key
from ceremony.notary.format.model import (
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    DelegatedRole,
    Delegations,
    FileMeta,
    Instant,
    Role,
    Root,
    Snapshot,
    Targets,
)
from ceremony.notary.format.verify import delegation_name_problem
from ceremony.publicpem import read_public_pem

YEAR = dt.timedelta(days=365)
LIFETIMES = {ROOT: 10 * YEAR, TARGETS: 3 * YEAR, SNAPSHOT: 3 * YEAR}
SIGNER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
RELEASES = "targets/releases"


def expiry(lifetime: dt.timedelta, now: dt.datetime | None = None) -> Instant:
    """now + lifetime, in whole seconds (UTC)."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return Instant.from_datetime(now + lifetime)


def copy_root(root: Root) -> Root:
    # Keys are frozen (str and bytes): the copy shares them, and with them what they already
    # derived (certificates parsed, SPKI), instead of rebuilding every key from its dict form.
    return Root(root.version, root.expires, dict(root.keys),
                {name: Role(list(role.keyids), role.threshold)
                 for name, role in root.roles.items()},
                root.consistent_snapshot)


def copy_targets(targets: Targets) -> Targets:
    return Targets.from_dict(targets.to_dict())


# --- new repositories ------------------------------------------------------------------------

def new_root(*, root_keys: Sequence[Key], root_threshold: int, targets_key: Key,
             snapshot_key: Key, timestamp_key: Key, expires: Instant) -> Root:
    """root.json version 1 listing the four roles' keys."""
    if not 1 <= root_threshold <= len(root_keys):
        raise CeremonyRefused(f"root threshold {root_threshold} is impossible with "
                              f"{len(root_keys)} root key(s)")
    keys: dict[str, Key] = {}
    for key in [*root_keys, targets_key, snapshot_key, timestamp_key]:
        keys[key.key_id] = key
    if len(keys) != len(root_keys) + 3:
        raise CeremonyRefused("the same key was given for two roles; every role needs its own "
                              "key")
    roles = {ROOT: Role([k.key_id for k in root_keys], root_threshold),
             TARGETS: Role([targets_key.key_id], 1),
             SNAPSHOT: Role([snapshot_key.key_id], 1),
             TIMESTAMP: Role([timestamp_key.key_id], 1)}
    return Root(1, expires, keys, roles, False)


def new_targets(expires: Instant) -> Targets:
    return Targets(1, expires)


def file_meta(data: bytes) -> FileMeta:
    """Length and the sha256 + sha512 hashes Notary lists for a metadata file."""
    return FileMeta(len(data), {"sha256": hashlib.sha256(data).digest(),
                                "sha512": hashlib.sha512(data).digest()})


def snapshot_for(previous: Snapshot | None, files: Mapping[str, bytes],
                 removed: Iterable[str], expires: Instant) -> Snapshot:
    """The next snapshot: the previous one's entries, with `files` (role -> exact bytes)
    updated and `removed` roles dropped; version 1 for a new repository."""
    meta = {} if previous is None else {role: FileMeta(m.length, dict(m.hashes))
                                        for role, m in previous.meta.items()}
    for role in removed:
        meta.pop(role, None)
    for role, data in files.items():
        meta[role] = file_meta(data)
    return Snapshot(1 if previous is None else previous.version + 1, expires,
                    dict(sorted(meta.items())))


# --- re-signing -------------------------------------------------------------------------------

def next_root(root: Root, expires: Instant) -> Root:
    new = copy_root(root)
    new.version = root.version + 1
    new.expires = expires
    return new


def next_targets(targets: Targets, expires: Instant) -> Targets:
    new = copy_targets(targets)
    new.version = targets.version + 1
    new.expires = expires
    return new


def replace_role_keys(root: Root, role: str, new_keys: Sequence[Key], threshold: int) -> list[str]:
    """Point `role` at `new_keys` (threshold `threshold`); keys no role lists any more leave
    root.keys. Returns the key IDs taken out of the role."""
    old = list(root.roles[role].keyids)
    root.roles[role] = Role([k.key_id for k in new_keys], threshold)
    for key in new_keys:
        root.keys[key.key_id] = key
    used = {kid for r in root.roles.values() for kid in r.keyids}
    root.keys = {kid: key for kid, key in root.keys.items() if kid in used}
    return [kid for kid in old if kid not in root.roles[role].keyids]


# --- delegations --------------------------------------------------------------------------------

def read_public_key(path: str | Path) -> Key:
    """A delegation key from a PEM file: a public key (-> `ecdsa`/`rsa`/`ed25519` key object)
    or a certificate (-> `ecdsa-x509`/`rsa-x509`), as Notary and docker read them."""
    path = Path(path)
    data = read_public_pem(path, "key file", wanted="the public key or certificate",
                           error=CeremonyRefused)
    kind = ("certificate" if b"-----BEGIN CERTIFICATE-----" in data else
            "public key" if b"-----BEGIN PUBLIC KEY-----" in data else None)
    try:
        # cryptography's own text for a damaged PEM is a paragraph with a URL: say it plainly
        loaded = (x509.load_pem_x509_certificates(data) if kind == "certificate" else
                  load_pem_public_key(data) if kind else None)
    except (ValueError, TypeError):
        raise CeremonyRefused(f"key file {path}: its PEM {kind} is damaged or truncated "
                              "(it does not load)") from None
    try:
        if kind:
            require_verifiable(loaded[0].public_key() if kind == "certificate" else loaded)
        if kind == "certificate":
            return key_from_certificate(loaded[0], loaded[1:])
        if kind:
            return key_from_public_key(loaded)
    except (ValueError, TypeError, MetadataError) as exc:
        raise CeremonyRefused(f"key file {path} is not a usable public key or certificate: "
                              f"{' '.join(str(exc).split())}") from None
    raise CeremonyRefused(f"key file {path} holds no PEM public key or certificate")


def _distinct(keys: Mapping[str, Key], keyids: Sequence[str]) -> int:
    """How many distinct public keys the key IDs name (a key under two IDs counts once)."""
    return len({keys[kid].identity or kid.encode() for kid in keyids})


def _prune_keys(delegations: Delegations) -> list[str]:
    used = {kid for role in delegations.roles for kid in role.keyids}
    dropped = [kid for kid in delegations.keys if kid not in used]
    delegations.keys = {kid: key for kid, key in delegations.keys.items() if kid in used}
    return dropped


def check_role_name(role: str) -> str:
    problem = delegation_name_problem(role, TARGETS)
    if problem is not None:
        raise CeremonyRefused(f"delegation {role!r}: {problem} (this tool edits delegations "
                              "of targets.json, signed by the targets key)")
    return role


def add_delegation(targets: Targets, role: str, keys: Sequence[Key], *,
                   paths: Sequence[str] = (), threshold: int | None = None) -> None:
    """Create `role` or extend it: keys and paths added (each once), threshold set if given.
    Everything is checked before `targets` is changed."""
    check_role_name(role)
    d = targets.delegations
    existing = d.role(role)
    if existing is None:
        if not paths:
            raise CeremonyRefused(f"new delegation {role} needs paths: give --path PREFIX or "
                                  "--all-paths")
        if not keys:
            raise CeremonyRefused(f"new delegation {role} needs at least one key (--key PEM)")
    keyids = list(existing.keyids) if existing else []
    keyids += [k.key_id for k in keys if k.key_id not in keyids]
    keyids = list(dict.fromkeys(keyids))
    new_paths = list(existing.paths) if existing else []
    new_paths += [p for p in dict.fromkeys(paths) if p not in new_paths]
    new_threshold = threshold if threshold is not None else (existing.threshold if existing
                                                             else 1)
    all_keys = {**d.keys, **{k.key_id: k for k in keys}}
    distinct = _distinct(all_keys, keyids)
    if not 1 <= new_threshold <= distinct:
        raise CeremonyRefused(f"delegation {role}: threshold {new_threshold} is impossible "
                              f"with {distinct} distinct key(s)")
    d.keys.update({k.key_id: k for k in keys})
    if existing is None:
        d.roles.append(DelegatedRole(role, keyids, new_threshold, new_paths))
    else:
        existing.keyids, existing.paths, existing.threshold = keyids, new_paths, new_threshold


def remove_delegation(targets: Targets, role: str, *, key_ids: Sequence[str] = (),
                      paths: Sequence[str] = ()) -> list[str]:
    """Remove `role` entirely (no keys and no paths given), or some of its keys and paths.
    Everything is checked before `targets` is changed. Returns notes for the review."""
    check_role_name(role)
    d = targets.delegations
    existing = d.role(role)
    if existing is None:
        raise CeremonyRefused(f"targets.json has no delegation {role}")
    notes = []
    if not key_ids and not paths:
        d.roles = [r for r in d.roles if r.name != role]
        notes.append(f"delegation {role} removed")
    else:
        for kid in key_ids:
            if kid not in existing.keyids:
                raise CeremonyRefused(f"delegation {role} does not list key {kid}")
        for path in paths:
            if path not in existing.paths:
                raise CeremonyRefused(f"delegation {role} does not list path {path!r}")
        keyids = [kid for kid in existing.keyids if kid not in key_ids]
        if not keyids:
            raise CeremonyRefused(f"removing those keys leaves {role} with no key; remove the "
                                  "whole delegation instead (no --key)")
        distinct = _distinct(d.keys, keyids)
        if existing.threshold > distinct:
            raise CeremonyRefused(f"removing those keys leaves {role} with {distinct} distinct "
                                  f"key(s) but threshold {existing.threshold}")
        existing.keyids = keyids
        existing.paths = [p for p in existing.paths if p not in paths]
        notes.append(f"delegation {role}: {len(key_ids)} key(s) and {len(paths)} path(s) "
                     "removed")
    dropped = _prune_keys(d)
    notes += [f"key {kid} no longer used by any delegation: removed from delegations.keys"
              for kid in dropped]
    return notes


def signer_name(name: str) -> str:
    if not SIGNER_NAME.fullmatch(name):
        raise CeremonyRefused(f"signer name {ascii(name)} is not valid: it must match "
                              "^[a-z0-9][a-z0-9_-]*$ (as in docker trust signer add)")
    if name == "releases":
        raise CeremonyRefused("'releases' is reserved for the role every signer shares and "
                              "cannot be a signer name")
    check_role_name(f"targets/{name}")
    return name


def add_signer(targets: Targets, name: str, keys: Sequence[Key]) -> list[str]:
    """docker trust signer add: the keys go into targets/NAME and targets/releases, each with
    paths [""] (all paths); roles are created with threshold 1 if they do not exist."""
    signer_name(name)
    if not keys:
        raise CeremonyRefused("signer add needs at least one --key PEM")
    notes = []
    for role in (f"targets/{name}", RELEASES):
        existed = targets.delegations.role(role) is not None
        add_delegation(targets, role, keys, paths=[""])
        notes.append(f"{role}: {'keys added' if existed else 'created'}")
    return notes


def remove_signer(targets: Targets, name: str) -> list[str]:
    """docker trust signer remove: the signer's keys leave targets/releases, targets/NAME is
    deleted. If targets/releases is left without keys it is deleted too (a role nobody can
    sign)."""
    signer_name(name)
    role = f"targets/{name}"
    d = targets.delegations
    signer = d.role(role)
    if signer is None:
        raise CeremonyRefused(f"no signer {name}: targets.json has no delegation {role}")
    notes = []
    releases = d.role(RELEASES)
    if releases is not None:
        remaining = [kid for kid in releases.keyids if kid not in signer.keyids]
        if not remaining:
            d.roles = [r for r in d.roles if r.name != RELEASES]
            notes.append(f"{RELEASES} has no key left once {name}'s keys are removed: it is "
                         "removed too (nobody could sign it)")
        else:
            removed = [kid for kid in releases.keyids if kid in signer.keyids]
            releases.keyids = remaining
            releases.threshold = min(releases.threshold, _distinct(d.keys, remaining))
            if removed:
                notes.append(f"{RELEASES}: {len(removed)} key(s) of {name} removed")
    d.roles = [r for r in d.roles if r.name != role]
    notes.append(f"{role} removed")
    notes += [f"key {kid} no longer used by any delegation: removed from delegations.keys"
              for kid in _prune_keys(d)]
    return notes
