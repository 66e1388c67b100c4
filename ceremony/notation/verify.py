"""Offline verification of a Notary Project signature envelope, in the specification's order
(signature-specification.md / trust-store-trust-policy.md, "Signature Verification"):
integrity (envelope, signature with the leaf key, algorithm = the leaf's key spec),
authenticity (certificate rules, the chain signs down from a pinned root), validity at signing
time and now, expiry, revocation by the given CRLs, and the signed descriptor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from ceremony.notation import cose, jws
from ceremony.notation.crl import check_revocation
from ceremony.notation.errors import EnvelopeError, SignatureVerificationError
from ceremony.notation.keyspec import verify_envelope_signature
from ceremony.notation.payload import COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, Descriptor, SignedContent
from ceremony.notation.rules import check_ca_certificate, check_signing_certificate


@dataclass(frozen=True)
class Verified:
    content: SignedContent
    chain: list[x509.Certificate]

    @property
    def signer(self) -> str:
        return self.chain[0].subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        return self.chain[0].fingerprint(hashes.SHA256()).hex()


def parse_envelope(raw: bytes, media_type: str) -> SignedContent:
    if media_type == JWS_MEDIA_TYPE:
        return jws.parse(raw)
    if media_type == COSE_MEDIA_TYPE:
        return cose.parse(raw)
    raise EnvelopeError(f"envelope media type {media_type!r} is not {JWS_MEDIA_TYPE} or "
                        f"{COSE_MEDIA_TYPE}")


def sniff_media_type(raw: bytes) -> str:
    """JWS JSON starts with '{'; COSE_Sign1_Tagged with 0xd2 (tag 18)."""
    head = raw.lstrip()[:1]
    if head == b"{":
        return JWS_MEDIA_TYPE
    if raw[:1] == b"\xd2":
        return COSE_MEDIA_TYPE
    raise EnvelopeError("the file is neither a JWS (JSON) nor a COSE (tag 18) envelope")


def _load_chain(chain_der: list[bytes]) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(d) for d in chain_der]
    except ValueError:
        raise EnvelopeError("the envelope's certificate chain holds something that is not a "
                            "DER certificate") from None


def _check_chain(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> None:
    # Only the last certificate may be self-signed: no self-signed leaf, no repeated root
    # (notation-core-go x509.ValidateCodeSigningCertChain).
    if len(chain) < 2:
        raise SignatureVerificationError("the chain holds only the signing certificate: a "
                                         "self-signed signing certificate is not allowed")
    for cert in chain[:-1]:
        if cert.issuer == cert.subject:
            raise SignatureVerificationError(
                f"certificate '{cert.subject.rfc4514_string()}' is self-signed but not the "
                "last of the chain")
    for n, cert in enumerate(chain[1:], start=1):
        check_ca_certificate(cert, below=n - 1)  # CAs between it and the leaf
    for cert, issuer in zip(chain, chain[1:], strict=False):
        try:
            cert.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError):
            raise SignatureVerificationError(
                f"certificate '{cert.subject.rfc4514_string()}' is not issued by the next one in "
                f"the chain ('{issuer.subject.rfc4514_string()}'): the chain is broken") from None
    top = chain[-1]
    if top.issuer != top.subject:
        raise SignatureVerificationError("the chain does not end at a self-signed root")
    try:
        top.verify_directly_issued_by(top)
    except (InvalidSignature, ValueError, TypeError):
        raise SignatureVerificationError("the chain's root is not validly self-signed") from None
    if not any(top == r for r in roots):
        raise SignatureVerificationError(
            f"the chain ends at '{top.subject.rfc4514_string()}', which is not a pinned root "
            "CA: pin that root only if you trust it (trust store), or the signature is not ours")


def _check_times(chain: list[x509.Certificate], signing_time: dt.datetime,
                 at: dt.datetime) -> None:
    for cert in chain:
        for when, what in ((signing_time, "at signing time"), (at, "now")):
            if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
                raise SignatureVerificationError(
                    f"certificate '{cert.subject.rfc4514_string()}' was not valid {what} "
                    f"({when:%Y-%m-%d %H:%M:%S}Z; valid {cert.not_valid_before_utc:%Y-%m-%d} "
                    f"to {cert.not_valid_after_utc:%Y-%m-%d})")


def verify(raw: bytes, roots: list[x509.Certificate], *, media_type: str | None = None,
           expected: Descriptor | None = None,
           crls: list[x509.CertificateRevocationList] | None = None,
           at: dt.datetime | None = None) -> Verified:
    """Verify an envelope; returns what it says, or raises a NotationError naming the rule."""
    at = at or dt.datetime.now(dt.UTC)
    content = parse_envelope(raw, media_type or sniff_media_type(raw))
    chain = _load_chain(content.chain_der)
    spec = check_signing_certificate(chain[0])
    if spec.jws_alg != content.alg:
        raise SignatureVerificationError(
            f"the envelope says {content.alg} but the signing certificate's key "
            f"({spec.name}) signs with {spec.jws_alg}")
    if not verify_envelope_signature(chain[0].public_key(), spec, content.signed_message,
                                     content.signature):
        raise SignatureVerificationError("the signature does not verify with the signing "
                                         "certificate's key: the envelope was altered")
    _check_chain(chain, roots)
    _check_times(chain, content.signing_time, at)
    if content.expiry is not None and content.expiry < at:
        raise SignatureVerificationError("the signature expired on "
                                         f"{content.expiry:%Y-%m-%d %H:%M:%S}Z")
    check_revocation(chain, crls or [], at)
    if expected is not None and not expected.same_artifact(content.target):
        raise SignatureVerificationError(
            f"the signature is for {content.target.digest} ({content.target.media_type}, "
            f"{content.target.size} bytes), not for {expected.digest} ({expected.media_type}, "
            f"{expected.size} bytes)")
    return Verified(content, chain)
