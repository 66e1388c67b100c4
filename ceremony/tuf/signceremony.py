"""`ceremony tuf sign-request`: sign TUF metadata made elsewhere (python-tuf, RSTUF, tuf-on-ci)
from a request bundle (operation "sign"), as a ceremony, and co-sign across sites.

Inside the session frame (workspace lock, transcript, air-gap check, tokens logged out):
1. the request is read and recorded; the trusted root is the workspace's newest, moved forward
   along the roots the request carries (trust.py), or on first contact the one whose SHA-256
   the operator gives;
2. the proposed file (a metadata file, or an RSTUF payload holding a root) is checked: a root
   must follow the trusted root and have thresholds its keys can meet; another top-level role is
   reviewed against its newest version in the request (verified with the trusted root's keys);
3. with `--partial RESP` (co-signing, site B), the signatures another site made are taken from
   its partial response (which must answer the same request, for the same `signed` bytes) and
   re-verified;
4. the review (old -> new: keys added/removed with IDs, thresholds, expiries, version; which
   signatures are there, which token keys sign now, what is still missing), shown with its
   SHA-256 in hex and words, recorded, and a typed `yes` (or --yes);
5. the tokens sign; the response bundle carries the signed file (or only the signatures,
   --signatures-only) and, below a threshold, `partial`: who signed and what is still needed;
6. the workspace records what this site signed (and the roots it came to trust), and its key
   inventory the token keys that signed (role, repository, first seen, last used) and retires
   those a proposed root no longer lists (inventory.record_signing).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, Session, session
from ceremony.tuf import rstuf, signing
from ceremony.tuf import state as tuf_state
from ceremony.tuf.bundles import (
    Partial,
    TufRequest,
    TufResponse,
    read_request,
    read_response,
    response_bundle,
)
from ceremony.tuf.canonical import load_json
from ceremony.tuf.errors import ExpiredError, ThresholdError, TufError, TufFormatError
from ceremony.tuf.inventory import record_signing
from ceremony.tuf.model import TOP_LEVEL_ROLES, Metadata, Signature
from ceremony.tuf.signflow import (
    Found,
    check_satisfiable,
    find_token_keys,
    sign_with,
    token_signers,
)
from ceremony.tuf.trust import (
    Trusted,
    check_not_signed_otherwise,
    record_signed,
    trusted_root,
)
from ceremony.tuf.verify import verify_threshold
from groundfloor.words import digest_words
from transfer.systembundle import SystemBundle, write_system_bundle

SIGNATURES_SUFFIX = ".signatures.json"


@dataclass(frozen=True)
class SignChoices:
    """What `ceremony tuf sign-request` takes beyond the common ceremony options."""

    tokens: tuple[str, ...]
    partial: str | None = None          # a partial response to co-sign from
    signatures_only: bool = False
    trust_root_sha256: str | None = None


@dataclass
class Proposal:
    """The file to sign: its model (signatures as they stand), and the RSTUF payload around a
    root when it came in one."""

    md: Metadata
    envelope: dict[str, Any] | None
    name: str

    @property
    def role(self) -> str:
        return str(self.md.signed.type)

    @property
    def version(self) -> int:
        return int(self.md.signed.version)

    def file_name(self, signatures_only: bool) -> str:
        """Its name in the response: the consistent-snapshot name (N.ROLE.json), an RSTUF
        payload as it came, the signatures alone as N.ROLE.signatures.json."""
        base = self.name if self.envelope is not None else f"{self.version}.{self.role}.json"
        return base[:-5] + SIGNATURES_SUFFIX if signatures_only else base

    def file_bytes(self, signatures_only: bool, payload: bytes) -> bytes:
        if signatures_only:
            return signatures_document(self, payload)
        if self.envelope is not None:
            return rstuf.with_root(self.envelope, self.md.to_dict())
        return self.md.to_bytes()


def signatures_document(p: Proposal, payload: bytes) -> bytes:
    """Only the signatures (what another tool adds to its own copy of the file)."""
    return json.dumps({"role": p.role, "version": p.version,
                       "signed_sha256": hashlib.sha256(payload).hexdigest(),
                       "signatures": [s.to_dict() for s in p.md.signatures]},
                      indent=1, sort_keys=True).encode() + b"\n"


def load_proposal(data: bytes, name: str) -> Proposal:
    envelope = rstuf.payload_of(data, name)
    if envelope is not None:
        md = Metadata.from_dict(envelope["metadata"]["root"], name, "root")
    else:
        md = Metadata.from_bytes(data, name)
    return Proposal(md, envelope, name)


def _proposed_file(request: TufRequest) -> tuple[str, bytes]:
    if request.operation != "sign":
        raise CeremonyRefused(f"the request asks for '{request.operation}', not 'sign': run the "
                              f"ceremony it names (ceremony tuf {request.operation})")
    wanted = request.params.get("file")
    if wanted is None:
        if len(request.proposed) != 1:
            raise CeremonyRefused(f"the request carries {len(request.proposed)} proposed files "
                                  "and names none (params.file): ask for a request naming the "
                                  "file to sign")
        wanted = next(iter(request.proposed))
    if wanted not in request.proposed:
        raise CeremonyRefused(f"the request names {wanted} but does not carry it")
    if request.params.get("role") not in (None, *TOP_LEVEL_ROLES):
        raise CeremonyRefused("a delegated role is signed with `ceremony tuf sign --role` "
                              "(its delegators are needed); this ceremony signs root, targets, "
                              "snapshot and timestamp")
    return wanted, request.proposed[wanted]


def _newest(metadata: dict[str, bytes], role: str) -> tuple[str, bytes] | None:
    best: tuple[int, str] | None = None
    for name in metadata:
        head, _, rest = name.partition(".")
        if head.isdigit() and rest == f"{role}.json" and (best is None or int(head) > best[0]):
            best = (int(head), name)
    if best is None:
        return (f"{role}.json", metadata[f"{role}.json"]) if f"{role}.json" in metadata else None
    return best[1], metadata[best[1]]


def _previous(request: TufRequest, p: Proposal, trusted: Trusted,
              history: dict[int, bytes], notes: list[str]) -> Metadata | None:
    """The version the review compares against: for a root the trusted root; for another role
    its newest version in the request, verified with the keys of a root this workspace trusts
    (the newest first: after a key rotation the previous version was signed under an older
    root). One that no trusted root's keys verify is left out of the review (said so)."""
    if p.role == "root":
        signing.check_root_step(p.md, trusted.root)
        check_satisfiable(p.md)
        return trusted.root
    if trusted.root is None:
        raise CeremonyRefused(f"signing '{p.role}' needs a trusted root of the repository")
    if p.role not in TOP_LEVEL_ROLES:
        raise CeremonyRefused(f"cannot sign role type '{p.role}' here")
    found = _newest(dict(request.metadata), p.role)
    if found is None:
        notes.append(f"  no earlier {p.role} in the request: nothing to compare against")
        return None
    previous = Metadata.from_bytes(found[1], found[0], p.role)
    if p.version <= previous.signed.version:
        raise CeremonyRefused(f"proposed {p.role} v{p.version} is not newer than the "
                              f"repository's v{previous.signed.version}: ask for a new version")
    for version in sorted(history, reverse=True):
        root = Metadata.from_bytes(history[version], f"{version}.root.json", "root")
        try:
            verify_threshold(previous, *root.signed.role_keys(p.role), role_name=p.role,
                             signer_desc=f"root v{version}")
        except ThresholdError:
            continue
        if version != trusted.version:
            notes.append(f"  previous {p.role} v{previous.signed.version} verified with root "
                         f"v{version}'s keys (the role's keys changed since)")
        return previous
    notes.append(f"  the request's {p.role} v{previous.signed.version} is not signed by the "
                 "keys of any root this workspace trusts: NOT compared against (every entry "
                 "shows as added)")
    return None


