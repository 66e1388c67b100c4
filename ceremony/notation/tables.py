"""The parameters of each Notary v2 (notation) ceremony, declared once (ceremonies/params.py).

From each table the command line makes its options (ca_cli.py, sign_cli.py, cli.py), a ceremony
script makes its action (scripts/notation_spec.py) and both build the ceremony with
`Table.build`. A notation ceremony is a function of the session's options and console
(ca_ceremonies.py, csr_ceremony.py, sign_ceremony.py); what a table builds is that function
with the ceremony's own arguments bound, called once the session's options are known.

What stays outside the tables is the session frame (`--out`, `--request`, `--workspace`, PIN
sources, ...), which every command declares and a script step gives as `out`/`request`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from ceremony.ceremonies import params
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.notation.ca_ceremonies import ca_crl, ca_init, ca_intermediate, ca_issue
from ceremony.notation.ca_ceremonies import ca_public_files as ca_export
from ceremony.notation.csr_ceremony import csr_request
from ceremony.notation.sign_ceremony import sign_request

NOTATION_ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-3072", "rsa-4096")
CERTIFICATE_REF = ("certificate", "file")  # an earlier step's certificate, or an input file


def bound(ceremony: Any) -> Any:
    """A table's `make`: `ceremony` with the keyword arguments given (`make.args[0]` is it)."""
    return partial(partial, ceremony)


def _subject(text: str, flag: str) -> str:
    """A distinguished name as notation writes it; refused in certs.parse_subject's words."""
    from ceremony.notation.certs import parse_subject
    parse_subject(text)
    return text


def _ca_name(text: str, flag: str) -> str:
    """A CA's name in the workspace, by the workspace's own rule (castate.py)."""
    from ceremony.notation.castate import check_ca_name
    return check_ca_name(text)


def serial_hex(text: str, flag: str) -> str:
    """A certificate serial number in hex (`0x` and capitals allowed), as `ca show` lists it."""
    serial = text.lower().removeprefix("0x")
    if not serial or any(c not in "0123456789abcdef" for c in serial):
        raise CeremonyRefused(f"{flag} {text!r}: expected a certificate serial number in hex "
                              "(as `ceremony notation ca show` lists them)")
    return serial


def _certificates(path: str) -> Any:
    from ceremony.notation.cli_common import load_certs
    return load_certs(path)


def revoke(*, certificates: Sequence[Any] = (), serials: Sequence[str] = (),
           **kwargs: Any) -> Any:
    """`ca revoke`'s make: the serials given and those of the certificates given, revoked by
    `ca_crl` (certificates first, as the command line always listed them)."""
    listed = [f"{chain[0].serial_number:x}" for chain in certificates]
    return partial(ca_crl, revoke=[*listed, *serials], **kwargs)


# --- parameters several notation ceremonies share -----------------------------------------

CA_DIR = params.Param("ca-dir", "Compatibility: a loose CA folder instead of the workspace "
                      "(no transcript, no confirmation).", metavar="DIR", arg=None,
                      cli_only=True)
CA = params.Param("ca", "The CA in the workspace.", default="root", metavar="NAME",
                  check=_ca_name)  # the workspace's rule only, in its words
CA_TOKEN = params.Param("ca-token", "Token of the CA key (default: the one the workspace "
                        "names).", token="ca", script_required=True)  # a script names it
TOKEN = params.Param("token", "Token holding the CA key.", token="ca", required=True)
LABEL = params.Param("label", "Label of the CA key (ceremony key generate).",
                     kind=params.KEY_LABEL, required=True)
SUBJECT = params.Param("subject", "e.g. 'C=US, ST=WA, O=Example, CN=Root CA'.",
                       kind=params.SUBJECT, required=True, check=_subject)
ALGORITHM = params.Param("algorithm", "Generate the key on the token with this algorithm if it "
                         "has none labelled --label (default: the key must exist).",
                         kind=params.CHOICE, choices=NOTATION_ALGORITHMS)
CRL_VALID_FOR = params.Param("valid-for", "Until the CRL's nextUpdate.", kind=params.DURATION,
                             default="30d")


def _valid_for(default: str, help: str) -> params.Param:
    return params.Param("valid-for", help, kind=params.DURATION, default=default)


