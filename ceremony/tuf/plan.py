"""What a TUF ceremony will sign, built from the request and the workspace before anyone is
asked anything: the repository as the request shows it, checked against what this machine
trusts (`current`), and each operation's new files (`FilePlan`s), unsigned.

Nothing here touches a token or a file: the ceremony (ceremonies.py) shows these plans,
signs them and stages them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ceremony.tuf.bundles import TufRequest
from ceremony.tuf.errors import RollbackError, TufError, TufFormatError
from ceremony.tuf.fields import EXPIRES_FORMAT
from ceremony.tuf.keys import Key
from ceremony.tuf.model import Metadata, Root
from ceremony.tuf.signed import TOP_LEVEL_ROLES, Role
from ceremony.tuf.state import TufState, TufStateError
from ceremony.tuf.targets import DelegatedRole, Delegations, TargetFile, Targets
from ceremony.tuf.verify import verify_threshold

SPEC_VERSION = "1.0.31"
_VERSIONED = re.compile(r"([1-9][0-9]{0,18})\.(.+)\.json")


class PlanRefused(TufError, code="refused"):
    """The request asks for something this ceremony will not sign (says what to do)."""


@dataclass
class Need:
    """A threshold the new file must meet: `what` (e.g. "root v2's root keys")."""

    what: str
    keys: dict[str, Key]
    role: Role


@dataclass
class FilePlan:
    role: str
    md: Metadata
    previous: Metadata | None
    needs: list[Need] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.md.signed.version}.{self.role}.json"


@dataclass
class Current:
    """The repository as the request shows it, checked against the workspace."""

    root: Metadata | None
    targets: Metadata | None
    roles: dict[str, Metadata]  # delegated roles, newest version of each


def expires_in(duration: timedelta, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).replace(microsecond=0) + duration
    return moment.strftime(EXPIRES_FORMAT)


def _newest(files: dict[str, bytes]) -> tuple[dict[int, bytes], dict[str, tuple[int, bytes]]]:
    roots: dict[int, bytes] = {}
    newest: dict[str, tuple[int, bytes]] = {}
    for name, data in files.items():
        m = _VERSIONED.fullmatch(name)
        if m is None:
            continue
        version, role = int(m.group(1)), m.group(2)
        if role == "root":
            roots[version] = data
        elif version > newest.get(role, (0, b""))[0]:
            newest[role] = (version, data)
    return roots, newest


def current(request: TufRequest, state: TufState) -> Current:
    """The request's repository, refused unless it is the one this workspace trusts: its newest
    root is the workspace's newest (same bytes), its targets verify with that root and are not
    older than the targets this workspace signed last."""
    roots, newest = _newest(request.metadata)
    if not state.exists:
        if roots or newest:
            raise PlanRefused(f"the request carries metadata of '{request.repository}' but this "
                              "workspace has no history for it: init makes a new repository "
                              "from an empty folder")
        return Current(None, None, {})
    version, trusted = state.latest_root
    if not roots:
        raise PlanRefused(f"the request carries no root of '{request.repository}': make it from "
                          "the repository's metadata folder")
    top = max(roots)
    if top < version:
        raise RollbackError(f"the request's newest root is v{top} but this workspace trusts "
                            f"v{version}: the online repository has not applied the last "
                            "response; apply it and make a new request")
    if top > version:
        raise PlanRefused(f"the request's repository has root v{top}, newer than the v{version} "
                          "this workspace trusts: a root signed elsewhere must be signed here "
                          "first (ceremony tuf sign)")
    if roots[top] != trusted:
        raise PlanRefused(f"the request's root v{top} differs from the one this workspace "
                          "trusts: refuse this repository and ask who changed it")
    root = Metadata.from_bytes(trusted, f"{top}.root.json", "root")
    targets = None
    if "targets" in newest:
        v, data = newest["targets"]
        targets = Metadata.from_bytes(data, f"{v}.targets.json", "targets")
        verify_threshold(targets, *root.signed.role_keys("targets"), role_name="targets",
                         signer_desc="the trusted root's")
        last = state.last_version("targets")
        if last is not None and v < last:
            raise RollbackError(f"the request's targets is v{v} but this workspace signed "
                                f"v{last}: apply the last response online, then make a new "
                                "request", file=f"{v}.targets.json")
    roles = {}
    for role, (v, data) in newest.items():
        if role in TOP_LEVEL_ROLES:
            continue
        roles[role] = Metadata.from_bytes(data, f"{v}.{role}.json", "targets")
    return Current(root, targets, roles)


def _next_version(role: str, md: Metadata | None, state: TufState) -> int:
    last = state.last_version(role) or 0
    return max(last, md.signed.version if md is not None else 0) + 1


def root_needs(new: Root, old: Root | None) -> list[Need]:
    needs = []
    if old is not None:
        keys, role = old.role_keys("root")
        needs.append(Need(f"root v{old.version}'s root keys", keys, role))
    keys, role = new.role_keys("root")
    needs.append(Need(f"root v{new.version}'s own root keys", keys, role))
    return needs


def new_root(old: Metadata | None, keys: dict[str, Key], roles: dict[str, Role],
             expires: str, consistent_snapshot: bool = True) -> FilePlan:
    """Root N+1 (or v1) with exactly `keys` and `roles` (keys no role lists are dropped)."""
    used = {k for r in roles.values() for k in r.keyids}
    missing = used - set(keys)
    if missing:
        raise TufFormatError(f"a role lists key {sorted(missing)[0][:16]} that root does not")
    for name, role in roles.items():
        if role.threshold > len(role.keyids):
            raise PlanRefused(f"role '{name}': threshold {role.threshold} but only "
                              f"{len(role.keyids)} key(s): nobody could ever sign it; give a "
                              "threshold its keys can meet")
    prev = old.signed if old is not None else None
    root = Root(spec_version=prev.spec_version if prev else SPEC_VERSION,
                version=prev.version + 1 if prev else 1, expires=expires,
                unrecognized=dict(prev.unrecognized) if prev else {},
                keys={k: v for k, v in keys.items() if k in used},
                roles={n: roles[n] for n in TOP_LEVEL_ROLES},
                consistent_snapshot=prev.consistent_snapshot if prev else consistent_snapshot)
    md = Metadata(root, [])
    return FilePlan("root", md, old, root_needs(root, prev))


def new_targets(root: Root, old: Metadata | None, state: TufState, expires: str, *,
                targets: dict[str, TargetFile] | None = None,
                delegations: Delegations | None | bool = True) -> FilePlan:
    """Targets N+1 signed by the targets keys `root` lists. `targets`/`delegations` replace the
    old ones when given (delegations=True: kept as they are)."""
    prev = old.signed if old is not None else None
    if delegations is True:
        delegations = prev.delegations if prev else None
    new = Targets(spec_version=prev.spec_version if prev else SPEC_VERSION,
                  version=_next_version("targets", old, state), expires=expires,
                  unrecognized=dict(prev.unrecognized) if prev else {},
                  targets=dict(prev.targets if prev else {}) if targets is None else targets,
                  delegations=delegations or None)
    keys, role = root.role_keys("targets")
    return FilePlan("targets", Metadata(new, []), old,
                    [Need(f"root v{root.version}'s targets keys", keys, role)])


def renewed(md: Metadata, role: str, state: TufState, expires: str,
            needs: list[Need]) -> FilePlan:
    """`md` again with a new version and expiry, nothing else changed."""
    signed = Metadata.from_dict(md.to_dict()).signed
    signed.version = _next_version(role, md, state)
    signed.expires = expires
    return FilePlan(role, Metadata(signed, []), md, needs)


def delegated_role(name: str, keys: dict[str, Key], paths: list[str], threshold: int,
                   terminating: bool) -> DelegatedRole:
    if name in TOP_LEVEL_ROLES or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,120}", name):
        raise PlanRefused(f"{ascii(name)[:80]} cannot be a delegated role name here (letters, "
                          "digits, '.', '_', '+', '-'; not a top-level role)")
    if threshold > len(keys):
        raise PlanRefused(f"delegated role '{name}': threshold {threshold} but "
                          f"{len(keys)} key(s)")
    return DelegatedRole(sorted(keys), threshold, {}, name, terminating, list(paths), None)


def check_expiry_not_past(plan: FilePlan) -> None:
    if plan.md.signed.expires_at <= datetime.now(UTC):
        raise TufStateError(f"{plan.name} would expire at {plan.md.signed.expires}, in the past")
