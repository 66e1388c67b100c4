"""Co-signing: `ceremony sign` adds this site's signatures to a partial response, `ceremony
merge` combines two partial signings of the same request, `ceremony status` (partial.py) shows
what is signed and what is missing.

Trust: a site verifies what it signs against its OWN workspace. The partial state must start
from the newest root this workspace trusts (byte for byte); the thresholds are recomputed from
it; every signature already there is re-verified; nothing at a lower version, or a different
content at the same version, was signed here before; new root keys pass Notary's certificate
rules. Then the review of the exact bytes (old -> new against the trusted root), a typed `yes`
or `--yes`, the tokens sign, and the response is written (publishable once every threshold is
met, else partial again). Both commands record a transcript and update the workspace in one
transaction after the output is written: signed versions, tokens and keys used (sign), and the
keys the ceremony retires once the files are complete (`on_complete`). The new root is NOT
pinned here: co-signers may publish different (equally valid) sets of signatures, so it becomes
trusted when the next request proves it published, through the chain from the trusted root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, session
from ceremony.errors import MetadataError
from ceremony.inventory import KeyRecord, TokenRecord
from ceremony.notary.ceremonies.partial import (
    Entry,
    check_for_signing,
    load_entry,
    read_response,
    signable,
    status,
)
from ceremony.notary.ceremonies.review import review_files
from ceremony.notary.ceremonies.runner import Ceremony, Run, confirm, show_review
from ceremony.notary.ceremonies.signing import (
    FileToSign,
    merge_files,
    missing_signatures,
    sign_files,
)
from ceremony.notary.format.keys import certificate_pem
from ceremony.notary.format.model import ROOT, SNAPSHOT, TIMESTAMP
from ceremony.notary.format.serialization import read_metadata
from ceremony.workspace import Transaction
from groundfloor.words import digest_words
from transfer.bundle import ResponseBundle, write_bundle
from transfer.summary import threshold_needs

# The co-signing commands take the ceremonies' options (no request, no --partial).
CosignOptions = Options


class _Cosign(Ceremony):
    """Only a name for the Run helpers (where keys live, inventory records)."""

    def __init__(self, name: str):
        self.name = name


Steps = Callable[[Run, Transaction], tuple[dict[str, Any], dict[str, Any]]]


def _guarded(name: str, opts: Options, data: dict[str, Any], steps: Steps,
             console: Console) -> dict[str, Any]:
    """A co-signing command inside the session frame every ceremony runs in; the steps stage
    their workspace changes before writing the output, committed after it."""
    with session(name, opts, console, data={"out": str(opts.out), **data}) as s:
        result, changes = steps(Run(_Cosign(name), s), s.tx)
        s.finish(changes, **{k: result[k] for k in ("complete", "signatures", "logins")
                             if k in result})
    result.update(s.transcript_fields())
    return result


def _read(run: Run, path: str, name: str) -> tuple[ResponseBundle, list[Entry]]:
    bundle, data = read_response(path)
    run.transcript.input(name, data, path=str(path), bundle_sha256=bundle.digest_hex)
    run.console.show(f"{name} {path}: bundle sha256 {bundle.digest_hex}\n"
                     f"{name} words: {digest_words(bundle.digest())}")
    return bundle, [load_entry(e, run.ws) for e in bundle.entries]


def _response(run: Run, bundle: ResponseBundle, entries: list[Entry]) -> ResponseBundle:
    return ResponseBundle(tuple(e.response_entry(run.describe_missing) for e in entries),
                          request_sha256=bundle.request_sha256,
                          transcript_sha256=run.transcript.head)


def _write(run: Run, out: ResponseBundle) -> None:
    write_bundle(run.options.out, out, overwrite=run.options.force)
    run.transcript.output("response", out.to_bytes(), path=str(run.options.out),
                          bundle_sha256=out.digest_hex, complete=out.complete)


def _retire(tx: Transaction, e: Entry, changes: dict[str, Any]) -> None:
    """The keys the ceremony retires once its files are complete (the engine's rule: a key
    other repositories still use only loses this GUN)."""
    for item in e.on_complete.get("retire_keys", []) or []:
        kid, reason = item.get("key_id"), item.get("reason")
        rec = tx.key(kid) if isinstance(kid, str) else None
        if rec is None or tx.is_retired(kid) or not isinstance(reason, str):
            continue
        remaining = tuple(g for g in rec.guns if g != e.gun)
        if remaining:
            tx.add_key(KeyRecord.from_dict({**rec.to_dict(), "guns": list(remaining)}))
        else:
            tx.retire_key(kid, reason[:200])
            changes["retired"].append(kid)


def _summary(run: Run, out: ResponseBundle, entries: list[Entry], **extra: Any) -> dict[str, Any]:
    return {"ceremony": run.ceremony.name, "response": str(run.options.out),
            "response_sha256": out.digest_hex, "response_words": digest_words(out.digest()),
            "complete": out.complete,
            "awaiting_origin_merge": any(e.now_complete and e.needs_origin_merge
                                         for e in entries),
            "repositories": [status(e, run.describe_missing) for e in entries],
            "workspace": str(run.ws.path), **extra}


# --- sign ------------------------------------------------------------------------------------

def sign_response(response: str, tokens: Sequence[str], opts: CosignOptions,
                  console: Console) -> dict[str, Any]:
    """`ceremony sign RESP --token URI ... --out RESP2`."""
    if not tokens:
        raise CeremonyRefused("sign needs --token URI (the token(s) holding keys to sign with)")
    return _guarded("sign", opts, {"response": str(response), "tokens": list(tokens)},
                    lambda run, tx: _sign(run, tx, response, tokens), console)


def _sign(run: Run, tx: Transaction, path: str,
          uris: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle, entries = _read(run, path, "partial response")
    pending = [e for e in entries if not e.complete]
    if not pending:
        raise CeremonyRefused(f"{path} is complete already: nothing to sign (publish it)")
    for e in pending:
        check_for_signing(e, run.ws)
    run.transcript.append("checked", {"repositories": [
        {"gun": e.gun, "ceremony": e.ceremony, "complete": e.complete,
         "previous_root_version": e.previous.version if e.previous else None}
        for e in entries]})
    for uri in uris:
        run.open_token(uri, "co-sign")
    run.transcript.tokens(run.tokens.facts())
    files = [f for e in pending for f in e.files]
    for e in pending:  # server keys, for the review's "where"
        root = next((f.signed for f in e.files if f.role == ROOT), e.previous)
        for role in (TIMESTAMP, SNAPSHOT):
            for kid in root.roles[role].keyids if root is not None else ():
                if run.ws.key(kid) is None:
                    run.server_key_ids[kid] = role
    run.signers = run.tokens.locate([k for f in files for k in f.keys.values()])
    todo = signable(pending, run.signers)
    if not todo:
        if all(e.now_complete for e in pending):
            raise CeremonyRefused(
                f"{path} holds every signature already; it waits for the originating site's "
                "merge (there: `ceremony merge ITS-PARTIAL THIS-RESPONSE --out FINAL`, then "
                "publish FINAL); nothing was signed")
        needed = [f"{e.gun} {need}" for e in pending
                  for need in threshold_needs(missing_signatures(
                      e.files, _describe_here(run, e)))]
        raise CeremonyRefused(
            "the tokens given hold no key that can still sign these files (already signed, or "
            f"not a key they need); still needed: {'; '.join(needed) or 'nothing'}; "
            f"tokens given: {', '.join(t.label for t in run.tokens.tokens())}; nothing was "
            "signed")
    old = _old_files(run, pending)
    notes = {e.gun: _notes(e, run) for e in pending}
    claims = {e.gun: e for e in pending}

    def where(key_id: str, key: Any) -> str:
        """This site's knowledge; for a key it does not know, the originator's claim, so
        labelled (item: a key 'not in this workspace's inventory' said nothing useful)."""
        text = run.where(key_id, key)
        if text != "not in this workspace's inventory":
            return text
        for e in claims.values():
            said = e.claimed(key_id)
            if said.get("token_label"):
                return (f"not in this workspace's inventory; the originating site says: on "
                        f"token '{said['token_label']}'" + (f" key '{said['key_label']}'"
                                                             if said.get("key_label") else ""))
        return text
    header = [f"co-signing the partial response {path} (bundle sha256 {bundle.digest_hex})",
              f"answers request {bundle.request_sha256 or 'not recorded'}",
              f"{len(pending)} repositor{'y' if len(pending) == 1 else 'ies'} pending, "
              f"{len(files)} file(s); this site adds {len(todo)} signature(s)"]
    review = review_files("REVIEW: co-signing (ceremony sign)", files, old, run.signers,
                          where, notes, header)
    show_review(run, review, "review")
    confirm(run, f"Add this site's signatures to {len(files)} file(s), ceremony digest "
                  f"{review.digest.hex()} ({digest_words(review.digest)})?")
    signed_here: dict[tuple[str, str], set[str]] = {}
    result = sign_files(files, run.signers,
                        on_sign=lambda f, entry: signed_here.setdefault(
                            (f.gun, f.role), set()).add(entry.token_label))
    run.transcript.append("signed", {"token_operations": result.operations,
                                     "by_token": result.by_token, "logins": run.tokens.logins,
                                     "logins_by_token": run.tokens.logins_by_token()})
    out = _response(run, bundle, entries)
    changes = _stage_sign(run, tx, pending, signed_here)
    _write(run, out)
    return _summary(run, out, entries, signatures=result.operations, logins=run.tokens.logins,
                    logins_by_token=run.tokens.logins_by_token()), changes


def _old_files(run: Run, pending: list[Entry]) -> dict[tuple[str, str], Any]:
    """What the review compares each file with: the trusted previous root; the current files
    the state carries, once verified against that root (`PartialState.verified_previous_files`);
    else the version this site signed last; else nothing (the whole content is shown as new)."""
    old: dict[tuple[str, str], Any] = {}
    for e in pending:
        try:
            carried = e.state.verified_previous_files(e.gun, e.previous) \
                if e.state is not None else {}
        except MetadataError as exc:
            raise CeremonyRefused(f"{e.gun}: a previous file in the partial state does not "
                                  f"read: {exc}") from None
        if e.previous is not None:
            old[(e.gun, ROOT)] = e.previous
        for f in e.files:
            if f.role in carried and f.role != ROOT:
                old[(e.gun, f.role)] = carried[f.role]
                continue
            last = run.ws.last_signed(e.gun, f.role)
            if f.role != ROOT and last is not None and last.version < f.version:
                try:
                    old[(e.gun, f.role)] = read_metadata(last.data, f"{f.role}.json").signed
                except MetadataError:
                    pass
    return old


def _describe_here(run: Run, e: Entry) -> Callable[[str, Any], dict[str, Any]]:
    """Where a key lives, for messages: on a token given here, in this workspace's inventory,
    else as the originating site claims it (labelled as its claim)."""
    def describe(key_id: str, key: Any) -> dict[str, Any]:
        entry = run.signers.find(key)
        if entry is not None:
            return {"where": f"token '{entry.token_label}', given here"}
        found = {k: v for k, v in run.describe_missing(key_id, key).items() if v}
        if found.get("token_label"):
            return {**found, "where": f"token '{found['token_label']}' of this site, not "
                                      "given"}
        said = e.claimed(key_id)
        if said.get("token_label"):
            return {"where": f"token '{said['token_label']}' at the originating site, as it "
                             "says"}
        return {"where": "not known here"}
    return describe


def _notes(e: Entry, run: Run) -> list[str]:
    notes = [f"partial state of ceremony '{e.ceremony}'"
             + (f", built on root v{e.previous.version}, the newest root this workspace trusts "
                "(byte for byte)" if e.previous is not None else ", starting the repository")]
    notes += [f"claim: {line} (as the originating site wrote it; not verified here)"
              for line in e.claim_lines()]
    for f in e.files:
        for t, counted in f.unmet():
            missing = missing_signatures([f], _describe_here(run, e))
            needs = [n for n in threshold_needs(missing) if n.startswith(t.name + ":")]
            notes.append(f"{f.role} v{f.version}: {t.name}: {len(counted)} of {t.threshold} "
                         f"signed so far; needs {needs[0].split(': ', 1)[1] if needs else '?'}")
    return notes


def _stage_sign(run: Run, tx: Transaction, pending: list[Entry],
                signed_here: dict[tuple[str, str], set[str]]) -> dict[str, Any]:
    changes: dict[str, Any] = {"signed": [], "keys": [], "retired": [], "tokens": []}
    for token in run.tokens.tokens():
        tx.add_token(TokenRecord(serial=token.info.serial, label=token.label,
                                 manufacturer=token.info.manufacturer, model=token.info.model))
        changes["tokens"].append(token.label)
    for e in pending:
        for f in e.files:
            if (e.gun, f.role) not in signed_here:
                continue
            tx.record_signed(e.gun, f.role, f.version, f.data, allow_same_version=True)
            changes["signed"].append([e.gun, f.role, f.version])
            for rec in _key_records(run, e.gun, f):
                if not tx.is_retired(rec.key_id) and tx.key(rec.key_id) is None:
                    tx.add_key(rec)
                    changes["keys"].append(rec.key_id)
        if e.now_complete:
            _retire(tx, e, changes)
    return changes


def _key_records(run: Run, gun: str, f: FileToSign) -> list[KeyRecord]:
    """Inventory records for the keys of this site that signed `f` (so that later missing-key
    reports and reviews name their tokens)."""
    from hsm.pubkey import public_key_der
    out = []
    for t in f.thresholds:
        for key in t.keys.values():
            ident = key.identity
            if run.signers.find(key) is None or ident is None:
                continue
            for token in run.tokens.tokens():
                for info in run.tokens.keys(token):
                    if info.public_key is not None and public_key_der(info.public_key) == ident:
                        cert = certificate_pem(key.certificates).decode() \
                            if key.is_certificate else ""
                        out.append(run.key_record(token, info, key, t.role, [gun], cert))
    return out


# --- merge -----------------------------------------------------------------------------------

def merge_responses(a: str, b: str, opts: CosignOptions, console: Console) -> dict[str, Any]:
    """`ceremony merge A B --out C`: the signatures of both, for the same unsigned bytes."""
    return _guarded("merge", opts, {"responses": [str(a), str(b)]},
                    lambda run, tx: _merge(run, tx, a, b), console)


def _merge(run: Run, tx: Transaction, path_a: str,
           path_b: str) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle_a, entries_a = _read(run, path_a, "response A")
    bundle_b, entries_b = _read(run, path_b, "response B")
    if bundle_a.request_sha256 != bundle_b.request_sha256:
        raise CeremonyRefused("the two responses answer different requests (request_sha256 "
                              f"{bundle_a.request_sha256} vs {bundle_b.request_sha256}); only "
                              "signings of the same request merge")
    if sorted(bundle_a.guns) != sorted(bundle_b.guns):
        raise CeremonyRefused("the two responses hold different repositories: "
                              f"{', '.join(bundle_a.guns)} vs {', '.join(bundle_b.guns)}")
    by_gun = {e.gun: e for e in entries_b}
    merged = [_merge_entry(x, by_gun[x.gun]) for x in entries_a]
    out = _response(run, bundle_a, merged)
    changes: dict[str, Any] = {"retired": []}
    for e in merged:
        if not e.complete and e.now_complete:
            _retire(tx, e, changes)
    _write(run, out)
    return _summary(run, out, merged), changes


def _merge_entry(a: Entry, b: Entry) -> Entry:
    gun = a.gun
    if a.complete and b.complete:
        if _signed_parts(a) != _signed_parts(b):
            raise CeremonyRefused(f"{gun}: the two complete responses sign different content")
        return a
    if a.complete or b.complete:
        done, part = (a, b) if a.complete else (b, a)
        if [sf.role for sf in done.published] != [f.role for f in part.files]:
            raise CeremonyRefused(f"{gun}: the two responses hold different files")
        for sf, f in zip(done.published, part.files, strict=True):
            meta = read_metadata(sf.data, f"{sf.role}.json")
            if meta.signed_bytes != f.message:
                raise CeremonyRefused(f"{gun} {f.role}: the two responses sign different "
                                      "content; they cannot be merged")
            have = {s.keyid for s in f.signatures}
            for sig in meta.signatures:
                if sig.keyid not in have:
                    f.add_signature(sig)
        return part
    if (a.ceremony, a.previous_bytes, dict(a.on_complete), dict(a.previous_files)) != \
            (b.ceremony, b.previous_bytes, dict(b.on_complete), dict(b.previous_files)):
        raise CeremonyRefused(f"{gun}: the two partial responses come from different ceremonies "
                              "or start from different roots")
    a.files = merge_files(a.files, b.files)
    return a


def _signed_parts(e: Entry) -> list[tuple[str, bytes]]:
    return [(sf.role, read_metadata(sf.data, f"{sf.role}.json").signed_bytes)
            for sf in e.published]
