"""The JWS envelope (signature-envelope-jws.md; notation-core-go signature/jws): flattened
JWS JSON serialisation, base64url without padding, the signature over
ASCII(protected) "." ASCII(payload), certificates in the unprotected `x5c` (standard base64
DER, leaf first)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from ceremony.notation.errors import EnvelopeError
from ceremony.notation.headers import MAX_CHAIN, Spelling
from ceremony.notation.keyspec import BY_JWS_ALG, SigningKey, key_spec
from ceremony.notation.payload import JWS_MEDIA_TYPE, Descriptor, SignedContent
from ceremony.notation.strict import ENVELOPE, parse_utf8, rfc3339_time
from groundfloor.limits import MAX_PEM_BYTES


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise EnvelopeError(f"JWS {what}: not unpadded base64url")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError:
        raise EnvelopeError(f"JWS {what}: not unpadded base64url") from None


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


SPELLING = Spelling("JWS", "alg", "crit", "cty", "x5c", rfc3339, rfc3339_time)


def sign(target: Descriptor, key: SigningKey, chain_der: list[bytes], *,
         signing_time: dt.datetime, expiry: dt.datetime | None = None) -> bytes:
    protected = SPELLING.protected(key_spec(key.public_key).jws_alg, signing_time, expiry)
    prot = b64url(json.dumps(protected, separators=(",", ":")).encode())
    pay = b64url(target.payload())
    signature = key.sign_envelope(f"{prot}.{pay}".encode())
    envelope = {"payload": pay, "protected": prot,
                "header": SPELLING.unprotected([base64.b64encode(d).decode() for d in chain_der]),
                "signature": b64url(signature)}
    return json.dumps(envelope, separators=(",", ":")).encode()


def parse(raw: bytes) -> SignedContent:
    env = ENVELOPE.fields(parse_utf8(raw, "JWS envelope"), "JWS envelope",
                          ("payload", "protected", "header", "signature"),
                          what="a flattened JWS JSON object")
    protected = parse_utf8(unb64url(env["protected"], "protected header"),
                           "JWS protected header")
    spec, signing_time, expiry = SPELLING.read_protected(protected, BY_JWS_ALG)
    x5c, agent = SPELLING.read_unprotected(env["header"])
    if x5c is None or x5c == []:
        raise EnvelopeError("JWS x5c: the certificate chain is missing")
    ENVELOPE.strings(x5c, "JWS x5c", max_items=MAX_CHAIN)
    chain = [ENVELOPE.base64(c, f"JWS x5c[{i}]", limit=MAX_PEM_BYTES) for i, c in enumerate(x5c)]
    target = Descriptor.from_payload(unb64url(env["payload"], "payload"))
    return SignedContent(
        JWS_MEDIA_TYPE, target, signing_time, expiry, chain, spec.jws_alg,
        f"{env['protected']}.{env['payload']}".encode(), unb64url(env["signature"], "signature"),
        agent)
