"""`ceremony verify` for a Notary Project signature (the notation flavour): one JWS or COSE
envelope file, verified offline against pinned root CA(s), optionally the artifact it must be
for (a descriptor file or a digest / host/repo@digest reference) and CRL(s), as of now or
--at. ceremony/cli/verify.py dispatches here when PATH is a file or --format notation."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ceremony.cli.common import emit
from ceremony.notation.cli_common import load_certs, load_crls, load_descriptor, read
from ceremony.notation.errors import NotationError, SignatureVerificationError
from ceremony.notation.verify import Verified, sniff_media_type, verify

# The digest an --artifact names: sha256:<hex> alone or after '@' in host/repo@sha256:<hex>.
_ARTIFACT = re.compile(r"^(?:[^@\s]+@)?(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|"
                       r"sha512:[0-9a-f]{128})$")


def envelope_type(path: Path) -> str | None:
    """The envelope media type of a file that looks like one (first bytes only), else None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
        return sniff_media_type(head)
    except (OSError, NotationError):
        return None


def _artifact_digest(text: str) -> str:
    m = _ARTIFACT.match(text)
    if not m:
        raise NotationError(f"--artifact {text!r}: give the artifact's digest (sha256:<hex>) "
                            "or its reference host/repository@sha256:<hex>")
    return m[1]


def _check_crls_belong(chain: list[x509.Certificate], crls: list[x509.CertificateRevocationList],
                       paths: tuple[str, ...]) -> None:
    # A CRL of another CA would be skipped by the check and the signature reported as not
    # revoked although nothing was checked: refuse it instead.
    issuers = {c.subject for c in chain[1:]}
    for path, crl in zip(paths, crls, strict=True):
        if crl.issuer not in issuers:
            raise SignatureVerificationError(
                f"--crl {path} is the CRL of '{crl.issuer.rfc4514_string()}', not of a CA in "
                "this signature's chain: give the CRL of the CA that issued the signer")


def _report(result: Verified, at: dt.datetime, crl_paths: tuple[str, ...],
            expected: str | None) -> dict[str, Any]:
    c = result.content
    return {"valid": True, "format": "notation", "mediaType": c.media_type,
            "signer": result.signer, "signer_sha256": result.fingerprint,
            "chain": [cert.subject.rfc4514_string() for cert in result.chain],
            "root_sha256": result.chain[-1].fingerprint(hashes.SHA256()).hex(),
            "signing_time": c.signing_time.isoformat(),
            "expiry": c.expiry.isoformat() if c.expiry else None,
            "verified_at": at.isoformat(), "artifact": c.target.to_dict(),
            "artifact_checked": expected, "crls": list(crl_paths),
            "signing_agent": c.signing_agent}


def _print(d: dict[str, Any]) -> None:
    echo = click.echo
    echo(f"Notary Project signature ({d['mediaType']}): VERIFIED")
    echo(f"  signer        {d['signer']}  (SHA-256 {d['signer_sha256']})")
    echo(f"  chain         {' -> '.join(d['chain'])}  (pinned root)")
    echo(f"  artifact      {d['artifact']['digest']} ({d['artifact']['mediaType']}, "
         f"{d['artifact']['size']} bytes)"
         + ("" if d["artifact_checked"] else "  (not compared: no --descriptor/--artifact)"))
    echo(f"  signed        {d['signing_time']}" +
         (f", expires {d['expiry']}" if d["expiry"] else ", no expiry"))
    echo(f"  verified at   {d['verified_at']}")
    echo(f"  revocation    {', '.join(d['crls']) if d['crls'] else 'not checked (no --crl)'}")


def verify_notation(path: Path, *, roots: tuple[str, ...], descriptor: str | None,
                    artifact: str | None, crl_paths: tuple[str, ...], at: dt.datetime | None,
                    as_json: bool) -> None:
    """Verify the envelope in PATH; prints the report, raises a NotationError (one line)."""
    if not roots:
        raise click.UsageError("a Notary Project signature needs --root-ca FILE (the pinned "
                               "root CA certificate)")
    if descriptor and artifact:
        raise click.UsageError("give --descriptor or --artifact, not both")
    if path.is_dir():
        raise click.UsageError(f"{path} is a folder: --format notation verifies one signature "
                               "envelope file (JWS or COSE)")
    pinned = [load_certs(r)[-1] for r in roots]
    expected = load_descriptor(descriptor) if descriptor else None
    digest = _artifact_digest(artifact) if artifact else None
    crls = load_crls(crl_paths)
    at = at or dt.datetime.now(dt.UTC)
    result = verify(read(str(path), "envelope"), pinned, expected=expected, crls=crls, at=at)
    _check_crls_belong(result.chain, crls, crl_paths)
    if digest is not None and result.content.target.digest != digest:
        raise SignatureVerificationError(
            f"the signature is for {result.content.target.digest}, not for {digest}")
    checked = expected.digest if expected else digest
    emit(_report(result, at, crl_paths, checked), as_json, _print)