def _take_partial(path: str, request_sha256: str, request: TufRequest, p: Proposal,
                  payload: bytes) -> tuple[list[Signature], SystemBundle]:
    """The signatures another site made, from its partial response to the same request."""
    response, bundle = read_response(path)
    if response.repository != request.repository or response.request_sha256 != request_sha256:
        raise CeremonyRefused("the partial response answers another request (repository or "
                              "request_sha256 differ): co-sign from the response to this request")
    if response.partial is None:
        raise CeremonyRefused("that response is complete already: nothing to co-sign; apply "
                              "it online (ceremony tuf apply)")
    name = response.partial.file
    data = response.files[name]
    if name.endswith(SIGNATURES_SUFFIX):
        doc = load_json(data, name)
        if not isinstance(doc, dict) or doc.get("signed_sha256") != \
                hashlib.sha256(payload).hexdigest():
            raise CeremonyRefused("the partial response's signatures are over other bytes than "
                                  "the proposed file: it is not for this proposal")
        if not isinstance(doc.get("signatures"), list):
            raise TufFormatError("must be a list of {keyid, sig}", file=name,
                                 field="signatures")
        sigs = [Signature.from_dict(s) for s in doc["signatures"]]
    else:
        theirs = load_proposal(data, name)
        if theirs.md.signed_bytes() != payload:
            raise CeremonyRefused("the partial response's file differs from the proposed file "
                                  "in what is signed: it is not for this proposal")
        sigs = theirs.md.signatures
    return sigs, bundle


