"""The script actions of Notary v2 (notation) ceremonies: their descriptions (executors in
notation_steps.py). Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.

Each runs the same library function as its command (ceremony/notation/ca_ceremonies.py,
sign_ceremony.py), inside the session frame, recorded as a step of the script's transcript.
Request inputs are notation request bundles (kind `request`, their `bundle sha256` as
`ceremony notation resolve` / `request csr` print it); responses cross with transfer-send.
"""

from __future__ import annotations

from typing import Any

from ceremony.scripts import fields as f
from ceremony.scripts.action import CERTIFICATE, PINS, REQUEST, RESPONSE, ActionSpec

_OUT = {"out": lambda v, w: f.path(v, w, relative=True)}
_CA = {"ca": f.name, "ca-token": f.name}
NOTATION_ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-3072", "rsa-4096")


def _subject(value: object, where: str) -> str:
    from ceremony.errors import CeremonyError
    from ceremony.notation.certs import parse_subject
    text = f.text(value, where, limit=400)
    try:
        parse_subject(text)
    except CeremonyError as exc:
        raise f.fail(where, " ".join(str(exc).split())) from None
    return text


def _check_revoke(p: dict[str, Any], where: str, setup: bool) -> None:
    if not p.get("serials") and not p.get("certificates"):
        raise f.fail(where, "notation-ca-revoke needs serials (hex, as `ceremony notation ca "
                            "show` lists them) or certificates")


def _serial(value: object, where: str) -> str:
    text = f.text(value, where, limit=64).lower().removeprefix("0x")
    if not text or any(c not in "0123456789abcdef" for c in text):
        raise f.fail(where, "expected a certificate serial number in hex")
    return text


ACTIONS: dict[str, ActionSpec] = {a.name: a for a in [
    ActionSpec("notation-ca-init", "notation: a root CA whose key is generated (or reused) on "
               "a token, self-signed, kept in the workspace",
               {"ca": f.name, "token": f.name, "label": f.key_label, "subject": _subject,
                "algorithm": f.choice(NOTATION_ALGORITHMS), "valid-for": f.duration,
                "path-length": lambda v, w: f.integer(v, w, minimum=0, maximum=4), **_OUT},
               required=("token", "label", "subject", "out"), tokens=("token",),
               output=CERTIFICATE),
    ActionSpec("notation-csr", "notation: a certificate request for a signing key on a token "
               "(generated there if asked and missing), packed as a request bundle for "
               "notation-ca-issue",
               {"token": f.name, "label": f.key_label, "subject": _subject,
                "algorithm": f.choice(NOTATION_ALGORITHMS), "name": f.name, **_OUT},
               required=("token", "label", "subject", "out"), tokens=("token",),
               output=REQUEST),
    ActionSpec("notation-ca-intermediate", "notation: an intermediate CA on another token, "
               "issued by a CA of the workspace",
               {"parent": f.name, "parent-token": f.name, "ca": f.name, "token": f.name,
                "label": f.key_label, "subject": _subject,
                "algorithm": f.choice(NOTATION_ALGORITHMS), "valid-for": f.duration, **_OUT},
               required=("parent-token", "token", "label", "subject", "out"),
               tokens=("parent-token", "token"), output=CERTIFICATE),
    ActionSpec("notation-ca-issue", "notation: signing certificates for the CSRs of a request "
               "bundle, every rule checked; a response bundle with their chains",
               {"request": f.name, **_CA, "valid-for": f.duration,
                "crl-url": lambda v, w: f.text(v, w, limit=400), **_OUT},
               required=("request", "ca-token", "out"), refs={"request": (REQUEST,)},
               tokens=("ca-token",), output=RESPONSE),
    ActionSpec("notation-ca-revoke", "notation: revoke signing certificates and issue a CRL; a "
               "response bundle carrying it, to publish",
               {**_CA, "serials": f.listed(_serial), "certificates": f.listed(f.name),
                "valid-for": f.duration, **_OUT},
               required=("ca-token", "out"), refs={"certificates": (CERTIFICATE, "file")},
               tokens=("ca-token",), output=RESPONSE, check=_check_revoke),
    ActionSpec("notation-ca-crl", "notation: a fresh CRL (renewal before nextUpdate); a "
               "response bundle carrying it",
               {**_CA, "valid-for": f.duration, **_OUT}, required=("ca-token", "out"),
               tokens=("ca-token",), output=RESPONSE),
    ActionSpec("notation-sign", "notation: sign the artifacts of a request bundle with a token "
               "key (JWS or COSE envelopes); a response bundle for `attach --response`",
               {"request": f.name, "token": f.name, "label": f.key_label,
                "envelope": f.choice(("jws", "cose")), "expiry": f.duration,
                "chain": f.name, **_OUT},
               required=("request", "token", "label", "out"),
               refs={"request": (REQUEST,), "chain": (CERTIFICATE, "file")},
               tokens=("token",), output=RESPONSE),
    ActionSpec("notation-export", "notation: the CA's public files (ca.crt, chain.pem, "
               "root.crt, newest CRL) for verifiers and people",
               {"ca": f.name, **_OUT}, required=("out",), output=PINS),
]}
