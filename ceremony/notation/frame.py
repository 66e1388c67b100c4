"""What every notation ceremony does inside the session frame (ceremony/ceremonies/session.py)
besides its own work: the review (text whose SHA-256 is shown as hex and words and recorded),
the typed confirmation, the request read and recorded by digest, tokens and keys found without
logging in before the review, the tokens recorded in the inventory, the response written and
recorded. A NotationError inside the frame is a refusal (recorded "refused", nothing written).

The confirmation rule is the Notary ceremonies' (runner.confirm), written here for a Session:
runner.py is another developer's, being reshaped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, Session, session
from ceremony.inventory import TokenRecord
from ceremony.notation.errors import NotationError
from ceremony.secrets import check_no_secret
from groundfloor.errors import GroundFloorError
from groundfloor.files import atomic_write, read_limited
from groundfloor.limits import MAX_REQUEST_BYTES
from groundfloor.words import digest_words
from transfer.errors import TransferError
from transfer.systembundle import SystemBundle, parse_system_bundle


@contextmanager
def notation_session(name: str, options: Options, console: Console, *,
                     data: Mapping[str, Any], create_workspace: bool = False
                     ) -> Iterator[Session]:
    """The session frame; a NotationError or bad bundle inside it is recorded as a refusal."""
    with session(name, options, console, data=data, create_workspace=create_workspace) as s:
        try:
            yield s
        except (NotationError, TransferError) as exc:
            if isinstance(exc, CeremonyRefused):
                raise
            raise CeremonyRefused(" ".join(str(exc).split())) from None


def words(hex_digest: str) -> str:
    return digest_words(bytes.fromhex(hex_digest))


def fingerprint(label: str, hex_digest: str, indent: str = "  ") -> list[str]:
    """A fingerprint as people compare it: hex, then words."""
    return [f"{indent}{label} sha256: {hex_digest}",
            f"{indent}{label} words:  {words(hex_digest)}"]


def read_request(s: Session, *types: str) -> SystemBundle:
    """The notation request (`--request`), read strictly and recorded by digest."""
    path = s.options.request
    try:
        data = read_limited(path, MAX_REQUEST_BYTES, what="request bundle")
    except GroundFloorError as exc:
        raise CeremonyRefused(str(exc)) from None
    try:
        bundle = parse_system_bundle(data, "notation", "request")
    except TransferError as exc:
        s.transcript.input("request", data, path=str(path))
        raise CeremonyRefused(f"request {path}: {exc}") from None
    s.transcript.input("request", data, path=str(path), bundle_sha256=bundle.digest_hex)
    if bundle.content.get("type") not in types:
        raise CeremonyRefused(f"request {path} asks for {bundle.content.get('type')!r}; this "
                              f"command answers {' or '.join(types)} requests")
    s.console.show(f"request {path}: bundle sha256 {bundle.digest_hex}\n"
                   f"request words: {words(bundle.digest_hex)}")
    return bundle


def review(s: Session, title: str, lines: list[str]) -> str:
    """Show the review and record it by digest; returns the digest (hex)."""
    text = "\n".join([f"REVIEW: {title}", *lines]) + "\n"
    check_no_secret(text, "the review")
    digest = hashlib.sha256(text.encode()).hexdigest()
    s.console.show(text + f"review sha256 {digest}\nreview words  {words(digest)}")
    s.transcript.append("review", {"text_sha256": digest, "words": words(digest),
                                   "lines": len(lines)})
    return digest


def confirm(s: Session, question: str) -> None:
    """The one confirmation rule (session.confirm)."""
    s.confirm(question)


def confirm_review(s: Session, what: str, digest: str) -> None:
    confirm(s, f"{what}, review digest {digest} ({words(digest)})?")


def open_key(s: Session, uri: str, label: str, purpose: str,
             algorithm: str | None = None) -> tuple[Any, Any]:
    """The token and the key labelled `label` on it, found without logging in where the
    token shows public objects (the login comes at the first signature, after the review).
    With `algorithm`, a key missing is generated there (and custody recorded either way)."""
    from hsm.errors import TokenNotFoundError
    try:
        token = s.tokens.open(uri, purpose)
    except TokenNotFoundError as exc:
        raise CeremonyRefused(f"{purpose} token: {exc}") from None
    if algorithm is not None:
        info, reused = s.tokens.generate_or_reuse(token, label, algorithm)
        s.transcript.custody({**s.tokens.custody(token, info), "purpose": purpose,
                              "reused": reused})
        return token, info
    info = s.tokens.key_by_label(token, label)
    if info is None or info.public_key is None:
        raise CeremonyRefused(f"token '{token.label}' has no key labelled '{label}' ({purpose}):"
                              f" make it first (`ceremony key generate --token "
                              f"pkcs11:token={token.label} --label {label}`) or give the right "
                              "token")
    return token, info


def token_key(token: Any, label: str) -> Any:
    """The key as a notation signing key (logs in to the token at its first use)."""
    from ceremony.notation.keyspec import TokenKey
    return TokenKey(token.signer(label))


def key_line(token: Any, label: str) -> str:
    return f"token '{token.label}' (serial {token.info.serial}), key '{label}'"


def stage_tokens(s: Session) -> list[str]:
    """The tokens used, recorded in the workspace's inventory (shared by every system)."""
    s.transcript.tokens(s.tokens.facts())
    labels = []
    for token in s.tokens.tokens():
        s.tx.add_token(TokenRecord(serial=token.info.serial, label=token.label,
                                   manufacturer=token.info.manufacturer,
                                   model=token.info.model))
        labels.append(token.label)
    return labels


def record_key(s: Session, token: Any, info: Any, role: str, names: list[str],
               cert_pem: str = "") -> None:
    """The token key in the workspace's key inventory (system "notation", key ID the SHA-256
    of its SPKI, custody evidence read back from the token), with the rest of the ceremony."""
    from ceremony.inventory import spki_sha256, token_key_record
    key_id = spki_sha256(info.public_key)
    if s.tx.is_retired(key_id):
        raise CeremonyRefused(f"key '{info.label}' on token '{token.label}' was retired in this "
                              "workspace and is not used again: make a new key")
    s.tx.add_key(token_key_record(s.tx, s.tokens, system="notation", key_id=key_id, role=role,
                                  names=names, token=token, info=info, cert_pem=cert_pem))


def write_response(s: Session, bundle: SystemBundle, name: str = "response") -> dict[str, Any]:
    """The bundle written (refusing an existing file unless --force) and recorded."""
    out = s.options.out
    atomic_write(out, bundle.to_bytes(), overwrite=s.options.force)
    s.transcript.output(name, Path(out).read_bytes(), path=str(out),
                        bundle_sha256=bundle.digest_hex)
    return {"response": str(out), "response_sha256": bundle.digest_hex,
            "response_words": words(bundle.digest_hex)}


def write_file(s: Session, name: str, data: bytes) -> None:
    atomic_write(s.options.out, data, overwrite=s.options.force)
    s.transcript.output(name, data, path=str(s.options.out))
