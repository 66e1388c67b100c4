"""Pieces the root-key ceremonies share (rotate root, renew): times, root certificates, and
finding the token key behind a root key.

Durations and expiries follow the tool's one grammar (hsm/duration.py): `10y`, `6m`, `90d`,
`52w`, `12h` (a year is 365 days as in Notary, a month 30 days); an expiry may also be a date,
`2030-01-31` (midnight UTC) or `2030-01-31T12:00:00Z`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509

# Kept importable from here for the Notary ceremonies: the one duration reading, root algorithms.
from ceremony.ceremonies.durations import parse_duration, parse_expiry  # noqa: F401
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.params import ROOT_ALGORITHMS  # noqa: F401 (Notary v1 root keys)
from ceremony.errors import MetadataError
from ceremony.notary.ceremonies.runner import Run
from ceremony.notary.format.certs import check_root_key, common_name
from ceremony.notary.format.keyrules import require_verifiable
from ceremony.notary.format.keys import Key, key_from_certificate
from ceremony.notary.format.model import ROOT, Instant, Root
from ceremony.publicpem import read_public_pem
from hsm.keys import KeyInfo
from hsm.token import Token

CERT_MARGIN = dt.timedelta(days=1)
MAX_LIFETIME = dt.timedelta(days=36500)  # a re-issued certificate outlives the root it serves


def instant(moment: dt.datetime) -> Instant:
    return Instant.from_datetime(moment.replace(microsecond=0))


def cert_validity(expires: dt.datetime) -> dt.timedelta:
    """How long a certificate issued now must be valid to cover a root expiring `expires`."""
    return expires - dt.datetime.now(dt.UTC).replace(microsecond=0) + CERT_MARGIN


def cert_expiry(key: Key) -> dt.datetime | None:
    try:
        return key.certificates[0].not_valid_after_utc
    except (MetadataError, IndexError, ValueError):
        return None


def read_root_certificate(path: str, guns: Sequence[str],
                          flag: str = "--add-cert") -> tuple[str, Key]:
    """A root certificate made elsewhere (`ceremony key cert`): (GUN, key).

    It must follow Notary's root certificate rules for one of `guns` (CN = GUN, non-CA leaf,
    ECDSA or RSA key, valid now, no SHA-1, RSA >= 2048) and carry no private key."""
    data = read_public_pem(path, flag, wanted="the certificate", error=CeremonyRefused)
    try:
        certs = x509.load_pem_x509_certificates(data)
        require_verifiable(certs[0].public_key())
        key = key_from_certificate(certs[0], certs[1:])
    except (ValueError, TypeError, MetadataError) as exc:
        raise CeremonyRefused(f"{flag} {path}: not a usable PEM certificate "
                              f"({' '.join(str(exc).split())})") from None
    cn = common_name(certs[0])
    if cn not in guns:
        raise CeremonyRefused(f"{flag} {path}: certificate CN {cn!r} is none of the "
                              f"repositories of this ceremony ({', '.join(guns)}); a root "
                              "certificate is made for one GUN (ceremony key cert --gun GUN)")
    problem = root_cert_problem(key, cn)
    if problem:
        raise CeremonyRefused(f"{flag} {path}: Notary would refuse this root key: {problem}")
    return cn, key


def root_cert_problem(key: Key, gun: str, at: dt.datetime | None = None) -> str | None:
    """The first reason Notary would refuse `key` as a root key of `gun`, or None."""
    verdict = check_root_key(key.key_id, key, gun, at or dt.datetime.now(dt.UTC))
    problems = verdict.problems + verdict.time_problems
    return problems[0] if problems else None


def issue_root_certificate(token: Token, info: KeyInfo, gun: str,
                           valid_for: dt.timedelta) -> tuple[x509.Certificate, Key]:
    """The root certificate CN=`gun` for the token key `info`, issued by the token itself
    (Notary's root certificate rules: see hsm.x509), and its key object."""
    result = token.certificate(info.label, gun, valid_for=valid_for, key_id=info.id or None)
    return result.certificate, key_from_certificate(result.certificate)


def token_key(run: Run, key: Key) -> tuple[Token, KeyInfo] | None:
    """The token (among those opened) and the key on it behind `key` (plain or certificate)."""
    ident = key.identity
    if ident is None:
        return None
    from hsm.pubkey import public_key_der
    for token in run.tokens.tokens():
        for info in run.tokens.keys(token):
            if info.public_key is not None and public_key_der(info.public_key) == ident:
                return token, info
    return None


def same_key_in(root: Root, key: Key) -> str | None:
    """The key ID under which `root` already lists the public key of `key`, if any."""
    ident = key.identity
    for kid, listed in root.keys.items():
        if ident is not None and listed.identity == ident:
            return kid
    return None


def refuse_other_role(run: Run, key: Key, role: str, what: str) -> None:
    """Refuse `key` as a new `role` key if this workspace knows it in another role (retired or
    not): a targets key offered as a root key would let whoever holds the everyday signing key
    approve root changes, and a root key used as a targets key would sign every day."""
    try:
        canonical = key.canonical_key_id
    except MetadataError:
        return
    for rec in run.ws.keys_by_canonical_id(canonical):
        if rec.canonical_id != canonical or rec.role == role:
            continue
        guns = ", ".join(ascii(g)[1:-1] for g in rec.guns[:3]) + (
            f" and {len(rec.guns) - 3} more" if len(rec.guns) > 3 else "")
        raise CeremonyRefused(
            f"{what} is this workspace's {rec.role} key {rec.key_id} (token "
            f"'{rec.token_label}', key '{rec.key_label}'" + (f", for {guns}" if guns else "")
            + f"); a {rec.role} key is never made a {role} key: use a key of its own")


def same_key_role(root: Root, kid: str) -> str:
    """The roles of `root` that list key `kid` (for a message)."""
    roles = [name for name, role in root.roles.items() if kid in role.keyids]
    return " and ".join(roles) or "unused"


def root_key_line(root: Root, kid: str) -> str:
    key = root.keys[kid]
    until = cert_expiry(key)
    return f"{kid} (certificate valid until {until:%Y-%m-%d})" if until else kid


def describe_owner(run: Run, kid: str, key: Key) -> str:
    record = run.ws.key(kid)
    if record is None:
        found = run.describe_missing(kid, key)
        if found:
            return f"token '{found['token_label']}' key '{found['key_label']}'"
        return "a token unknown to this workspace"
    return f"token '{record.token_label}' key '{record.key_label}'"


def root_threshold_of(root: Root) -> int:
    return root.roles[ROOT].threshold
