"""`ceremony renew`: a new version and a new expiry for root.json or targets.json.

- `--role targets`: targets.json v+1, same content, new expiry (default 3 years), signed by the
  targets key(s) root lists (`--targets-token`). Delegations are not touched.
- `--role root`: root.json v+1, same keys and thresholds, new expiry (default 10 years), signed
  by the root threshold (`--root-token`). Root certificates that expire within
  `--reissue-within` (default 6m, Notary warns from six months) -- or all of them with
  `--reissue-certs` -- are re-issued ON their tokens (same key, new serial and validity, as
  long as the new root). A re-issued certificate is a new cert key ID: root v+1 lists the new
  ID instead of the old one, so it needs the old root's threshold under the OLD cert IDs and
  its own threshold under the NEW ones; the same token key signs once and the signature is
  listed under both IDs. The token of every certificate to re-issue must be present.

With an offline snapshot key (held by this workspace), snapshot.json is re-signed too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused, MissingSignaturesError
from ceremony.notary.ceremonies.build import next_root, next_targets
from ceremony.notary.ceremonies.common import (
    note_shortening,
    select_guns,
    snapshot_plan,
    snapshot_preflight,
)
from ceremony.notary.ceremonies.request import RepoState, check_existing
from ceremony.notary.ceremonies.rootkeys import (
    cert_expiry,
    cert_validity,
    describe_owner,
    instant,
    issue_root_certificate,
    token_key,
)
from ceremony.notary.ceremonies.runner import Ceremony, Plan, Run
from ceremony.notary.ceremonies.signing import FileToSign, Threshold, thresholds_for
from ceremony.notary.format.keys import Key, certificate_pem
from ceremony.notary.format.model import ROOT, TARGETS, Role
from hsm.keys import KeyInfo
from hsm.token import Token
from transfer.bundle import RequestBundle, RequestEntry

DEFAULTS = {ROOT: dt.timedelta(days=3650), TARGETS: dt.timedelta(days=1095)}
REISSUE_WINDOW = dt.timedelta(days=180)


class Renew(Ceremony):
    name = "renew"
    operations = ("renew",)

    def __init__(self, *, role: str, guns: Sequence[str] = (), all_guns: bool = False,
                 expires: dt.datetime | None = None, root_tokens: Sequence[str] = (),
                 targets_token: str | None = None, snapshot_token: str | None = None,
                 snapshot_expires: dt.timedelta | None = None,
                 reissue_within: dt.timedelta = REISSUE_WINDOW, reissue_certs: bool = False):
        if role not in (ROOT, TARGETS):
            raise CeremonyRefused(f"--role {role!r}: renew root or targets (snapshot and "
                                  "timestamp are renewed by the server or with the others)")
        self.role, self.guns, self.all_guns = role, list(guns), all_guns
        self.shows_pins = role == ROOT
        self.expires = expires
        self.root_uris, self.targets_uri = list(root_tokens), targets_token
        self.snapshot_uri, self.snapshot_expires = snapshot_token, snapshot_expires
        self.window, self.force = reissue_within, reissue_certs
        self._until: dt.datetime | None = None
        self._reissue: dict[str, dict[str, str]] = {}  # GUN -> old cert key ID -> why
        self._issued: dict[str, dict[str, tuple[Token, KeyInfo, Key]]] = {}

    def options_record(self) -> dict[str, Any]:
        return {"role": self.role, "guns": self.guns, "all": self.all_guns,
                "expires": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ") if self.expires else None,
                "root_tokens": self.root_uris, "targets_token": self.targets_uri,
                "snapshot_token": self.snapshot_uri,
                "reissue_within_days": self.window.days, "reissue_certs": self.force}

    def select(self, request: RequestBundle) -> list[RequestEntry]:
        return select_guns(request, self.guns, self.all_guns)

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        state = check_existing(entry, run.ws, self.operations)
        self._until = self.expires or run.now + DEFAULTS[self.role]
        if self.role == ROOT:
            due = {}
            for kid in state.root.roles[ROOT].keyids:
                until = cert_expiry(state.root.keys[kid])
                if self.force:
                    due[kid] = "--reissue-certs"
                elif until is not None and until < run.now + self.window:
                    due[kid] = f"expires {until:%Y-%m-%d}, within {self.window.days} days"
            self._reissue[state.gun] = due
        return state

    def open_tokens(self, run: Run) -> None:
        for uri in self.root_uris:
            run.open_token(uri, "root")
        if self.targets_uri:
            run.open_token(self.targets_uri, "targets")
        if self.snapshot_uri:
            run.open_token(self.snapshot_uri, "snapshot")

    def preflight(self, run: Run, states: Sequence[RepoState]) -> list[tuple[str, Threshold]]:
        out = []
        absent: list[dict[str, Any]] = []
        shown = []
        for s in states:
            root = s.root
            if self.role == TARGETS:
                out.append((s.gun, Threshold(f"targets keys listed in root v{root.version}",
                                             TARGETS, root.roles[TARGETS].threshold,
                                             root.role_keys(TARGETS))))
            else:
                out.append((s.gun, Threshold(
                    f"root v{root.version} keys (they approve the change to v{root.version + 1})",
                    ROOT, root.roles[ROOT].threshold, root.role_keys(ROOT))))
                for kid in self._reissue[s.gun]:
                    key = root.keys[kid]
                    if token_key(run, key) is None:
                        absent.append({"gun": s.gun, "role": ROOT, "key_id": kid,
                                       "canonical_key_id": key.canonical_key_id,
                                       "threshold": "certificate re-issue", "needed": 1,
                                       "have": 0, **run.describe_missing(kid, key)})
                        shown.append(f"{s.gun}: certificate {kid} (canonical "
                                     f"{key.canonical_key_id}) on {describe_owner(run, kid, key)}")
            out += snapshot_preflight(run, s)
        if absent:
            raise MissingSignaturesError(
                f"root certificates to re-issue need their tokens present: {'; '.join(shown)}; "
                f"tokens present: {run.tokens.present()}; insert them and give them with "
                "--root-token (or narrow --reissue-within); nothing was signed", absent)
        return out

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        if self.role != ROOT:
            return
        assert self._until is not None
        valid_for = cert_validity(self._until)
        recorded: set[tuple[str, str]] = set()
        certificates = []
        for s in states:
            issued = {}
            for kid in self._reissue[s.gun]:
                found = token_key(run, s.root.keys[kid])
                assert found is not None  # checked in preflight
                token, info = found
                if (token.info.serial, info.id.hex()) not in recorded:
                    run.record_key(token, info, purpose="root (certificate re-issued)",
                                   reused=True)
                    recorded.add((token.info.serial, info.id.hex()))
                certificate, new = issue_root_certificate(token, info, s.gun, valid_for)
                issued[kid] = (token, info, new)
                until = certificate.not_valid_after_utc
                certificates.append({"gun": s.gun, "token": token.label, "key_label": info.label,
                                     "old_cert_key_id": kid, "cert_key_id": new.key_id,
                                     "canonical_key_id": new.canonical_key_id,
                                     "not_after": f"{until:%Y-%m-%dT%H:%M:%SZ}"})
            self._issued[s.gun] = issued
        if certificates:
            run.transcript.append("certificates", {"reissued": certificates})

    def plan(self, run: Run, state: RepoState) -> Plan:
        assert self._until is not None
        expires = instant(self._until)
        if self.role == TARGETS:
            targets = next_targets(state.targets, expires)
            files = [FileToSign(state.gun, TARGETS, targets,
                                thresholds_for(TARGETS, targets, root=state.root))]
            notes = [f"targets.json renewed: expires {state.targets.expires} -> {expires}; "
                     "content unchanged; delegated roles are not re-signed"]
            plan = Plan(state, files, {TARGETS: state.targets}, notes,
                        snapshot=snapshot_plan(run, state, self.snapshot_expires))
            note_shortening(plan, state.gun, TARGETS, state.targets.expires, expires)
            return plan
        old = state.root
        issued = self._issued.get(state.gun, {})
        kept = [until for kid in old.roles[ROOT].keyids if kid not in issued
                and (until := cert_expiry(old.keys[kid])) is not None]
        capped = None
        if self.expires is None and kept and \
                old.expires.to_datetime() < min(kept) < self._until:
            # By default root never outlives the certificates it keeps (as init and rotate
            # targets): no warning on a default renewal; --reissue-certs or --expires go further.
            # Never below the current expiry: certificates ending before it get the warning.
            expires = instant(min(kept))
            capped = (f"root expires {expires}, with the first root certificate it keeps: the "
                      "default 10 years is capped there, as a root cannot outlive its "
                      "certificates (--reissue-certs re-issues them for the full term)")
        root = next_root(old, expires)
        ids = [issued[kid][2].key_id if kid in issued else kid for kid in old.roles[ROOT].keyids]
        root.roles[ROOT] = Role(ids, old.roles[ROOT].threshold)
        for kid, (_, _, new) in issued.items():
            del root.keys[kid]
            root.keys[new.key_id] = new
        files = [FileToSign(state.gun, ROOT, root, thresholds_for(ROOT, root, previous_root=old))]
        notes = [f"root.json renewed: expires {old.expires} -> {expires}; keys and thresholds "
                 "unchanged", *([capped] if capped else [])]
        for kid in old.roles[ROOT].keyids:
            owner = describe_owner(run, kid, old.keys[kid])
            until = cert_expiry(old.keys[kid])
            if kid in issued:
                new = issued[kid][2]
                notes.append(f"root certificate {kid} on {owner} (valid until {until:%Y-%m-%d}) "
                             f"RE-ISSUED ({self._reissue[state.gun][kid]}): new cert key ID "
                             f"{new.key_id}, valid until "
                             f"{cert_expiry(new):%Y-%m-%d}; the same token key signs under "
                             "both IDs")
            elif until is not None and until < expires.to_datetime():
                notes.append(f"WARNING: root certificate {kid} on {owner} expires "
                             f"{until:%Y-%m-%d}, before root v{root.version} ({expires}); "
                             "re-issue it in time (--reissue-certs)")
        plan = Plan(state, files, {ROOT: old}, notes, previous_root=state.trusted_root_bytes,
                    snapshot=snapshot_plan(run, state, self.snapshot_expires))
        note_shortening(plan, state.gun, ROOT, old.expires, expires)
        for kid, (token, info, new) in issued.items():
            plan.keys.append(run.key_record(token, info, new, ROOT, [state.gun],
                                            certificate_pem(new.certificates).decode()))
            plan.retire.append((kid, f"root certificate re-issued as {new.key_id} (the token key "
                                     "stays in use)"))
        return plan



# The parameters of `ceremony renew` and of the script action `renew`.
PARAMS = params.Table("renew", Renew, (
    params.GUNS,
    params.ALL_GUNS,
    params.Param("role", "The file to renew.", kind=params.CHOICE, choices=(ROOT, TARGETS),
                 required=True),
    params.Param("expires", "New expiry: 10y, 6m, 90d or 2030-01-31 (default: root 10y, "
                 "targets 3y).", kind=params.EXPIRY),
    params.like(params.ROOT_TOKENS, help="Token holding a root key (--role root); repeatable."),
    params.TARGETS_TOKEN,
    params.Param("reissue-within", "Re-issue root certificates expiring within this time (0 for "
                 "none).", kind=params.WINDOW, default="6m"),
    params.Param("reissue-certs", "Re-issue every root certificate.", kind=params.FLAG,
                 default=False),
    params.SNAPSHOT_TOKEN,
    params.SNAPSHOT_EXPIRES,
    params.ALLOW_SHORTER,
), rules=(
    params.GUNS_OR_ALL,
    # The role decides which keys sign; a token of the other role would be opened for nothing.
    # Without the role's tokens only a partial response (co-signed later) can be written.
    params.needs("root-tokens", when=("role", ROOT), unless="partial", hint="(the root keys "
                 "sign; a partial response is signed later, at the tokens)"),
    params.excludes("targets-token", when=("role", ROOT)),
    params.needs("targets-token", when=("role", TARGETS), unless="partial", hint="(the "
                 "targets key signs; a partial response is signed later, at the token)"),
    params.excludes("root-tokens", "reissue-certs", when=("role", TARGETS)),
))
