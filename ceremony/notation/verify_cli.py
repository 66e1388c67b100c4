"""`ceremony verify` for Notary Project signatures (the notation flavour), offline, against
pinned root CA(s) and CRL(s), as of now or --at. ceremony/cli/verify.py dispatches here when
PATH is a file or --format notation.

- One JWS or COSE envelope file (`verify_notation`): optionally the artifact it must be for (a
  descriptor file or a digest / host/repo@digest reference); a report, or one error line.
- A `sign-descriptors` response bundle, or several PATHs (`verify_signatures`): every envelope
  against the descriptor the bundle pairs it with (an envelope file: --descriptor/--artifact
  if given); one line per envelope, a summary, exit 0 only if every one verifies."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ceremony.cli.common import emit
from ceremony.notation.cli_common import load_certs, load_crls, load_descriptor, read
from ceremony.notation.errors import NotationError, SignatureVerificationError
from ceremony.notation.payload import COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, Descriptor
from ceremony.notation.verify import Verified, parse_envelope, sniff_media_type, verify

# The digest an --artifact names: sha256:<hex> alone or after '@' in host/repo@sha256:<hex>.
_ARTIFACT = re.compile(r"^(?:[^@\s]+@)?(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|"
                       r"sha512:[0-9a-f]{128})$")


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


def _trust(roots: tuple[str, ...], descriptor: str | None, artifact: str | None,
           crl_paths: tuple[str, ...], at: dt.datetime | None) -> tuple[
               list[x509.Certificate], Descriptor | None, str | None,
               list[x509.CertificateRevocationList], dt.datetime]:
    """What every signature is checked against: the pinned roots, the descriptor or artifact
    digest it must be for (if given), the CRLs, the time (now unless --at)."""
    if not roots:
        raise click.UsageError("a Notary Project signature needs --root-ca FILE (the pinned "
                               "root CA certificate)")
    if descriptor and artifact:
        raise click.UsageError("give --descriptor or --artifact, not both")
    return ([load_certs(r)[-1] for r in roots],
            load_descriptor(descriptor) if descriptor else None,
            _artifact_digest(artifact) if artifact else None,
            load_crls(crl_paths), at or dt.datetime.now(dt.UTC))


def verify_notation(path: Path, *, roots: tuple[str, ...], descriptor: str | None,
                    artifact: str | None, crl_paths: tuple[str, ...], at: dt.datetime | None,
                    as_json: bool) -> None:
    """Verify the envelope in PATH; prints the report, raises a NotationError (one line)."""
    if path.is_dir():
        raise click.UsageError(f"{path} is a folder: --format notation verifies one signature "
                               "envelope file (JWS or COSE)")
    pinned, expected, digest, crls, at = _trust(roots, descriptor, artifact, crl_paths, at)
    result = verify(read(str(path), "envelope"), pinned, expected=expected, crls=crls, at=at)
    _check_crls_belong(result.chain, crls, crl_paths)
    if digest is not None and result.content.target.digest != digest:
        raise SignatureVerificationError(
            f"the signature is for {result.content.target.digest}, not for {digest}")
    checked = expected.digest if expected else digest
    emit(_report(result, at, crl_paths, checked), as_json, _print)


# --- many signatures: a response bundle, several envelope files ------------------------------

# A bundle is canonical JSON (keys sorted: "content" first); one reformatted by hand starts
# with "format" or "content" too, and is then refused by the bundle reader, naming why.
_BUNDLE_HEAD = re.compile(rb'\s*\{\s*"(?:content|format)"\s*:')
ENVELOPE, BUNDLE = "envelope", "bundle"
_SHOWN_FAILURES = 10

# What to do with a bundle that is not a notation signatures response: the command that reads it.
_OTHER_BUNDLES = {
    ("Notary v1", "request"): "a Notary v1 ceremony signs it (--request); Notary v1 trust data "
                              "is verified from a folder: `ceremony verify FOLDER --gun GUN`",
    ("Notary v1", "response"): "`ceremony status RESP` shows what it holds and `ceremony online "
                               "publish` uploads it; the published trust data is verified "
                               "with `ceremony verify FOLDER --gun GUN`",
    ("tuf", "request"): "a TUF ceremony signs it (`ceremony tuf ... --request`)",
    ("tuf", "response"): "`ceremony tuf apply` writes it into the metadata folder, then "
                         "`ceremony tuf verify FOLDER` verifies it",
    ("notation", "sign"): "sign it first: `ceremony notation sign-descriptors --request`, "
                          "then verify the response",
    ("notation", "issue"): "the CA reads it: `ceremony notation ca issue --request`",
    ("notation", "issued"): "it carries certificates, not signatures: `ceremony notation "
                            "unpack --response`",
    ("notation", "crl"): "it carries a CRL: `ceremony notation unpack --response`, then give "
                         "the CRL with --crl",
}


def input_kind(path: Path) -> str | None:
    """ENVELOPE (JWS or COSE), BUNDLE, or None for a file that is neither (first bytes only)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return None
    if _BUNDLE_HEAD.match(head):
        return BUNDLE
    try:
        sniff_media_type(head)
    except NotationError:
        return None
    return ENVELOPE


