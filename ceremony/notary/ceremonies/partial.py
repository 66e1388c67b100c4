"""Partial responses as co-signing reads them: restored, checked, summarised, re-written.

A partial response entry (`ResponseEntry.pending`, written by any ceremony run with
`--partial`, see docs/ceremonies.md) holds the files signed so far and the signing state. Here
it becomes `FileToSign` objects again (`PartialState.restore`; partialstate.py is the one module
that writes and reads that state): with a workspace, only if its `previous_root` is a root that
workspace trusts (the thresholds then derive from this site's own trust); without one
(`ceremony status` on any machine) from the root the state carries, marked as not verified.
Complete entries are read as they are (already publishable).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.errors import MetadataError
from ceremony.notary.ceremonies.partialstate import SITE_ID_PATTERN, PartialState
from ceremony.notary.ceremonies.signing import FileToSign, SignerSet, missing_signatures
from ceremony.notary.format.certs import check_root_key
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import ROOT, Root
from ceremony.notary.format.serialization import read_metadata, signed_bytes
from ceremony.workspace import Workspace
from groundfloor.errors import GroundFloorError
from groundfloor.files import atomic_write, read_limited
from groundfloor.limits import MAX_RESPONSE_BYTES
from transfer.bundle import (
    PendingSignatures,
    ResponseBundle,
    ResponseEntry,
    SignedFile,
    parse_response,
)
from transfer.summary import ORIGIN_MERGE

Describe = Callable[[str, Key], Mapping[str, Any]]
SITE_ID = "site-id"  # in the workspace folder: which site started a partial response


def site_id(ws: Workspace, *, create: bool = False) -> str | None:
    """This workspace's site ID (random, made once when it first starts a partial response):
    a partial records it, so that a co-signed response goes back to the site whose workspace
    must record the outcome (keys retired) before anything is published."""
    path = ws.path / SITE_ID
    try:
        text = path.read_text().strip()
        if SITE_ID_PATTERN.fullmatch(text):
            return text
    except OSError:
        pass
    if not create:
        return None
    made = secrets.token_hex(16)
    atomic_write(path, (made + "\n").encode(), overwrite=True)
    return made


def read_response(path: str) -> tuple[ResponseBundle, bytes]:
    try:
        data = read_limited(path, MAX_RESPONSE_BYTES, what="response bundle")
        return parse_response(data), data
    except GroundFloorError as exc:
        raise CeremonyRefused(f"{path}: {exc}") from None


@dataclass
class Entry:
    """One GUN of a response: its files (restored with thresholds when pending)."""

    gun: str
    complete: bool
    files: list[FileToSign] = field(default_factory=list)  # pending entries
    published: tuple[SignedFile, ...] = ()  # complete entries
    previous: Root | None = None
    state: PartialState | None = None  # pending entries: their state as carried
    recorded_missing: tuple[Mapping[str, Any], ...] = ()
    verified: bool = False  # previous root checked against a workspace's trusted roots
    local_origin: bool = False  # this workspace is the site that started it

    @property
    def ceremony(self) -> str:
        return self.state.ceremony if self.state is not None else ""

    @property
    def previous_bytes(self) -> bytes | None:
        return self.state.previous_root if self.state is not None else None

    @property
    def on_complete(self) -> Mapping[str, Any]:
        return self.state.on_complete if self.state is not None else {}

    @property
    def previous_files(self) -> Mapping[str, bytes]:
        """The current files the state replaces, as carried (unverified)."""
        return self.state.previous_files if self.state is not None else {}

    @property
    def origin(self) -> str | None:
        return self.state.origin if self.state is not None else None

    @property
    def now_complete(self) -> bool:
        return self.complete or all(f.complete for f in self.files)

    @property
    def needs_origin_merge(self) -> bool:
        """Fully signed, but the outcome (keys it retires) is recorded only by the originating
        site's workspace: that site merges before anything is published."""
        return (not self.complete and self.origin is not None and not self.local_origin
                and bool(self.on_complete.get("retire_keys")))

    @property
    def publishable(self) -> bool:
        return self.now_complete and not self.needs_origin_merge

    def origin_merge_item(self) -> dict[str, Any]:
        retire = [f"{item.get('key_id')} ({item.get('reason')})"
                  for item in self.on_complete.get("retire_keys") or []
                  if isinstance(item, Mapping)]
        return {"kind": ORIGIN_MERGE, "gun": self.gun, "text": (
            "every signature is present; the originating site must merge it first, so that "
            f"its workspace records the outcome (retires {', '.join(retire)}): there, `ceremony "
            "merge ITS-PARTIAL THIS-RESPONSE --out FINAL`, then publish FINAL")}

    def claimed(self, key_id: str) -> dict[str, str]:
        """Where the originating site says a key lives (its claim; empty if it says nothing)."""
        return self.state.claimed(key_id, self.recorded_missing) if self.state else {}

    def claim_lines(self) -> list[str]:
        """The originator's reasons and choices, as claims, for `status` and `sign`."""
        return self.state.claim_lines() if self.state is not None else []

    def response_entry(self, describe: Describe | None = None) -> ResponseEntry:
        """The entry to write: publishable files once every threshold is met, else pending."""
        if self.complete:
            return ResponseEntry(self.gun, self.published)
        for f in self.files:  # one order whoever signed first: merges commute
            f.signatures.sort(key=lambda s: s.keyid)
        if self.publishable:
            return ResponseEntry(self.gun, tuple(SignedFile(f.role, f.data) for f in self.files))
        assert self.state is not None
        state = self.state.with_files(self.files).to_dict()
        if self.now_complete:
            return ResponseEntry(self.gun, (), PendingSignatures((self.origin_merge_item(),),
                                                                 state))
        missing = missing_signatures(self.files, self.describer(describe))
        return ResponseEntry(self.gun, (), PendingSignatures(tuple(missing), state))

    def describer(self, describe: Describe | None) -> Describe:
        """Token labels from `describe` (this workspace's inventory), else as the response
        records them."""
        def both(key_id: str, key: Key) -> Mapping[str, Any]:
            found = dict(self.recorded_describe(key_id, key))
            if describe is not None:
                found.update({k: v for k, v in describe(key_id, key).items() if v is not None})
            return found
        return both

    def recorded_describe(self, key_id: str, key: Key) -> Mapping[str, Any]:
        """Token labels as the response itself records them (informational)."""
        for m in self.recorded_missing:
            if m.get("key_id") == key_id:
                return {k: m.get(k) for k in ("token_label", "token_serial", "key_label")
                        if isinstance(m.get(k), str)}
        return {}


