"""The TUF keys a ceremony used or listed, kept in the workspace's key inventory.

After the files are signed (same transaction as the rest): every key the new root or targets
lists that lives on an opened token is recorded (system "tuf", key ID as the repository's root
lists it, role by the role that lists it, the repository name) with the custody evidence read
back from its token; online keys (snapshot, timestamp given as public keys) are not on tokens
and not recorded. A key the previous version listed and the new one no longer lists is retired
with the reason, or, when it still serves another repository, loses this repository's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ceremony.inventory import KeyRecord, token_key_record
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
            s.tx.add_key(token_key_record(s.tx, s.tokens, system=SYSTEM, key_id=kid, role=role,
                                          names=[repository], token=token, info=info))
            added.append(kid)
        gone = {k: r for k, r in listed(p.previous).items() if k not in now}
        for kid, role in sorted(gone.items()):
            rec = s.tx.key(kid)
            if rec is None or rec.system != SYSTEM or s.tx.is_retired(kid) \
                    or repository not in rec.guns:
                continue
            reason = (f"removed from {role} of TUF repository '{repository}' in "
                      f"{p.name} (tuf {operation})")
            rest = [g for g in rec.guns if g != repository]
            if rest:
                s.tx.add_key(KeyRecord.from_dict({**rec.to_dict(), "guns": rest}))
                continue
            s.tx.retire_key(kid, reason)
            retired.append({"key_id": kid, "reason": reason})
    return {"keys_recorded": sorted(set(added)), "keys_retired": retired}


def keys_listed(plans: Sequence[FilePlan]) -> dict[str, Any]:
    """key ID -> Key for every key the new root and targets files list."""
    out: dict[str, Any] = {}
    for p in plans:
        out.update(getattr(p.md.signed, "keys", None) or {})
        delegations = getattr(p.md.signed, "delegations", None)
        if delegations is not None:
            out.update(delegations.keys or {})
    return out
