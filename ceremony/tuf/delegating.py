"""Delegation add/remove for a TUF ceremony: on the top-level targets or on a delegated role
(`parent`, a nested delegation), to roles trusted for `paths` or `path_hash_prefixes`, or to
succinct hash bins (TAP 15). The delegating role's next version is signed by the keys that
sign it today: root's targets keys, or the keys its own delegator lists for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ceremony.tuf.context import Context
from ceremony.tuf.errors import TufError
from ceremony.tuf.keys import Key
from ceremony.tuf.model import Metadata
from ceremony.tuf.plan import (
    SPEC_VERSION,
    Current,
    FilePlan,
    Need,
    PlanRefused,
    delegated_role,
    expires_in,
    new_targets,
    renewed,
)
from ceremony.tuf.signed import TOP_LEVEL_ROLES, Role
from ceremony.tuf.targets import Delegations, SuccinctRoles, Targets

HEX_PREFIX = re.compile(r"[0-9a-f]{1,64}")
# Bins whose keys are on the tokens get their first version signed here, each one a file of
# the response: more than this many is a job for keys the online service holds.
MAX_BINS_SIGNED_HERE = 1024


@dataclass
class Entry:
    """How a delegated role is reached: the role delegating it and what that role lists."""

    parent: str
    role: Role
    keys: dict[str, Key]


@dataclass
class Delegator:
    """The role whose delegations change: its current metadata and who signs its next
    version."""

    name: str
    md: Metadata
    need: Need


def _walk(cur: Current) -> dict[str, Entry]:
    """Every delegated role reachable from targets through the metadata the request carries,
    breadth first as clients search (a name reached twice keeps its first delegator)."""
    assert cur.targets is not None
    found: dict[str, Entry] = {}
    queue = [("targets", cur.targets)]
    while queue:
        name, md = queue.pop(0)
        d = md.signed.delegations
        if d is None:
            continue
        children = list(d.roles or {}) if d.roles is not None else \
            sorted(n for n in cur.roles if d.succinct_roles.is_delegated_role(n))
        for child in children:
            if child in found or child == "targets":
                continue
            role = d.role(child)
            found[child] = Entry(name, role, {k: d.keys[k] for k in role.keyids
                                              if k in d.keys})
            if child in cur.roles:
                queue.append((child, cur.roles[child]))
    return found


def delegator(ctx: Context, cur: Current, name: str, flag: str = "--parent") -> Delegator:
    """The role `name` as it signs today, its metadata checked along the chain from targets
    (each link verified with the keys its delegator lists)."""
    from ceremony.tuf.verify import verify_threshold
    if cur.targets is None or cur.root is None:
        raise PlanRefused("the request carries no targets metadata: make it from the "
                          "repository's metadata folder")
    if name == "targets":
        keys, role = cur.root.signed.role_keys("targets")
        return Delegator("targets", cur.targets,
                         Need(f"root v{cur.root.signed.version}'s targets keys", keys, role))
    tree = _walk(cur)
    if name not in tree:
        raise PlanRefused(f"no role of the request's repository delegates "
                          f"{ascii(name)[:80]} ({flag}): give targets or a delegated role "
                          "whose metadata the request carries")
    chain = [name]
    while tree[chain[-1]].parent != "targets":
        chain.append(tree[chain[-1]].parent)
    for link in reversed(chain):
        entry = tree[link]
        try:
            verify_threshold(cur.roles[link], entry.keys, entry.role, role_name=link,
                             signer_desc=f"'{entry.parent}' lists as its")
        except TufError as exc:
            raise PlanRefused(f"{exc}") from None
    last = ctx.state.last_version(name)
    md = cur.roles[name]
    if last is not None and md.signed.version < last:
        raise PlanRefused(f"the request's '{name}' is v{md.signed.version} but this workspace "
                          f"signed v{last}: apply the last response online, then make a new "
                          "request")
    entry = tree[name]
    return Delegator(name, md, Need(f"the keys '{entry.parent}' delegates '{name}' to",
                                    entry.keys, entry.role))


def _next_version(ctx: Context, cur: Current, d: Delegator,
                  delegations: Delegations | None) -> FilePlan:
    expires = expires_in(ctx.choices.targets_expires)
    if d.name == "targets":
        assert cur.root is not None
        return new_targets(cur.root.signed, cur.targets, ctx.state, expires,
                           delegations=delegations)
    plan = renewed(d.md, d.name, ctx.state, expires, [d.need])
    plan.md.signed.delegations = delegations
    return plan


def _copy(d: Delegator) -> Delegations | None:
    old = d.md.signed.delegations
    if old is None:
        return None
    return Delegations(dict(old.keys), dict(old.roles) if old.roles is not None else None,
                       old.succinct_roles, dict(old.unrecognized))


def _where(params: dict[str, Any]) -> tuple[list[str] | None, list[str] | None]:
    paths, prefixes = params.get("paths"), params.get("path_hash_prefixes")
    if bool(paths) == bool(prefixes):
        raise PlanRefused("a delegation names either paths (--path) or path hash prefixes "
                          "(--path-hash-prefix), exactly one of the two kinds")
    for prefix in prefixes or []:
        if not isinstance(prefix, str) or not HEX_PREFIX.fullmatch(prefix):
            raise PlanRefused(f"path hash prefix {ascii(prefix)[:80]} is not lowercase hex (1 "
                              "to 64 characters of a SHA-256 hex digest)")
    return (list(paths) if paths else None), (list(prefixes) if prefixes else None)


def _first_version(expires: str) -> Metadata:
    return Metadata(Targets(spec_version=SPEC_VERSION, version=1, expires=expires,
                            unrecognized={}, targets={}, delegations=None), [])


def _check_new_name(ctx: Context, cur: Current, name: str) -> None:
    if name in _walk(cur) or name in cur.roles or ctx.state.last_version(name) is not None:
        raise PlanRefused(f"the repository already has a role '{name}': remove it first, or "
                          "choose another name")


def build_delegation_add(ctx: Context, cur: Current) -> list[FilePlan]:
    """The parent's next version delegating the request's role (paths or path hash prefixes)
    or succinct hash bins to its keys (public keys in the request and/or keys made on
    --delegate-token); when the token keys alone meet the threshold the new roles' first
    versions (no targets yet) are signed here too."""
    p = ctx.request.params
    parent = p.get("parent", "targets")
    bins = p.get("succinct_bins")
    name = p.get("bin_prefix") if bins is not None else p.get("role")
    if not isinstance(name, str) or not name or not (p.get("keys") or
                                                     ctx.choices.delegate_tokens):
        raise PlanRefused("a delegation add request needs role, paths and keys (ceremony tuf "
                          "request --role NAME --path PATTERN --delegate-key FILE), or the "
                          "role's keys made here (--delegate-token)")
    d = delegator(ctx, cur, parent)
    if bins is not None:  # refused before any key is made on a token
        _check_bits(p, bins)
        if not p.get("keys") and 2 ** bins > MAX_BINS_SIGNED_HERE:
            _too_many(2 ** bins)
    delegations = _copy(d)
    keys = {k: Key.from_dict(k, v) for k, v in p.get("keys", {}).items()}
    token_keys = {k.keyid: k for k in (ctx.key_on(uri, ctx.choices.delegate_label,
                                                   f"tuf delegated key of {name}")
                                       for uri in ctx.choices.delegate_tokens)}
    keys.update(token_keys)
    threshold = int(p.get("threshold", 1))
    expires = expires_in(ctx.choices.targets_expires)
    if bins is not None:
        role = _succinct(ctx, cur, d, delegations, name, bins, keys, threshold)
        delegations = Delegations(dict(keys), None, role, {})
        count = 2 ** role.bit_length
    else:
        if delegations is not None and delegations.succinct_roles is not None:
            raise PlanRefused(f"'{parent}' delegates to succinct hash bins: it cannot also "
                              "delegate a named role (remove the bins first)")
        paths, prefixes = _where(p)
        _check_new_name(ctx, cur, name)
        if name == parent:
            raise PlanRefused(f"'{parent}' cannot delegate to itself")
        role = delegated_role(name, keys, paths or [], threshold,
                              bool(p.get("terminating", False)))
        role.paths, role.path_hash_prefixes = paths, prefixes
        delegations = delegations or Delegations({}, {})
        assert delegations.roles is not None
        delegations.roles[name] = role
        delegations.keys.update(keys)
        count = 1
    plans = [_next_version(ctx, cur, d, delegations)]
    if len(token_keys) >= role.threshold:
        if count > MAX_BINS_SIGNED_HERE:
            _too_many(count)
        names = list(role.roles()) if isinstance(role, SuccinctRoles) else [name]
        plans += [FilePlan(n, _first_version(expires), None,
                           [Need(f"the keys '{parent}' delegates '{n}' to", keys, role)])
                  for n in names]
    return plans


def _too_many(count: int) -> None:
    raise PlanRefused(f"{count} bins would each be signed here (at most "
                      f"{MAX_BINS_SIGNED_HERE}): give the bins' keys in the request "
                      "(--delegate-key) so the online service signs them, or fewer bits")


def _check_bits(params: dict[str, Any], bits: Any) -> None:
    if _has_where(params):
        raise PlanRefused("succinct hash bins take no --path or --path-hash-prefix: every "
                          "target path belongs to exactly one bin")
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 32:
        raise PlanRefused(f"succinct bins: {ascii(bits)[:20]} bits is out of 1..32")


def _succinct(ctx: Context, cur: Current, d: Delegator, delegations: Delegations | None,
              prefix: str, bits: int, keys: dict[str, Key],
              threshold: int) -> SuccinctRoles:
    if delegations is not None and (delegations.roles or delegations.succinct_roles):
        raise PlanRefused(f"'{d.name}' already delegates "
                          f"{'to hash bins' if delegations.succinct_roles else 'roles'}: a "
                          "role delegates either to named roles or to succinct hash bins, "
                          "not both (remove those first)")
    delegated_role(prefix, keys, [], threshold, False)  # the name and threshold checks
    role = SuccinctRoles(sorted(keys), threshold, {}, bits, prefix)
    taken = set(_walk(cur)) | set(cur.roles) | set(TOP_LEVEL_ROLES) \
        | set(ctx.state.signed)
    clash = [n for n in taken if role.is_delegated_role(n)]
    if clash:
        raise PlanRefused(f"the repository already has a role '{sorted(clash)[0]}', a name of "
                          "these bins: choose another --bin-prefix")
    return role


def _has_where(params: dict[str, Any]) -> bool:
    return bool(params.get("paths") or params.get("path_hash_prefixes"))


def build_delegation_remove(ctx: Context, cur: Current) -> list[FilePlan]:
    """The parent's next version without the request's role (or, named by its prefix, its
    succinct hash bins)."""
    p = ctx.request.params
    parent = p.get("parent", "targets")
    name = p.get("role") or p.get("bin_prefix")
    d = delegator(ctx, cur, parent)
    delegations = _copy(d)
    if delegations is not None and delegations.succinct_roles is not None:
        if name != delegations.succinct_roles.name_prefix:
            raise PlanRefused(f"'{parent}' delegates only to the hash bins "
                              f"'{delegations.succinct_roles.name_prefix}-*': nothing named "
                              f"{ascii(name)[:80]} to remove")
        return [_next_version(ctx, cur, d, None)]
    if delegations is None or not isinstance(name, str) or name not in (delegations.roles or {}):
        raise PlanRefused(f"{parent} does not delegate {ascii(name)[:80]}: nothing to remove")
    assert delegations.roles is not None
    del delegations.roles[name]
    used = {k for r in delegations.roles.values() for k in r.keyids}
    delegations.keys = {k: v for k, v in delegations.keys.items() if k in used}
    return [_next_version(ctx, cur, d, delegations if delegations.roles else None)]
