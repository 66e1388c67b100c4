"""Running a ceremony: the steps every ceremony shares, in this order.

1-3. The session frame (session.py): `--out` checked, workspace opened and locked, transcript
   started, air gap checked (findings and `--allow-network` recorded, a warning shown).
4. Request read strictly; its digest recorded and shown.
5. Every GUN checked against the workspace (request.py) before anything is shown: a refusal
   stops here with one line, recorded in the transcript, nothing written.
6. Tokens opened (one login per token for the whole run, PINs registered as secrets); keys that
   must sign and already exist are looked for on them: if a threshold cannot be met, refuse
   (listing the keys missing with their token labels, and the tokens present) unless
   `--partial`.
7. The ceremony generates or reuses its keys, then builds the new metadata (build.py).
8. Review (review.py): old -> new, keys with both IDs and token labels, thresholds, who signs,
   the SHA-256 of the exact bytes to sign (hex + words). Recorded by digest.
9. Confirmation: `--yes` (recorded as such) or `yes` typed on standard input; anything else,
   or no input at all, refuses.
10. Signing through the tokens (signing.py); an offline snapshot, whose content depends on the
   signed files, gets its own review and confirmation afterwards.
11. Response written (exactly the reviewed bytes; partial entries carry the signing state).
12. Workspace updated in ONE transaction, whose lock is held from the start (one ceremony per
   workspace at a time): trusted roots, signed versions, token and key inventory, retired
   keys -- staged before the response is written, committed only after it is.
13. Transcript closed (by the frame) with the output digest, login and signature counts.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused, MissingSignaturesError
from ceremony.ceremonies.session import Console, Options, Session, session
from ceremony.ceremonies.session import confirm as session_confirm
from ceremony.ceremonies.session import confirm_shortening as session_confirm_shortening
from ceremony.errors import MetadataError
from ceremony.inventory import KeyRecord, TokenRecord
from ceremony.notary.ceremonies.build import snapshot_for
from ceremony.notary.ceremonies.bulkreview import BULK_REVIEW_THRESHOLD, write_bulk_review
from ceremony.notary.ceremonies.partial import site_id
from ceremony.notary.ceremonies.partialstate import claims_of, pending_state
from ceremony.notary.ceremonies.request import RepoState
from ceremony.notary.ceremonies.review import Review, review_files
from ceremony.notary.ceremonies.signing import (
    FileToSign,
    SignerSet,
    Threshold,
    missing_signatures,
    plan_missing,
    sign_files,
    thresholds_for,
)
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import (
    ROOT,
    SNAPSHOT,
    TIMESTAMP,
    AnySigned,
    Instant,
    Root,
    Snapshot,
)
from ceremony.notary.pins import pin_set
from ceremony.workspace import Transaction
from groundfloor.errors import GroundFloorError
from groundfloor.files import atomic_write, read_limited
from groundfloor.limits import MAX_REQUEST_BYTES
from groundfloor.words import digest_words
from hsm.errors import TokenNotFoundError
from hsm.keys import KeyInfo
from hsm.pubkey import public_key_der, public_key_pem
from hsm.token import Token
from transfer.bundle import (
    PendingSignatures,
    RequestBundle,
    RequestEntry,
    ResponseBundle,
    ResponseEntry,
    SignedFile,
    parse_request,
)
from transfer.errors import TransferError


@dataclass
class SnapshotPlan:
    """An offline snapshot to sign once the other files of its GUN are complete."""

    previous: Snapshot | None
    expires: Instant
    removed: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What a ceremony will sign for one GUN, and what the workspace records afterwards."""

    state: RepoState
    files: list[FileToSign]  # upload order
    old: dict[str, AnySigned | None]  # role -> current signed part (None: new file)
    notes: list[str] = field(default_factory=list)
    previous_root: bytes | None = None  # trusted root the thresholds derive from
    snapshot: SnapshotPlan | None = None
    keys: list[KeyRecord] = field(default_factory=list)
    retire: list[tuple[str, str]] = field(default_factory=list)  # (key ID, reason) when complete
    shortened: list[str] = field(default_factory=list)  # expiries moved EARLIER, said why

    @property
    def gun(self) -> str:
        return self.state.gun

    @property
    def complete(self) -> bool:
        return all(f.complete for f in self.files)

    @property
    def new_root(self) -> Root | None:
        return next((f.signed for f in self.files if f.role == ROOT), None)  # type: ignore