CA_INIT = params.Table("notation-ca-init", bound(ca_init), (
    CA_DIR,
    CA,
    TOKEN,
    LABEL,
    SUBJECT,
    _valid_for("20y", "Lifetime of the root CA certificate."),
    ALGORITHM,
    params.Param("path-length", "CAs allowed below the root (1: one intermediate).",
                 kind=params.INT, default=1, bounds=(0, 4)),
))

CA_INTERMEDIATE = params.Table("notation-ca-intermediate", bound(ca_intermediate), (
    CA_DIR,
    params.Param("out-dir", "Compatibility (--ca-dir): the new CA folder.", metavar="DIR",
                 arg=None, cli_only=True),
    params.like(CA, key="parent", help="The issuing CA in the workspace."),
    params.like(CA, default="issuing", help="Name of the new CA in the workspace."),
    params.like(CA_TOKEN, key="parent-token", help="Token of the issuing CA's key (default: "
                "the one the workspace names)."),
    params.like(TOKEN, help="Token holding the new CA key."),
    params.like(LABEL, help="Label of the new CA key."),
    SUBJECT,
    _valid_for("10y", "Lifetime of the intermediate CA certificate."),
    ALGORITHM,
))

CA_ISSUE = params.Table("notation-ca-issue", bound(ca_issue), (
    CA_DIR,
    params.Param("csr", "Compatibility (--ca-dir): one PKCS#10 CSR (PEM/DER).", metavar="FILE",
                 arg=None, cli_only=True),
    CA,
    CA_TOKEN,
    _valid_for("1y", "Lifetime of the signing certificates."),
    params.Param("crl-url", "Put this CRL distribution point in the certificate (only if "
                 "verifiers can fetch it).", kind=params.URL, metavar="URL"),
))

CA_REVOKE = params.Table("notation-ca-revoke", revoke, (
    CA_DIR,
    CA,
    CA_TOKEN,
    params.Param("certificates", "A certificate to revoke (repeatable).", flag="--cert",
                 metavar="FILE", multiple=True, ref=CERTIFICATE_REF, load=_certificates),
    params.Param("serials", "Or its serial number (hex; repeatable).", flag="--serial",
                 kind=params.SERIAL, metavar="HEX", multiple=True, check=serial_hex),
    CRL_VALID_FOR,
), rules=(params.any_of("certificates", "serials", hint="(what to revoke; serials in hex, as "
                        "`ceremony notation ca show` lists them)"),))

CA_CRL = params.Table("notation-ca-crl", bound(ca_crl), (CA_DIR, CA, CA_TOKEN, CRL_VALID_FOR))

CA_EXPORT = params.Table("notation-export", bound(ca_export), (CA,))

CSR = params.Table("notation-csr", bound(csr_request), (
    params.like(TOKEN, help="Token holding the signing key.", token="signing"),
    params.like(LABEL, help="Label of the signing key."),
    params.like(SUBJECT, help="e.g. 'C=US, O=Example, CN=Example Release Signing'."),
    ALGORITHM,
    params.Param("name", "Name of the CSR in the request bundle (default: the key label).",
                 kind=params.NAME, metavar="NAME"),
))

SIGN = params.Table("notation-sign", bound(sign_request), (
    params.like(TOKEN, help="Token holding the signing key.", token="signing"),
    params.like(LABEL, help="Label of the signing key."),
    params.Param("chain", "The key's certificate chain (PEM, leaf first); default: the "
                 "certificate the workspace's CA issued for the key.", metavar="FILE",
                 ref=CERTIFICATE_REF, load=_certificates),
    params.Param("envelope", "Signature envelope format.", kind=params.CHOICE, default="jws",
                 choices=("jws", "cose")),
    params.Param("expiry", "Signature expiry, e.g. 365d (none default).", kind=params.DURATION),
    params.Param("descriptors", "Compatibility: sign without the ceremony frame (with "
                 "--out-dir).", metavar="FILE", arg=None, cli_only=True),
    params.Param("out-dir", "Compatibility: with --descriptors.", metavar="DIR", arg=None,
                 cli_only=True),
))

TABLES: dict[str, params.Table] = {t.action: t for t in (
    CA_INIT, CA_INTERMEDIATE, CA_ISSUE, CA_REVOKE, CA_CRL, CA_EXPORT, CSR, SIGN)}
