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
from ceremony.notation.keyspec import BY_JWS_ALG, SigningKey, key_spec
from ceremony.notation.payload import (
    AUTHENTIC_TIME,
    EXPIRY,
    JWS_MEDIA_TYPE,
    PAYLOAD_CONTENT_TYPE,
    SCHEME,
    SIGNING_AGENT,
    SIGNING_SCHEME,
    SIGNING_TIME,
    Descriptor,
    SignedContent,
    check_critical,
    parse_payload,
    payload_bytes,
    strict_json,
)

KNOWN_PROTECTED = {"alg", "cty", "crit", SCHEME, SIGNING_TIME, EXPIRY, AUTHENTIC_TIME}
KNOWN_UNPROTECTED = {"x5c", "io.cncf.notary.signingAgent", "io.cncf.notary.timestampSignature"}


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


def _time(value: Any, what: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise EnvelopeError(f"JWS {what}: not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise EnvelopeError(f"JWS {what}: time without a timezone")
    return parsed


def sign(target: Descriptor, key: SigningKey, chain_der: list[bytes], *,
         signing_time: dt.datetime, expiry: dt.datetime | None = None) -> bytes:
    spec = key_spec(key.public_key)
    crit = [SCHEME] + ([EXPIRY] if expiry else [])
    protected: dict[str, Any] = {"alg": spec.jws_alg, "crit": crit,
                                 "cty": PAYLOAD_CONTENT_TYPE, SCHEME: SIGNING_SCHEME,
                                 SIGNING_TIME: rfc3339(signing_time)}
    if expiry:
        protected[EXPIRY] = rfc3339(expiry)
    prot = b64url(json.dumps(protected, separators=(",", ":")).encode())
    pay = b64url(payload_bytes(target))
    signature = key.sign_envelope(f"{prot}.{pay}".encode())
    envelope = {"payload": pay, "protected": prot,
                "header": {"x5c": [base64.b64encode(d).decode() for d in chain_der],
                           "io.cncf.notary.signingAgent": SIGNING_AGENT},
                "signature": b64url(signature)}
    return json.dumps(envelope, separators=(",", ":")).encode()


def parse(raw: bytes) -> SignedContent:
    env = strict_json(raw, "JWS envelope")
    if not isinstance(env, dict) or set(env) != {"payload", "protected", "header", "signature"}:
        raise EnvelopeError("JWS envelope: expected exactly payload, protected, header and "
                            "signature (flattened JSON serialisation)")
    prot_raw = unb64url(env["protected"], "protected header")
    protected = strict_json(prot_raw, "JWS protected header")
    header = env["header"]
    if not isinstance(protected, dict) or not isinstance(header, dict):
        raise EnvelopeError("JWS envelope: headers must be JSON objects")
    extra = set(header) - KNOWN_UNPROTECTED
    if extra:
        raise EnvelopeError(f"JWS unprotected header: unknown member(s) {sorted(extra)}")
    alg = protected.get("alg")
    if alg not in BY_JWS_ALG:
        raise EnvelopeError(f"JWS alg {alg!r} is not one of {', '.join(BY_JWS_ALG)}")
    if protected.get("cty") != PAYLOAD_CONTENT_TYPE:
        raise EnvelopeError(f"JWS cty must be {PAYLOAD_CONTENT_TYPE}")
    if protected.get(SCHEME) != SIGNING_SCHEME:
        raise EnvelopeError(f"signing scheme {protected.get(SCHEME)!r} is not supported "
                            f"(only {SIGNING_SCHEME})")
    crit = protected.get("crit")
    if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
        raise EnvelopeError("JWS crit must be a non-empty list of header names")
    check_critical("JWS", protected, crit, KNOWN_PROTECTED)
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise EnvelopeError("JWS x5c: the certificate chain is missing")
    try:
        chain = [base64.b64decode(c, validate=True) for c in x5c]
    except (TypeError, ValueError):
        raise EnvelopeError("JWS x5c: certificates must be standard base64 DER") from None
    payload_raw = unb64url(env["payload"], "payload")
    agent = header.get("io.cncf.notary.signingAgent")
    return SignedContent(
        JWS_MEDIA_TYPE, parse_payload(payload_raw), _time(protected[SIGNING_TIME], "signingTime"),
        _time(protected[EXPIRY], "expiry") if EXPIRY in protected else None, chain, alg,
        f"{env['protected']}.{env['payload']}".encode(), unb64url(env["signature"], "signature"),
        agent if isinstance(agent, str) else None)