class Ceremony:
    """One kind of ceremony. Subclasses fill in the checks, key preparation and building."""

    name = "ceremony"  # transcript and JSON name, e.g. "rotate-targets"
    operations: tuple[str, ...] = ()  # request operation names it answers
    creates_workspace = False
    # Whether the summary carries the "pin these" block (ceremonies that make or change the
    # root certificate IDs verifiers pin: init, rotate root, renew of root).
    shows_pins = False

    def options_record(self) -> dict[str, Any]:
        """The command's choices, for the transcript's start entry."""
        return {}

    def select(self, request: RequestBundle) -> list[RequestEntry]:
        return list(request.entries)

    def check(self, run: Run, entry: RequestEntry) -> RepoState:
        raise NotImplementedError

    def open_tokens(self, run: Run) -> None:
        """Open the tokens the command names (a missing token fails here, listing those
        present)."""

    def preflight(self, run: Run, states: Sequence[RepoState]) -> list[tuple[str, Threshold]]:
        """Thresholds over keys that exist already and must sign (checked before any key is
        generated): (GUN, threshold)."""
        return []

    def prepare(self, run: Run, states: Sequence[RepoState]) -> None:
        """Generate or reuse keys (after every check passed)."""

    def plan(self, run: Run, state: RepoState) -> Plan:
        raise NotImplementedError

    def add_signers(self, run: Run, signers: SignerSet) -> None:
        """Signers not on a token (adoption: the client's software root key), added to those
        found on the tokens."""

    def confirmed(self, run: Run) -> None:
        """After the operator confirmed, before signing: keep what was made for the review
        (e.g. store a root certificate issued for it on its token)."""


