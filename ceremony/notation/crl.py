"""Certificate revocation lists signed by a CA key on a token, and checking a chain against
them. A CRL always has nextUpdate (verifiers refuse a CRL past it: renew before then) and a
CRL number (RFC 5280 5.2.3) and names the CA key (AKI)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from ceremony.notation.certs import now, sign_with
from ceremony.notation.errors import NotationError, SignatureVerificationError
from ceremony.notation.keyspec import SigningKey


def make_crl(issuer: SigningKey, issuer_cert: x509.Certificate, revoked: dict[int, dt.datetime],
             number: int, valid_for: dt.timedelta) -> x509.CertificateRevocationList:
    """A CRL listing `revoked` (serial -> revocation date), valid from now for `valid_for`."""
    if valid_for <= dt.timedelta(0):
        raise NotationError("CRL validity must be positive, e.g. --valid-for 30d")
    start = now()
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer_cert.subject).last_update(start)
               .next_update(start + valid_for)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_cert.public_key()), critical=False))
    for serial, when in sorted(revoked.items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
            .build())
    crl = x509.load_der_x509_crl(sign_with(builder, issuer))
    if not crl.is_signature_valid(issuer_cert.public_key()):  # type: ignore[arg-type]
        raise NotationError("the token's CRL signature does not verify; nothing was written")
    return crl


def check_revocation(chain: list[x509.Certificate], crls: list[x509.CertificateRevocationList],
                     at: dt.datetime) -> None:
    """Refuse a chain in which a certificate is listed by a CRL of its issuer. A CRL that is
    not signed by the issuer it names, or that is past its nextUpdate, is refused itself."""
    for cert, issuer in zip(chain, chain[1:], strict=False):
        for crl in crls:
            if crl.issuer != issuer.subject:
                continue
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                raise SignatureVerificationError(
                    f"the CRL of '{issuer.subject.rfc4514_string()}' is not signed by its key: "
                    "get the CRL from the CA")
            if crl.next_update_utc is None or crl.next_update_utc < at:
                raise SignatureVerificationError(
                    f"the CRL of '{issuer.subject.rfc4514_string()}' is out of date (nextUpdate "
                    f"{crl.next_update_utc}): ask the CA for a fresh CRL")
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                raise SignatureVerificationError(
                    f"certificate '{cert.subject.rfc4514_string()}' (serial "
                    f"{cert.serial_number:x}) was revoked on "
                    f"{entry.revocation_date_utc:%Y-%m-%d %H:%M:%S}Z")
