"""The `ceremony tuf sign` run: read, check, review, confirm, sign on tokens, write.

Nothing is written unless every check passed, the review was confirmed and every signature
verified; the token logs in only after the confirmation (at its first signature).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ceremony.tuf import signing
from ceremony.tuf.errors import ExpiredError, SigningError, TufError
from ceremony.tuf.keys import Key, same_public_key
from ceremony.tuf.model import Metadata
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


def _load(req: SignRequest) -> tuple[Metadata, Metadata | None, Metadata | None]:
    proposed = Metadata.from_bytes(req.proposed, req.proposed_name)
    trusted = Metadata.from_bytes(req.trusted, "trusted root", "root") if req.trusted else None
    previous = None
    if proposed.signed.type == "root":
        signing.check_root_step(proposed, trusted)
        previous = trusted
    elif req.previous is not None:
        previous = Metadata.from_bytes(req.previous, "previous", proposed.signed.type)
    if trusted is not None:
        # The trusted root must itself be what a client would trust: its own threshold.
        verify_threshold(trusted, *trusted.signed.role_keys("root"), role_name="root",
                         signer_desc="its own")
    return proposed, trusted, previous


def run_sign(req: SignRequest, *, show: Callable[[list[str]], None],
             confirm: Callable[[], bool]) -> dict[str, Any]:
    from datetime import UTC, datetime

    from ceremony.ceremonies.tokens import CeremonyTokens
    from groundfloor.files import atomic_write
    from groundfloor.words import digest_words

    proposed, trusted, previous = _load(req)
    if proposed.signed.expires_at <= datetime.now(UTC):
        raise ExpiredError(f"expires at {proposed.signed.expires}, in the past: ask for a "
                           "version with a later expiry", file=proposed.file)
    trusted_root = trusted.signed if trusted is not None else None
    keys = signing.signing_keys(proposed, trusted_root)
    dropped = signing.drop_invalid(proposed, keys)
    payload = proposed.signed_bytes()
    digest = hashlib.sha256(payload).digest()

    with CeremonyTokens(module=req.module, pin_sources=req.pin_sources) as tokens:
        found: list[tuple[Key, Any, str]] = []  # (key, token, key label)
        for uri in req.tokens:
            token = tokens.open(uri, purpose="tuf sign")
            for info in tokens.keys(token):
                if info.public_key is None:
                    continue
                for k in keys.values():
                    try:
                        match = same_public_key(info.public_key, k.public_key())
                    except TufError:
                        continue
                    if match and all(k.keyid != f[0].keyid for f in found):
                        signing.check_signable(k)
                        found.append((k, (token, info), token.label))
        if not found:
            raise SigningError(
                f"none of the {len(keys)} key(s) that may sign this {proposed.signed.type} is "
                f"on the token(s) given ({', '.join(t.label for t in tokens.tokens())}); "
                "insert the right token or give its --token")
        signers: dict[tuple[str, bytes], Any] = {}
        for k, (token, info), _label in found:
            ident = (token.label, info.id)
            if ident not in signers:
                signers[ident] = token.signer(info.label, info.id or None)
            signing.check_signer(signers[ident], k)  # the token's mechanisms, before the review
        lines = signing.review_lines(signing.review(proposed, previous))
        lines += [f"  words         {digest_words(digest)}"]
        lines += [f"  dropped stale signature {k}" for k in dropped]
        lines += [f"  will sign with key {k.keyid} on token '{label}'" for k, _, label in found]
        show(lines)
        if not confirm():
            raise SigningError("not confirmed: nothing was signed or written")
        made: dict[str, str] = {}
        for k, (token, info), _label in found:
            ident = (token.label, info.id)
            made[k.keyid] = signing.tuf_signature(signers[ident], k, payload)
    for keyid, sig in made.items():
        signing.add_signature(proposed, keyid, sig)
    status = signing.status(proposed, trusted_root)
    if req.signatures_only:
        data = json.dumps({"signed_sha256": digest.hex(), "role": proposed.signed.type,
                           "version": proposed.signed.version,
                           "signatures": [{"keyid": k, "sig": s} for k, s in made.items()]},
                          indent=1, sort_keys=True).encode() + b"\n"
    else:
        data = proposed.to_bytes()
    atomic_write(req.out, data, overwrite=req.force)
    return {"out": req.out, "role": proposed.signed.type, "version": proposed.signed.version,
            "signed_with": sorted(made), "dropped": dropped, "status": status,
            "complete": all(s["met"] for s in status.values()),
            "signed_sha256": digest.hex(), "signed_words": digest_words(digest)}