class Run:
    """The state of one ceremony run, handed to the ceremony's hooks."""

    def __init__(self, ceremony: Ceremony, session: Session,
                 request: RequestBundle | None = None):
        self.ceremony = ceremony
        self.session = session
        self.options = session.options
        # One clock for the whole run: every repository of a bulk ceremony gets the same
        # expiries (and so the same review), whichever second its turn comes.
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.console = session.console
        self.ws = session.ws
        self.transcript = session.transcript
        self.tokens = session.tokens
        self._request = request
        self.server_key_ids: dict[str, str] = {}  # key ID -> "timestamp"/"snapshot"
        self.new_keys: dict[str, str] = {}  # identity hex -> "generated"/"reused"
        self.elsewhere: dict[str, str] = {}  # key ID -> where it lives (another site), review
        self.leaving: dict[str, str] = {}  # key ID -> why it leaves (retired when complete)
        self._present: set[tuple[str, str]] | None = None  # (serial, label) plugged in
        self.signers = SignerSet()
        self._canonical: dict[str, KeyRecord | None] | None = None

    @property
    def request(self) -> RequestBundle:
        """The request bundle the ceremony answers (co-signing steps answer none)."""
        if self._request is None:
            raise CeremonyRefused(f"{self.ceremony.name} answers no request bundle")
        return self._request

    # -- for ceremonies -------------------------------------------------------------------
    def open_token(self, uri: str, purpose: str) -> Token:
        try:
            return self.tokens.open(uri, purpose)
        except TokenNotFoundError as exc:
            raise CeremonyRefused(f"{purpose} token: {exc}") from None

    def record_key(self, token: Token, info: KeyInfo, *, purpose: str, reused: bool) -> None:
        """Transcript: custody evidence of a key generated or reused on a token."""
        evidence = self.tokens.custody(token, info)
        evidence.update({"purpose": purpose, "reused": reused})
        self.transcript.custody(evidence)
        if info.public_key is not None:
            self.new_keys[public_key_der(info.public_key).hex()] = "reused" if reused \
                else "generated in this ceremony"

    def key_record(self, token: Token, info: KeyInfo, key: Key, role: str,
                   guns: Sequence[str], cert_pem: str = "") -> KeyRecord:
        """An inventory record (public data only) for a key on a token."""
        assert info.public_key is not None and info.algorithm is not None
        existing = self.ws.key(key.key_id)
        all_guns = sorted(set(guns) | set(existing.guns if existing else ()))
        custody = info.custody.to_json() if info.custody is not None else {}
        return KeyRecord(key_id=key.key_id, canonical_id=key.canonical_key_id, role=role,
                         algorithm=info.algorithm, token_serial=token.info.serial,
                         token_label=token.label, key_label=info.label,
                         pkcs11_id=info.id.hex(),
                         public_key_pem=public_key_pem(info.public_key).decode(),
                         cert_pem=cert_pem, guns=tuple(all_guns), evidence=custody)

    def where(self, key_id: str, key: Key) -> str:
        """Where a key lives, for the review: exactly what is true, once."""
        entry = self.signers.find(key)
        ident = key.identity
        fresh = self.new_keys.get(ident.hex()) if ident is not None else None
        leaves = f"; LEAVES: {self.leaving[key_id]}" if key_id in self.leaving else ""
        if entry is not None:
            suffix = f" ({fresh})" if fresh and not leaves else ""
            return (f"on token '{entry.token_label}' (serial {entry.token_serial}), key "
                    f"'{entry.key_label}', token present{suffix}{leaves}")
        if key_id in self.server_key_ids:
            return f"held by the Notary server ({self.server_key_ids[key_id]} key)"
        if key_id in self.elsewhere:
            return self.elsewhere[key_id] + leaves
        record = self.ws.key(key_id) or self._by_canonical(key)
        if record is not None:
            retired = " RETIRED" if self.ws.is_retired(record.key_id) else ""
            plugged = (record.token_serial, record.token_label) in self.present_tokens()
            state = ("token plugged in but not given to this command" if plugged
                     else "token not present")
            return (f"on token '{record.token_label}' (serial {record.token_serial}), key "
                    f"'{record.key_label}'{retired}, {state}{leaves}")
        return "not in this workspace's inventory" + leaves

    def present_tokens(self) -> set[tuple[str, str]]:
        """(serial, label) of every token plugged in now (read once per run)."""
        if self._present is None:
            self._present = self.tokens.present_set()
        return self._present

    def _by_canonical(self, key: Key) -> KeyRecord | None:
        if self._canonical is None:
            self._canonical = {}
        try:
            canonical = key.canonical_key_id
        except MetadataError:  # an unreadable key has no canonical ID
            return None
        if canonical not in self._canonical:  # one lookup, not every record of the inventory
            self._canonical[canonical] = self.ws.key_by_canonical_id(canonical)
        return self._canonical[canonical]

    def describe_missing(self, key_id: str, key: Key) -> dict[str, Any]:
        record = self.ws.key(key_id) or self._by_canonical(key)
        if record is None:
            return {}
        return {"token_label": record.token_label, "token_serial": record.token_serial,
                "key_label": record.key_label}


def _missing_message(missing: list[dict[str, Any]], present: str, partial_hint: bool) -> str:
    # One part per threshold, saying how many MORE signatures it needs and from which keys
    # (any of them will do), not every key as if all were needed.
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for m in missing:
        groups.setdefault((m["gun"], m["role"], m["threshold"]), []).append(m)
    parts = []
    for (gun, role, name), items in groups.items():
        more = max(1, items[0]["needed"] - items[0]["have"])
        keys = [f"key {m['key_id']} (canonical {m['canonical_key_id']}) on "
                + (f"token '{m['token_label']}' key '{m['key_label']}'" if m.get("token_label")
                   else "token unknown to this workspace") for m in items]
        shown = ", ".join(keys[:6]) + (f", and {len(keys) - 6} more" if len(keys) > 6 else "")
        parts.append(f"{gun} {role}: {name} [needs {items[0]['needed']}, has "
                     f"{items[0]['have']}]: {more} more signature{'' if more == 1 else 's'} "
                     f"from {'' if len(keys) == more else 'any of: '}{shown}")
    hint = " (or pass --partial to write a partial response for co-signing)" \
        if partial_hint else ""
    return (f"the tokens present cannot meet every threshold; missing: {'; '.join(parts)}; "
            f"tokens present: {present}; give the command tokens holding enough of these "
            f"keys{hint}; nothing was signed")