def _review_text(p: Proposal, previous: Metadata | None, trusted: Trusted,
                 before: dict[str, dict[str, Any]], found: list[Found],
                 missing_after: dict[str, list[str]], payload: bytes) -> str:
    lines = signing.review_lines(signing.review(p.md, previous))
    if p.envelope is not None:
        lines[0] += f" (in an RSTUF {rstuf.kind(p.envelope)} payload)"
    if trusted.root is None:
        lines.append("  NEW REPOSITORY: its first root; nothing earlier to compare against")
    elif trusted.first_contact:
        lines.append(f"  FIRST CONTACT: trusted root v{trusted.version} pinned by the SHA-256 "
                     f"given (sha256 {hashlib.sha256(trusted.data).hexdigest()})")
    for name, st in before.items():
        lines.append(f"  {name}: threshold {st['threshold']}, signed already by "
                     f"{len(st['valid'])}" + "".join(f"\n      = {k}" for k in st["valid"]))
    lines += [f"  will sign with key {k.keyid} on token '{label}'" for k, _, label in found]
    for name, keys in missing_after.items():
        lines.append(f"  {name}: still needs a signature of one more of "
                     + ", ".join(k[:16] for k in keys) + " after this ceremony")
    lines.append(f"  signed words  {digest_words(hashlib.sha256(payload).digest())}")
    return "\n".join(lines)


def _confirm(s: Session, question: str) -> None:
    """The one confirmation rule (session.confirm)."""
    s.confirm(question)


def _needed(status: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"threshold": st["threshold"], "valid": st["valid"],
                   "missing": st["missing"]} for name, st in status.items() if not st["met"]}


def needs_lines(needed: dict[str, dict[str, Any]]) -> list[str]:
    """What a partial response still lacks, one line per threshold."""
    return [f"{name}: {len(st['valid'])} of threshold {st['threshold']}; needs "
            f"{st['threshold'] - len(st['valid'])} more of "
            + ", ".join(k[:16] for k in st["missing"]) for name, st in needed.items()]


def inventory_lines(inventory: dict[str, Any]) -> list[str]:
    """What the key inventory recorded, for the officer's screen."""
    lines = [f"inventory: recorded key {k}" for k in inventory["keys_recorded"]]
    lines += [f"inventory: updated key {k} (last used now)" for k in inventory["keys_updated"]]
    lines += [f"inventory: RETIRED key {r['key_id']}: {r['reason']}"
              for r in inventory["keys_retired"]]
    lines += [f"inventory: left key {r['key_id']} as it is: {r['reason']}"
              for r in inventory["keys_skipped"]]
    return lines


