"""`ceremony verify`: full offline verification of a repository's trust data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ceremony.cli.common import emit, json_option
from ceremony.errors import MetadataFormatError
from ceremony.notary.format.repository import read_repository
from ceremony.notary.format.repository_check import parse_at, verify_repository
from groundfloor.names import InvalidName, validate_gun, validate_role


def _trusted_versions(values: tuple[str, ...]) -> dict[str, int]:
    versions = {}
    for value in values:
        role, _, number = value.partition("=")
        if not role or not (number.isascii() and number.isdigit()) or len(number) > 16:
            raise MetadataFormatError(f"--trusted-version {ascii(value)}: expected ROLE=N, e.g. "
                                      "timestamp=42")
        try:
            versions[validate_role(role)] = int(number)
        except InvalidName as exc:
            raise MetadataFormatError(f"--trusted-version {ascii(value)}: {exc}") from None
    return versions


def _gun(gun: str) -> str:
    try:
        return validate_gun(gun)
    except InvalidName as exc:
        raise MetadataFormatError(f"--gun: {exc}") from None


def _dispatch_tuf(path: Path, fmt: str | None, gun: str | None, notary_only: bool,
                  trusted_root: str | None, at: str | None, as_json: bool) -> bool:
    """Run the TUF 1.0 verifier when PATH is TUF 1.0 (detected, or --format tuf); False when
    PATH is for the Notary v1 verifier below."""
    from ceremony.tuf.flavour import NOTARY, TUF, detect_flavour
    flavour = fmt or detect_flavour(path) or NOTARY
    if flavour == NOTARY:
        if gun is None:
            raise click.UsageError("Notary v1 metadata needs --gun (for TUF 1.0 metadata, "
                                   "--format tuf)")
        if trusted_root is not None:
            raise click.UsageError("--trusted-root is for TUF 1.0 metadata; Notary v1 pins "
                                   "with --root-cert-id")
        return False
    if gun is not None or notary_only:
        raise click.UsageError("--gun, --root-cert-id and --trusted-version are for Notary v1 "
                               f"metadata; {path} is TUF 1.0 (see `ceremony tuf verify`)")
    from ceremony.tuf.cli import verify_tuf
    assert flavour == TUF
    verify_tuf(str(path), trusted_root=trusted_root, at=at, as_json=as_json)
    return True


def _dispatch_notation(paths: tuple[Path, ...], fmt: str | None, others: bool,
                       notation: dict[str, Any], at: str | None, as_json: bool) -> bool:
    """Verify Notary Project signatures when PATH is a file (detected: an envelope or a
    response bundle; several PATHs are all signatures) or with --format notation; False when
    PATH is metadata for the verifiers below."""
    from ceremony.notation.verify_cli import (
        BUNDLE,
        ENVELOPE,
        input_kind,
        verify_notation,
        verify_signatures,
    )
    path = paths[0]
    if fmt not in (None, "notation") or (fmt is None and not path.is_file()):
        if any(notation.values()):
            raise click.UsageError("--root-ca, --descriptor, --artifact and --crl are for a "
                                   "Notary Project signature (an envelope file)")
        if path.is_file():
            raise click.UsageError(f"{path} is a file: Notary v1 and TUF 1.0 metadata are "
                                   "verified from a folder")
        if len(paths) > 1:
            raise click.UsageError("several PATHs are for Notary Project signatures (envelope "
                                   "files, response bundles); metadata: one folder per run")
        return False
    kinds = [input_kind(p) for p in paths]
    for p, kind in zip(paths, kinds, strict=True):
        if fmt is None and kind is None and p.is_file():
            raise click.UsageError(f"{p} is a file but not a Notary Project signature envelope "
                                   "(JWS JSON or COSE) or response bundle: give an envelope, a "
                                   "response, or a metadata folder")
    if others:
        raise click.UsageError("--gun, --trusted-root, --root-cert-id and --trusted-version are "
                               f"for repository metadata; {path} is a Notary Project signature")
    when = parse_at(at).to_datetime() if at is not None else None
    if len(paths) == 1 and kinds[0] != BUNDLE:
        verify_notation(path, at=when, as_json=as_json, **notation)
    else:
        verify_signatures(paths, [k or ENVELOPE for k in kinds], at=when, as_json=as_json,
                          **notation)
    return True


@click.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["notary", "tuf", "notation"]),
              help="Notary v1 or TUF 1.0 (default: detected from PATH's root), or a Notary "
                   "Project signature (default when PATH is a JWS or COSE envelope file, or "
                   "a notation sign-descriptors response bundle).")
@click.option("--gun", help="Globally unique name, e.g. docker.io/library/app (Notary v1).")
@click.option("--trusted-root", metavar="FILE",
              help="TUF 1.0: the root this machine trusts (default: PATH/1.root.json).")
@click.option("--root-cert-id", "root_cert_ids", multiple=True, metavar="ID",
              help="Pinned root certificate ID (as in trust_pinning.certs); repeatable.")
@click.option("--trusted-version", "trusted_versions", multiple=True, metavar="ROLE=N",
              help="Lowest version already trusted for a role (rollback check); repeatable.")
@click.option("--root-ca", "roots", multiple=True, metavar="FILE",
              help="Notary Project: pinned root CA certificate (PEM/DER); repeatable.")
@click.option("--descriptor", metavar="FILE",
              help="Notary Project: the artifact's descriptor (JSON) the signature must be for.")
@click.option("--artifact", metavar="DIGEST|REF",
              help="Notary Project: or the artifact's digest, or host/repository@digest.")
@click.option("--crl", "crl_paths", multiple=True, metavar="FILE",
              help="Notary Project: CRL (PEM/DER) of a CA in the chain; repeatable.")
@click.option("--at", "at", metavar="TIME", help="Verify as of this time (RFC 3339; default now).")
@json_option
def verify(paths: tuple[Path, ...], fmt: str | None, gun: str | None, trusted_root: str | None,
           root_cert_ids: tuple[str, ...], trusted_versions: tuple[str, ...],
           roots: tuple[str, ...], descriptor: str | None, artifact: str | None,
           crl_paths: tuple[str, ...], at: str | None, as_json: bool) -> None:
    """Verify the Notary v1 metadata of GUN, or the TUF 1.0 metadata, found in PATH, offline.

    PATH is a notary client trust dir (with tuf/GUN/metadata), such a metadata directory, or a
    folder of files downloaded from a Notary server, including the N.root.json history. Exits 0
    only if everything verifies; every warning is reported. A TUF 1.0 folder (python-tuf,
    RSTUF, tuf-on-ci) is verified as `ceremony tuf verify` does. A Notary Project (notation)
    signature envelope file is verified against --root-ca, at signing time and now; so is every
    envelope of a `notation sign-descriptors` response bundle, each against the descriptor it
    is paired with (several envelope files or bundles: one line each and a summary).
    """
    if _dispatch_notation(paths, fmt, bool(gun or trusted_root or root_cert_ids or
                                          trusted_versions),
                          {"roots": roots, "descriptor": descriptor, "artifact": artifact,
                           "crl_paths": crl_paths}, at, as_json):
        return
    path = paths[0]  # metadata: one folder (checked by _dispatch_notation)
    if _dispatch_tuf(path, fmt, gun, bool(root_cert_ids or trusted_versions), trusted_root,
                     at, as_json):
        return
    assert gun is not None
    gun = _gun(gun)  # it becomes part of a path (PATH/tuf/GUN/metadata): checked first
    files = read_repository(path, gun)
    report = verify_repository(files, gun, at=parse_at(at) if at is not None else None,
                               root_cert_ids=root_cert_ids,
                               trusted_versions=_trusted_versions(trusted_versions))
    emit(report.to_dict(), as_json, _print_report)
    report.raise_for_errors()


def _print_report(data: dict[str, Any]) -> None:
    echo = click.echo
    echo(f"Repository {data['gun']}: {'VERIFIED' if data['ok'] else 'FAILED'}")
    echo(f"  metadata in   {data['source']}")
    echo(f"  verified at   {data['verified_at']}")
    trust = data["trust"]
    if trust["mode"] == "pinned":
        echo(f"  trust         pinned root certificate ID(s), anchored at root version "
             f"{trust['anchor_version']}")
    elif trust["mode"] == "tofu":
        echo(f"  trust         first use of root version {trust['anchor_version']} "
             "(nothing pinned)")
    elif trust["mode"]:
        echo(f"  trust         previously trusted root version {trust['anchor_version']}")
    if data["root_chain"]:
        versions = [str(root["version"]) for root in data["root_chain"]]
        echo(f"  root chain    {' -> '.join(versions)}")
    for role in data["roles"]:
        echo("")
        name = role["role"]
        line = f"{name}"
        if role["file"]:
            line += f"  ({role['file']}, version {role['version']}, expires {role['expires']})"
        else:
            line += "  (no file)"
        echo(line)
        if "delegation" in role:
            paths = ", ".join(repr(p) for p in role["delegation"]["paths"]) or "none"
            echo(f"  delegated by {role['delegation']['parent']}, paths: {paths}")
        echo(f"  threshold {role['threshold']} of {len(role['keys'])} key(s); "
             f"{'verified' if role['verified'] else 'NOT verified'}"
             + (f"; {role['targets']} target(s)" if role.get("targets") is not None else ""))
        for key in role["keys"]:
            label = "cert key ID" if key["certificate"] is not None else "key ID     "
            echo(f"  key  {label} {key['key_id']}  ({key['keytype']})")
            if key["canonical_key_id"] and key["canonical_key_id"] != key["key_id"]:
                echo(f"       canonical   {key['canonical_key_id']}  (notary key list)")
            if key["certificate"] is not None:
                cert = key["certificate"]
                echo(f"       certificate CN={cert['common_name']}, valid {cert['not_before']}"
                     f" to {cert['not_after']}")
            if key["problem"]:
                echo(f"       problem: {key['problem']}")
        for sig in role["signatures"]:
            detail = f": {sig['detail']}" if sig["detail"] else ""
            echo(f"  signature by {sig['key_id']} ({sig['method']}) {sig['status']}{detail}")
    echo("")
    echo(f"Targets: {data['targets_count']} in verified roles")
    if data["warnings"]:
        echo(f"Warnings ({len(data['warnings'])}):")
        for text in data["warnings"]:
            echo(f"  - {text}")
    if data["errors"]:
        echo(f"Errors ({len(data['errors'])}):")
        for error in data["errors"]:
            echo(f"  - {error['message']}")