def _preflight_missing(run: Run, items: list[tuple[str, Threshold]],
                       signers: SignerSet) -> list[dict[str, Any]]:
    out = []
    for gun, t in items:
        have = {k.identity for k in t.keys.values() if signers.find(k) is not None}
        if len(have) >= t.threshold:
            continue
        for kid, key in sorted(t.keys.items()):
            if signers.find(key) is None:
                item = {"gun": gun, "role": t.role, "threshold": t.name, "needed": t.threshold,
                        "have": len(have), "key_id": kid,
                        "canonical_key_id": key.canonical_key_id, "token_label": None,
                        "token_serial": None, "key_label": None}
                item.update(run.describe_missing(kid, key))
                out.append(item)
    return out


def confirm(run: Run, question: str) -> None:
    """The one confirmation rule (session.confirm): --yes, or the typed answer 'yes'."""
    session_confirm(run.options, run.transcript, run.console, question)


def confirm_shortening(run: Run, shortened: list[str]) -> None:
    """An earlier expiry's own confirmation (session.confirm_shortening)."""
    session_confirm_shortening(run.options, run.transcript, run.console, shortened)


def perform(ceremony: Ceremony, options: Options, console: Console) -> dict[str, Any]:
    """Run `ceremony` end to end inside the session frame; returns the JSON summary. Raises
    CeremonyError (and HSMError, GroundFloorError) with one-line messages; the transcript records
    every refusal and error."""
    data = {"request": str(options.request), "out": str(options.out),
            "partial_allowed": options.partial, **ceremony.options_record()}
    with session(ceremony.name, options, console, data=data,
                 create_workspace=ceremony.creates_workspace) as s:
        # The staged changes are committed by the frame only when every step succeeded,
        # after the response is written.
        with _no_cycle_collection():
            result, changes = _steps(ceremony, s)
        s.finish(changes, logins=result["logins"], signatures=result["signatures"],
                 complete=result["complete"])
    result.update(s.transcript_fields())
    return result


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused for the ceremony (a bounded batch that makes few
    cycles, collected at the end). With the parsed metadata of 10,000 repositories alive its
    full collections made bulk ceremonies super-linear: bench/ceremony.py at 2,000 GUNs,
    rotation 35 s with it, 11 s without, same peak memory."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect()


def read_request(s: Session) -> RequestBundle:
    """The request read strictly, recorded by digest (refused with one line otherwise)."""
    path, t = s.options.request, s.transcript
    try:
        data = read_limited(path, MAX_REQUEST_BYTES, what="request bundle")
    except GroundFloorError as exc:
        raise CeremonyRefused(str(exc)) from None
    try:
        request = parse_request(data)
    except TransferError as exc:
        t.input("request", data, path=str(path))
        raise CeremonyRefused(f"request {path}: {exc}") from None
    t.input("request", data, path=str(path), bundle_sha256=request.digest_hex)
    return request  # the bytes not kept for the whole ceremony: ~85 MB at 10,000 repositories


def request_entry(request: RequestBundle, gun: str) -> RequestEntry:
    """The request's entry for GUN (a ceremony about one repository)."""
    entry = next((e for e in request.entries if e.gun == gun), None)
    if entry is None:
        raise CeremonyRefused(f"the request has no repository {gun} (it holds "
                              f"{', '.join(request.guns[:5])}); fetch a request for {gun}")
    return entry


