"""`ceremony rotate root`: add, replace or remove root keys (a new token, a lost or
compromised one), and change the root threshold, for one GUN or many.

Root v+1 lists the root keys that stay, plus:
- a key made on each `--add-token` (label `--root-label`, generated there or reused if the token
  already holds a key with that label) with a root certificate CN=GUN issued by the token;
- each `--add-cert PEM`: a root certificate made at another site (`ceremony key cert`), whose
  token is not here -- it signs later with `ceremony sign` (co-signing);
and without the keys named by `--remove-key` (cert or canonical key ID) or `--remove-token`
(every root key the workspace inventory records on that token label). `--replace OLD=NEW` is
`--remove-token OLD` (or `--remove-key OLD`) plus `--add-token NEW`. `--root-threshold` sets
the new threshold (default: unchanged).

Notary's rotation rule (docs/verify.md): the new root carries the OLD root's threshold of
signatures from the old root keys AND its own threshold from its own keys. Both are checked
before any key is made; if the tokens present cannot meet them the ceremony refuses, naming each
missing key (key IDs and token labels from the inventory), or with `--partial` writes a partial
response for co-signing. Removed keys are recorded as retired once the new root is complete.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.notary.ceremonies.build import next_root, replace_role_keys
from ceremony.notary.ceremonies.common import (
    note_shortening,
    select_guns,
    snapshot_plan,
    snapshot_preflight,
)
from ceremony.notary.ceremonies.request import RepoState, check_existing
from ceremony.notary.ceremonies.rootkeys import (
    ROOT_ALGORITHMS,
    cert_validity,
    describe_owner,
    instant,
    issue_root_certificate,
    read_root_certificate,
    refuse_other_role,
    root_key_line,
    same_key_in,
    same_key_role,
    token_key,
)
from ceremony.notary.ceremonies.runner import Ceremony, Plan, Run
from ceremony.notary.ceremonies.signing import FileToSign, Threshold, thresholds_for
from ceremony.notary.format.keys import Key, certificate_pem, key_from_public_key
from ceremony.notary.format.model import ROOT, Root
from hsm.keys import DEFAULT_ALGORITHM, KeyInfo, get_algorithm
from hsm.token import Token
from transfer.bundle import RequestBundle, RequestEntry

_KEY_ID = re.compile(r"[0-9a-f]{64}")
YEARS_10 = dt.timedelta(days=3650)


class RotateRoot(Ceremony):
    name = "rotate-root"
    operations = ("rotate-root",)
    shows_pins = True

    def __init__(self, *, guns: Sequence[str] = (), all_guns: bool = False,
                 root_tokens: Sequence[str] = (), add_tokens: Sequence[str] = (),
                 add_certs: Sequence[str] = (), remove_keys: Sequence[str] = (),
                 remove_tokens: Sequence[str] = (), replace: Sequence[str] = (),
                 threshold: int | None = None, label: str = "root",
                 algorithm: str = DEFAULT_ALGORITHM, reason: str = "root key removed",
                 root_expires: dt.datetime | None = None, snapshot_token: str | None = None,
                 snapshot_expires: dt.timedelta | None = None):
        self.remove_keys = [k.strip().lower() for k in remove_keys]
        self.remove_tokens = list(remove_tokens)
        self.add_uris = list(add_tokens)
        for spec in replace:
            old, sep, new = spec.partition("=")
            if not sep or not old or not new:
                raise CeremonyRefused(f"--replace {spec!r}: expected OLD=NEW, OLD a token label "
                                      "or key ID to remove, NEW a token URI for the new key")
            (self.remove_keys if _KEY_ID.fullmatch(old) else self.remove_tokens).append(old)
            self.add_uris.append(new)
        for kid in self.remove_keys:
            if not _KEY_ID.fullmatch(kid):
                raise CeremonyRefused(f"--remove-key {kid!r}: give a root key ID (64 hex digits, "
                                      "the cert key ID of root.json or the canonical key ID)")
        if threshold is not None and threshold < 1:
            raise CeremonyRefused("--root-threshold must be at least 1")
        if algorithm not in ROOT_ALGORITHMS:
            get_algorithm(algorithm)
            raise CeremonyRefused(f"root keys must be one of {', '.join(ROOT_ALGORITHMS)} "
                                  "(Notary root certificates hold ECDSA or RSA keys)")
        self.guns, self.all_guns = list(guns), all_guns
        self.root_uris = list(root_tokens)
        self.cert_paths = list(add_certs)
        self.threshold = threshold
        self.label, self.algorithm, self.reason = label, algorithm, reason
        self.root_expires = root_expires
        self.snapshot_uri, self.snapshot_expires = snapshot_token, snapshot_expires
        self._certs: dict[str, list[tuple[str, Key]]] = {}  # GUN -> [(path, key)]
        self._removed: dict[str, list[str]] = {}  # GUN -> key IDs leaving root
        self._matched: set[str] = set()
        self._add: list[Token] = []
        self._new: list[tuple[Token, KeyInfo, bool]] = []
        self._issued: dict[str, list[tuple[Token, KeyInfo, Key]]] = {}
        self._expires: dt.datetime | None = None

    def options_record(self) -> dict[str, Any]:
        return {"guns": self.guns, "all": self.all_guns, "root_tokens": self.root_uris,
                "add_tokens": self.add_uris, "add_certs": self.cert_paths,
                "remove_keys": self.remove_keys, "remove_tokens": self.remove_tokens,
                "root_threshold": self.threshold, "label": self.label,
                "algorithm": self.algorithm, "reason": self.reason,
                "snapshot_token": self.snapshot_uri}

    # -- before the tokens --------------------------------------------------------------------
    def select(self, request: RequestBundle) -> list[RequestEntry]:
        entries = select_guns(request, self.guns, self.all_guns)
        guns = [e.gun for e in entries]
        self._certs = {g: [] for g in guns}
        for path in self.cert_paths:
            gun, key = read_root_certificate(path, guns)
            if any(k.key_id == key.key_id for _, k in self._certs[gun]):
                raise CeremonyRefused(f"--add-cert {path}: the same certificate is given twice")
            self._certs[gun].append((path, key))
        return entries

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        state = check_existing(entry, run.ws, self.operations)
        gun, old = state.gun, state.root
        old_ids = list(old.roles[ROOT].keyids)
        removed = []
        for kid in old_ids:
            key = old.keys[kid]
            label = run.describe_missing(kid, key).get("token_label")
            for spec in self.remove_keys:
                if spec in (kid, key.canonical_key_id):
                    removed.append(kid)
                    self._matched.add(spec)
            if label is not None and label in self.remove_tokens:
                removed.append(kid)
                self._matched.add(f"token:{label}")
        removed = list(dict.fromkeys(removed))
        self._removed[gun] = removed
        for path, key in self._certs[gun]:
            refuse_other_role(run, key, ROOT, f"{gun}: the key of --add-cert {path}")
            listed = same_key_in(old, key)
            if listed is not None:
                role = same_key_role(old, listed)
                if role != ROOT:
                    raise CeremonyRefused(f"{gun}: --add-cert {path} holds the {role} key of "
                                          f"root v{old.version} ({listed}); a {role} key is "
                                          "never made a root key: use a key of its own")
                raise CeremonyRefused(f"{gun}: --add-cert {path} holds the key root v"
                                      f"{old.version} already lists as {listed}; a key is "
                                      "listed once (to renew its certificate use `ceremony "
                                      "renew --role root --reissue-certs`)")
        kept = [kid for kid in old_ids if kid not in removed]
        total = len(kept) + len(self.add_uris) + len(self._certs[gun])
        threshold = self.threshold or old.roles[ROOT].threshold
        if total == 0:
            raise CeremonyRefused(f"{gun}: the change would leave root with no key; add one "
                                  "(--add-token or --add-cert) in the same rotation")
        if threshold > total:
            raise CeremonyRefused(f"{gun}: root threshold {threshold} is impossible with the "
                                  f"{total} root key(s) root v{old.version + 1} would list"
                                  + ("" if self.threshold else "; give --root-threshold"))
        if not removed and total == len(old_ids) and threshold == old.roles[ROOT].threshold:
            raise CeremonyRefused(f"{gun}: nothing changes in root (the keys named are not root "
                                  "keys of this repository)")
        return state

    # -- tokens ----------------------------------------------------------------------------------
    def open_tokens(self, run: Run) -> None:
        for uri in self.root_uris:
            run.open_token(uri, "root")
        seen: set[tuple[str, str]] = set()
        for uri in self.add_uris:
            token = run.open_token(uri, "root (new key)")
            if (token.info.serial, token.label) in seen:
                raise CeremonyRefused(f"token '{token.label}' is given twice for a new root key;"
                                      " each root key must be on its own token")
            seen.add((token.info.serial, token.label))
            self._add.append(token)
        if self.snapshot_uri:
            run.open_token(self.snapshot_uri, "snapshot")

    def preflight(self, run: Run, states: Sequence[RepoState]) -> list[tuple[str, Threshold]]:
        wanted = set(self.remove_keys) | {f"token:{t}" for t in self.remove_tokens}
        unmatched = sorted(wanted - self._matched)
        if unmatched:
            what = unmatched[0].replace("token:", "token label ")
            raise CeremonyRefused(f"{what} names no root key of "
                                  f"{', '.join(s.gun for s in states)} (check `ceremony status` "
                                  "or the workspace inventory for the root key IDs)")
        out = []
        for s in states:
            for token in self._add:  # before any key is generated
                self._one_key_per_token(run, s, token)
            old = s.root
            out.append((s.gun, Threshold(
                f"root v{old.version} keys (they approve the change to v{old.version + 1})",
                ROOT, old.roles[ROOT].threshold, old.role_keys(ROOT))))
            threshold = self.threshold or old.roles[ROOT].threshold
            needed = threshold - len(self.add_uris)
            if needed > 0:
                keys = {kid: k for kid, k in old.role_keys(ROOT).items()
                        if kid not in self._removed[s.gun]}
                keys.update({k.key_id: k for _, k in self._certs[s.gun]})
                made = f"; the {len(self.add_uris)} key(s) made now count too" \
                    if self.add_uris else ""
                out.append((s.gun, Threshold(f"root v{old.version + 1} (its own root keys{made})",
                                             ROOT, needed, keys)))
            out += snapshot_preflight(run, s)
        return out

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        self._expires = self.root_expires or run.now + YEARS_10
        # a retired record whose token key is still in use under another ID (a re-issued
        # certificate) does not make the key retired
        active = {r.canonical_id for r in run.ws.keys()}
        retired = {r.key.canonical_id: r for r in run.ws.retired_keys()
                   if r.key.canonical_id not in active}
        for token in self._add:
            info, reused = run.tokens.generate_or_reuse(token, self.label, self.algorithm)
            if info.algorithm not in ROOT_ALGORITHMS or info.public_key is None:
                raise CeremonyRefused(f"the key '{info.label}' on token '{token.label}' is "
                                      f"{info.algorithm}: root keys must be ECDSA or RSA")
            plain = key_from_public_key(info.public_key)
            refuse_other_role(run, plain, ROOT,
                              f"the key '{info.label}' on token '{token.label}'")
            if plain.key_id in retired:
                raise CeremonyRefused(
                    f"the key '{info.label}' on token '{token.label}' (canonical key ID "
                    f"{plain.key_id}) was retired ({retired[plain.key_id].reason}); a retired "
                    "key is never added back: give another --root-label")
            for s in states:
                listed = same_key_in(s.root, plain)
                if listed is not None and same_key_role(s.root, listed) != ROOT:
                    raise CeremonyRefused(
                        f"{s.gun}: the key '{info.label}' on token '{token.label}' is the "
                        f"{same_key_role(s.root, listed)} key of root v{s.root.version} "
                        f"({listed}); it is never made a root key: give another --root-label")
                if listed is not None:
                    raise CeremonyRefused(
                        f"{s.gun}: the key '{info.label}' on token '{token.label}' is already "
                        f"listed in root v{s.root.version} as {listed}; a key is listed once "
                        "(give another --root-label for a new key)")
            if any(plain.identity == key_from_public_key(i.public_key).identity
                   for _, i, _ in self._new if i.public_key is not None):
                raise CeremonyRefused(f"token '{token.label}' holds the same key as another "
                                      "--add-token")
            run.record_key(token, info, purpose="root (new)", reused=reused)
            self._new.append((token, info, reused))
        valid_for = cert_validity(self._expires)
        for s in states:  # a certificate per GUN and new key, made by the token
            issued = []
            for token, info, _ in self._new:
                _, key = issue_root_certificate(token, info, s.gun, valid_for)
                issued.append((token, info, key))
            self._issued[s.gun] = issued
        if self._issued:
            run.transcript.append("certificates", {"certificates": [
                {"gun": gun, "token": tok.label, "key_label": info.label,
                 "cert_key_id": key.key_id, "canonical_key_id": key.canonical_key_id}
                for gun, items in self._issued.items() for tok, info, key in items]})

    def _one_key_per_token(self, run: Run, s: RepoState, token: Token) -> None:
        """Two root keys of one repository on one token would let one keyholder count twice
        toward the threshold: refused, as init refuses a token given twice."""
        for kid in s.root.roles[ROOT].keyids:
            if kid in self._removed[s.gun]:
                continue
            record = run.ws.key(kid)
            found = token_key(run, s.root.keys[kid])
            if (record is not None and record.token_serial == token.info.serial
                    and record.token_label == token.label) or \
                    (found is not None and found[0] is token):
                raise CeremonyRefused(
                    f"{s.gun}: token '{token.label}' already holds root key {kid} of this "
                    "repository; each root key must be on its own token")

    # -- building --------------------------------------------------------------------------------
    def plan(self, run: Run, state: RepoState) -> Plan:
        assert self._expires is not None
        gun, old = state.gun, state.root
        removed = self._removed[gun]
        kept = [old.keys[kid] for kid in old.roles[ROOT].keyids if kid not in removed]
        issued = self._issued.get(gun, [])
        added = [key for _, _, key in issued] + [key for _, key in self._certs[gun]]
        threshold = self.threshold or old.roles[ROOT].threshold
        root = next_root(old, instant(self._expires))
        replace_role_keys(root, ROOT, kept + added, threshold)
        files = [FileToSign(gun, ROOT, root, thresholds_for(ROOT, root, previous_root=old))]
        notes = self._notes(run, old, root, removed, [k for _, k in self._certs[gun]])
        plan = Plan(state, files, {ROOT: old}, notes, previous_root=state.trusted_root_bytes,
                    snapshot=snapshot_plan(run, state, self.snapshot_expires))
        note_shortening(plan, gun, ROOT, old.expires, root.expires)
        for path, key in self._certs[gun]:
            run.elsewhere[key.key_id] = f"held at another site (from --add-cert {path})"
        for token, info, key in issued:
            plan.keys.append(run.key_record(token, info, key, ROOT, [gun],
                                            certificate_pem(key.certificates).decode()))
        plan.retire = [(kid, f"{self.reason} (root v{root.version} of {gun})") for kid in removed]
        return plan

    def _notes(self, run: Run, old: Root, root: Root, removed: list[str],
               remote: list[Key]) -> list[str]:
        notes = []
        for kid in removed:
            notes.append(f"root key {kid} on {describe_owner(run, kid, old.keys[kid])} leaves "
                         f"root and is recorded as retired once v{root.version} is complete "
                         f"({self.reason})")
        for token, info, reused in self._new:
            notes.append(f"new root key '{info.label}' on token '{token.label}': "
                         f"{'REUSED (already on the token)' if reused else 'generated'}; its "
                         "certificate for this GUN was issued now by the token")
        for key in remote:
            notes.append(f"new root key {root_key_line(root, key.key_id)} comes from a "
                         "certificate given with --add-cert; its token is elsewhere: it signs "
                         "later with `ceremony sign` (co-signing)")
        before, after = old.roles[ROOT].threshold, root.roles[ROOT].threshold
        notes.append(threshold_change(before, len(old.roles[ROOT].keyids), after,
                                      len(root.roles[ROOT].keyids)))
        notes.append(f"signatures required: {before} from the keys of root v{old.version} AND "
                     f"{after} from the keys of root v{root.version} (Notary's rotation rule)")
        return notes


def threshold_change(before: int, of_before: int, after: int, of_after: int) -> str:
    """The root threshold line of the review: "2 of 3 (unchanged)", never "2 of 3 -> 2 of 3"."""
    if (before, of_before) == (after, of_after):
        return f"root threshold {after} of {of_after} (unchanged)"
    return f"root threshold {before} of {of_before} -> {after} of {of_after}"


# The parameters of `ceremony rotate root` and of the script action `rotate-root`.
PARAMS = params.Table("rotate-root", RotateRoot, (
    params.GUNS,
    params.ALL_GUNS,
    params.like(params.ROOT_TOKENS, script_required=True,
                help="Token holding a current root key, present to sign; repeatable."),
    params.Param("add-tokens", "Token for a new root key (generated, or reused by --root-label), "
                 "with a root certificate CN=GUN made by the token; repeatable.",
                 flag="--add-token", token="root", multiple=True),
    params.Param("add-certs", "Root certificate made at another site (`ceremony key cert`); "
                 "its key co-signs later with `ceremony sign`; repeatable.", flag="--add-cert",
                 metavar="PEM", multiple=True, ref=("certificate",)),
    params.Param("remove-keys", "Root key to remove (cert key ID or canonical key ID); "
                 "repeatable.", kind=params.KEY_ID, flag="--remove-key", metavar="KEYID",
                 multiple=True),
    params.Param("remove-tokens", "Remove every root key the inventory records on token LABEL "
                 "(lost or compromised); repeatable.", kind=params.TOKEN_LABEL,
                 flag="--remove-token", metavar="LABEL", multiple=True),
    params.Param("replace", "Remove token label (or key ID) OLD and add a key on token URI NEW.",
                 metavar="OLD=NEW", multiple=True, cli_only=True),
    params.like(params.ROOT_THRESHOLD, arg="threshold", default=None,
                help="Root signatures the new root needs (default: unchanged)."),
    params.Param("root-label", "Label of the new root key(s) on the --add-token tokens.",
                 kind=params.KEY_LABEL, default="root", arg="label"),
    params.like(params.ROOT_ALGORITHM, help="New root key algorithm: "
                + ", ".join(params.ROOT_ALGORITHMS) + "."),
    params.Param("reason", "Why removed keys are retired (recorded).",
                 default="root key removed"),
    params.Param("root-expires", "Expiry of the new root (default 10y).", kind=params.EXPIRY),
    params.SNAPSHOT_TOKEN,
    params.SNAPSHOT_EXPIRES,
    params.ALLOW_SHORTER,
), rules=(
    params.GUNS_OR_ALL,
    params.any_of("add-tokens", "add-certs", "remove-keys", "remove-tokens", "replace",
                  "root-threshold", hint="(a root rotation must change root's keys or "
                  "threshold; to extend its expiry only, renew root)"),
))
