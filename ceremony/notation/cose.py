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
from ceremony.notation.headers import MAX_CHAIN, Spelling
from ceremony.notation.keyspec import BY_COSE_ALG, SigningKey, key_spec
from ceremony.notation.payload import COSE_MEDIA_TYPE, Descriptor, SignedContent

SIGN1_TAG = 18


def _epoch(when: dt.datetime) -> cbor2.CBORTag:
    return cbor2.CBORTag(1, int(when.timestamp()))


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _loads(raw: bytes, what: str) -> Any:
    try:
        return cbor2.loads(raw)
    except Exception as exc:  # cbor2 raises several types for malformed input
        raise EnvelopeError(f"COSE {what}: not valid CBOR ({type(exc).__name__})") from None


def _time(value: Any, where: str) -> dt.datetime:
    # cbor2 turns tag 1 (and tag 0) into an aware datetime; anything else is refused.
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise EnvelopeError(f"{where}: must be a tag 1 (epoch) date/time")
    return value


SPELLING = Spelling("COSE", 1, 2, 3, 33, _epoch, _time)  # alg, crit, content type, x5chain


def sign(target: Descriptor, key: SigningKey, chain_der: list[bytes], *,
         signing_time: dt.datetime, expiry: dt.datetime | None = None) -> bytes:
    protected = SPELLING.protected(key_spec(key.public_key).cose_alg, signing_time, expiry)
    prot = cbor2.dumps(protected, canonical=True)
    payload = target.payload()
    signature = key.sign_envelope(sig_structure(prot, payload))
    return cbor2.dumps(cbor2.CBORTag(SIGN1_TAG, [prot, SPELLING.unprotected(list(chain_der)),
                                                 payload, signature]), canonical=True)


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
    spec, signing_time, expiry = SPELLING.read_protected(_loads(prot, "protected header"),
                                                         BY_COSE_ALG)
    chain, agent = SPELLING.read_unprotected(unprotected)
    if isinstance(chain, bytes):
        chain = [chain]
    if not isinstance(chain, (list, tuple)) or not 0 < len(chain) <= MAX_CHAIN or not all(
            isinstance(c, bytes) for c in chain):
        raise EnvelopeError("COSE x5chain: the certificate chain is missing")
    return SignedContent(
        COSE_MEDIA_TYPE, Descriptor.from_payload(payload), signing_time, expiry, list(chain),
        spec.jws_alg, sig_structure(prot, payload), signature, agent)
