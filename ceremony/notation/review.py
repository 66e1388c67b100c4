"""What a person checks before the token signs: short lines, fingerprints in hex.

This round prints the review; the typed confirmation, the transcript and the words for each
fingerprint come with the common ceremony frame (see docs/notation.md)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ceremony.notation.keyspec import KeySpec
from ceremony.notation.payload import Descriptor


def key_fingerprint(public_key: object) -> str:
    """SHA-256 of the SubjectPublicKeyInfo, hex."""
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return digest.finalize().hex()


def issuance_lines(csr: x509.CertificateSigningRequest, spec: KeySpec,
                   chain: list[x509.Certificate], valid_for: dt.timedelta,
                   crl_url: str | None) -> list[str]:
    asked = [e.oid._name if hasattr(e.oid, "_name") else e.oid.dotted_string
             for e in csr.extensions]
    lines = [
        "review: issue a Notary Project signing certificate",
        f"  subject:       {csr.subject.rfc4514_string()}",
        f"  key:           {spec.name} (signs {spec.jws_alg})",
        f"  key sha256:    {key_fingerprint(csr.public_key())}",
        f"  CSR asks for:  {', '.join(asked) if asked else 'no extensions'} (the profile "
        "decides: digitalSignature, codeSigning, CA:FALSE)",
        f"  validity:      {valid_for.days} days from now",
        f"  CRL URL:       {crl_url or 'none'}",
        "  chain:         " + " <- ".join(c.subject.rfc4514_string() for c in chain),
    ]
    return lines


def signing_lines(artifacts: list[tuple[str, Descriptor]], signer: x509.Certificate,
                  media_type: str, expiry: dt.timedelta | None) -> list[str]:
    lines = [f"review: sign {len(artifacts)} artifact(s) as {media_type}",
             f"  signer:        {signer.subject.rfc4514_string()}",
             f"  signer sha256: {signer.fingerprint(hashes.SHA256()).hex()}",
             f"  expiry:        {f'{expiry.days} days after signing' if expiry else 'none'}",
             "  signing time:  now (recorded per signature in signatures.json)"]
    for reference, desc in artifacts:
        lines.append(f"  {reference}  {desc.digest}  {desc.size} bytes  {desc.media_type}")
    return lines
