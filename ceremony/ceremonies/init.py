"""`ceremony init`: start repositories with root and targets keys on tokens.

For every GUN of the request (one or many: bulk init), root.json v1 and targets.json v1:
- root keys: one per `--root-token`, labelled `--root-label` (default `root`), generated on the
  token or reused if the token already has a key with that label (the review says which); a
  root certificate CN=GUN per GUN and root key, signed by the token (hsm/x509.py);
- threshold `--root-threshold` (default 1) over those root certificates;
- a targets key on `--targets-token` (label `targets`, generated or reused), one for the run;
- the server's timestamp key from the request; the snapshot key from the request too
  (server-managed, as `docker trust` does) unless `--snapshot-token` holds it offline, in which
  case snapshot.json v1 is signed here after the others;
- expiries: root 10 years, targets 3, snapshot 3 (overridable); certificates as long as root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ceremony.ceremonies.build import LIFETIMES, new_root, new_targets
from ceremony.ceremonies.common import lifetime_expiry
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.request import RepoState, check_new
from ceremony.ceremonies.rootkeys import refuse_other_role
from ceremony.ceremonies.runner import Ceremony, Plan, Run, SnapshotPlan
from ceremony.ceremonies.signing import FileToSign, thresholds_for
from ceremony.metadata.keys import Key, certificate_pem, key_from_certificate, key_from_public_key
from ceremony.metadata.model import ROOT, SNAPSHOT, TARGETS, TIMESTAMP
from hsm.keys import KeyInfo, get_algorithm
from hsm.token import Token
from transfer.bundle import RequestBundle, RequestEntry

ROOT_ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096")


class InitCeremony(Ceremony):
    name = "init"
    operations = ("init",)
    creates_workspace = True

    def __init__(self, *, root_tokens: Sequence[str], targets_token: str,
                 root_threshold: int = 1, snapshot_token: str | None = None,
                 root_label: str = "root", targets_label: str = "targets",
                 snapshot_label: str = "snapshot", algorithm: str = "ecdsa-p256",
                 targets_algorithm: str | None = None, guns: Sequence[str] = (),
                 root_expires: dt.timedelta | None = None,
                 targets_expires: dt.timedelta | None = None,
                 snapshot_expires: dt.timedelta | None = None):
        if not root_tokens:
            raise CeremonyRefused("init needs at least one --root-token URI")
        if not targets_token:
            raise CeremonyRefused("init needs --targets-token URI")
        if algorithm not in ROOT_ALGORITHMS:
            get_algorithm(algorithm)
            raise CeremonyRefused(f"root keys must be one of {', '.join(ROOT_ALGORITHMS)} "
                                  "(Notary root certificates hold ECDSA or RSA keys)")
        get_algorithm(targets_algorithm or algorithm)
        if not 1 <= root_threshold <= len(root_tokens):
            raise CeremonyRefused(f"--root-threshold {root_threshold} is impossible with "
                                  f"{len(root_tokens)} root token(s)")
        self.root_uris = list(root_tokens)
        self.targets_uri, self.snapshot_uri = targets_token, snapshot_token
        self.threshold = root_threshold
        self.labels = {ROOT: root_label, TARGETS: targets_label, SNAPSHOT: snapshot_label}
        self.algorithm = algorithm
        self.targets_algorithm = targets_algorithm or algorithm
        self.guns = list(guns)
        self.lifetimes = {ROOT: root_expires, TARGETS: targets_expires,
                          SNAPSHOT: snapshot_expires}
        self._root: list[tuple[Token, KeyInfo, bool]] = []
        self._keys: dict[str, tuple[Token, KeyInfo, bool]] = {}
        self._certs: dict[str, list[tuple[Token, KeyInfo, Key]]] = {}

    def options_record(self) -> dict[str, Any]:
        return {"root_tokens": self.root_uris, "root_threshold": self.threshold,
                "targets_token": self.targets_uri, "snapshot_token": self.snapshot_uri,
                "labels": self.labels, "algorithm": self.algorithm,
                "targets_algorithm": self.targets_algorithm}

    def select(self, request: RequestBundle) -> list[RequestEntry]:
        if not self.guns:
            return list(request.entries)
        from ceremony.ceremonies.common import select_guns
        return select_guns(request, self.guns, False)

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        return check_new(entry, run.ws, self.operations,
                         need_snapshot_key=self.snapshot_uri is None)

    def open_tokens(self, run: Run) -> None:
        seen = set()
        for uri in self.root_uris:
            token = run.open_token(uri, "root")
            if (token.info.serial, token.label) in seen:
                raise CeremonyRefused(f"token '{token.label}' is given twice as a root token; "
                                      "each root key must be on its own token")
            seen.add((token.info.serial, token.label))
            self._root.append((token, None, False))  # type: ignore[arg-type]
        self._targets_token = run.open_token(self.targets_uri, "targets")
        if (self._targets_token.info.serial, self._targets_token.label) in seen and \
                self.labels[TARGETS] == self.labels[ROOT]:
            raise CeremonyRefused("the targets key would be the root key: give the targets "
                                  "key another --targets-label or another token")
        self._snapshot_token = run.open_token(self.snapshot_uri, "snapshot") \
            if self.snapshot_uri else None

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        roots = []
        for token, _, _ in self._root:
            info, reused = run.tokens.generate_or_reuse(token, self.labels[ROOT], self.algorithm)
            if info.algorithm not in ROOT_ALGORITHMS:
                raise CeremonyRefused(f"the key '{info.label}' on token '{token.label}' is "
                                      f"{info.algorithm}: root keys must be ECDSA or RSA")
            assert info.public_key is not None
            refuse_other_role(run, key_from_public_key(info.public_key), ROOT,
                              f"the key '{info.label}' on token '{token.label}'")
            run.record_key(token, info, purpose="root", reused=reused)
            roots.append((token, info, reused))
        self._root = roots
        info, reused = run.tokens.generate_or_reuse(self._targets_token, self.labels[TARGETS],
                                                    self.targets_algorithm)
        assert info.public_key is not None
        refuse_other_role(run, key_from_public_key(info.public_key), TARGETS,
                          f"the key '{info.label}' on token '{self._targets_token.label}'")
        run.record_key(self._targets_token, info, purpose="targets", reused=reused)
        self._keys[TARGETS] = (self._targets_token, info, reused)
        if self._snapshot_token is not None:
            info, reused = run.tokens.generate_or_reuse(
                self._snapshot_token, self.labels[SNAPSHOT], self.targets_algorithm)
            run.record_key(self._snapshot_token, info, purpose="snapshot", reused=reused)
            self._keys[SNAPSHOT] = (self._snapshot_token, info, reused)
        lifetime = self.lifetimes[ROOT] or LIFETIMES[ROOT]
        for state in states:  # one certificate per GUN and root key, made by the token
            certs = []
            for token, info, _ in self._root:
                result = token.certificate(info.label, state.gun, valid_for=lifetime,
                                           key_id=info.id or None)
                certs.append((token, info, key_from_certificate(result.certificate)))
            self._certs[state.gun] = certs
        run.transcript.append("certificates", {"certificates": [
            {"gun": gun, "token": tok.label, "key_label": info.label, "cert_key_id": key.key_id,
             "canonical_key_id": key.canonical_key_id}
            for gun, certs in self._certs.items() for tok, info, key in certs]})

    def plan(self, run: Run, state: RepoState) -> Plan:
        gun = state.gun
        certs = self._certs[gun]
        t_token, t_info, t_reused = self._keys[TARGETS]
        assert t_info.public_key is not None
        targets_key = key_from_public_key(t_info.public_key)
        if SNAPSHOT in self._keys:
            s_token, s_info, _ = self._keys[SNAPSHOT]
            assert s_info.public_key is not None
            snapshot_key = key_from_public_key(s_info.public_key)
        else:
            snapshot_key = state.server_keys[SNAPSHOT]
        root = new_root(root_keys=[key for _, _, key in certs], root_threshold=self.threshold,
                        targets_key=targets_key, snapshot_key=snapshot_key,
                        timestamp_key=state.server_keys[TIMESTAMP],
                        expires=lifetime_expiry(ROOT, self.lifetimes[ROOT], run.now))
        targets = new_targets(lifetime_expiry(TARGETS, self.lifetimes[TARGETS], run.now))
        files = [FileToSign(gun, ROOT, root, thresholds_for(ROOT, root)),
                 FileToSign(gun, TARGETS, targets, thresholds_for(TARGETS, targets, root=root))]
        notes = []
        for token, info, reused in self._root:
            notes.append(f"root key '{info.label}' on token '{token.label}': "
                         f"{'REUSED (it was already on the token)' if reused else 'generated'}"
                         "; its certificate for this GUN was issued now by the token")
        notes.append(f"targets key '{t_info.label}' on token '{t_token.label}': "
                     f"{'REUSED (it was already on the token)' if t_reused else 'generated'}")
        notes.append("snapshot: " + ("held offline on token "
                                     f"'{self._keys[SNAPSHOT][0].label}', signed here after "
                                     "root and targets" if SNAPSHOT in self._keys else
                                     "managed by the Notary server (key from the request)"))
        plan = Plan(state, files, {ROOT: None, TARGETS: None}, notes)
        for token, info, key in certs:
            plan.keys.append(run.key_record(token, info, key, ROOT, [gun],
                                            certificate_pem(key.certificates).decode()))
        plan.keys.append(run.key_record(t_token, t_info, targets_key, TARGETS, [gun]))
        if SNAPSHOT in self._keys:
            s_token, s_info, _ = self._keys[SNAPSHOT]
            plan.keys.append(run.key_record(s_token, s_info, snapshot_key, SNAPSHOT, [gun]))
            plan.snapshot = SnapshotPlan(None, lifetime_expiry(SNAPSHOT,
                                                               self.lifetimes[SNAPSHOT],
                                                               run.now))
        return plan
