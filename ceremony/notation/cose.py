"""The COSE envelope (signature-envelope-cose.md; notation-core-go signature/cose, which uses
go-cose): COSE_Sign1_Tagged (tag 18) = [protected bstr, unprotected map, payload bstr,
signature bstr]; the signature is over Sig_structure ["Signature1", protected, h'', payload].

Protected header: 1 alg (-7/-35/-36 ES256/384/512, -37/-38/-39 PS256/384/512), 2 crit,
3 content type, "io.cncf.notary.signingScheme", "io.cncf.notary.signingTime" and optional
"io.cncf.notary.expiry" as tag 1 (epoch seconds) times. Unprotected: 33 x5chain (DER, leaf
first), "io.cncf.notary.signingAgent". Encoded with cbor2 in canonical (deterministic) form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import cbor2

from ceremony.notation.errors import EnvelopeError
from ceremony.notation.keyspec import BY_COSE_ALG, SigningKey, key_spec
from ceremony.notation.payload import (
    AUTHENTIC_TIME,
    COSE_MEDIA_TYPE,
    EXPIRY,
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
)

ALG, CRIT, CONTENT_TYPE, X5CHAIN = 1, 2, 3, 33
KNOWN_PROTECTED = {ALG, CRIT, CONTENT_TYPE, SCHEME, SIGNING_TIME, EXPIRY, AUTHENTIC_TIME}
KNOWN_UNPROTECTED = {X5CHAIN, "io.cncf.notary.signingAgent",
                     "io.cncf.notary.timestampSignature"}
SIGN1_TAG = 18


def _epoch(when: dt.datetime) -> cbor2.CBORTag:
    return cbor2.CBORTag(1, int(when.timestamp()))


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign(target: Descriptor, key: SigningKey, chain_der: list[bytes], *,
         signing_time: dt.datetime, expiry: dt.datetime | None = None) -> bytes:
    spec = key_spec(key.public_key)
    protected: dict[Any, Any] = {ALG: spec.cose_alg,
                                 CRIT: [SCHEME] + ([EXPIRY] if expiry else []),
                                 CONTENT_TYPE: PAYLOAD_CONTENT_TYPE, SCHEME: SIGNING_SCHEME,
                                 SIGNING_TIME: _epoch(signing_time)}
    if expiry:
        protected[EXPIRY] = _epoch(expiry)
    prot = cbor2.dumps(protected, canonical=True)
    payload = payload_bytes(target)
    signature = key.sign_envelope(sig_structure(prot, payload))
    unprotected = {X5CHAIN: list(chain_der), "io.cncf.notary.signingAgent": SIGNING_AGENT}
    return cbor2.dumps(cbor2.CBORTag(SIGN1_TAG, [prot, unprotected, payload, signature]),
                       canonical=True)


def _loads(raw: bytes, what: str) -> Any:
    try:
        return cbor2.loads(raw)
    except Exception as exc:  # cbor2 raises several types for malformed input
        raise EnvelopeError(f"COSE {what}: not valid CBOR ({type(exc).__name__})") from None


def _time(value: Any, what: str) -> dt.datetime:
    # cbor2 turns tag 1 (and tag 0) into an aware datetime; anything else is refused.
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise EnvelopeError(f"COSE {what}: must be a tag 1 (epoch) date/time")
    return value


def parse(raw: bytes) -> SignedContent:
    msg = _loads(raw, "envelope")
    if not isinstance(msg, cbor2.CBORTag) or msg.tag != SIGN1_TAG:
        raise EnvelopeError("COSE envelope: not a COSE_Sign1_Tagged message (tag 18)")
    body = msg.value
    if not isinstance(body, (list, tuple)) or len(body) != 4:
        raise EnvelopeError("COSE envelope: COSE_Sign1 must have 4 elements")
    prot, unprotected, payload, signature = body
    if not all(isinstance(x, bytes) for x in (prot, payload, signature)):
        raise EnvelopeError("COSE envelope: protected, payload and signature must be bstr "
                            "(a detached payload is not allowed)")
    protected = _loads(prot, "protected header")
    if not hasattr(protected, "items") or not hasattr(unprotected, "items"):
        raise EnvelopeError("COSE envelope: headers must be maps")
    extra = set(unprotected) - KNOWN_UNPROTECTED
    if extra:
        raise EnvelopeError(f"COSE unprotected header: unknown label(s) {sorted(map(str, extra))}")
    spec = BY_COSE_ALG.get(protected.get(ALG))
    if spec is None:
        raise EnvelopeError(f"COSE alg {protected.get(ALG)!r} is not a Notary Project algorithm")
    if protected.get(CONTENT_TYPE) != PAYLOAD_CONTENT_TYPE:
        raise EnvelopeError(f"COSE content type must be {PAYLOAD_CONTENT_TYPE}")
    if protected.get(SCHEME) != SIGNING_SCHEME:
        raise EnvelopeError(f"signing scheme {protected.get(SCHEME)!r} is not supported "
                            f"(only {SIGNING_SCHEME})")
    crit = protected.get(CRIT)
    if not isinstance(crit, (list, tuple)) or not crit:
        raise EnvelopeError("COSE crit must be a non-empty array of labels")
    check_critical("COSE", protected, crit, KNOWN_PROTECTED)
    chain = unprotected.get(X5CHAIN)
    if isinstance(chain, bytes):
        chain = [chain]
    if not isinstance(chain, (list, tuple)) or not chain or not all(
            isinstance(c, bytes) for c in chain):
        raise EnvelopeError("COSE x5chain: the certificate chain is missing")
    agent = unprotected.get("io.cncf.notary.signingAgent")
    return SignedContent(
        COSE_MEDIA_TYPE, parse_payload(payload), _time(protected[SIGNING_TIME], "signingTime"),
        _time(protected[EXPIRY], "expiry") if EXPIRY in protected else None, list(chain),
        spec.jws_alg, sig_structure(prot, payload), signature,
        agent if isinstance(agent, str) else None)
