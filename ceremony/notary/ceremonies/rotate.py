"""`ceremony rotate targets`: replace a (compromised) targets key, for one GUN or many.

One new targets key is generated on `--targets-token` for the whole run (or reused if the
token already has a key with that label); for every GUN: root v+1 lists the new key instead of
the old one(s) -- signed by the root threshold (the root keys do not change, so the previous
root's threshold and the new root's own are met by the same keys) -- and targets.json is
re-signed at v+1 with the new key. The old targets keys are recorded as retired in the
workspace once no repository of the workspace uses them any more. Bulk: `--all` rotates every
GUN of the request (e.g. 500 repositories sharing one compromised key) with one login per token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.inventory import KeyRecord
from ceremony.notary.ceremonies.build import next_root, next_targets, replace_role_keys
from ceremony.notary.ceremonies.common import (
    lifetime_expiry,
    preflight_for,
    root_expiry,
    select_guns,
    snapshot_plan,
)
from ceremony.notary.ceremonies.request import RepoState, check_existing
from ceremony.notary.ceremonies.rootkeys import refuse_other_role, same_key_in, same_key_role
from ceremony.notary.ceremonies.runner import Ceremony, Plan, Run
from ceremony.notary.ceremonies.signing import FileToSign, Threshold, thresholds_for
from ceremony.notary.format.keys import key_from_public_key
from ceremony.notary.format.model import ROOT, TARGETS
from hsm.keys import DEFAULT_ALGORITHM, KeyInfo, get_algorithm
from hsm.token import Token
from transfer.bundle import RequestBundle, RequestEntry


def default_label() -> str:
    return "targets-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


class RotateTargets(Ceremony):
    name = "rotate-targets"
    operations = ("rotate-targets",)

    def __init__(self, *, guns: Sequence[str] = (), all_guns: bool = False,
                 targets_token: str, root_tokens: Sequence[str] = (),
                 snapshot_token: str | None = None, label: str | None = None,
                 algorithm: str = DEFAULT_ALGORITHM, reason: str = "targets key rotated",
                 root_expires: dt.timedelta | None = None,
                 targets_expires: dt.timedelta | None = None,
                 snapshot_expires: dt.timedelta | None = None):
        if not targets_token:
            raise CeremonyRefused("rotate targets needs --targets-token URI (where the new "
                                  "targets key is made)")
        if not root_tokens:
            raise CeremonyRefused("rotate targets needs --root-token URI (root.json changes "
                                  "and must be signed by the root threshold)")
        get_algorithm(algorithm)
        self.guns, self.all_guns = list(guns), all_guns
        self.targets_uri, self.root_uris = targets_token, list(root_tokens)
        self.snapshot_uri = snapshot_token
        self.label = label or default_label()
        self.algorithm = algorithm
        self.reason = reason
        self.lifetimes = {ROOT: root_expires, TARGETS: targets_expires,
                          "snapshot": snapshot_expires}
        self._new: tuple[Token, KeyInfo, bool] | None = None
        self._guns: list[str] = []
        self._record: KeyRecord | None = None

    def options_record(self) -> dict[str, Any]:
        return {"guns": self.guns, "all": self.all_guns, "targets_token": self.targets_uri,
                "root_tokens": self.root_uris, "snapshot_token": self.snapshot_uri,
                "label": self.label, "algorithm": self.algorithm, "reason": self.reason}

    def select(self, request: RequestBundle) -> list[RequestEntry]:
        entries = select_guns(request, self.guns, self.all_guns)
        self._guns = [e.gun for e in entries]
        return entries

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        return check_existing(entry, run.ws, self.operations)

    def open_tokens(self, run: Run) -> None:
        for uri in self.root_uris:
            run.open_token(uri, "root")
        self._token = run.open_token(self.targets_uri, "targets")
        if self.snapshot_uri:
            run.open_token(self.snapshot_uri, "snapshot")

    def preflight(self, run: Run, states: Sequence[RepoState]) -> list[tuple[str, Threshold]]:
        return [t for s in states
                for t in preflight_for(run, s, ROOT, f"root v{s.root.version} keys")]

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        info, reused = run.tokens.generate_or_reuse(self._token, self.label, self.algorithm)
        assert info.public_key is not None
        key = key_from_public_key(info.public_key)
        refuse_other_role(run, key, TARGETS,
                          f"the key labelled '{self.label}' on token '{self._token.label}'")
        for s in states:
            listed = same_key_in(s.root, key)
            if listed is not None and same_key_role(s.root, listed) == ROOT:
                raise CeremonyRefused(f"{s.gun}: the key labelled '{self.label}' on token "
                                      f"'{self._token.label}' is a root key of this repository "
                                      f"({listed}); a root key is never made a targets key: "
                                      "give a new --label")
            if key.key_id in s.root.roles[TARGETS].keyids:
                raise CeremonyRefused(f"{s.gun}: the key labelled '{self.label}' on token "
                                      f"'{self._token.label}' is already the targets key of "
                                      "this repository; give a new --label")
            if key.key_id in s.root.keys or run.ws.is_retired(key.key_id):
                raise CeremonyRefused(f"{s.gun}: the key labelled '{self.label}' is already "
                                      "used or retired; give a new --label")
        run.record_key(self._token, info, purpose="targets (new)", reused=reused)
        self._new = (self._token, info, reused)
        self._new_key = key

    def plan(self, run: Run, state: RepoState) -> Plan:
        assert self._new is not None
        token, info, reused = self._new
        new_key = self._new_key  # one key object shared by every repository's root
        old_root = state.root
        root = next_root(old_root, root_expiry(self.lifetimes[ROOT], run.now, old_root))
        removed = replace_role_keys(root, TARGETS, [new_key], 1)
        targets = next_targets(state.targets,
                               lifetime_expiry(TARGETS, self.lifetimes[TARGETS], run.now))
        files = [FileToSign(state.gun, ROOT, root,
                            thresholds_for(ROOT, root, previous_root=old_root)),
                 FileToSign(state.gun, TARGETS, targets,
                            thresholds_for(TARGETS, targets, root=root))]
        notes = [f"new targets key '{info.label}' on token '{token.label}': "
                 f"{'REUSED (already on the token)' if reused else 'generated'}; shared by "
                 f"the {len(self._guns)} repositor{'y' if len(self._guns) == 1 else 'ies'} of "
                 "this ceremony"]
        notes += [f"old targets key {kid} leaves root and is recorded as retired "
                  f"({self.reason})" for kid in removed]
        for kid in old_root.roles[ROOT].keyids:
            cert = old_root.keys[kid].certificates[0]
            if cert.not_valid_after_utc < root.expires.to_datetime():
                notes.append(f"root certificate {kid} expires {cert.not_valid_after_utc:%Y-%m-%d}"
                             f", before root v{root.version} ({root.expires}); renew it in time")
        plan = Plan(state, files, {ROOT: old_root, TARGETS: state.targets}, notes,
                    previous_root=state.trusted_root_bytes,
                    snapshot=snapshot_plan(run, state, self.lifetimes["snapshot"]))
        if self._record is None:  # one record for the key all these repositories now share
            self._record = run.key_record(token, info, new_key, TARGETS, self._guns)
        plan.keys.append(self._record)
        plan.retire = [(kid, f"{self.reason} (replaced by {new_key.key_id})") for kid in removed]
        return plan


# The parameters of `ceremony rotate targets` and of the script action `rotate-targets`.
PARAMS = params.Table("rotate-targets", RotateTargets, (
    params.GUNS,
    params.ALL_GUNS,
    params.like(params.TARGETS_TOKEN, required=True),
    params.like(params.ROOT_TOKENS, script_required=True,
                help="Token holding a root key (repeat until the root threshold is met)."),
    params.SNAPSHOT_TOKEN,
    params.Param("label", "Label of the new targets key (default targets-<UTC time>).",
                 kind=params.KEY_LABEL, metavar="LABEL", script_required=True),
    params.like(params.ROOT_ALGORITHM, help="Algorithm of the new targets key.",
                choices=params.TARGETS_ALGORITHMS),
    params.Param("reason", "Why the old key is retired (recorded).",
                 default="targets key rotated"),
    params.Param("root-expires", "New root lifetime (default 10y).", kind=params.DURATION),
    params.TARGETS_EXPIRES,
), rules=(params.GUNS_OR_ALL,))
