"""The `ceremony tuf sign` run: read, check, review, confirm, sign on tokens, write.

Nothing is written unless every check passed, the review was confirmed and every signature
verified; the token logs in only after the confirmation (at its first signature).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ceremony.tuf import rstuf, signing
from ceremony.tuf.errors import (
    DelegationError,
    ExpiredError,
    SigningError,
    TufError,
    TufFormatError,
)
from ceremony.tuf.keys import Key, same_public_key
from ceremony.tuf.model import TOP_LEVEL_ROLES, Metadata, Role
from ceremony.tuf.targets import SuccinctRoles
from ceremony.tuf.verify import verify_threshold


@dataclass(frozen=True)
class SignRequest:
    proposed: bytes
    proposed_name: str
    trusted: bytes | None
    previous: bytes | None
    tokens: Sequence[str]
    out: str
    signatures_only: bool
    force: bool
    pin_sources: Sequence[str] = ()
    module: str | None = None
    # A delegated targets role: its name, and the targets files that delegate down to it,
    # from the top-level targets on: (role name, bytes, file name).
    role: str | None = None
    delegators: Sequence[tuple[str, bytes, str]] = ()


@dataclass(frozen=True)
class Delegation:
    """Who may sign a delegated role: the delegator's keys and role entry for it."""

    name: str
    delegator: str
    keys: dict[str, Key]
    role: Role


def check_satisfiable(proposed: Metadata) -> None:
    """A proposed root whose roles nobody could ever sign is refused before review: every
    listed key must load, and each threshold must not exceed the role's distinct keys (the
    same key under two key IDs is one key holder)."""
    root = proposed.signed
    for name, role in root.roles.items():
        materials = set()
        for keyid in role.keyids:
            try:
                materials.add(root.keys[keyid].material())
            except TufError as exc:
                raise TufFormatError(f"key {keyid[:16]} of role '{name}' cannot be used: "
                                     f"{exc.reason}; ask for a root with a valid key",
                                     file=proposed.file, field="signed.keys") from None
        if role.threshold > len(materials):
            raise TufFormatError(
                f"role '{name}' has threshold {role.threshold} but only {len(materials)} "
                "distinct key(s): nobody could ever sign it and the repository would lock "
                "itself out; ask for a root with a threshold its keys can meet",
                file=proposed.file, field=f"signed.roles.{name}")


def delegation_for(name: str, trusted: Metadata, delegators: Sequence[Metadata],
                   names: Sequence[str]) -> Delegation:
    """The keys that may sign delegated role `name`: the trusted root's targets keys verify
    the top-level targets, whose delegation verifies the next delegator, and so on; the last
    must delegate `name`."""
    if not delegators:
        raise SigningError(f"signing delegated role '{name}' needs the targets file that "
                           "delegates it (--delegator FILE, from the top-level targets on)")
    keys, role = trusted.signed.role_keys("targets")
    current = "targets"
    below = [*names[1:], name]  # the role each delegator must delegate
    for md, role_name, target in zip(delegators, names, below, strict=True):
        if role_name != current:
            raise SigningError(f"--delegator {md.file} is given as '{role_name}' but is "
                               f"delegated as '{current}': give the delegators in order, "
                               "from the top-level targets down")
        verify_threshold(md, keys, role, role_name=current, signer_desc="its delegator")
        if md.signed.expires_at <= datetime.now(UTC):
            raise ExpiredError(f"delegator '{current}' expired at {md.signed.expires}: a "
                               "client no longer trusts it", file=md.file)
        delegations = md.signed.delegations
        if delegations is None or not _delegates(delegations, target):
            raise DelegationError(f"'{current}' does not delegate '{target}'", file=md.file)
        keys, role = delegations.keys, delegations.role(target)
        if isinstance(role, SuccinctRoles):
            keys = {k: delegations.keys[k] for k in role.keyids}
        current = target
    return Delegation(name, names[-1], keys, role)


def _delegates(delegations: Any, name: str) -> bool:
    if delegations.roles is not None:
        return name in delegations.roles
    return bool(delegations.succinct_roles.is_delegated_role(name))


def _load(req: SignRequest) -> tuple[Metadata, Metadata | None, Metadata | None,
                                      Delegation | None, dict[str, Any] | None]:
    payload = rstuf.payload_of(req.proposed, req.proposed_name)
    if payload is not None:
        proposed = Metadata.from_dict(payload["metadata"]["root"], req.proposed_name, "root")
    else:
        proposed = Metadata.from_bytes(req.proposed, req.proposed_name)
    trusted = Metadata.from_bytes(req.trusted, "trusted root", "root") if req.trusted else None
    previous = None
    delegation = None
    if req.role is not None and req.role in TOP_LEVEL_ROLES:
        raise SigningError(f"'{req.role}' is a top-level role: leave out --role (its keys are "
                           "the trusted root's)")
    if req.role is None and req.delegators:
        raise SigningError("--delegator is for a delegated role: give its name with --role")
    if proposed.signed.type == "root":
        if req.role is not None:
            raise SigningError("a root is not a delegated role: leave out --role")
        signing.check_root_step(proposed, trusted)
        check_satisfiable(proposed)
        previous = trusted
    elif req.previous is not None:
        previous = Metadata.from_bytes(req.previous, "previous", proposed.signed.type)
    if trusted is not None:
        # The trusted root must itself be what a client would trust: its own threshold.
        verify_threshold(trusted, *trusted.signed.role_keys("root"), role_name="root",
                         signer_desc="its own")
    if req.role is not None:
        if proposed.signed.type != "targets":
            raise SigningError(f"a delegated role is targets metadata, not "
                               f"'{proposed.signed.type}'", file=proposed.file)
        if trusted is None:
            raise SigningError("signing a delegated role needs the trusted root (--trusted "
                               "ROOT.json) that lists the top-level targets keys")
        delegators = [Metadata.from_bytes(data, file, "targets")
                      for _name, data, file in req.delegators]
        delegation = delegation_for(req.role, trusted, delegators,
                                    [n for n, _d, _f in req.delegators])
    return proposed, trusted, previous, delegation, payload