def _steps(ceremony: Ceremony, s: Session) -> tuple[dict[str, Any], dict[str, Any]]:
    run = Run(ceremony, s, read_request(s))
    opts, t, tx = run.options, run.transcript, s.tx
    run.console.show(f"request {opts.request}: bundle sha256 {run.request.digest_hex}\n"
                     f"request words: {digest_words(run.request.digest())}")

    entries = run.ceremony.select(run.request)
    states = [run.ceremony.check(run, entry) for entry in entries]
    for s in states:
        for role, key in s.server_keys.items():
            run.server_key_ids[key.key_id] = role
        if s.exists:  # the server's keys root lists, unless this workspace holds them
            for role in (TIMESTAMP, SNAPSHOT):
                for kid in s.root.roles[role].keyids:
                    if kid not in run.server_key_ids and run.ws.key(kid) is None:
                        run.server_key_ids[kid] = role
    t.append("checked", {"repositories": [
        {"gun": s.gun, "operation": s.entry.operation, "exists": s.exists,
         "root_version": s.root.version if s.exists else None,
         "warnings": list(s.report.warnings) if s.report else []} for s in states]})

    run.ceremony.open_tokens(run)
    t.tokens(run.tokens.facts())
    pre = run.ceremony.preflight(run, states)
    if pre:
        signers = run.tokens.locate([k for _, th in pre for k in th.keys.values()])
        missing = _preflight_missing(run, pre, signers)
        if missing and not opts.partial:
            raise MissingSignaturesError(_missing_message(missing, run.tokens.present(), True),
                                         missing)
    run.ceremony.prepare(run, states)
    plans = [run.ceremony.plan(run, s) for s in states]
    files = [f for p in plans for f in p.files]
    run.leaving = {kid: why for p in plans for kid, why in p.retire}
    run.signers = run.tokens.locate([k for f in files for k in f.keys.values()])
    run.ceremony.add_signers(run, run.signers)
    unmet = plan_missing(files, run.signers)
    partial = bool(unmet)
    if unmet:
        missing = [m for m in missing_signatures([f for f, _, _ in unmet], run.describe_missing)
                   if any(m["threshold"] == th.name for _, th, _ in unmet)]
        if not opts.partial:
            raise MissingSignaturesError(_missing_message(missing, run.tokens.present(), True),
                                         missing)
        if any(p.snapshot is not None for p in plans):
            raise CeremonyRefused("a partial response cannot include an offline snapshot yet "
                                  "(its content depends on the complete files); bring every "
                                  "token needed, or publish with a server-managed snapshot")

    # The PIN of every token that will sign is checked (and its flags read: PIN count low,
    # final try) before the review, so nobody reviews and confirms for a token that refuses.
    run.tokens.login_signing(run.signers)
    header = [f"request bundle sha256 {run.request.digest_hex}",
              f"request words {digest_words(run.request.digest())}",
              f"{len(plans)} repositor{'y' if len(plans) == 1 else 'ies'}, {len(files)} "
              "file(s) to sign"]
    if partial:
        header.append("PARTIAL: the tokens present cannot meet every threshold; a partial "
                      "response will be written for co-signing (--partial)")
    review = review_files(f"REVIEW: ceremony {run.ceremony.name}", files,
                          {(p.gun, role): old for p in plans for role, old in p.old.items()},
                          run.signers, run.where, {p.gun: p.notes for p in plans}, header)
    show_review(run, review, "review")
    confirm_shortening(run, [m for p in plans for m in p.shortened])
    confirm(run, f"Sign {len(files)} file(s) for {len(plans)} repositor"
                  f"{'y' if len(plans) == 1 else 'ies'}, ceremony digest "
                  f"{review.digest.hex()} ({digest_words(review.digest)})?")
    run.ceremony.confirmed(run)
    # Only the review's digests are needed from here on: its text and per-repository blocks
    # (~6 MB per 1,000 repositories) are not held through signing, response and staging.
    review_sha256, review_digest = review.text_sha256, review.digest
    del review
    signed = sign_files(files, run.signers)
    snapshots = _sign_snapshots(run, plans)
    _release_checked(run, plans)
    t.append("signed", {"token_operations": signed.operations + snapshots,
                        "by_token": signed.by_token, "logins": run.tokens.logins,
                        "logins_by_token": run.tokens.logins_by_token()})

    response = _response(run, plans)
    # Staged first (a state the workspace refuses stops us before any output), committed by
    # the caller once the response is written.
    changes = _stage(run, tx, plans)
    # Written in pieces, not built whole first: at 10,000 repositories the response and its
    # serialisation held ~180 MB at once.
    atomic_write(opts.out, response.iter_bytes(), overwrite=opts.force)
    t.output("response", Path(opts.out).read_bytes(), path=str(opts.out),
             bundle_sha256=response.digest_hex, complete=response.complete)
    repositories = [{
        "gun": p.gun, "complete": p.complete,
        "files": [{"role": f.role, "version": f.version, "signed_sha256": f.digest,
                   "signatures": len(f.signatures)} for f in p.files],
        "missing": missing_signatures(p.files, run.describe_missing),
        "notes": p.notes, **_pins(run, p)} for p in plans]
    result = {
        "ceremony": run.ceremony.name, "response": str(opts.out),
        "response_sha256": response.digest_hex,
        "response_words": digest_words(response.digest()), "complete": response.complete,
        "request_sha256": run.request.digest_hex, "review_sha256": review_sha256,
        "ceremony_digest": review_digest.hex(), "ceremony_words": digest_words(review_digest),
        "repositories": repositories,
        "logins": run.tokens.logins, "logins_by_token": run.tokens.logins_by_token(),
        "signatures": signed.operations + snapshots, "workspace": str(run.ws.path),
    }
    if len(repositories) == 1 and "pins" in repositories[0]:
        result["pins"] = repositories[0]["pins"]
    return result, changes