@dataclass(frozen=True)
class Signature:
    """One envelope to verify and what it must be for."""

    label: str                       # the bundle's reference, or the envelope file's path
    raw: bytes
    media_type: str
    expected: Descriptor | None      # the descriptor the bundle pairs it with, or --descriptor
    thumbprints: list[str] | None    # what `attach` will annotate (bundle entries only)


@dataclass(frozen=True)
class Verdict:
    signature: Signature
    result: Verified | None
    reason: str | None


def _other_bundle(path: Path, system: str, kind: str, content_type: Any) -> NotationError:
    key = (system, content_type if system == "notation" else kind)
    what = f"a {system} {kind} bundle" + (f" of type {content_type!r}" if system == "notation"
                                          else "")
    hint = _OTHER_BUNDLES.get(key, "this command verifies the response of `ceremony notation "
                                   "sign-descriptors`")
    return NotationError(f"{path} is {what}, not a notation signatures response: {hint}")


def read_response(path: Path) -> list[Signature]:
    """The envelopes of a `sign-descriptors` response bundle, each with its descriptor (the
    bundle's frame, digest and content read strictly by the notation bundle reader)."""
    from ceremony.notation import bundles
    from groundfloor.errors import GroundFloorError
    from groundfloor.files import read_limited
    from groundfloor.limits import MAX_BUNDLE_BYTES
    from transfer.systembundle import SystemBundle, parse_any_bundle
    try:
        bundle = parse_any_bundle(read_limited(path, MAX_BUNDLE_BYTES, what="bundle"))
    except GroundFloorError as exc:
        raise NotationError(f"{path}: {exc}") from None
    if not isinstance(bundle, SystemBundle):
        raise _other_bundle(path, "Notary v1", bundle.kind, None)
    content_type = bundle.content.get("type")
    if bundle.system != bundles.SYSTEM or bundle.kind != "response" or \
            content_type != "signatures":
        raise _other_bundle(path, bundle.system, bundle.kind, content_type)
    out = []
    for i, (entry, raw) in enumerate(bundles.read_signatures(bundle.content)):
        out.append(Signature(entry["reference"], raw, entry["mediaType"],
                             Descriptor.from_dict(entry["descriptor"],
                                                  f"response.signatures[{i}].descriptor"),
                             list(entry["thumbprints"])))
    return out


def _verify_one(sig: Signature, pinned: list[x509.Certificate],
                crls: list[x509.CertificateRevocationList], at: dt.datetime,
                digest: str | None) -> Verdict:
    try:
        result = verify(sig.raw, pinned, media_type=sig.media_type, expected=sig.expected,
                        crls=crls, at=at)
        signed = result.content.target.digest
        if digest is not None and signed != digest:
            raise SignatureVerificationError(f"the signature is for {signed}, not for {digest}")
        chain = [c.fingerprint(hashes.SHA256()).hex() for c in result.chain]
        if sig.thumbprints is not None and sig.thumbprints != chain:
            # `attach` would publish them as the thumbprint annotation: notation would not
            # find the signature by its chain.
            raise SignatureVerificationError("the bundle's thumbprints are not the SHA-256 "
                                             "fingerprints of the envelope's chain")
        named = _ARTIFACT.match(sig.label) if sig.thumbprints is not None else None
        if named and named[1] != signed:  # a bundle's host/repo@digest reference
            raise SignatureVerificationError(f"the reference names {named[1]}, the signature "
                                             f"is for {signed}")
    except NotationError as exc:
        return Verdict(sig, None, str(exc))
    return Verdict(sig, result, None)


def _claimed_signer(sig: Signature) -> str | None:
    """The subject of the certificate a refused envelope carries (unverified), if readable."""
    try:
        content = parse_envelope(sig.raw, sig.media_type)
        return x509.load_der_x509_certificate(content.chain_der[0]).subject.rfc4514_string()
    except (NotationError, ValueError, IndexError):
        return None