def _body(s: Session, choices: SignChoices) -> dict[str, Any]:
    request, req_bundle = read_request(s.options.request)
    s.transcript.input("request", req_bundle.to_bytes(), path=str(s.options.request),
                       bundle_sha256=req_bundle.digest_hex)
    s.console.show(f"request {s.options.request}: bundle sha256 {req_bundle.digest_hex}\n"
                   f"request words: {digest_words(req_bundle.digest())}")
    name, data = _proposed_file(request)
    p = load_proposal(data, name)
    trusted = trusted_root(s.tx, request.repository, request.metadata,
                           choices.trust_root_sha256, s.console.warn,
                           bootstrap=p.role == "root" and p.version == 1)
    s.transcript.append("tuf-trust", {"repository": request.repository,
                                      "root_version": trusted.version,
                                      "first_contact": trusted.first_contact,
                                      "pinned": list(trusted.pinned)})
    notes: list[str] = []
    history = tuf_state.TufState.load(s.tx, request.repository).roots
    previous = _previous(request, p, trusted, history, notes)
    if p.md.signed.expires_at <= datetime.now(UTC):
        raise ExpiredError(f"expires at {p.md.signed.expires}, in the past: ask for a version "
                           "with a later expiry", file=name)
    payload = p.md.signed_bytes()
    signed_sha256 = hashlib.sha256(payload).hexdigest()
    check_not_signed_otherwise(s.tx, request.repository, p.role, p.version, signed_sha256)
    trusted_signed = trusted.root.signed if trusted.root is not None else None
    keys = signing.signing_keys(p.md, trusted_signed)
    if choices.partial is not None:
        theirs, partial_bundle = _take_partial(choices.partial, req_bundle.digest_hex,
                                               request, p, payload)
        s.transcript.input("partial", partial_bundle.to_bytes(), path=choices.partial,
                           bundle_sha256=partial_bundle.digest_hex)
        s.console.show(f"partial response {choices.partial}: bundle sha256 "
                       f"{partial_bundle.digest_hex}")
        for sig in theirs:
            signing.add_signature(p.md, sig.keyid, sig.sig)
    dropped = signing.drop_invalid(p.md, keys)
    before = signing.status(p.md, trusted_signed)
    if all(st["met"] for st in before.values()):
        raise CeremonyRefused("every threshold is met already: nothing to sign; apply the "
                              "signed file online")
    done = sorted({k for st in before.values() for k in st["valid"]})
    found = find_token_keys(s.tokens, choices.tokens, keys, p.role, "tuf sign-request",
                            skip=done)
    signers = token_signers(found)
    after_keys = set(done) | {k.keyid for k, _, _ in found}
    missing_after = {n: [k for k in st["missing"] if k not in after_keys]
                     for n, st in before.items()
                     if len(set(st["valid"]) | (after_keys & set(st["missing"])))
                     < st["threshold"]}
    text = _review_text(p, previous, trusted, before, found, missing_after, payload)
    if notes:
        text += "\n" + "\n".join(notes)
    if dropped:
        text += "\n" + "\n".join(f"  dropped a signature that does not verify: {k}"
                                 for k in dropped)
    digest = hashlib.sha256(text.encode()).digest()
    s.console.show(text + f"\nreview sha256 {digest.hex()}\nreview words  {digest_words(digest)}")
    s.transcript.append("review", {"text_sha256": digest.hex(), "words": digest_words(digest),
                                   "signed_sha256": signed_sha256, "role": p.role,
                                   "version": p.version})
    _confirm(s, f"Sign {p.role} v{p.version} of '{request.repository}'?")
    made = sign_with(found, signers, payload)
    for keyid, sig in made.items():
        signing.add_signature(p.md, keyid, sig)
    status = signing.status(p.md, trusted_signed)
    complete = all(st["met"] for st in status.values())
    file_name = p.file_name(choices.signatures_only)
    needed = _needed(status)
    partial = None if complete else Partial(
        file_name, tuple(sorted({sg.keyid for sg in p.md.signatures})), needed)
    summary = [f"TUF sign: {p.role} v{p.version} of '{request.repository}'"[:200],
               f"signed here by {len(made)} key(s): " + ", ".join(k[:16] for k in made)]
    summary += ["complete: every threshold is met"] if complete else \
        ["PARTIAL (not publishable): " + line for line in needs_lines(needed)]
    response = TufResponse(repository=request.repository, operation="sign",
                           files={file_name: p.file_bytes(choices.signatures_only, payload)},
                           request_sha256=req_bundle.digest_hex,
                           transcript_sha256=s.transcript.head, partial=partial,
                           summary=tuple(line[:200] for line in summary))
    bundle = response_bundle(response)
    write_system_bundle(s.options.out, bundle, overwrite=s.options.force)
    s.transcript.output("response", bundle.to_bytes(), path=str(s.options.out),
                        bundle_sha256=bundle.digest_hex, complete=complete)
    record = record_signed(s.tx, request.repository, p.role, p.version, {
        "role": p.role, "version": p.version, "signed_sha256": signed_sha256,
        "keyids": sorted(made), "request_sha256": req_bundle.digest_hex})
    inventory = record_signing(s, request.repository, p.md,
                               previous if p.role == "root" else None,
                               {k.keyid: where for k, where, _ in found}, list(made))
    s.finish({"tuf_signed": record, "pinned_roots": list(trusted.pinned),
              "inventory": inventory}, complete=complete, signatures=len(made))
    return {"repository": request.repository, "role": p.role, "version": p.version,
            "response": str(s.options.out), "response_sha256": bundle.digest_hex,
            "response_words": digest_words(bundle.digest()), "file": file_name,
            "complete": complete, "status": status, "needed": needed,
            "signed_with": sorted(made), "dropped": dropped, "signed_sha256": signed_sha256,
            "first_contact": trusted.first_contact, "pinned_roots": list(trusted.pinned),
            "trusted_root_version": trusted.version, "inventory": inventory,
            "logins": s.tokens.logins, "rstuf_payload":
                rstuf.kind(p.envelope) if p.envelope is not None else None}


def sign_request(options: Options, console: Console, choices: SignChoices) -> dict[str, Any]:
    """Run the ceremony (module docstring); its JSON summary. One-line errors: TufError,
    CeremonyError and the token/transfer errors."""
    if not options.request or not options.out:
        raise CeremonyRefused("missing --request REQ or --out RESP")
    if not choices.tokens:
        raise CeremonyRefused("give the token(s) to sign with (--token URI)")
    data = {"request": str(options.request), "out": str(options.out),
            "partial_from": choices.partial, "signatures_only": choices.signatures_only,
            "tokens": list(choices.tokens),
            "trust_root_sha256": choices.trust_root_sha256}
    # First contact (a root digest given) may start a workspace, as `ceremony init` does.
    with session("tuf-sign", options, console, data=data,
                 create_workspace=choices.trust_root_sha256 is not None) as s:
        try:
            result = _body(s, choices)
        except TufError as exc:  # bad input, no usable key, a mechanism missing: a refusal,
            raise CeremonyRefused(str(exc)) from None  # as the other TUF ceremonies record it
    result.update(s.transcript_fields())
    return result