def load_entry(entry: ResponseEntry, ws: Workspace | None) -> Entry:
    """Restore one response entry. With `ws`, a pending entry must start from a root this
    workspace trusts; without, it is restored from the root it carries (verified=False)."""
    gun = entry.gun
    if entry.pending is None:
        return Entry(gun, True, published=entry.files)
    state = PartialState.from_dict(gun, entry.pending.state)
    prev_bytes = state.previous_root
    trusted: Mapping[int, bytes] = {0: prev_bytes} if prev_bytes is not None else {}
    if ws is not None:
        trusted = ws.trusted_root_history(gun)
        if not trusted and prev_bytes is not None:
            raise CeremonyRefused(
                f"{gun}: unknown root: this workspace holds no trusted root for this repository,"
                " so the partial response cannot be checked; pin it first (`ceremony pin GUN "
                "--request REQ --root-cert-id ID`, the root certificate IDs read out by the "
                "first site)")
    if ws is not None and prev_bytes is not None and prev_bytes not in trusted.values():
        _untrusted_previous(gun, prev_bytes, trusted)
    try:
        files, previous = state.restore(gun, trusted)
    except MetadataError as exc:
        raise CeremonyRefused(f"{gun}: partial state holds a file that does not read: "
                              f"{exc}") from None
    if previous is None and ws is not None and ws.latest_root_version(gun) is not None:
        raise CeremonyRefused(f"{gun}: the partial response starts the repository (root v1), "
                              "but this workspace already trusts a root for it")
    return Entry(gun, False, files, previous=previous, state=state,
                 recorded_missing=entry.pending.missing, verified=ws is not None,
                 local_origin=ws is not None and state.origin is not None
                 and site_id(ws) == state.origin)


def _untrusted_previous(gun: str, data: bytes, trusted: Mapping[int, bytes]) -> None:
    """Refuse a partial whose starting root this workspace does not trust, saying why."""
    try:
        version = read_metadata(data, "previous root", Root).signed.version
    except MetadataError:
        version = None
    latest = max(trusted) if trusted else None
    if version is not None and latest is not None and version > latest:
        raise CeremonyRefused(
            f"{gun}: the partial response builds on root v{version}, but the newest root this "
            f"workspace trusts is v{latest}; bring the workspace up to date first (`ceremony "
            "pin GUN --request REQ` with a request fetched now: the new roots must chain from "
            "the trusted one)")
    raise CeremonyRefused(f"{gun}: the partial response starts from a root this workspace does "
                          f"not trust (root v{version}: not the bytes of the trusted root of "
                          "that version)")