def _row(v: Verdict, at: dt.datetime, crls: list[x509.CertificateRevocationList],
         crl_paths: tuple[str, ...], digest: str | None) -> dict[str, Any]:
    sig = v.signature
    row: dict[str, Any] = {"label": sig.label, "valid": v.result is not None,
                           "reason": v.reason, "envelope": _FORMATS.get(sig.media_type, "?")}
    if v.result is None:
        claimed = sig.expected.digest if sig.expected else digest
        return {**row, "mediaType": sig.media_type, "digest": claimed,
                "signer": _claimed_signer(sig), "verified_at": at.isoformat()}
    issuers = {c.subject for c in v.result.chain[1:]}
    used = tuple(p for p, crl in zip(crl_paths, crls, strict=True) if crl.issuer in issuers)
    checked = sig.expected.digest if sig.expected else digest
    report = _report(v.result, at, used, checked)
    del report["format"]  # "notation" for every row; "envelope" says JWS or COSE
    return {**report, **row, "digest": v.result.content.target.digest}


_FORMATS = {JWS_MEDIA_TYPE: "JWS", COSE_MEDIA_TYPE: "COSE"}


def _print_rows(rows: list[dict[str, Any]], crl_paths: tuple[str, ...]) -> None:
    echo = click.echo
    for r in rows:
        verdict = "VERIFIED" if r["valid"] else f"FAILED: {r['reason']}"
        echo(f"{r['label']}  {r['digest'] or '(digest unknown)'}  {r['envelope']}  "
             f"{r['signer'] or '(signer unknown)'}  {verdict}")
    ok = sum(1 for r in rows if r["valid"])
    echo(f"{ok} of {len(rows)} signature(s) verified"
         + (f", {len(rows) - ok} FAILED" if ok < len(rows) else "")
         + f"; verified at {rows[0]['verified_at']}; revocation "
         + (f"checked with {', '.join(crl_paths)}" if crl_paths else "not checked (no --crl)"))


def _check_crls_used(crls: list[x509.CertificateRevocationList], paths: tuple[str, ...],
                     verdicts: list[Verdict]) -> None:
    issuers = {c.subject for v in verdicts if v.result for c in v.result.chain[1:]}
    for path, crl in zip(paths, crls, strict=True):
        if crl.issuer not in issuers:
            raise SignatureVerificationError(
                f"--crl {path} is the CRL of '{crl.issuer.rfc4514_string()}', not of a CA in "
                "these signatures' chains: give the CRL of the CA that issued the signer")


def verify_signatures(paths: tuple[Path, ...], kinds: list[str | None], *,
                      roots: tuple[str, ...], descriptor: str | None, artifact: str | None,
                      crl_paths: tuple[str, ...], at: dt.datetime | None,
                      as_json: bool) -> None:
    """Verify every envelope in PATHS (response bundles and envelope files): one line each and
    a summary (or a JSON list); raises a NotationError naming the ones that failed."""
    if (descriptor or artifact) and BUNDLE in kinds:
        raise click.UsageError("a response bundle pairs each signature with its descriptor: "
                               "--descriptor and --artifact are for envelope files")
    for path in paths:
        if path.is_dir():
            raise click.UsageError(f"{path} is a folder: several PATHs are Notary Project "
                                   "signatures (envelope files or response bundles)")
    pinned, expected, digest, crls, at = _trust(roots, descriptor, artifact, crl_paths, at)
    signatures: list[Signature] = []
    for path, kind in zip(paths, kinds, strict=True):
        if kind == BUNDLE:
            signatures += read_response(path)
        else:
            raw = read(str(path), "envelope")
            signatures.append(Signature(str(path), raw, sniff_media_type(raw), expected, None))
    verdicts = [_verify_one(s, pinned, crls, at, digest) for s in signatures]
    rows = [_row(v, at, crls, crl_paths, digest) for v in verdicts]
    failed = [r for r in rows if not r["valid"]]
    if not failed:  # all verified: a CRL that checked none of them is an error of its own
        _check_crls_used(crls, crl_paths, verdicts)
    emit(rows, as_json, lambda d: _print_rows(d, crl_paths))
    if failed:
        named = ", ".join(f"{r['label']}" + (f" ({r['digest']})" if r["digest"] else "")
                          for r in failed[:_SHOWN_FAILURES])
        more = (f" and {len(failed) - _SHOWN_FAILURES} more" if len(failed) > _SHOWN_FAILURES
                else "")
        raise SignatureVerificationError(
            f"{len(failed)} of {len(rows)} signature(s) did not verify: {named}{more} (each "
            "line above gives the reason); do not attach or publish them")
