"""`ceremony adopt`: take a repository made by `docker trust` or the `notary` client, whose root
key (and targets key) are software keys in a client's key store, under token control.

Root v+1 lists new root keys made on `--root-token` tokens (M of N, with a certificate CN=GUN
issued by each token, as `init` makes them) instead of every current root key. Notary's
rotation rule: it carries the current root's threshold of signatures from the current root keys
-- the client's software key file(s), decrypted in memory and used for this one signature -- AND
its own threshold from the tokens. The targets key moves onto `--targets-token` (targets.json
v+1 re-signed there, delegations and targets kept) or stays with `--keep-targets`. The keys
that leave are recorded as retired; the workspace then holds the repository's root history.

Trust: a repository this workspace already imported (`ceremony adopt import`) is checked like
every other request. One it does not know is anchored on the key file itself: the root
certificates of the current root whose key is the key held are pinned, and the root history must
verify from there (signatures, thresholds, expiry, delegations).

Refused with one line, nothing signed or written: a key file whose `gun:` header names another
repository; a wrong passphrase; a key that is not a root key of the current root (an old root
key, the targets key, another repository's key); fewer key files than the current root
threshold; a repository whose root is already on tokens of this workspace (adopted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.errors import MetadataError
from ceremony.inventory import KeyRecord
from ceremony.notary.ceremonies.build import next_root, next_targets, replace_role_keys
from ceremony.notary.ceremonies.common import lifetime_expiry
from ceremony.notary.ceremonies.request import (
    RepoState,
    check_existing,
    check_operation,
    server_key,
)
from ceremony.notary.ceremonies.rootkeys import (
    ROOT_ALGORITHMS,
    cert_validity,
    instant,
    refuse_other_role,
    same_key_in,
    same_key_role,
)
from ceremony.notary.ceremonies.runner import Ceremony, Plan, Run
from ceremony.notary.ceremonies.signing import FileToSign, SignerSet, thresholds_for
from ceremony.notary.format.keys import (
    Key,
    certificate_pem,
    key_from_certificate,
    key_from_public_key,
)
from ceremony.notary.format.model import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, Root, Snapshot, Targets
from ceremony.notary.format.repository import RepositoryFiles
from ceremony.notary.format.repository_check import verify_repository
from ceremony.notary.format.serialization import read_metadata
from ceremony.softkey import (
    KeyFile,
    SoftKeyError,
    SoftwareKeySigner,
    read_key_file,
    read_passphrase,
    unlock,
)
from hsm.keys import DEFAULT_ALGORITHM, KeyInfo, get_algorithm
from hsm.token import Token
from transfer.bundle import RequestBundle, RequestEntry

OPERATION = "adopt"
SOFTWARE = "software"  # token serial/label of inventory records for client software keys
YEARS_10 = dt.timedelta(days=3650)


def software_algorithm(key: Key) -> str:
    """An inventory algorithm name for a software key (ecdsa-p256, rsa-2048, ed25519)."""
    public = key.public_key
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"ecdsa-p{public.curve.key_size}"
    if isinstance(public, rsa.RSAPublicKey):
        return f"rsa-{public.key_size}"
    return "ed25519"


def software_record(key_id: str, key: Key, role: str, gun: str, where: str) -> KeyRecord:
    """An inventory record for a client software key (public data only), so that it can be
    recorded as retired like a token key."""
    pem = key.public_key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    cert = certificate_pem(key.certificates).decode() if key.is_certificate else ""
    return KeyRecord(key_id=key_id, canonical_id=key.canonical_key_id, role=role,
                     algorithm=software_algorithm(key), token_serial=SOFTWARE,
                     token_label="software key file", key_label=where[-200:] or "not given",
                     pkcs11_id="", public_key_pem=pem, cert_pem=cert, guns=(gun,))


def verify_unknown(entry: RequestEntry, pins: Sequence[str]) -> RepoState:
    """A repository this workspace does not know, verified from the pinned root certificates
    (those of the key held) to its current metadata. Its whole root history is to be pinned."""
    gun = entry.gun
    served = {n: data for n, data in enumerate(entry.root_history, start=1)}
    files = RepositoryFiles(roles=dict(entry.metadata), root_history=served,
                            source="request bundle")
    report = verify_repository(files, gun, root_cert_ids=list(pins))
    if not report.ok:
        raise CeremonyRefused(f"{gun}: the request's metadata does not verify from the root "
                              f"key held: {report.errors[0]}",
                              errors=[str(e) for e in report.errors])
    state = RepoState(gun, entry, {}, report=report)
    for role, data in entry.metadata.items():
        cls = {ROOT: Root, TARGETS: Targets, SNAPSHOT: Snapshot}.get(role)
        if cls is None and not role.startswith("targets/"):
            continue
        state.files[role] = read_metadata(data, f"{role}.json", cls or Targets)
    state.trusted_root_bytes = entry.metadata[ROOT]
    state.new_trusted_roots = sorted(served.items())
    return state


class AdoptCeremony(Ceremony):
    name = "adopt"
    operations = (OPERATION,)
    creates_workspace = True

    def __init__(self, *, gun: str, root_key_files: Sequence[str], root_tokens: Sequence[str],
                 root_passphrase: str | None = None, root_threshold: int = 1,
                 targets_token: str | None = None, keep_targets: bool = False,
                 targets_key_file: str | None = None, targets_passphrase: str | None = None,
                 root_label: str = "root", targets_label: str = "targets",
                 algorithm: str = DEFAULT_ALGORITHM, targets_algorithm: str | None = None,
                 root_expires: dt.datetime | None = None,
                 targets_expires: dt.timedelta | None = None):
        if not root_key_files:
            raise CeremonyRefused("adopt needs --root-key-file: the repository's current root "
                                  "key file from the notary/docker client's key store")
        if not root_tokens:
            raise CeremonyRefused("adopt needs --root-token URI (where the new root key is "
                                  "made; repeat for M of N)")
        if algorithm not in ROOT_ALGORITHMS:
            get_algorithm(algorithm)
            raise CeremonyRefused(f"root keys must be one of {', '.join(ROOT_ALGORITHMS)} "
                                  "(Notary root certificates hold ECDSA or RSA keys)")
        get_algorithm(targets_algorithm or algorithm)
        if not 1 <= root_threshold <= len(root_tokens):
            raise CeremonyRefused(f"--root-threshold {root_threshold} is impossible with "
                                  f"{len(root_tokens)} root token(s)")
        self.gun = gun
        self.root_paths = list(root_key_files)
        self.root_uris = list(root_tokens)
        self.root_passphrase, self.targets_passphrase = root_passphrase, targets_passphrase
        self.threshold = root_threshold
        self.targets_uri, self.keep_targets = targets_token, keep_targets
        self.targets_path = targets_key_file
        self.labels = {ROOT: root_label, TARGETS: targets_label}
        self.algorithm = algorithm
        self.targets_algorithm = targets_algorithm or algorithm
        self.root_expires, self.targets_expires = root_expires, targets_expires
        self.software: list[tuple[SoftwareKeySigner, str]] = []  # (signer, root key ID)
        self.old_targets: KeyFile | None = None
        self._root_tokens: list[Token] = []
        self._new_root: list[tuple[Token, KeyInfo, bool]] = []
        self._certs: list[tuple[Token, KeyInfo, Key]] = []
        self._targets: tuple[Token, KeyInfo, bool] | None = None
        self._snapshot_key: Key | None = None
        self.roots: dict[str, tuple[Root, Root]] = {}  # GUN -> (previous root, new root)

    def options_record(self) -> dict[str, Any]:
        # Paths and choices only: the passphrase sources name where a passphrase comes from.
        return {"gun": self.gun, "root_key_files": self.root_paths,
                "root_tokens": self.root_uris, "root_threshold": self.threshold,
                "targets_token": self.targets_uri, "keep_targets": self.keep_targets,
                "targets_key_file": self.targets_path, "labels": self.labels,
                "algorithm": self.algorithm, "targets_algorithm": self.targets_algorithm}

    # -- before the tokens --------------------------------------------------------------------
    def select(self, request: RequestBundle) -> list[RequestEntry]:
        entries = [e for e in request.entries if e.gun == self.gun]
        if not entries:
            raise CeremonyRefused(f"the request has no repository {self.gun} (it holds "
                                  f"{', '.join(request.guns[:5])})")
        return entries

    def _key_files(self) -> tuple[list[KeyFile], KeyFile | None]:
        """Read every key file's block and headers; refuse another repository's file."""
        try:
            roots = [read_key_file(p) for p in self.root_paths]
            targets = read_key_file(self.targets_path) if self.targets_path else None
        except SoftKeyError as exc:
            raise CeremonyRefused(str(exc)) from None
        for kf, role in [(k, ROOT) for k in roots] + ([(targets, TARGETS)] if targets else []):
            if kf.gun and kf.gun != self.gun:
                raise CeremonyRefused(f"key file {kf.path} belongs to another repository (gun: "
                                      f"{kf.gun}), not {self.gun}; give this repository's "
                                      f"{role} key file")
            if kf.role and kf.role != role:
                raise CeremonyRefused(f"key file {kf.path} is a {kf.role} key file (role: "
                                      f"{kf.role}); give the {role} key file")
        return roots, targets

    def _already_adopted(self, run: Run) -> None:
        history = run.ws.trusted_root_history(self.gun)
        if not history:
            return
        root = read_metadata(history[max(history)], "trusted root", Root).signed
        records = [run.ws.key(kid) for kid in root.roles[ROOT].keyids]
        if all(r is not None and r.token_serial != SOFTWARE for r in records):
            labels = ", ".join(sorted({r.token_label for r in records if r is not None}))
            raise CeremonyRefused(f"{self.gun} is already adopted: the root keys of root "
                                  f"v{root.version} are on tokens of this workspace ({labels}); "
                                  "use `ceremony rotate root` or `rotate targets` for changes")

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        gun = entry.gun
        check_operation(entry, self.operations)
        if not entry.exists:
            raise CeremonyRefused(f"{gun}: the server has no trust data for this repository; "
                                  "a new repository is started with `ceremony init`")
        root_files, targets_file = self._key_files()
        self._already_adopted(run)
        served = read_metadata(entry.metadata[ROOT], "root.json", Root).signed
        signers = self._unlock(root_files, self.root_passphrase, "root")
        held: list[str] = []
        for signer, kf in zip(signers, root_files, strict=True):
            held.append(self._root_key_id(run, entry, served, signer, kf))
        if len(set(held)) < served.roles[ROOT].threshold:
            raise CeremonyRefused(f"{gun}: root v{served.version} needs "
                                  f"{served.roles[ROOT].threshold} signatures of its root keys; "
                                  f"the key files given hold {len(set(held))}: give one "
                                  "--root-key-file per root key needed")
        self.software = list(zip(signers, held, strict=True))
        if targets_file is not None:
            signer = self._unlock([targets_file], self.targets_passphrase, "targets")[0]
            if same_key_in(served, key_from_public_key(signer.public_key)) not in \
                    served.roles[TARGETS].keyids:
                raise CeremonyRefused(f"key file {targets_file.path} is not the targets key of "
                                      f"{gun} (root v{served.version} lists "
                                      f"{', '.join(served.roles[TARGETS].keyids)})")
            signer.forget()  # it only proved which file is to be destroyed
            self.old_targets = targets_file
        # The snapshot key: a server key in the request that root does not list yet moves the
        # snapshot to the server (fetched with --snapshot-key always); it is checked below.
        timestamp_only = {k: v for k, v in entry.server_keys.items() if k != SNAPSHOT}
        plain = dataclasses.replace(entry, server_keys=timestamp_only)
        if run.ws.trusted_root_history(gun):
            state = check_existing(plain, run.ws, self.operations)
        else:
            state = verify_unknown(plain, held)
            key = server_key(entry.server_keys[TIMESTAMP], gun, TIMESTAMP) \
                if TIMESTAMP in entry.server_keys else None
            if key is not None and key.key_id not in state.root.roles[TIMESTAMP].keyids:
                raise CeremonyRefused(f"{gun}: the request's timestamp key {key.key_id} is not "
                                      "the one root lists: refusing a swapped server key")
            if key is not None:
                state.server_keys[TIMESTAMP] = key
        if SNAPSHOT in entry.server_keys:
            key = server_key(entry.server_keys[SNAPSHOT], gun, SNAPSHOT)
            if key.key_id not in state.root.roles[SNAPSHOT].keyids:
                self._snapshot_key = key
            state.server_keys[SNAPSHOT] = key
        if state.root.version != served.version:  # pragma: no cover - verified above
            raise CeremonyRefused(f"{gun}: the current root changed while checking")
        return state

    def _unlock(self, files: Sequence[KeyFile], source: str | None,
                role: str) -> list[SoftwareKeySigner]:
        out = []
        passphrase = None
        try:
            for kf in files:
                if kf.encrypted and passphrase is None:
                    passphrase = read_passphrase(source, f"the {role} key file {kf.path}")
                out.append(unlock(kf, passphrase if kf.encrypted else None))
        except SoftKeyError as exc:
            raise CeremonyRefused(str(exc)) from None
        return out

    def _root_key_id(self, run: Run, entry: RequestEntry, served: Root,
                     signer: SoftwareKeySigner, kf: KeyFile) -> str:
        gun = entry.gun
        key = key_from_public_key(signer.public_key)
        listed = same_key_in(served, key)
        if listed is not None and listed in served.roles[ROOT].keyids:
            return listed
        # (Notary's own root rotation leaves the old root key in `keys`, listed by no role.)
        if listed is not None and same_key_role(served, listed) != "unused":
            raise CeremonyRefused(f"key file {kf.path} holds the {same_key_role(served, listed)}"
                                  f" key of {gun} ({listed}), not a root key; give the current "
                                  "root key file")
        listed_in = []
        for version, data in enumerate(entry.root_history, start=1):
            try:
                old = read_metadata(data, f"{version}.root.json", Root).signed
            except MetadataError:
                continue
            kid = same_key_in(old, key)
            if kid is not None and kid in old.roles[ROOT].keyids:
                listed_in.append(version)
        if listed_in:
            raise CeremonyRefused(f"key file {kf.path} holds an old root key of {gun}: root "
                                  f"v{listed_in[-1]} was the last to list it, the current root "
                                  f"is v{served.version}; give the current root key file")
        raise CeremonyRefused(f"key file {kf.path} holds no root key of {gun} (root "
                              f"v{served.version} lists {', '.join(served.roles[ROOT].keyids)}"
                              f"; the file holds canonical key ID {key.key_id}); give this "
                              "repository's current root key file")

    # -- tokens ----------------------------------------------------------------------------------
    def open_tokens(self, run: Run) -> None:
        seen = set()
        for uri in self.root_uris:
            token = run.open_token(uri, "root (new key)")
            if (token.info.serial, token.label) in seen:
                raise CeremonyRefused(f"token '{token.label}' is given twice as a root token; "
                                      "each root key must be on its own token")
            seen.add((token.info.serial, token.label))
            self._root_tokens.append(token)
        self._targets_token = run.open_token(self.targets_uri, "targets (new key)") \
            if self.targets_uri else None

    def add_signers(self, run: Run, signers: SignerSet) -> None:
        for signer, _ in self.software:
            signers.add(signer, token_label="software key file", token_serial=SOFTWARE,
                        key_label=Path(signer.source.path).name)

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        state = states[0]
        old_ids = {k.identity for k in state.root.keys.values()}
        for token in self._root_tokens:
            info, reused = run.tokens.generate_or_reuse(token, self.labels[ROOT], self.algorithm)
            if info.algorithm not in ROOT_ALGORITHMS or info.public_key is None:
                raise CeremonyRefused(f"the key '{info.label}' on token '{token.label}' is "
                                      f"{info.algorithm}: root keys must be ECDSA or RSA")
            plain = key_from_public_key(info.public_key)
            refuse_other_role(run, plain, ROOT, f"the key '{info.label}' on token "
                                                f"'{token.label}'")
            if plain.identity in old_ids or run.ws.is_retired(plain.key_id):
                raise CeremonyRefused(f"the key '{info.label}' on token '{token.label}' is "
                                      f"already listed in root v{state.root.version} or "
                                      "retired; give another --root-label")
            run.record_key(token, info, purpose="root (adopted repository)", reused=reused)
            self._new_root.append((token, info, reused))
        expires = self.root_expires or run.now + YEARS_10
        valid_for = cert_validity(expires)
        self._root_expiry = instant(expires)
        for token, info, _ in self._new_root:
            result = token.certificate(info.label, state.gun, valid_for=valid_for,
                                       key_id=info.id or None)
            self._certs.append((token, info, key_from_certificate(result.certificate)))
        run.transcript.append("certificates", {"certificates": [
            {"gun": state.gun, "token": tok.label, "key_label": info.label,
             "cert_key_id": key.key_id, "canonical_key_id": key.canonical_key_id}
            for tok, info, key in self._certs]})
        if self._targets_token is not None:
            token = self._targets_token
            info, reused = run.tokens.generate_or_reuse(token, self.labels[TARGETS],
                                                        self.targets_algorithm)
            assert info.public_key is not None
            key = key_from_public_key(info.public_key)
            refuse_other_role(run, key, TARGETS, f"the key '{info.label}' on token "
                                                 f"'{token.label}'")
            if key.identity in old_ids or any(k.identity == key.identity
                                               for _, _, k in self._certs):
                raise CeremonyRefused(f"the key '{info.label}' on token '{token.label}' is "
                                      "already used by this repository; give another "
                                      "--targets-label")
            run.record_key(token, info, purpose="targets (adopted repository)", reused=reused)
            self._targets = (token, info, reused)

    # -- building --------------------------------------------------------------------------------
    def plan(self, run: Run, state: RepoState) -> Plan:
        gun, old = state.gun, state.root
        root = next_root(old, self._root_expiry)
        old_root_ids = list(old.roles[ROOT].keyids)
        replace_role_keys(root, ROOT, [key for _, _, key in self._certs], self.threshold)
        files = [FileToSign(gun, ROOT, root, thresholds_for(ROOT, root, previous_root=old))]
        olds: dict[str, Any] = {ROOT: old}
        leaving_targets: list[str] = []
        if self._targets is not None:
            token, info, _ = self._targets
            assert info.public_key is not None
            leaving_targets = replace_role_keys(root, TARGETS,
                                                [key_from_public_key(info.public_key)], 1)
        if self._snapshot_key is not None:
            replace_role_keys(root, SNAPSHOT, [self._snapshot_key], 1)
        if self._targets is not None:
            targets = next_targets(state.targets, lifetime_expiry(TARGETS, self.targets_expires,
                                                                  run.now))
            files.append(FileToSign(gun, TARGETS, targets,
                                    thresholds_for(TARGETS, targets, root=root)))
            olds[TARGETS] = state.targets
        plan = Plan(state, files, olds, self._notes(old, root, leaving_targets),
                    previous_root=state.trusted_root_bytes)
        for token, info, key in self._certs:
            plan.keys.append(run.key_record(token, info, key, ROOT, [gun],
                                            certificate_pem(key.certificates).decode()))
        if self._targets is not None:
            token, info, _ = self._targets
            assert info.public_key is not None
            plan.keys.append(run.key_record(token, info, key_from_public_key(info.public_key),
                                            TARGETS, [gun]))
        files_by_id = {kid: signer.source.path for signer, kid in self.software}
        for kid in old_root_ids:
            plan.keys.append(software_record(kid, old.keys[kid], ROOT, gun,
                                             files_by_id.get(kid, "")))
            plan.retire.append((kid, f"software root key replaced by token keys when {gun} was "
                                     f"adopted (root v{root.version})"))
        for kid in leaving_targets:
            where = self.old_targets.path if self.old_targets is not None else ""
            plan.keys.append(software_record(kid, old.keys[kid], TARGETS, gun, where))
            plan.retire.append((kid, f"software targets key replaced by a token key when {gun} "
                                     f"was adopted (root v{root.version})"))
        self.roots[gun] = (old, root)
        return plan

    def _notes(self, old: Root, root: Root, leaving_targets: list[str]) -> list[str]:
        notes = []
        for signer, kid in self.software:
            kf = signer.source
            notes.append(f"SOFTWARE KEY SIGNS: root key {kid} of root v{old.version} from key "
                         f"file {kf.path} ({kf.form}, role {kf.role or 'not stated'}), "
                         "decrypted in memory for this one signature and never written")
            notes.append(f"that software key LEAVES root in v{root.version} and is recorded as "
                         f"retired; after root v{root.version} is published, DESTROY {kf.path} "
                         "and every copy of it (backups, other machines' ~/.docker/trust/private"
                         " or ~/.notary/private)")
        for kid in old.roles[ROOT].keyids:
            if kid not in {k for _, k in self.software}:
                notes.append(f"root key {kid} of root v{old.version} (another software key) "
                             "leaves root too and is recorded as retired")
        for token, info, reused in self._new_root:
            notes.append(f"new root key '{info.label}' on token '{token.label}': "
                         f"{'REUSED (already on the token)' if reused else 'generated'}; its "
                         "certificate for this GUN was issued now by the token")
        before, after = old.roles[ROOT].threshold, root.roles[ROOT].threshold
        notes.append(f"root threshold {before} of {len(old.roles[ROOT].keyids)} (software) -> "
                     f"{after} of {len(root.roles[ROOT].keyids)} (tokens)")
        notes.append(f"signatures required: {before} from the software root key(s) of root "
                     f"v{old.version} AND {after} from the token keys of root v{root.version} "
                     "(Notary's rotation rule)")
        if self._targets is not None:
            token, info, reused = self._targets
            notes.append(f"new targets key '{info.label}' on token '{token.label}': "
                         f"{'REUSED (already on the token)' if reused else 'generated'}; "
                         f"targets.json re-signed with it, its targets and delegations kept")
            for kid in leaving_targets:
                where = f" (key file {self.old_targets.path}: destroy it after publication)" \
                    if self.old_targets is not None else ""
                notes.append(f"software targets key {kid} leaves root and is recorded as "
                             f"retired{where}")
        else:
            notes.append("targets key kept (--keep-targets): it stays a software key; move it "
                         "onto a token later with `ceremony rotate targets`")
        if self._snapshot_key is not None:
            notes.append(f"snapshot key -> {self._snapshot_key.key_id}, held by the Notary "
                         "server (from the request): the server makes snapshots from now on")
        return notes

    def forget_keys(self) -> None:
        for signer, _ in self.software:
            signer.forget()


# The parameters of `ceremony adopt GUN` and of the script action `adopt`.
PARAMS = params.Table(OPERATION, AdoptCeremony, (
    params.ONE_GUN,
    params.Param("root-key-files", "The current root key file from the client's key store "
                 "(~/.docker/trust/private or ~/.notary/private); repeat to meet a root "
                 "threshold above 1.", flag="--root-key-file", metavar="FILE", multiple=True,
                 minimum=1, script_required=True, ref=("file",)),
    params.Param("root-passphrase-source", "Passphrase of the root key file: prompt (default, no "
                 "echo), env:NAME or file:PATH. Never the passphrase itself.",
                 kind=params.PASSPHRASE_SOURCE, metavar="SOURCE", arg="root_passphrase"),
    params.like(params.ROOT_TOKENS, script_required=True,
                help="Token for a new root key (repeat for M of N)."),
    params.like(params.ROOT_THRESHOLD,
                help="Root signatures the new root needs (M of the root tokens)."),
    params.like(params.TARGETS_TOKEN,
                help="Token for the new targets key (targets.json re-signed there)."),
    params.Param("keep-targets", "Keep the current targets key (rotate it onto a token later).",
                 kind=params.FLAG, default=False),
    params.Param("targets-key-file", "The current targets key file, to check it is the key that "
                 "leaves and to list it for destruction (not used to sign).", metavar="FILE",
                 ref=("file",)),
    params.Param("targets-passphrase-source", "Passphrase of the targets key file: prompt, "
                 "env:NAME or file:PATH.", kind=params.PASSPHRASE_SOURCE, metavar="SOURCE",
                 arg="targets_passphrase"),
    params.Param("root-label", "New root key label.", kind=params.KEY_LABEL, default="root"),
    params.Param("targets-label", "New targets key label.", kind=params.KEY_LABEL,
                 default="targets"),
    params.like(params.ROOT_ALGORITHM, help="New root key algorithm: "
                + ", ".join(params.ROOT_ALGORITHMS) + "."),
    params.like(params.TARGETS_ALGORITHM, help="New targets key algorithm (default: "
                "--algorithm; ed25519 allowed)."),
    params.Param("root-expires", "New root expiry (default 10y).", kind=params.EXPIRY),
    params.Param("targets-expires", "Targets lifetime (default 3y).", kind=params.DURATION),
), rules=(
    params.one_of("targets-token", "keep-targets", hint="(the targets key moves onto a token, "
                  "or the current one stays in use)"),
    params.not_both("keep-targets", "targets-key-file", hint="(that file is for a targets key "
                    "that leaves; a kept one stays in use)"),
))