def check_for_signing(e: Entry, ws: Workspace) -> None:
    """What a site checks before it adds its signatures to a partial entry:
    - the partial builds on the NEWEST root this workspace trusts (not a stale one);
    - nothing at a lower version, or different content at the same version, was signed here
      (one content per version: a site never signs two different roots v3);
    - every root key of a new root passes Notary's certificate rules (or clients would refuse
      it)."""
    gun = e.gun
    if e.previous is not None:
        latest = ws.latest_root_version(gun)
        if latest != e.previous.version:
            raise CeremonyRefused(
                f"{gun}: the partial response builds on root v{e.previous.version}, but the "
                f"newest root this workspace trusts is v{latest}; "
                + ("update the workspace first (`ceremony pin GUN --request REQ` with a fresh "
                   "request)" if latest is not None and latest < e.previous.version else
                   "the partial response is stale: start the ceremony again"))
    for f in e.files:
        last = ws.last_signed(gun, f.role)
        if last is None:
            continue
        if f.version < last.version:
            raise CeremonyRefused(f"{gun}: {f.role} version {f.version} is below version "
                                  f"{last.version} already signed here (rollback)")
        if f.version == last.version:
            try:
                before = signed_bytes(read_metadata(last.data, f"{f.role}.json").signed)
            except MetadataError:
                before = b""
            if before != f.message:
                raise CeremonyRefused(f"{gun}: this workspace already signed a different "
                                      f"{f.role} version {f.version}; it signs one content per "
                                      "version")
        if f.role == ROOT:
            root: Root = f.signed  # type: ignore[assignment]
            now = dt.datetime.now(dt.UTC)
            for kid in root.roles[ROOT].keyids:
                verdict = check_root_key(kid, root.keys[kid], gun, now)
                problems = verdict.problems + verdict.time_problems
                if problems:
                    raise CeremonyRefused(f"{gun}: root v{root.version} lists root key {kid} "
                                          f"that Notary would refuse: {problems[0]}")


def signable(entries: list[Entry], signers: SignerSet) -> list[tuple[FileToSign, str]]:
    """(file, key ID) pairs the signers present would add a signature for."""
    out = []
    for e in entries:
        for f in e.files:
            done = f.signed_identities()
            for kid, key in sorted(f.keys.items()):
                entry = signers.find(key)
                if entry is None:
                    continue
                if key.identity not in done:
                    out.append((f, kid))
    return out


def status(e: Entry, describe: Describe | None = None) -> dict[str, Any]:
    """Who has signed and what is missing, per file and threshold (old root and new root
    separately). Where a key lives comes from `describe` (THIS site: its inventory, its tokens)
    and, apart, as `claimed` by the originating site (its word, not checked here)."""
    if e.complete:
        files = []
        for sf in e.published:
            try:
                meta = read_metadata(sf.data, f"{sf.role}.json")
                files.append({"role": sf.role, "version": meta.signed.version,
                              "signatures": [s.keyid for s in meta.signatures]})
            except MetadataError as exc:
                files.append({"role": sf.role, "error": str(exc)})
        return {"gun": e.gun, "complete": True, "files": files}

    def who(kid: str, key: Key) -> dict[str, Any]:
        own = {k: v for k, v in (describe(kid, key) if describe else {}).items()
               if v is not None}
        return {"key_id": kid, "canonical_key_id": _canonical(key), **own,
                "known_here": bool(own), "claimed": e.claimed(kid) or None}

    out_files = []
    for f in e.files:
        thresholds = []
        for t in f.thresholds:
            counted = f.counted(t)
            thresholds.append({
                "name": t.name, "role": t.role, "threshold": t.threshold,
                "have": len(counted), "met": len(counted) >= t.threshold,
                "more": max(0, t.threshold - len(counted)),
                "signed": [who(kid, t.keys[kid]) for kid in counted],
                "missing": [who(kid, key) for kid, key in sorted(t.keys.items())
                            if kid not in counted]})
        out_files.append({"role": f.role, "version": f.version, "signed_sha256": f.digest,
                          "complete": f.complete, "thresholds": thresholds})
    return {"gun": e.gun, "complete": e.publishable, "fully_signed": e.now_complete,
            "awaiting_origin_merge": e.now_complete and e.needs_origin_merge,
            "ceremony": e.ceremony,
            "previous_root_version": e.previous.version if e.previous else None,
            "verified_against_workspace": e.verified, "claims": e.claim_lines(),
            "files": out_files}


