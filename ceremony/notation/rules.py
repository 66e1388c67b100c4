"""The Notary Project's certificate rules, checked on CSRs before issuance and on every
certificate of a chain at verification. Each refusal names the rule it applies
(signature-specification.md, "Certificate Requirements").
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from ceremony.notation.errors import CertificateRuleError
from ceremony.notation.keyspec import KeySpec, key_spec

WEAK_HASHES = (hashes.SHA1, hashes.MD5)
FORBIDDEN_EKUS = {
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}


def _ext(extensions: x509.Extensions, cls: type) -> x509.Extension | None:
    try:
        return extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _check_hash(algorithm: hashes.HashAlgorithm | None, what: str) -> None:
    if algorithm is None or isinstance(algorithm, WEAK_HASHES):
        name = algorithm.name if algorithm is not None else "none"
        raise CertificateRuleError(f"rule 'no SHA-1 (or weaker) signatures': the {what} is "
                                   f"signed with {name}; sign it with SHA-256 or stronger")


def _signature_hash(obj: x509.Certificate | x509.CertificateSigningRequest) -> object:
    try:
        return obj.signature_hash_algorithm
    except Exception:  # unsupported algorithm OID: also refused
        return None


def check_csr(csr: x509.CertificateSigningRequest) -> KeySpec:
    """Refuse a CSR that breaks a rule; returns the key spec of the key it asks for."""
    _check_hash(_signature_hash(csr), "CSR")  # type: ignore[arg-type]
    try:
        valid = csr.is_signature_valid
    except Exception:  # an algorithm `cryptography` cannot check is refused the same way
        valid = False
    if not valid:
        raise CertificateRuleError("rule 'the CSR is signed by its key': the CSR's signature "
                                   "does not verify; ask the requester for a new CSR")
    spec = key_spec(csr.public_key())
    if not csr.subject.rdns:
        raise CertificateRuleError("rule 'a signing certificate names its signer': the CSR's "
                                   "subject is empty")
    bc = _ext(csr.extensions, x509.BasicConstraints)
    if bc is not None and bc.value.ca:
        raise CertificateRuleError("rule 'signing certificates are not CAs': the CSR asks for "
                                   "basicConstraints cA=TRUE")
    ku = _ext(csr.extensions, x509.KeyUsage)
    if ku is not None and (ku.value.key_cert_sign or ku.value.crl_sign):
        raise CertificateRuleError("rule 'signing certificates are not CAs': the CSR asks for "
                                   "keyUsage keyCertSign or cRLSign")
    eku = _ext(csr.extensions, x509.ExtendedKeyUsage)
    if eku is not None:
        bad = [FORBIDDEN_EKUS[o] for o in eku.value if o in FORBIDDEN_EKUS]
        if bad:
            raise CertificateRuleError("rule 'signing certificates are for code signing only': "
                                       f"the CSR asks for extended key usage {', '.join(bad)}")
    return spec


def check_ca_certificate(cert: x509.Certificate, *, below: int) -> None:
    """A root or intermediate of a chain; `below` = number of CAs under it in the chain."""
    _check_hash(_signature_hash(cert), f"certificate '{cert.subject.rfc4514_string()}'")
    key_spec(cert.public_key())
    bc = _ext(cert.extensions, x509.BasicConstraints)
    if bc is None or not bc.critical or not bc.value.ca:
        raise CertificateRuleError(
            f"rule 'CA certificates have critical basicConstraints cA=TRUE': "
            f"'{cert.subject.rfc4514_string()}' has not")
    if bc.value.path_length is not None and below > bc.value.path_length:
        raise CertificateRuleError(
            f"rule 'path length': '{cert.subject.rfc4514_string()}' allows "
            f"{bc.value.path_length} CA(s) below it, the chain has {below}")
    ku = _ext(cert.extensions, x509.KeyUsage)
    if ku is None or not ku.critical or not ku.value.key_cert_sign:
        raise CertificateRuleError(
            f"rule 'CA certificates have critical keyUsage keyCertSign': "
            f"'{cert.subject.rfc4514_string()}' has not")


def check_signing_certificate(cert: x509.Certificate) -> KeySpec:
    """The leaf of a chain: a code-signing certificate."""
    subject = cert.subject.rfc4514_string()
    _check_hash(_signature_hash(cert), f"certificate '{subject}'")
    spec = key_spec(cert.public_key())
    ku = _ext(cert.extensions, x509.KeyUsage)
    if ku is None or not ku.critical or not ku.value.digital_signature:
        raise CertificateRuleError(f"rule 'signing certificates have critical keyUsage "
                                   f"digitalSignature': '{subject}' has not")
    k = ku.value
    # encipherOnly/decipherOnly only mean something with keyAgreement, refused here too.
    if (k.key_encipherment or k.data_encipherment or k.key_cert_sign or k.crl_sign
            or k.key_agreement):
        raise CertificateRuleError(f"rule 'signing certificates have keyUsage "
                                   f"digitalSignature only': '{subject}' has more")
    bc = _ext(cert.extensions, x509.BasicConstraints)
    if bc is not None and bc.value.ca:
        raise CertificateRuleError(f"rule 'signing certificates are not CAs': '{subject}' "
                                   "has cA=TRUE")
    eku = _ext(cert.extensions, x509.ExtendedKeyUsage)
    if eku is not None:
        bad = [FORBIDDEN_EKUS[o] for o in eku.value if o in FORBIDDEN_EKUS]
        if bad:
            raise CertificateRuleError(f"rule 'signing certificates are for code signing': "
                                       f"'{subject}' has {', '.join(bad)}")
    return spec
