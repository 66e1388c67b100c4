"""`ceremony init`: start repositories with root and targets keys on tokens.

For every GUN of the request (one or many: bulk init), root.json v1 and targets.json v1:
- root keys: one per `--root-token`, labelled `--root-label` (default `root`), generated on the
  token or reused if the token already has a key with that label (the review says which);
- a root certificate CN=GUN per GUN and root key, in this order of preference: the one given
  with `--root-cert FILE` (checked against the token key), the one stored on the token for
  that key (`ceremony key cert --store-on-token`), else one issued now by the token (kept only
  in memory for the review; stored on the token once the operator confirms). An existing
  certificate is what verifiers may already have pinned, so it is always preferred;
- root keys held at another site: `--remote-root-cert FILE` (a certificate made there with
  `ceremony key cert`, checked: CN = GUN, key type, validity, no private key); root.json lists
  it, and if the threshold needs its signature the response is partial (`--partial`) and the
  other site signs it with `ceremony sign`;
- threshold `--root-threshold` (default 1) over those root certificates;
- a targets key on `--targets-token` (label `targets`, generated or reused), one for the run;
- the server's timestamp key from the request; the snapshot key from the request too
  (server-managed, as `docker trust` does) unless `--snapshot-token` holds it offline, in which
  case snapshot.json v1 is signed here after the others;
- expiries: root 10 years, targets 3, snapshot 3 (overridable). A certificate issued here is
  valid as long as root plus a day; by default root never outlives an existing certificate it
  lists (its expiry is capped there, said in the review); an explicit `--root-expires` beyond
  one is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.notary.ceremonies.build import LIFETIMES, new_root, new_targets
from ceremony.notary.ceremonies.common import lifetime_expiry
from ceremony.notary.ceremonies.request import RepoState, check_new
from ceremony.notary.ceremonies.rootkeys import (
    ROOT_ALGORITHMS,
    cert_expiry,
    cert_validity,
    instant,
    issue_root_certificate,
    read_root_certificate,
    refuse_other_role,
    root_cert_problem,
)
from ceremony.notary.ceremonies.runner import Ceremony, Plan, Run, SnapshotPlan
from ceremony.notary.ceremonies.signing import FileToSign, thresholds_for
from ceremony.notary.format.keys import (
    Key,
    certificate_pem,
    key_from_certificate,
    key_from_public_key,
)
from ceremony.notary.format.model import ROOT, SNAPSHOT, TARGETS, TIMESTAMP
from hsm.keys import DEFAULT_ALGORITHM, KeyInfo, get_algorithm
from hsm.pubkey import public_key_der
from hsm.token import Token
from hsm.x509 import common_name
from transfer.bundle import RequestBundle, RequestEntry


@dataclass
class RootCert:
    """One root key of one GUN as root.json will list it, and where its certificate came from."""

    key: Key
    source: str  # "file", "token" (stored there before), "issued" (now), "remote"
    path: str = ""
    token: Token | None = None
    info: KeyInfo | None = None
    certificate: x509.Certificate | None = None  # an issued one, stored once confirmed
    store: bool = False


class InitCeremony(Ceremony):
    name = "init"
    operations = ("init",)
    creates_workspace = True
    shows_pins = True

    def __init__(self, *, root_tokens: Sequence[str], targets_token: str,
                 root_threshold: int = 1, snapshot_token: str | None = None,
                 root_label: str = "root", targets_label: str = "targets",
                 snapshot_label: str = "snapshot", algorithm: str = DEFAULT_ALGORITHM,
                 targets_algorithm: str | None = None, guns: Sequence[str] = (),
                 root_expires: dt.timedelta | None = None,
                 targets_expires: dt.timedelta | None = None,
                 snapshot_expires: dt.timedelta | None = None,
                 root_certs: Sequence[str] = (), remote_root_certs: Sequence[str] = ()):
        if not root_tokens:
            raise CeremonyRefused("init needs at least one --root-token URI")
        if not targets_token:
            raise CeremonyRefused("init needs --targets-token URI")
        if algorithm not in ROOT_ALGORITHMS:
            get_algorithm(algorithm)
            raise CeremonyRefused(f"root keys must be one of {', '.join(ROOT_ALGORITHMS)} "
                                  "(Notary root certificates hold ECDSA or RSA keys)")
        get_algorithm(targets_algorithm or algorithm)
        keys = len(root_tokens) + len(remote_root_certs)
        if not 1 <= root_threshold <= keys:
            raise CeremonyRefused(f"--root-threshold {root_threshold} is impossible with "
                                  f"{len(root_tokens)} root token(s) and "
                                  f"{len(remote_root_certs)} remote root certificate(s)")
        self.root_uris = list(root_tokens)
        self.targets_uri, self.snapshot_uri = targets_token, snapshot_token
        self.threshold = root_threshold
        self.labels = {ROOT: root_label, TARGETS: targets_label, SNAPSHOT: snapshot_label}
        self.algorithm = algorithm
        self.targets_algorithm = targets_algorithm or algorithm
        self.guns = list(guns)
        self.lifetimes = {ROOT: root_expires, TARGETS: targets_expires,
                          SNAPSHOT: snapshot_expires}
        self.cert_paths, self.remote_paths = list(root_certs), list(remote_root_certs)
        self._root_tokens: list[Token] = []
        self._root: list[tuple[Token, KeyInfo, bool]] = []
        self._keys: dict[str, tuple[Token, KeyInfo, bool]] = {}
        self._certs: dict[str, list[RootCert]] = {}
        self._expires: dict[str, tuple[dt.datetime, str | None]] = {}
        self._stored: set[tuple[str, bytes]] = set()  # (token serial, CKA_ID) to store

    def options_record(self) -> dict[str, Any]:
        return {"root_tokens": self.root_uris, "root_threshold": self.threshold,
                "targets_token": self.targets_uri, "snapshot_token": self.snapshot_uri,
                "labels": self.labels, "algorithm": self.algorithm,
                "targets_algorithm": self.targets_algorithm, "root_certs": self.cert_paths,
                "remote_root_certs": self.remote_paths}

    def select(self, request: RequestBundle) -> list[RequestEntry]:
        if not self.guns:
            return list(request.entries)
        from ceremony.notary.ceremonies.common import select_guns
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
            self._root_tokens.append(token)
        self._targets_token = run.open_token(self.targets_uri, "targets")
        if (self._targets_token.info.serial, self._targets_token.label) in seen and \
                self.labels[TARGETS] == self.labels[ROOT]:
            raise CeremonyRefused("the targets key would be the root key: give the targets "
                                  "key another --targets-label or another token")
        self._snapshot_token = run.open_token(self.snapshot_uri, "snapshot") \
            if self.snapshot_uri else None

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        guns = [s.gun for s in states]
        given = [(path, *read_root_certificate(path, guns, "--root-cert"))
                 for path in self.cert_paths]
        remote = [(path, *read_root_certificate(path, guns, "--remote-root-cert"))
                  for path in self.remote_paths]
        roots = []
        for token in self._root_tokens:
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
        local = {public_key_der(info.public_key): (token, info)  # type: ignore[arg-type]
                 for token, info, _ in roots}
        for path, _gun, key in given:
            if key.identity not in local:
                raise CeremonyRefused(
                    f"--root-cert {path} is not the certificate of the root key on any "
                    f"--root-token ({', '.join(t.label for t in self._root_tokens)}); a "
                    "root key held at another site goes in with --remote-root-cert FILE")
        for path, _gun, key in remote:
            if key.identity in local:
                token, _ = local[key.identity]  # type: ignore[index]
                raise CeremonyRefused(f"--remote-root-cert {path} holds the key on token "
                                      f"'{token.label}' given here: use --root-cert for it")
            refuse_other_role(run, key, ROOT, f"the key of --remote-root-cert {path}")
        self._prepare_targets(run)
        for gun in guns:
            self._certs[gun] = self._choose_certs(run, gun, given, remote)
        run.transcript.append("certificates", {"certificates": [
            {"gun": gun, "source": c.source, "path": c.path or None,
             "token": c.token.label if c.token else None,
             "key_label": c.info.label if c.info else None, "cert_key_id": c.key.key_id,
             "canonical_key_id": c.key.canonical_key_id,
             "not_after": f"{cert_expiry(c.key):%Y-%m-%dT%H:%M:%SZ}"}
            for gun, certs in self._certs.items() for c in certs]})

    def _prepare_targets(self, run: Run) -> None:
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

    def _choose_certs(self, run: Run, gun: str, given: list[tuple[str, str, Key]],
                      remote: list[tuple[str, str, Key]]) -> list[RootCert]:
        """The root certificates of `gun`: existing ones first, then the expiry they allow,
        then certificates issued (in memory) for the keys that have none."""
        chosen: list[RootCert] = []
        todo: list[tuple[Token, KeyInfo]] = []
        for token, info, _ in self._root:
            assert info.public_key is not None
            ident = public_key_der(info.public_key)
            mine = [(path, key) for path, g, key in given if g == gun and key.identity == ident]
            if len(mine) > 1:
                raise CeremonyRefused(f"{gun}: two --root-cert files for the key on token "
                                      f"'{token.label}' ({mine[0][0]}, {mine[1][0]})")
            if mine:
                chosen.append(RootCert(mine[0][1], "file", mine[0][0], token, info))
                continue
            stored = info.certificate
            if stored is not None and common_name(stored) == gun and \
                    public_key_der(stored.public_key()) == ident:
                key = key_from_certificate(stored)
                problem = root_cert_problem(key, gun)
                if problem:
                    raise CeremonyRefused(
                        f"{gun}: the certificate stored on token '{token.label}' for key "
                        f"'{info.label}' (cert key ID {key.key_id}) is not usable: {problem}; "
                        "issue a new one with `ceremony key cert --store-on-token` (and pin "
                        "its new ID), then run init again")
                chosen.append(RootCert(key, "token", "", token, info))
                continue
            todo.append((token, info))
        chosen += [RootCert(key, "remote", path) for path, g, key in remote if g == gun]
        expires, note = self._root_expiry(run, gun, chosen)
        self._expires[gun] = (expires, note)
        valid_for = cert_validity(expires)
        for token, info in todo:
            certificate, key = issue_root_certificate(token, info, gun, valid_for)
            # Stored on the token once confirmed, unless it already holds a certificate for
            # this key (for another GUN: never replaced behind anyone's back); a token keeps
            # one certificate per key, so in a bulk init only the first GUN's is stored.
            slot = (token.info.serial, info.id)
            store = info.certificate is None and slot not in self._stored
            self._stored.add(slot)
            chosen.append(RootCert(key, "issued", "", token, info, certificate, store=store))
        order = {id(t): n for n, (t, _, _) in enumerate(self._root)}
        chosen.sort(key=lambda c: order.get(id(c.token), len(order)))
        return chosen

    def _root_expiry(self, run: Run, gun: str,
                     existing: list[RootCert]) -> tuple[dt.datetime, str | None]:
        """Root's expiry: the lifetime asked for, or by default 10 years capped at the first
        existing certificate's expiry (a root cannot outlive the certificates it lists)."""
        wanted = run.now + (self.lifetimes[ROOT] or LIFETIMES[ROOT])
        ends = [(cert_expiry(c.key), c) for c in existing]
        first = min((e for e in ends if e[0] is not None), default=None, key=lambda e: e[0])
        if first is None or first[0] >= wanted:
            return wanted, None
        until, cert = first
        assert until is not None
        if self.lifetimes[ROOT] is not None:
            raise CeremonyRefused(
                f"{gun}: --root-expires ends after root certificate {cert.key.key_id} "
                f"({_source(cert)}) expires ({until:%Y-%m-%d}); give an earlier --root-expires, "
                "or a certificate valid longer (`ceremony key cert --valid-for`)")
        return until.replace(microsecond=0), (
            f"root expires {until:%Y-%m-%dT%H:%M:%SZ}, with root certificate "
            f"{cert.key.key_id} ({_source(cert)}): the default 10 years is capped there, as a "
            "root cannot outlive its certificates")

    def confirmed(self, run: Run) -> None:
        """Certificates issued for the review are stored on their tokens only now."""
        stored = []
        for gun, certs in self._certs.items():
            for c in certs:
                if c.store and c.token is not None and c.info is not None and \
                        c.certificate is not None:
                    c.token.store_certificate(c.certificate, c.info.label, c.info.id)
                    stored.append({"gun": gun, "token": c.token.label,
                                   "key_label": c.info.label, "cert_key_id": c.key.key_id})
        if stored:
            run.transcript.append("certificates-stored", {"certificates": stored})

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
        expires, capped = self._expires[gun]
        root = new_root(root_keys=[c.key for c in certs], root_threshold=self.threshold,
                        targets_key=targets_key, snapshot_key=snapshot_key,
                        timestamp_key=state.server_keys[TIMESTAMP], expires=instant(expires))
        targets = new_targets(lifetime_expiry(TARGETS, self.lifetimes[TARGETS], run.now))
        files = [FileToSign(gun, ROOT, root, thresholds_for(ROOT, root)),
                 FileToSign(gun, TARGETS, targets, thresholds_for(TARGETS, targets, root=root))]
        notes = []
        reused = {id(token): was for token, _, was in self._root}
        for c in certs:
            if c.source == "remote":
                notes.append(f"root key {c.key.key_id} held at another site ({_source(c)}); "
                             "it signs later with `ceremony sign` if the threshold needs it")
                run.elsewhere[c.key.key_id] = f"held at another site ({_source(c)})"
                continue
            assert c.token is not None and c.info is not None
            how = "REUSED (it was already on the token)" if reused[id(c.token)] else "generated"
            notes.append(f"root key '{c.info.label}' on token '{c.token.label}': {how}; its "
                         f"certificate {c.key.key_id}: {_source(c)}")
        if capped:
            notes.append(capped)
        notes.append(f"targets key '{t_info.label}' on token '{t_token.label}': "
                     f"{'REUSED (it was already on the token)' if t_reused else 'generated'}")
        notes.append("snapshot: " + ("held offline on token "
                                     f"'{self._keys[SNAPSHOT][0].label}', signed here after "
                                     "root and targets" if SNAPSHOT in self._keys else
                                     "managed by the Notary server (key from the request)"))
        plan = Plan(state, files, {ROOT: None, TARGETS: None}, notes)
        for c in certs:
            if c.token is not None and c.info is not None:
                plan.keys.append(run.key_record(c.token, c.info, c.key, ROOT, [gun],
                                                certificate_pem(c.key.certificates).decode()))
        plan.keys.append(run.key_record(t_token, t_info, targets_key, TARGETS, [gun]))
        if SNAPSHOT in self._keys:
            s_token, s_info, _ = self._keys[SNAPSHOT]
            plan.keys.append(run.key_record(s_token, s_info, snapshot_key, SNAPSHOT, [gun]))
            plan.snapshot = SnapshotPlan(None, lifetime_expiry(SNAPSHOT,
                                                               self.lifetimes[SNAPSHOT],
                                                               run.now))
        return plan


