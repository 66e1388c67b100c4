"""`ceremony signer add|remove` and `ceremony delegation add|remove`: targets.json edits.

Each re-signs targets.json of one GUN at version + 1 with the targets key (found on
`--targets-token` by its public key), with the delegation change applied (build.py):
- signer add NAME --key PEM...: `docker trust signer add` -- the keys go into targets/NAME and
  targets/releases, paths [""], threshold 1 for a new role;
- signer remove NAME: the signer's keys leave targets/releases, targets/NAME is deleted;
- delegation add ROLE --key PEM... [--path P ...|--all-paths] [--threshold N];
- delegation remove ROLE [--key PEM|--key-id ID ...] [--path P ...]: the whole role, or some of
  its keys and paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.notary.ceremonies.build import (
    add_delegation,
    add_signer,
    check_role_name,
    next_targets,
    read_public_key,
    remove_delegation,
    remove_signer,
    signer_name,
)
from ceremony.notary.ceremonies.common import (
    lifetime_expiry,
    preflight_for,
    select_guns,
    snapshot_plan,
)
from ceremony.notary.ceremonies.request import RepoState, check_existing
from ceremony.notary.ceremonies.runner import Ceremony, Plan, Run
from ceremony.notary.ceremonies.signing import FileToSign, Threshold, thresholds_for
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import TARGETS
from transfer.bundle import RequestBundle, RequestEntry

KINDS = ("signer-add", "signer-remove", "delegation-add", "delegation-remove")


class DelegationCeremony(Ceremony):
    """One delegation change on one GUN (kind: signer-add, signer-remove, delegation-add,
    delegation-remove; the request's operation must be the same)."""

    def __init__(self, kind: str, *, gun: str, name: str, targets_token: str,
                 keys: Sequence[Key] = (), key_ids: Sequence[str] = (),
                 paths: Sequence[str] = (), threshold: int | None = None,
                 snapshot_token: str | None = None,
                 targets_expires: dt.timedelta | None = None,
                 snapshot_expires: dt.timedelta | None = None, all_paths: bool = False):
        if kind not in KINDS:
            raise ValueError(kind)
        if not targets_token:
            raise CeremonyRefused(f"{kind.replace('-', ' ')} needs --targets-token URI (the "
                                  "token holding the targets key)")
        self.name = kind
        self.operations = (kind,)
        self.kind, self.gun, self.role_name = kind, gun, name
        paths = [*paths, *([""] if all_paths else [])]  # every path: the "" prefix
        if kind.startswith("signer"):
            signer_name(name)
        else:
            check_role_name(name)
        if kind.endswith("add") and not keys and kind == "signer-add":
            raise CeremonyRefused("signer add needs at least one --key PEM")
        if threshold is not None and threshold < 1:
            raise CeremonyRefused("--threshold must be at least 1")
        self.keys, self.key_ids = list(keys), list(key_ids)
        self.paths, self.threshold = list(paths), threshold
        self.targets_uri, self.snapshot_uri = targets_token, snapshot_token
        self.lifetimes = {TARGETS: targets_expires, "snapshot": snapshot_expires}

    def options_record(self) -> dict[str, Any]:
        return {"gun": self.gun, "name": self.role_name, "key_ids": [k.key_id for k in self.keys]
                + self.key_ids, "paths": self.paths, "threshold": self.threshold,
                "targets_token": self.targets_uri, "snapshot_token": self.snapshot_uri}

    def select(self, request: RequestBundle) -> list[RequestEntry]:
        return select_guns(request, [self.gun], False)

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        return check_existing(entry, run.ws, self.operations)

    def open_tokens(self, run: Run) -> None:
        run.open_token(self.targets_uri, "targets")
        if self.snapshot_uri:
            run.open_token(self.snapshot_uri, "snapshot")

    def preflight(self, run: Run, states: Sequence[RepoState]) -> list[tuple[str, Threshold]]:
        return [t for s in states for t in preflight_for(
            run, s, TARGETS, f"targets keys listed in root v{s.root.version}")]

    def plan(self, run: Run, state: RepoState) -> Plan:
        targets = next_targets(state.targets,
                               lifetime_expiry(TARGETS, self.lifetimes[TARGETS], run.now))
        before = {r.name for r in targets.delegations.roles}
        if self.kind == "signer-add":
            notes = add_signer(targets, self.role_name, self.keys)
        elif self.kind == "signer-remove":
            notes = remove_signer(targets, self.role_name)
        elif self.kind == "delegation-add":
            add_delegation(targets, self.role_name, self.keys, paths=self.paths,
                           threshold=self.threshold)
            notes = [f"{self.role_name}: "
                     f"{'changed' if self.role_name in before else 'created'}"]
        else:
            removal = [k.key_id for k in self.keys] + self.key_ids
            notes = remove_delegation(targets, self.role_name, key_ids=removal,
                                      paths=self.paths)
        if targets.delegations.to_dict() == state.targets.delegations.to_dict():
            raise CeremonyRefused(f"{state.gun}: the delegations would not change (nothing to "
                                  "sign)")
        after = {r.name for r in targets.delegations.roles}
        gone = sorted(before - after)
        files = [FileToSign(state.gun, TARGETS, targets,
                            thresholds_for(TARGETS, targets, root=state.root))]
        plan = Plan(state, files, {TARGETS: state.targets}, notes,
                    previous_root=state.trusted_root_bytes,
                    snapshot=snapshot_plan(run, state, self.lifetimes["snapshot"], gone))
        return plan


# The parameters of `ceremony signer|delegation add|remove` and of their script actions.
_TARGETS_SIDE = (params.like(params.TARGETS_TOKEN, required=True), params.SNAPSHOT_TOKEN,
                 params.TARGETS_EXPIRES)
_KEYS = params.Param("keys", flag="--key", metavar="PEM", multiple=True, ref=("public-key",),
                     load=read_public_key)
_PATHS = params.Param("paths", "Path prefix the role may sign; repeatable.", flag="--path",
                      metavar="PREFIX", multiple=True)
_SIGNER = params.Param("name", kind=params.SIGNER, argument=True, required=True)
_ROLE = params.Param("role", kind=params.DELEGATION_ROLE, argument=True, required=True,
                     arg="name")


def _table(kind: str, *own: params.Param, rules: tuple[params.Rule, ...] = ()) -> params.Table:
    return params.Table(kind, partial(DelegationCeremony, kind),
                        (params.ONE_GUN, *own, *_TARGETS_SIDE), rules)


PARAMS = {table.action: table for table in (
    _table("signer-add", _SIGNER, params.like(
        _KEYS, help="The signer's public key or certificate (PEM); repeatable.", minimum=1,
        script_required=True)),
    _table("signer-remove", _SIGNER),
    _table("delegation-add", _ROLE,
           params.like(_KEYS, help="Public key or certificate (PEM) to add; repeatable."),
           _PATHS,
           params.Param("all-paths", 'Every path (the "" prefix).', kind=params.FLAG,
                        default=False),
           params.Param("threshold", "Signatures the role needs.", kind=params.INT,
                        metavar="N"),
           rules=(params.any_of("keys", "paths", "all-paths", "threshold",
                                hint="(what the delegation gets: keys, paths or a threshold)"),)),
    _table("delegation-remove", _ROLE,
           params.like(_KEYS, help="Remove only this key (PEM); repeatable."),
           params.Param("key-ids", "Remove only the key with this ID; repeatable.",
                        kind=params.KEY_ID, flag="--key-id", metavar="ID", multiple=True),
           params.like(_PATHS, help="Remove only this path; repeatable.")),
)}
