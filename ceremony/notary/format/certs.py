"""Notary's rules for root certificates (trustpinning/certs.go, tuf/utils/x509.go).

A root key counts only if it is a certificate chain whose single non-CA leaf comes first, whose
CN is the GUN (or a prefix ending in `*`), that is not signed with SHA-1, holds an RSA key of at
least 2048 bits (or an ECDSA key), and is valid at the time of verification with one day of
leeway on NotBefore. Notary then re-derives the key from the leaf plus the valid intermediates;
that derived key ID is what signatures and pinning must name.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from ceremony.errors import KeyFormatError
from ceremony.notary.format.keys import Key, key_from_certificate

MIN_RSA_BITS = 2048
NOT_BEFORE_LEEWAY = dt.timedelta(days=1)
EXPIRY_WARNING_MONTHS = 6

_SHA1_SIGNATURES = {SignatureAlgorithmOID.RSA_WITH_SHA1, SignatureAlgorithmOID.DSA_WITH_SHA1,
                    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
                    getattr(SignatureAlgorithmOID, "_RSA_WITH_SHA1", None)} - {None}


@dataclass
class RootCertificate:
    """The verdict on one root key.

    `problems` make the key unusable; `time_problems` (expired, not yet valid) make it unusable
    for the current root only (Notary accepts expired certificates of the root it rotates from);
    `warnings` do not affect it. `key_id` is the ID Notary derives from the certificates.
    """

    listed_id: str
    key: Key
    leaf: x509.Certificate | None = None
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)
    time_problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def usable(self, check_time: bool) -> bool:
        return not self.problems and not (check_time and self.time_problems) and \
            self.key_id is not None

    @property
    def common_name(self) -> str | None:
        return common_name(self.leaf) if self.leaf is not None else None


def common_name(cert: x509.Certificate) -> str | None:
    """The subject CN as Go reads it (the last CN attribute wins)."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[-1].value) if values else None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def cn_matches_gun(cn: str | None, gun: str) -> bool:
    """trustpinning.MatchCNToGun: exact, or a prefix when the CN ends with `*`."""
    if cn is None:
        return False
    if cn.endswith("*"):
        return gun.startswith(cn.rstrip("*"))
    return cn == gun


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Go's AddDate(0, months, 0): day overflow rolls into the next month."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    days_in_month = calendar.monthrange(year, month)[1]
    overflow = max(0, moment.day - days_in_month)
    return moment.replace(year=year, month=month, day=min(moment.day, days_in_month)) + \
        dt.timedelta(days=overflow)


def certificate_problems(cert: x509.Certificate, at: dt.datetime,
                         public_key: object = None) -> tuple[list[str], list[str], list[str]]:
    """utils.ValidateCertificate: (problems, time problems, warnings) for one certificate."""
    problems: list[str] = []
    time_problems: list[str] = []
    warnings: list[str] = []
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    if not_before > not_after:
        problems.append("validity window is invalid (NotBefore after NotAfter)")
    if cert.signature_algorithm_oid in _SHA1_SIGNATURES:
        problems.append("is signed with SHA-1, which Notary refuses")
    public_key = public_key if public_key is not None else cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        problems.append(f"holds a {public_key.key_size}-bit RSA key; Notary requires "
                        f"{MIN_RSA_BITS} bits")
    if at + NOT_BEFORE_LEEWAY < not_before:
        time_problems.append(f"is not valid before {_show(not_before)} (more than a day after "
                             f"{_show(at)})")
    elif at > not_after:
        time_problems.append(f"expired on {_show(not_after)}")
    elif not_after < add_months(at, EXPIRY_WARNING_MONTHS):
        warnings.append(f"expires on {_show(not_after)}, within {EXPIRY_WARNING_MONTHS} months")
    return problems, time_problems, warnings


def _show(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_root_key(listed_id: str, key: Key, gun: str, at: dt.datetime) -> RootCertificate:
    """Apply Notary's root certificate rules to one key listed for the root role."""
    verdict = RootCertificate(listed_id, key)
    if not key.is_certificate:
        verdict.problems.append(f"is a plain {key.keytype} key; Notary root keys must be "
                                "certificates (ecdsa-x509 or rsa-x509)")
        return verdict
    try:
        chain = key.certificates
        public_key = key.public_key  # also checks the key type matches the certificate's key
    except KeyFormatError as exc:
        verdict.problems.append(exc.reason)
        return verdict
    try:
        _judge(verdict, chain, public_key, gun, at)
    except Exception as exc:  # a certificate that parses but whose parts do not: fail closed
        verdict.problems.append(f"unreadable certificate: {exc}")
        verdict.key_id = None
    return verdict


def _judge(verdict: RootCertificate, chain: tuple[x509.Certificate, ...], public_key: object,
           gun: str, at: dt.datetime) -> None:
    """The rules proper; fills `verdict`."""
    key = verdict.key
    first_is_ca = is_ca(chain[0])
    if first_is_ca:
        verdict.problems.append("first certificate is a CA (CA:TRUE); Notary needs a non-CA "
                                "leaf certificate first (note: `openssl req -x509` sets CA:TRUE)")
        return
    leaves = [chain[0], *(cert for cert in chain[1:] if not is_ca(cert))]
    if len(leaves) != 1:
        verdict.problems.append(f"holds {len(leaves)} non-CA certificates; Notary needs exactly "
                                "one leaf")
        return
    leaf = verdict.leaf = chain[0]
    cn = common_name(leaf)
    if not cn_matches_gun(cn, gun):
        verdict.problems.append(f"certificate CN {cn!r} does not match the GUN {gun!r}")
    problems, time_problems, warnings = certificate_problems(leaf, at, public_key)
    verdict.problems += [f"certificate {text}" for text in problems]
    verdict.time_problems += [f"certificate {text}" for text in time_problems]
    verdict.warnings += [f"certificate {text}" for text in warnings]
    # Notary rebuilds the key from the leaf and the intermediates that pass the same checks.
    intermediates = []
    for cert in chain[1:]:
        bad, bad_time, _ = certificate_problems(cert, at)
        if bad or bad_time:
            verdict.warnings.append(f"intermediate {common_name(cert)!r} is ignored: "
                                    f"{'; '.join(bad + bad_time)}")
        else:
            intermediates.append(cert)
    try:
        if len(intermediates) == len(chain) - 1 and key.pem_is_go_layout:
            verdict.key_id = key.key_id  # Notary re-derives exactly this key
        else:
            verdict.key_id = key_from_certificate(leaf, intermediates).key_id
    except KeyFormatError as exc:  # e.g. an Ed25519 or DSA certificate: a problem to report
        verdict.problems.append(exc.reason)
        return verdict
    if verdict.key_id != verdict.listed_id:
        verdict.problems.append(
            f"Notary derives key ID {verdict.key_id} from this certificate (PEM not laid out as "
            "Go writes it, or an ignored intermediate), so signatures naming the listed ID do "
            "not count")
