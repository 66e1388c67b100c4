"""Each TUF ceremony's new files, built from the request's repository (plan.Current) and the
offline choices: init, rotate-root, rotate-key, renew; delegation add/remove in delegating.py.
A builder makes keys on tokens where the operation needs new ones, and returns the unsigned
FilePlans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ceremony.tuf import delegating
from ceremony.tuf.context import Context
from ceremony.tuf.errors import TufError
from ceremony.tuf.files import check_target_path
from ceremony.tuf.keys import Key
from ceremony.tuf.plan import (
    Current,
    FilePlan,
    Need,
    PlanRefused,
    expires_in,
    new_root,
    new_targets,
    renewed,
    root_needs,
)
from ceremony.tuf.signed import TOP_LEVEL_ROLES, Role
from ceremony.tuf.targets import TargetFile


def _online(ctx: Context, role: str) -> tuple[dict[str, Key], Role]:
    entry = ctx.request.online_keys.get(role)
    if entry is None:
        raise PlanRefused(f"the request gives no {role} key: the online service's public "
                          f"{role} key(s) must come with it (ceremony tuf request "
                          f"--online-key {role}=FILE)")
    return dict(entry.keys), Role(sorted(entry.keys), entry.threshold)


def _majority(n: int) -> int:
    return n // 2 + 1


def _unique_root_tokens(ctx: Context) -> list[Key]:
    keys = [ctx.key_on(uri, ctx.choices.key_label, "tuf root key")
            for uri in ctx.choices.root_tokens]
    if len({k.keyid for k in keys}) != len(keys):
        raise PlanRefused("the same root key was given twice (--root-token): each root key "
                          "holder needs a token of their own")
    return keys


def build_init(ctx: Context, cur: Current) -> list[FilePlan]:
    c = ctx.choices
    if not c.root_tokens or not c.targets_token:
        raise PlanRefused("init needs --root-token (one per root key holder) and "
                          "--targets-token")
    snapshot = _online(ctx, "snapshot")
    timestamp = _online(ctx, "timestamp")
    root_keys = _unique_root_tokens(ctx)
    targets_key = ctx.key_on(c.targets_token, c.targets_label, "tuf targets key")
    if targets_key.keyid in {k.keyid for k in root_keys}:
        raise PlanRefused("the targets key must not be a root key: give it its own label "
                          "(--targets-label) or token")
    threshold = c.root_threshold or _majority(len(root_keys))
    keys = {k.keyid: k for k in root_keys}
    keys[targets_key.keyid] = targets_key
    keys.update(snapshot[0])
    keys.update(timestamp[0])
    roles = {"root": Role([k.keyid for k in root_keys], threshold),
             "targets": Role([targets_key.keyid], 1),
             "snapshot": snapshot[1], "timestamp": timestamp[1]}
    root = new_root(None, keys, roles, expires_in(c.root_expires),
                    bool(ctx.request.params.get("consistent_snapshot", True)))
    entries = {}
    for path, value in ctx.request.params.get("targets", {}).items():
        try:
            check_target_path(path)
            entries[path] = TargetFile.from_dict(value)
        except TufError as exc:
            raise PlanRefused(f"request params.targets.{ascii(path)[1:-1][:80]}: "
                              f"{exc.reason}") from None
    targets = new_targets(root.md.signed, None, ctx.state, expires_in(c.targets_expires),
                          targets=entries, delegations=None)
    return [root, targets]


def _find_keyid(root: Any, wanted: str) -> str:
    matches = [k for k in root.roles["root"].keyids if k.startswith(wanted.lower())]
    if len(wanted) < 8 or len(matches) != 1:
        raise PlanRefused(f"--remove-key {ascii(wanted)[1:-1][:70]} names "
                          f"{len(matches) if len(wanted) >= 8 else 'no'} root key(s): give a key "
                          "ID (or its first 8+ characters) that root's root role lists")
    return matches[0]


def _without_unused(keys: dict[str, Key], roles: dict[str, Role]) -> dict[str, Key]:
    used = {k for r in roles.values() for k in r.keyids}
    return {k: v for k, v in keys.items() if k in used}


def _root_from(cur: Current) -> Any:
    if cur.root is None:
        raise PlanRefused("the workspace has no root for this repository: run init first")
    return cur.root.signed


def build_rotate_root(ctx: Context, cur: Current) -> list[FilePlan]:
    old = _root_from(cur)
    if ctx.request.online_keys:
        raise PlanRefused("a rotate-root request carries no online keys: rotate those with "
                          "a rotate-key request")
    removed = {_find_keyid(old, k) for k in ctx.choices.remove_keys}
    added = _unique_root_tokens(ctx)
    keyids = [k for k in old.roles["root"].keyids if k not in removed]
    keyids += [k.keyid for k in added if k.keyid not in keyids]
    threshold = ctx.choices.root_threshold or old.roles["root"].threshold
    if not added and not removed and threshold == old.roles["root"].threshold:
        raise PlanRefused("this rotation changes nothing: add a key (--root-token), remove one "
                          "(--remove-key) or change --root-threshold; to extend the expiry, "
                          "renew")
    keys = {**old.keys, **{k.keyid: k for k in added}}
    roles = {n: Role(list(r.keyids), r.threshold, dict(r.unrecognized))
             for n, r in old.roles.items()}
    roles["root"] = Role(keyids, threshold, dict(old.roles["root"].unrecognized))
    return [new_root(cur.root, _without_unused(keys, roles), roles,
                     expires_in(ctx.choices.root_expires))]


def build_rotate_key(ctx: Context, cur: Current) -> list[FilePlan]:
    old = _root_from(cur)
    role = ctx.request.params.get("role")
    roles = {n: Role(list(r.keyids), r.threshold, dict(r.unrecognized))
             for n, r in old.roles.items()}
    keys = dict(old.keys)
    if role in ("snapshot", "timestamp"):
        other = [r for r in ctx.request.online_keys if r != role]
        if other:
            raise PlanRefused(f"the request also carries {other[0]} keys: rotate one role per "
                              "request")
        new_keys, new_role = _online(ctx, role)
        if set(new_role.keyids) == set(old.roles[role].keyids):
            raise PlanRefused(f"the request's {role} keys are the ones root lists already")
        keys.update(new_keys)
        roles[role] = new_role
        plan = new_root(cur.root, _without_unused(keys, roles), roles,
                        expires_in(ctx.choices.root_expires))
        return [plan]
    if role != "targets":
        raise PlanRefused(f"rotate-key rotates targets, snapshot or timestamp, not "
                          f"{ascii(role)[:40]} (root keys: rotate-root)")
    if not ctx.choices.targets_token:
        raise PlanRefused("rotating the targets key needs --targets-token (the new key's "
                          "token)")
    new_key = ctx.key_on(ctx.choices.targets_token, ctx.choices.targets_label,
                         "tuf targets key")
    if new_key.keyid in old.roles["targets"].keyids:
        raise PlanRefused(f"key '{ctx.choices.targets_label}' on that token is the current "
                          "targets key: give a new --targets-label")
    keys[new_key.keyid] = new_key
    roles["targets"] = Role([new_key.keyid], 1, dict(old.roles["targets"].unrecognized))
    root = new_root(cur.root, _without_unused(keys, roles), roles,
                    expires_in(ctx.choices.root_expires))
    # the current targets, signed again by the new key (the old key's no longer counts)
    targets = new_targets(root.md.signed, cur.targets, ctx.state,
                          expires_in(ctx.choices.targets_expires))
    return [root, targets]


def build_renew(ctx: Context, cur: Current) -> list[FilePlan]:
    root = _root_from(cur)
    roles = ctx.request.params.get("roles", ["root", "targets"])
    plans = []
    for role in dict.fromkeys(roles):
        if role == "root":
            assert cur.root is not None
            plan = renewed(cur.root, "root", ctx.state, expires_in(ctx.choices.root_expires), [])
            plan.needs = root_needs(plan.md.signed, root)
        elif role == "targets":
            if cur.targets is None:
                raise PlanRefused("the request carries no targets metadata to renew")
            keys, r = root.role_keys("targets")
            plan = renewed(cur.targets, "targets", ctx.state,
                           expires_in(ctx.choices.targets_expires),
                           [Need(f"root v{root.version}'s targets keys", keys, r)])
        elif role in TOP_LEVEL_ROLES:
            raise PlanRefused(f"{role} is an online role: the online service renews it")
        else:
            plan = _renew_delegated(ctx, cur, role)
        plans.append(plan)
    return plans


def _renew_delegated(ctx: Context, cur: Current, name: str) -> FilePlan:
    """A delegated role (of targets, or nested) again, signed by the keys its delegator lists
    for it (those on the tokens given); it and every delegator above it must verify."""
    d = delegating.delegator(ctx, cur, name, flag="--renew-role")
    return renewed(d.md, name, ctx.state, expires_in(ctx.choices.targets_expires), [d.need])


BUILDERS: dict[str, Callable[[Context, Current], list[FilePlan]]] = {
    "init": build_init, "rotate-root": build_rotate_root, "rotate-key": build_rotate_key,
    "delegation-add": delegating.build_delegation_add,
    "delegation-remove": delegating.build_delegation_remove,
    "renew": build_renew,
}