def _pins(run: Run, p: Plan) -> dict[str, Any]:
    """{"pins": PinSet.to_json()} for a new root of a ceremony that shows pins, else {}."""
    root = p.new_root
    if not run.ceremony.shows_pins or root is None:
        return {}
    previous = pin_set(p.gun, p.state.root) if p.state.exists else None
    return {"pins": pin_set(p.gun, root).to_json(previous)}


def show_review(run: Run, review: Review, kind: str) -> None:
    """Show the review and record it by digest. Over more than BULK_REVIEW_THRESHOLD
    repositories the full text goes to a file beside the transcript (<transcript>.<kind>.txt,
    exactly the text whose SHA-256 is recorded), with a per-repository table, and the screen
    shows the condensed review (bulkreview.py)."""
    record: dict[str, Any] = {"text_sha256": review.text_sha256,
                              "ceremony_digest": review.digest.hex(),
                              "words": digest_words(review.digest), "files": review.files}
    if len(review.blocks) > BULK_REVIEW_THRESHOLD:
        screen, written = write_bulk_review(review, run.transcript.path, kind)
        record.update(written)
        run.console.show(screen)
    else:
        run.console.show(review.text)
    run.transcript.append(kind, record)


def _sign_snapshots(run: Run, plans: Sequence[Plan]) -> int:
    """Offline snapshots: built from the signed files, reviewed and confirmed, then signed."""
    todo = [p for p in plans if p.snapshot is not None]
    if not todo:
        return 0
    files = []
    for p in todo:
        assert p.snapshot is not None
        root = p.new_root or p.state.root
        snap = snapshot_for(p.snapshot.previous, {f.role: f.data for f in p.files},
                            p.snapshot.removed, p.snapshot.expires)
        f = FileToSign(p.gun, SNAPSHOT, snap, thresholds_for(SNAPSHOT, snap, root=root))
        files.append(f)
    run.signers = run.tokens.locate([k for f in files for k in f.keys.values()])
    unmet = plan_missing(files, run.signers)
    if unmet:
        missing = missing_signatures([f for f, _, _ in unmet], run.describe_missing)
        raise MissingSignaturesError(_missing_message(missing, run.tokens.present(), False),
                                     missing)
    old = {(p.gun, SNAPSHOT): p.snapshot.previous for p in todo if p.snapshot is not None}
    review = review_files(f"REVIEW: ceremony {run.ceremony.name}, offline snapshot (lists the "
                          "files just signed)", files, old, run.signers, run.where)
    show_review(run, review, "review-snapshot")
    confirm(run, f"Sign the snapshot of {len(files)} repositor"
                  f"{'y' if len(files) == 1 else 'ies'}, digest {review.digest.hex()} "
                  f"({digest_words(review.digest)})?")
    result = sign_files(files, run.signers)
    for p, f in zip(todo, files, strict=True):
        p.files.append(f)
    return result.operations


def _release_checked(run: Run, plans: Sequence[Plan]) -> None:
    """Once signed, a complete repository's response, workspace records and summary need only
    its signed files and what the checks decided (exists, roots to pin): the parsed metadata
    of the request, the verification report and the old signed parts are let go before the
    response is built, instead of held for every repository until the end (at 10,000
    repositories most of the ceremony's memory). A partial one keeps them: its response
    carries the previous files."""
    for p in plans:
        if not p.complete:
            continue
        state = p.state
        state.existed = state.exists
        state.report = None
        p.old = {}
        keep = (ROOT,) if run.ceremony.shows_pins else ()  # _pins reads the old root
        state.files = {role: f for role, f in state.files.items() if role in keep}