def _source(c: RootCert) -> str:
    until = cert_expiry(c.key)
    valid = f", valid until {until:%Y-%m-%d}" if until else ""
    if c.source == "file":
        return f"from --root-cert {c.path}{valid}"
    if c.source == "token":
        return f"the one stored on the token (ceremony key cert --store-on-token){valid}"
    if c.source == "remote":
        return f"from --remote-root-cert {c.path}{valid}"
    return ("issued now by the token" + valid + ("; stored on the token once you confirm"
                                                 if c.store else ""))


# The parameters of `ceremony init` and of the script action `init` (ceremonies/params.py).
PARAMS = params.Table("init", InitCeremony, (
    params.like(params.GUNS, help="GUNs to start (default: every GUN of the request)."),
    params.like(params.ROOT_TOKENS, required=True,
                help="Token for a root key (repeat for several tokens)."),
    params.ROOT_THRESHOLD,
    params.like(params.TARGETS_TOKEN, required=True),
    params.SNAPSHOT_TOKEN,
    params.Param("root-label", "Root key label.", kind=params.KEY_LABEL, default="root"),
    params.Param("targets-label", "Targets key label.", kind=params.KEY_LABEL,
                 default="targets"),
    params.Param("snapshot-label", "Snapshot key label (with --snapshot-token).",
                 kind=params.KEY_LABEL, default="snapshot"),
    params.ROOT_ALGORITHM,
    params.TARGETS_ALGORITHM,
    params.Param("root-certs", "Root certificate of the key on a --root-token (e.g. the one whose "
                 "ID was distributed before the ceremony); checked against that key. Default: "
                 "the one stored on the token, else one issued by the token. Repeatable.",
                 flag="--root-cert", metavar="PEM", multiple=True, cli_only=True),
    params.Param("remote-root-certs", "Root certificate of a key held at another site "
                 "(`ceremony key cert` there); it co-signs later with `ceremony sign`. "
                 "Repeatable.", flag="--remote-root-cert", metavar="PEM", multiple=True,
                 cli_only=True),
    params.Param("root-expires", "Root lifetime (default 10y, capped at an existing root "
                 "certificate's expiry).", kind=params.DURATION),
    params.Param("targets-expires", "Targets lifetime (default 3y).", kind=params.DURATION),
    params.SNAPSHOT_EXPIRES,
))