# (key, (token, key info), token label): a key the metadata lists, found on a token
Found = tuple[Key, tuple[Any, Any], str]


def find_token_keys(tokens: Any, uris: Sequence[str], keys: dict[str, Key], kind: str,
                    purpose: str, skip: Sequence[str] = ()) -> list[Found]:
    """The keys of `keys` (but those in `skip`: already signed) that the tokens `uris` hold,
    each once; SigningError when none is there. `tokens` is the run's CeremonyTokens (one
    login per token)."""
    found: list[Found] = []
    for uri in uris:
        token = tokens.open(uri, purpose=purpose)
        for info in tokens.keys(token):
            if info.public_key is None:
                continue
            for k in keys.values():
                if k.keyid in skip:
                    continue
                try:
                    match = same_public_key(info.public_key, k.public_key())
                except TufError:
                    continue
                if match and all(k.keyid != f[0].keyid for f in found):
                    signing.check_signable(k)
                    found.append((k, (token, info), token.label))
    if not found:
        wanted = len([k for k in keys if k not in skip])
        raise SigningError(
            f"none of the {wanted} key(s) that may still sign this {kind} is on the "
            f"token(s) given ({', '.join(t.label for t in tokens.tokens())}); insert the "
            "right token or give its --token")
    return found


def token_signers(found: Sequence[Found]) -> dict[tuple[str, bytes], Any]:
    """One signer per token key, each checked for its scheme's mechanism before the review."""
    signers: dict[tuple[str, bytes], Any] = {}
    for k, (token, info), _label in found:
        ident = (token.label, info.id)
        if ident not in signers:
            signers[ident] = token.signer(info.label, info.id or None)
        signing.check_signer(signers[ident], k)
    return signers


def sign_with(found: Sequence[Found], signers: dict[tuple[str, bytes], Any],
              payload: bytes) -> dict[str, str]:
    """key ID -> hex signature of `payload`, each made on its token and verified."""
    made: dict[str, str] = {}
    for k, (token, info), _label in found:
        made[k.keyid] = signing.tuf_signature(signers[(token.label, info.id)], k, payload)
    return made


def run_sign(req: SignRequest, *, show: Callable[[list[str]], None],
             confirm: Callable[[], bool]) -> dict[str, Any]:
    from ceremony.ceremonies.tokens import CeremonyTokens
    from groundfloor.files import atomic_write
    from groundfloor.words import digest_words

    proposed, trusted, previous, delegation, envelope = _load(req)
    if proposed.signed.expires_at <= datetime.now(UTC):
        raise ExpiredError(f"expires at {proposed.signed.expires}, in the past: ask for a "
                           "version with a later expiry", file=proposed.file)
    trusted_root = trusted.signed if trusted is not None else None
    if delegation is not None:
        keys = dict(delegation.keys)
    else:
        keys = signing.signing_keys(proposed, trusted_root)
    dropped = signing.drop_invalid(proposed, keys)
    payload = proposed.signed_bytes()
    digest = hashlib.sha256(payload).digest()

    with CeremonyTokens(module=req.module, pin_sources=req.pin_sources) as tokens:
        found = find_token_keys(tokens, req.tokens, keys, proposed.signed.type, "tuf sign")
        signers = token_signers(found)
        lines = signing.review_lines(signing.review(proposed, previous))
        if envelope is not None:
            lines[0] += f" (in an RSTUF {rstuf.kind(envelope)} payload)"
        if delegation is not None:
            lines[0] += f" (delegated role '{delegation.name}')"
            lines += [f"  delegated by  '{delegation.delegator}': threshold "
                      f"{delegation.role.threshold} of {len(delegation.role.keyids)} key(s)"]
        lines += [f"  words         {digest_words(digest)}"]
        lines += [f"  dropped stale signature {k}" for k in dropped]
        lines += [f"  will sign with key {k.keyid} on token '{label}'" for k, _, label in found]
        show(lines)
        if not confirm():
            raise SigningError("not confirmed: nothing was signed or written")
        made = sign_with(found, signers, payload)
    for keyid, sig in made.items():
        signing.add_signature(proposed, keyid, sig)
    if delegation is not None:
        status = {delegation.name: signing.threshold_status(proposed, delegation.keys,
                                                            delegation.role)}
    else:
        status = signing.status(proposed, trusted_root)
    if req.signatures_only:
        data = json.dumps({"signed_sha256": digest.hex(),
                           "role": delegation.name if delegation else proposed.signed.type,
                           "version": proposed.signed.version,
                           "signatures": [{"keyid": k, "sig": s} for k, s in made.items()]},
                          indent=1, sort_keys=True).encode() + b"\n"
    elif envelope is not None:
        data = rstuf.with_root(envelope, proposed.to_dict())
    else:
        data = proposed.to_bytes()
    atomic_write(req.out, data, overwrite=req.force)
    return {"out": req.out, "role": delegation.name if delegation else proposed.signed.type,
            "version": proposed.signed.version,
            "signed_with": sorted(made), "dropped": dropped, "status": status,
            "complete": all(s["met"] for s in status.values()),
            "signed_sha256": digest.hex(), "signed_words": digest_words(digest),
            "rstuf_payload": rstuf.kind(envelope) if envelope is not None else None}
