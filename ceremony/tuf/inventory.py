"""The TUF keys a ceremony used or listed, kept in the workspace's key inventory.

After the files are signed (same transaction as the rest): every key the new root or targets
lists that lives on an opened token is recorded (system "tuf", key ID as the repository's root
lists it, role by the role that lists it, the repository name) with the custody evidence read
back from its token; online keys (snapshot, timestamp given as public keys) are not on tokens
and not recorded. A key the previous version listed and the new one no longer lists is retired
with the reason, or, when it still serves another repository, loses this repository's name.

Signing metadata made elsewhere (`ceremony tuf sign-request`, record_signing) keeps the same
records for the token keys it signed with: first seen (`added`) kept, `last_used` set to this
signature; a root that no longer lists a key this workspace holds for the repository retires it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ceremony.inventory import KeyRecord, token_key_record
from ceremony.tuf.model import TOP_LEVEL_ROLES
from ceremony.tuf.plan import FilePlan

SYSTEM = "tuf"


def listed(md: Any) -> dict[str, str]:
    """key ID -> the first role of a root or targets file that lists it (root first)."""
    signed = md.signed if md is not None else None
    out: dict[str, str] = {}
    roles = getattr(signed, "roles", None)
    if isinstance(roles, dict):  # root
        for name in ("root", "targets", "snapshot", "timestamp", *sorted(roles)):
            for kid in roles[name].keyids if name in roles else ():
                out.setdefault(kid, name)
    delegations = getattr(signed, "delegations", None)
    if delegations is not None and delegations.roles:
        for name, role in sorted(delegations.roles.items()):
            for kid in role.keyids:
                out.setdefault(kid, name)
    return out


def record_keys(s: Any, repository: str, plans: Sequence[FilePlan],
                found: dict[str, tuple[Any, Any]], operation: str) -> dict[str, Any]:
    """Stage the inventory changes of a TUF ceremony on `s.tx`; returns what changed."""
    added, retired = [], []
    for p in plans:
        now = listed(p.md)
        for kid, role in sorted(now.items()):
            if kid not in found or s.tx.is_retired(kid):
                continue
            existing = s.tx.key(kid)
            if existing is not None and existing.system != SYSTEM:
                continue  # the same key ID recorded by another system: left as it is
            token, info = found[kid]
            rec = token_key_record(s.tx, s.tokens, system=SYSTEM, key_id=kid, role=role,
                                   names=[repository], token=token, info=info)
            if existing is not None:  # first seen and last signature kept (record_signing)
                rec = dataclasses.replace(rec, added=existing.added,
                                          last_used=existing.last_used)
            s.tx.add_key(rec)
            added.append(kid)
        gone = {k: r for k, r in listed(p.previous).items() if k not in now}
        for kid, role in sorted(gone.items()):
            _drop(s, kid, repository, retired, f"removed from {role} of TUF repository "
                  f"'{repository}' in {p.name} (tuf {operation})")
    return {"keys_recorded": sorted(set(added)), "keys_retired": retired}


def _drop(s: Any, kid: str, repository: str, retired: list[dict[str, str]],
          reason: str) -> None:
    """A key no longer listed for `repository`: retired with `reason` (appended to `retired`),
    or, when it still serves another repository, only this repository's name taken off. Keys
    of another system, already retired, or not recorded for this repository are left alone."""
    rec = s.tx.key(kid)
    if rec is None or rec.system != SYSTEM or s.tx.is_retired(kid) or repository not in rec.guns:
        return
    rest = [g for g in rec.guns if g != repository]
    if rest:
        s.tx.add_key(KeyRecord.from_dict({**rec.to_dict(), "guns": rest}))
        return
    s.tx.retire_key(kid, reason)
    retired.append({"key_id": kid, "reason": reason})


def keys_listed(plans: Sequence[FilePlan]) -> dict[str, Any]:
    """key ID -> Key for every key the new root and targets files list."""
    out: dict[str, Any] = {}
    for p in plans:
        out.update(getattr(p.md.signed, "keys", None) or {})
        delegations = getattr(p.md.signed, "delegations", None)
        if delegations is not None:
            out.update(delegations.keys or {})
    return out


def record_signing(s: Any, repository: str, md: Any, previous: Any,
                   found: Mapping[str, tuple[Any, Any]], made: Sequence[str],
                   operation: str = "sign-request") -> dict[str, Any]:
    """Stage on `s.tx` the inventory records of the token keys that signed `md` (metadata made
    elsewhere) for `repository`: `found` is key ID -> (token, key info), `made` the key IDs
    signed with here; `previous` the trusted root a proposed root follows (None otherwise).

    A key is recorded with the role the signed root lists it for (root first), or for another
    role the role it signed as; one already recorded keeps its first-seen time and gains this
    repository and the time of this use. When `md` is a root, every key of this repository's
    top-level roles that it no longer lists (removed by a rotation made elsewhere) is retired
    with the reason, or only loses this repository's name when it serves another one."""
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    is_root = str(md.signed.type) == "root"
    now = listed(md) if is_root else {}
    before = listed(previous) if is_root and previous is not None else {}
    recorded, updated, skipped = [], [], []
    for kid in sorted(made):
        existing = s.tx.key(kid)
        if existing is not None and (existing.system != SYSTEM or s.tx.is_retired(kid)):
            why = "retired" if s.tx.is_retired(kid) else f"a {existing.system} key"
            skipped.append({"key_id": kid, "reason": f"recorded already as {why}"})
            continue  # a retired record is evidence: never rewritten; another system's kept
        token, info = found[kid]
        role = now.get(kid) or before.get(kid) or str(md.signed.type)
        rec = token_key_record(s.tx, s.tokens, system=SYSTEM, key_id=kid, role=role,
                               names=[repository], token=token, info=info)
        s.tx.add_key(dataclasses.replace(
            rec, added=existing.added if existing is not None and existing.added else when,
            last_used=when))
        (updated if existing is not None else recorded).append(kid)
    retired: list[dict[str, str]] = []
    if is_root:
        held = {k.key_id: k.role for k in s.tx.keys() if k.system == SYSTEM
                and repository in k.guns and k.role in TOP_LEVEL_ROLES}
        for kid in sorted(({**held, **before}).keys() - now.keys()):
            _drop(s, kid, repository, retired, f"removed from "
                  f"{before.get(kid) or held[kid]} of TUF repository '{repository}' by root "
                  f"v{md.signed.version} made elsewhere (tuf {operation})")
    return {"keys_recorded": recorded, "keys_updated": updated, "keys_retired": retired,
            "keys_skipped": skipped}
