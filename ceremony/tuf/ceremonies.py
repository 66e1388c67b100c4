"""The TUF 1.0 ceremonies inside the session frame (ceremony/ceremonies/session.py): init,
rotate-root, rotate-key, delegation add/remove, renew.

In this order: the request is read strictly and must be the operation asked; the repository it
shows must be the one the workspace trusts (plan.current); keys are made (or reused) on the
tokens named for new keys; the new files are built (operations.py); every threshold must be
reachable with the token keys present (else refused before anyone confirms); the review is
shown with its SHA-256 in hex and words and recorded; a typed `yes` (or --yes, recorded);
the tokens sign; every threshold is checked on the signed files; the response is written; the
workspace's tuf section is staged and committed by the frame with the transcript.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, Session, session
from ceremony.tuf import signing
from ceremony.tuf.bundles import TufResponse, read_request, response_bundle
from ceremony.tuf.context import Choices, Context
from ceremony.tuf.errors import TufError
from ceremony.tuf.inventory import keys_listed, record_keys
from ceremony.tuf.keys import Key, same_public_key
from ceremony.tuf.operations import BUILDERS
from ceremony.tuf.plan import FilePlan, check_expiry_not_past, current
from ceremony.tuf.state import TufState, stage_signed
from groundfloor.words import digest_words
from transfer.escaping import shown_lines
from transfer.systembundle import write_system_bundle

COMMANDS = {"init": "init", "rotate-root": "rotate-root", "rotate-key": "rotate-key",
            "delegation-add": "delegation add", "delegation-remove": "delegation remove",
            "renew": "renew"}


def perform(operation: str, choices: Choices, options: Options,
            console: Console) -> dict[str, Any]:
    """Run the TUF ceremony `operation` end to end; returns the JSON summary. Raises
    CeremonyError (and HSMError, GroundFloorError) with one-line messages."""
    data = {"request": str(options.request), "out": str(options.out), "operation": operation,
            **choices.record()}
    with session(f"tuf {operation}", options, console, data=data,
                 create_workspace=operation == "init") as s:
        try:
            request, bundle = read_request(options.request)
            s.transcript.input("request", bundle.to_bytes(), sha256_bundle=bundle.digest_hex,
                               repository=request.repository, operation=request.operation)
            if request.operation != operation:
                raise CeremonyRefused(f"this is a TUF {request.operation} request: run `ceremony "
                                      f"tuf {COMMANDS.get(request.operation, 'sign')}` for it")
            state = TufState.load(s.tx, request.repository)
            if operation == "init" and state.exists:
                raise CeremonyRefused(f"the workspace already has TUF repository "
                                      f"'{request.repository}': init makes a new one; rotate or "
                                      "renew this one instead")
            ctx = Context(s, request, bundle.digest_hex, state, choices)
            plans = BUILDERS[operation](ctx, current(request, state))
            result = _sign_and_respond(ctx, plans)
        except TufError as exc:
            raise CeremonyRefused(str(exc)) from None
        s.finish(result["workspace"], signatures=result["signatures"],
                 logins=s.tokens.logins, complete=True)
    result.update(s.transcript_fields())
    result["logins"] = s.tokens.logins
    return result


def _found(ctx: Context, keys: dict[str, Key]) -> dict[str, tuple[Any, Any]]:
    """key ID -> (token, key info) for each of `keys` on an opened token."""
    tokens = ctx.s.tokens
    for uri in ctx.choices.tokens:
        tokens.open(uri, purpose="tuf signing")
    found: dict[str, tuple[Any, Any]] = {}
    for token in tokens.tokens():
        for info in tokens.keys(token):
            if info.public_key is None:
                continue
            for keyid, key in keys.items():
                try:
                    if keyid not in found and same_public_key(info.public_key,
                                                              key.public_key()):
                        signing.check_signable(key)
                        found[keyid] = (token, info)
                except TufError:
                    continue
    return found


def _preflight(plans: Sequence[FilePlan], found: dict[str, Any]) -> None:
    for p in plans:
        for need in p.needs:
            here = [k for k in need.role.keyids if k in found]
            if len(here) < need.role.threshold:
                raise CeremonyRefused(
                    f"{p.name} needs {need.role.threshold} signature(s) of {need.what} but the "
                    f"tokens given hold {len(here)} of them "
                    f"({', '.join(k[:16] for k in here) or 'none'}); "
                    "insert the tokens holding them and give each with --token; nothing was "
                    "signed")


def review_text(ctx: Context, plans: Sequence[FilePlan], found: dict[str, Any]) -> str:
    r = ctx.request
    lines = [f"TUF {r.operation} for repository '{r.repository}'",
             f"  request sha256 {ctx.request_sha256}",
             f"  request words  {digest_words(bytes.fromhex(ctx.request_sha256))}"]
    for role, online in sorted(r.online_keys.items()):
        lines.append(f"  online {role} (signed by the online service): threshold "
                     f"{online.threshold} of " + ", ".join(online.keys))
    for label, key in ctx.made_keys:
        lines.append(f"  token key on '{label}': {key.keyid} ({key.scheme})")
    for p, same in _grouped(plans):
        lines.append("")
        lines.append(f"{p.name}:")
        if same:
            # hash bins' first versions: one content, shown once (1024 bins stay readable)
            lines.append(f"  and {len(same)} more file(s) with the same signed content and "
                         f"signers: {same[0].name} .. {same[-1].name}")
        lines += ["  " + line for line in signing.review_lines(signing.review(p.md, p.previous))]
        if p.md.signed.type == "targets":
            lines += delegation_lines(p.md, p.previous)
        for need in p.needs:
            lines.append(f"  must be signed by {need.role.threshold} of {len(need.role.keyids)} "
                         f"of {need.what}")
        for keyid in sorted({k for n in p.needs for k in n.role.keyids if k in found}):
            lines.append(f"  will sign with key {keyid[:16]} on token '{found[keyid][0].label}'")
    # every string from the request shown escaped: a name cannot forge or hide a line
    return shown_lines("\n".join(lines)) + "\n"


def _summary(plans: Sequence[FilePlan]) -> tuple[str, ...]:
    """The response's summary: a line per file, hash bins' first versions in one line (a
    summary holds at most MAX_SUMMARY_LINES)."""
    from ceremony.tuf.bundles import MAX_SUMMARY_LINE, MAX_SUMMARY_LINES
    lines = []
    for p, same in _grouped(plans):
        names = f"{p.name} .. {same[-1].name} ({len(same) + 1} files)" if same else p.name
        lines.append(f"{names}: {p.role if not same else 'new roles'} v{p.md.signed.version}, "
                     f"expires {p.md.signed.expires}")
    if len(lines) > MAX_SUMMARY_LINES:
        lines[MAX_SUMMARY_LINES - 1:] = [f"... and {len(lines) - MAX_SUMMARY_LINES + 1} more "
                                         "file(s)"]
    return tuple(line[:MAX_SUMMARY_LINE] for line in lines)


def _grouped(plans: Sequence[FilePlan]) -> list[tuple[FilePlan, list[FilePlan]]]:
    """Each plan with the new files right after it whose signed bytes and signers are the
    same (succinct hash bins' first versions)."""
    out: list[tuple[FilePlan, list[FilePlan]]] = []
    for p in plans:
        if out and p.previous is None and out[-1][0].previous is None \
                and p.md.signed_bytes() == out[-1][0].md.signed_bytes() \
                and [(n.role.keyids, n.role.threshold) for n in p.needs] == \
                [(n.role.keyids, n.role.threshold) for n in out[-1][0].needs]:
            out[-1][1].append(p)
        else:
            out.append((p, []))
    return out


def delegation_lines(new: Any, old: Any) -> list[str]:
    """What changes in the delegations of a targets file: roles added (their keys, threshold,
    paths), changed and removed."""
    def roles(md: Any) -> dict[str, Any]:
        d = md.signed.delegations if md is not None else None
        return dict(d.roles or {}) if d is not None else {}

    def keys(md: Any) -> dict[str, Any]:
        d = md.signed.delegations if md is not None else None
        return dict(d.keys) if d is not None else {}
    before, after, table = roles(old), roles(new), keys(new)
    lines = []
    for name, role in after.items():
        mark = "+" if name not in before else "~"
        if mark == "~" and role.to_dict() == before[name].to_dict():
            continue
        where = f"path hash prefixes {', '.join(role.path_hash_prefixes)}" \
            if role.path_hash_prefixes is not None else f"paths {', '.join(role.paths or [])}"
        lines.append(f"    {mark} delegation '{name}': threshold {role.threshold} of "
                     f"{len(role.keyids)} key(s), {'terminating, ' if role.terminating else ''}"
                     f"{where}")
        lines += [f"        key {k} ({table[k].scheme})" for k in role.keyids if k in table]
    lines += [f"    - delegation '{name}'" for name in before if name not in after]
    return lines + _bin_lines(new, old, table)


def _bin_lines(new: Any, old: Any, table: dict[str, Any]) -> list[str]:
    """Succinct hash bins (TAP 15) delegated or no longer delegated."""
    def bins(md: Any) -> Any:
        d = md.signed.delegations if md is not None else None
        return d.succinct_roles if d is not None else None
    before, after = bins(old), bins(new)
    if before is not None and after is not None and before.to_dict() == after.to_dict():
        return []
    lines = []
    if before is not None:
        lines.append(f"    - succinct hash bins '{before.name_prefix}-*' "
                     f"({2 ** before.bit_length} bins)")
    if after is not None:
        last = f"{2 ** after.bit_length - 1:0{after.suffix_len}x}"
        lines.append(f"    + succinct hash bins: {2 ** after.bit_length} bins "
                     f"'{after.name_prefix}-{'0' * after.suffix_len}' .. "
                     f"'{after.name_prefix}-{last}' ({after.bit_length} bits of each target "
                     f"path's SHA-256), threshold {after.threshold} of {len(after.keyids)} "
                     "key(s)")
        lines += [f"        key {k} ({table[k].scheme})" for k in after.keyids if k in table]
    return lines


def confirm(s: Session, question: str) -> None:
    """The one confirmation rule (session.confirm)."""
    s.confirm(question)


def confirm_shortening(s: Session, shortened: list[str]) -> None:
    """An earlier expiry's own confirmation (session.confirm_shortening)."""
    s.confirm_shortening(shortened)


def _sign_and_respond(ctx: Context, plans: list[FilePlan]) -> dict[str, Any]:
    s = ctx.s
    for p in plans:
        check_expiry_not_past(p)
    wanted = {k: v for p in plans for n in p.needs for k, v in n.keys.items()
              if k in n.role.keyids}
    found = _found(ctx, wanted)
    _preflight(plans, found)
    s.transcript.tokens(s.tokens.facts())
    text = review_text(ctx, plans, found)
    digest = hashlib.sha256(text.encode()).digest()
    s.console.show(text + f"review sha256 {digest.hex()}\nreview words  {digest_words(digest)}")
    s.transcript.append("review", {"text_sha256": digest.hex(), "words": digest_words(digest),
                                   "files": {p.name: hashlib.sha256(p.md.signed_bytes())
                                             .hexdigest() for p in plans}})
    confirm_shortening(s, [f"{p.role} {p.previous.signed.expires} -> {p.md.signed.expires}"
                           for p in plans if p.previous is not None
                           and p.md.signed.expires_at < p.previous.signed.expires_at])
    confirm(s, f"Sign {', '.join(p.name for p in plans)} of '{ctx.request.repository}'?")
    signers: dict[tuple[str, bytes], Any] = {}
    count = 0
    for p in plans:
        payload = p.md.signed_bytes()
        for keyid in sorted({k for n in p.needs for k in n.role.keyids if k in found}):
            token, info = found[keyid]
            ident = (token.label, info.id)
            if ident not in signers:
                signers[ident] = token.signer(info.label, info.id or None)
                signing.check_signer(signers[ident], wanted[keyid])
            signing.add_signature(p.md, keyid,
                                  signing.tuf_signature(signers[ident], wanted[keyid], payload))
            count += 1
        for need in p.needs:
            st = signing.threshold_status(p.md, need.keys, need.role)
            if not st["met"]:
                raise CeremonyRefused(f"{p.name}: {len(st['valid'])} valid signature(s) of "
                                      f"{need.what}, threshold {need.role.threshold}; nothing "
                                      "was written")
    files = {p.name: p.md.to_bytes() for p in plans}
    response = TufResponse(ctx.request.repository, ctx.request.operation, files,
                           ctx.request_sha256, s.transcript.head, None,
                           _summary(plans))
    bundle = response_bundle(response)
    path = write_system_bundle(s.options.out, bundle, overwrite=s.options.force)
    s.transcript.output("response", bundle.to_bytes(), path=str(path))
    changes: dict[str, Any] = {"tuf": ctx.request.repository, "staged": {}}
    for p in plans:
        changes["staged"][p.name] = stage_signed(s.tx, ctx.request.repository, p.role,
                                                 files[p.name])
    changes["inventory"] = record_keys(s, ctx.request.repository, plans,
                                       _found(ctx, keys_listed(plans)), ctx.request.operation)
    return {"response": str(Path(path)), "response_sha256": bundle.digest_hex,
            "response_words": digest_words(bytes.fromhex(bundle.digest_hex)),
            "repository": ctx.request.repository, "operation": ctx.request.operation,
            "files": [{"file": p.name, "role": p.role, "version": p.md.signed.version,
                       "expires": p.md.signed.expires,
                       "signed_by": sorted(s_.keyid for s_ in p.md.signatures)} for p in plans],
            "review_sha256": digest.hex(), "review_words": digest_words(digest),
            "signatures": count, "complete": True, "workspace": changes}