def _response(run: Run, plans: Sequence[Plan]) -> ResponseBundle:
    entries = []
    for p in plans:
        if p.complete:
            entries.append(ResponseEntry(p.gun, tuple(SignedFile(f.role, f.data)
                                                      for f in p.files)))
            continue
        previous = {f.role: p.state.entry.metadata[f.role] for f in p.files
                    if p.old.get(f.role) is not None and f.role in p.state.entry.metadata}
        state = pending_state(p.files, ceremony=run.ceremony.name,
                              previous_root=p.previous_root, previous_files=previous,
                              on_complete={"retire_keys": [{"key_id": kid, "reason": why}
                                                           for kid, why in p.retire]},
                              origin=site_id(run.ws, create=True),
                              claims=claims_of(run, p.files))
        missing = missing_signatures(p.files, run.describe_missing)
        entries.append(ResponseEntry(p.gun, (), PendingSignatures(tuple(missing), state)))
    return ResponseBundle(tuple(entries), request_sha256=run.request.digest_hex,
                          transcript_sha256=run.transcript.head)


def _stage(run: Run, tx: Transaction, plans: Sequence[Plan]) -> dict[str, Any]:
    """Stage the outcome in the ceremony's workspace transaction (committed by the caller)."""
    changes: dict[str, Any] = {"trusted_roots": [], "signed": 0, "keys": [], "retired": [],
                               "tokens": []}
    for token in run.tokens.tokens():
        tx.add_token(TokenRecord(serial=token.info.serial, label=token.label,
                                 manufacturer=token.info.manufacturer,
                                 model=token.info.model))
        changes["tokens"].append(token.label)
    # One record per key with the GUNs of every plan, built once: merging plan by plan
    # rebuilt (and re-validated) a record of all GUNs so far each time, quadratic in bulk.
    records: dict[str, KeyRecord] = {}
    key_guns: dict[str, set[str]] = {}
    for p in plans:
        for rec in p.keys:
            records[rec.key_id] = rec  # the last plan's record, as before
            key_guns.setdefault(rec.key_id, set()).update(rec.guns)
    for key_id, rec in records.items():
        if set(rec.guns) != key_guns[key_id]:
            rec = KeyRecord.from_dict({**rec.to_dict(), "guns": sorted(key_guns[key_id])})
        if not tx.is_retired(rec.key_id):
            tx.add_key(rec)
            changes["keys"].append(rec.key_id)
    leaving: dict[str, list[tuple[str, str]]] = {}  # key ID -> (GUN, reason), in plan order
    for p in plans:
        _stage_plan(tx, p, changes)
        if p.complete:
            for key_id, reason in p.retire:
                leaving.setdefault(key_id, []).append((p.gun, reason))
    for key_id, gone in leaving.items():
        _stage_leaving(tx, key_id, gone, changes)
    return changes


def _stage_leaving(tx: Transaction, key_id: str, gone: Sequence[tuple[str, str]],
                   changes: dict[str, Any]) -> None:
    """GUNs stop using a key; once none does, it is retired with the reason of the plan that
    took the last GUN away. One record update for all GUNs, not one per GUN."""
    rec = tx.key(key_id)
    if rec is None or tx.is_retired(key_id):
        return
    guns = {gun for gun, _ in gone}
    remaining = tuple(g for g in rec.guns if g not in guns)
    if remaining:  # other repositories still use it: only these GUNs stop using it
        tx.add_key(KeyRecord.from_dict({**rec.to_dict(), "guns": list(remaining)}))
        return
    reason = next((why for gun, why in reversed(gone) if gun in rec.guns), gone[0][1])
    tx.retire_key(key_id, reason)
    changes["retired"].append(key_id)


def _stage_plan(tx: Transaction, p: Plan, changes: dict[str, Any]) -> None:
    gun = p.gun
    complete = p.complete
    if p.state.exists:
        for version, data in p.state.new_trusted_roots:
            tx.add_trusted_root(gun, version, data)
            changes["trusted_roots"].append([gun, version])
    for f in p.files:
        data = f.data
        tx.record_signed(gun, f.role, f.version, data)
        changes["signed"] += 1
        if f.role == ROOT and complete:
            tx.add_trusted_root(gun, f.version, data)
            changes["trusted_roots"].append([gun, f.version])