def where_text(item: Mapping[str, Any]) -> str:
    """One key of a status, for people: this site's knowledge first, else the other site's
    claim, labelled as such."""
    def labels(d: Mapping[str, Any]) -> str:
        return f"token '{d['token_label']}'" + (f" key '{d['key_label']}'"
                                                if d.get("key_label") else "")
    if item.get("token_label"):
        given = ", token given" if item.get("token_given") else ""
        return f"{item['key_id']} on {labels(item)} (this site{given})"
    claim = item.get("claimed")
    if claim and claim.get("token_label"):
        return (f"{item['key_id']} on {labels(claim)} (the originating site says so; not "
                "known here)")
    return f"{item['key_id']} (not known here)"


def count_text(t: Mapping[str, Any]) -> str:
    """A threshold as it is: "met: 2 signatures, 2 needed", or "1 of 2 signed: 1 more
    signature from any of: ..." (never "3 of 2", never every key as if all were needed)."""
    if t["met"]:
        return f"met: {t['have']} signature{'' if t['have'] == 1 else 's'}, " \
               f"{t['threshold']} needed"
    more = t["threshold"] - t["have"]
    keys = [where_text(m) for m in t["missing"]]
    anyof = "" if len(keys) == more else "any of: "
    return (f"{t['have']} of {t['threshold']} signed: {more} more signature"
            f"{'' if more == 1 else 's'} from {anyof}{'; '.join(keys)}")


def _canonical(key: Key) -> str | None:
    try:
        return key.canonical_key_id
    except MetadataError:
        return None


def inventory_describe(ws: Workspace) -> Describe:
    """Token and key labels of a key as this workspace's inventory records it."""
    by_canonical: dict[str, Any] = {}
    for rec in ws.keys(include_retired=True):
        by_canonical.setdefault(rec.canonical_id, rec)

    def describe(key_id: str, key: Key) -> Mapping[str, Any]:
        rec = ws.key(key_id) or by_canonical.get(_canonical(key) or "")
        if rec is None:
            return {}
        return {"token_label": rec.token_label, "token_serial": rec.token_serial,
                "key_label": rec.key_label}
    return describe


def _with_tokens(describe: Describe | None, entries: list[Entry], tokens: Sequence[str],
                 module: str | None) -> Describe | None:
    """This site's keys on the tokens given (found by public key, no login where the token
    shows its public keys), before its inventory knows them (it learns a key when it signs)."""
    if not tokens:
        return describe
    from ceremony.ceremonies.tokens import CeremonyTokens
    present: dict[bytes, dict[str, Any]] = {}
    with CeremonyTokens(module=module) as pool:
        opened = [pool.open(uri, "status") for uri in tokens]
        keys = [k for e in entries for f in e.files for k in f.keys.values()]
        signers = pool.locate(keys, opened)
        for key in keys:
            entry, ident = signers.find(key), key.identity
            if entry is not None and ident is not None:
                present[ident] = {"token_label": entry.token_label,
                                  "token_serial": entry.token_serial,
                                  "key_label": entry.key_label, "token_given": True}

    def both(key_id: str, key: Key) -> Mapping[str, Any]:
        found = present.get(key.identity or b"")
        return found if found is not None else (describe(key_id, key) if describe else {})
    return both


def response_status(path: str, ws: Workspace | None, tokens: Sequence[str] = (),
                    module: str | None = None) -> dict[str, Any]:
    """`ceremony status`: per GUN and file, who has signed and what is missing. A GUN the
    workspace trusts is checked against it; others are read as the response carries them
    (`verified_against_workspace: false`). `tokens`: this site's tokens, to show its own keys
    on them as its own."""
    from groundfloor.words import digest_words
    bundle, _ = read_response(path)
    describe = inventory_describe(ws) if ws is not None else None
    entries = []
    for raw in bundle.entries:
        trusted = ws is not None and bool(ws.trusted_root_history(raw.gun))
        entries.append(load_entry(raw, ws if trusted else None))
    describe = _with_tokens(describe, entries, tokens, module)
    repos = [status(entry, describe) for entry in entries]
    return {"response": str(path), "response_sha256": bundle.digest_hex,
            "response_words": digest_words(bundle.digest()),
            "request_sha256": bundle.request_sha256,
            "complete": all(r["complete"] for r in repos),
            "awaiting_origin_merge": any(r.get("awaiting_origin_merge") for r in repos),
            "repositories": repos}
