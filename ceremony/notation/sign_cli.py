"""`ceremony notation sign-descriptors` and `ceremony notation verify` (offline).

Signatures folder written by sign-descriptors (read by `attach` on the online machine):
    signatures.json  {"version": 1, "signatures": [{"reference", "descriptor", "envelope"
                      (standard base64 of the envelope bytes), "mediaType", "thumbprints",
                      "signingTime"}]}
One file, written atomically once: a thousand signatures cost one fsync, not a thousand, and
a run that stops half way leaves nothing that `attach` would take.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.airgap import allow_network_option
from ceremony.cli.common import (
    build_ceremony,
    console,
    emit,
    json_option,
    module_option,
    participant_option,
    table_options,
    workspace_option,
    yes_option,
)
from ceremony.notation import certs, cose, jws
from ceremony.notation.errors import NotationError
from ceremony.notation.files import refuse_existing, write_atomic
from ceremony.notation.payload import COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, Descriptor
from ceremony.notation.tables import SIGN
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_DESCRIPTORS_BYTES

MAX_DESCRIPTORS = 100_000


def _read_json(path: Path, what: str) -> Any:
    try:
        return strict_json(read_limited(path, MAX_DESCRIPTORS_BYTES, what=what), str(path))
    except GroundFloorError as exc:
        raise NotationError(str(exc)) from None


def read_descriptors(path: Path) -> list[tuple[str, Descriptor]]:
    """A request bundle of `ceremony notation resolve`, or the first round's descriptors file
    ({"version": 1, "artifacts": [...]})."""
    data = _read_json(path, "descriptors file")
    if isinstance(data, dict) and "format" in data:
        from ceremony.notation import bundles
        return bundles.read_sign_request(bundles.read(path, "request", "sign").content)
    items = data.get("artifacts") if isinstance(data, dict) else None
    if data.get("version") != 1 or not isinstance(items, list) or not items:
        raise NotationError(f"{path} is not a descriptors file from `ceremony notation "
                            "resolve` (version 1, non-empty artifacts)")
    if len(items) > MAX_DESCRIPTORS:
        raise NotationError(f"{path} lists {len(items)} artifacts; at most {MAX_DESCRIPTORS}")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("reference"), str):
            raise NotationError(f"{path}: every artifact needs a reference and a descriptor")
        out.append((item["reference"], Descriptor.from_dict(item.get("descriptor"))))
    return out


def read_signatures(folder: Path) -> list[tuple[dict[str, Any], bytes]]:
    path = folder / "signatures.json"
    index = _read_json(path, "signatures index")
    entries = index.get("signatures") if isinstance(index, dict) else None
    if index.get("version") != 1 or not isinstance(entries, list):
        raise NotationError(f"{path} is not from `ceremony notation sign-descriptors`")
    out = []
    for entry in entries:
        try:
            out.append((entry, base64.b64decode(entry["envelope"], validate=True)))
        except (KeyError, TypeError, binascii.Error):
            raise NotationError(f"{path}: an entry has no base64 envelope") from None
    return out


@click.command("sign-descriptors")
@click.option("--request", metavar="REQ",
              help="Request bundle from `ceremony notation resolve` on the online machine.")
@click.option("--out", metavar="RESP", help="The response bundle (for `attach --response`).")
@workspace_option
@table_options(SIGN)
@yes_option
@participant_option
@click.option("--pin-source", "pin_sources", multiple=True, metavar="[LABEL=]SOURCE",
              help="prompt (default), env:NAME or file:PATH. Never the PIN itself.")
@module_option
@allow_network_option
@click.option("--force", is_flag=True, help="Replace an existing output.")
@json_option
def sign_descriptors(request: str | None, out: str | None, workspace: str | None, yes: bool,
                     participants: tuple[str, ...], pin_sources: tuple[str, ...],
                     module: str | None, allow_network: bool, force: bool, as_json: bool,
                     **kw: Any) -> None:
    """Sign OCI descriptors with a key on a token: Notary Project JWS or COSE envelopes (a
    ceremony: review, confirmation, transcript, response bundle)."""
    descriptors, out_dir, chain_path = kw["descriptors"], kw["out_dir"], kw["chain"]
    if descriptors is None:
        if not request or not out:
            raise click.UsageError("give --request REQ and --out RESP")
        from ceremony.ceremonies.session import Options
        options = Options(out=out, request=request, workspace=workspace, force=force, yes=yes,
                          participants=participants, allow_network=allow_network,
                          pin_sources=pin_sources, module=module)
        r = build_ceremony(SIGN, kw)(options, console(as_json))
        emit(r, as_json, lambda d: click.echo(
            f"signed {d['signed']} descriptor(s) as {d['mediaType']} by {d['signer']}\n"
            f"wrote response {d['response']}\n  bundle sha256 {d['response_sha256']}\n"
            f"  bundle words  {d['response_words']}\nlogins: {d['logins']}\n"
            f"transcript {d['transcript']}\n  final digest {d['transcript_sha256']}\n"
            f"  words        {d['transcript_words']}"))
        return
    if not out_dir or not chain_path or len(pin_sources) > 1:
        raise click.UsageError("--descriptors needs --out-dir, --chain and at most one "
                               "--pin-source")
    a = build_ceremony(SIGN, kw).keywords
    _legacy(descriptors, a["token"], a["label"], chain_path, a["chain"], a["envelope"],
            a["expiry"], out_dir, pin_sources[0] if pin_sources else None, module,
            allow_network, force, as_json)


def _legacy(descriptors: str, token: str, label: str, chain_path: str,
            chain: list[x509.Certificate], envelope_type: str, lifetime: dt.timedelta | None,
            out_dir: str, pin_source: str | None, module: str | None, allow_network: bool,
            force: bool, as_json: bool) -> None:
    from ceremony.notation.cli_common import offline as _offline
    from ceremony.notation.cli_common import pool as _pool
    from ceremony.notation.cli_common import token_key as _token_key
    from ceremony.notation.rules import check_signing_certificate
    artifacts = read_descriptors(Path(descriptors))
    check_signing_certificate(chain[0])
    folder = Path(out_dir)
    refuse_existing([folder / "signatures.json"], force)
    _offline(allow_network)
    from ceremony.notation.review import signing_lines
    media = JWS_MEDIA_TYPE if envelope_type == "jws" else COSE_MEDIA_TYPE
    for line in signing_lines(artifacts, chain[0], media, lifetime):
        click.echo(line, err=True)
    chain_der = [c.public_bytes(Encoding.DER) for c in chain]
    thumbprints = [c.fingerprint(hashes.SHA256()).hex() for c in chain]
    module_ = jws if envelope_type == "jws" else cose
    media_type = JWS_MEDIA_TYPE if envelope_type == "jws" else COSE_MEDIA_TYPE
    entries = []
    with _pool(module, pin_source) as pool:
        key = _token_key(pool, token, label)
        if key.public_key != chain[0].public_key():
            raise NotationError(f"key '{label}' is not the key of {chain_path}'s signing "
                                "certificate: give the matching chain")
        key.require_envelope_signing()
        for reference, desc in artifacts:
            when = certs.now()
            until = when + lifetime if lifetime else None
            envelope = module_.sign(desc, key, chain_der, signing_time=when, expiry=until)
            entries.append({"reference": reference, "descriptor": desc.to_dict(),
                            "envelope": base64.b64encode(envelope).decode(),
                            "mediaType": media_type,
                            "thumbprints": thumbprints, "signingTime": when.isoformat()})
        logins = pool.logins
    write_atomic(folder / "signatures.json", (json.dumps(
        {"version": 1, "signatures": entries}, indent=2) + "\n").encode())
    data = {"out_dir": out_dir, "signed": len(entries), "mediaType": media_type,
            "signer": chain[0].subject.rfc4514_string(), "logins": logins}
    emit(data, as_json, lambda d: click.echo(
        f"signed {d['signed']} descriptor(s) as {d['mediaType']} by {d['signer']} into "
        f"{d['out_dir']}"))


@click.command("verify")
@click.option("--envelope", "envelope_path", required=True, metavar="FILE")
@click.option("--root", "roots", multiple=True, required=True, metavar="FILE",
              help="Pinned root CA certificate(s).")
@click.option("--descriptor", "descriptor_path", metavar="FILE",
              help="The artifact's descriptor (JSON) the signature must be for.")
@click.option("--crl", "crl_paths", multiple=True, metavar="FILE", help="CRL(s) to check.")
@json_option
def verify_command(envelope_path: str, roots: tuple[str, ...], descriptor_path: str | None,
                   crl_paths: tuple[str, ...], as_json: bool) -> None:
    """Verify a Notary Project signature envelope offline."""
    from ceremony.notation.cli_common import load_certs as _load_certs
    from ceremony.notation.cli_common import read as _read
    from ceremony.notation.verify import verify
    pinned = [_load_certs(r)[-1] for r in roots]
    expected = None
    if descriptor_path:
        expected = Descriptor.from_dict(strict_json(_read(descriptor_path, "descriptor"),
                                                    descriptor_path))
    crls = []
    for path in crl_paths:
        raw = _read(path, "CRL")
        try:
            crls.append(x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw
                        else x509.load_der_x509_crl(raw))
        except ValueError:
            raise NotationError(f"{path} is not a CRL (PEM or DER)") from None
    result = verify(_read(envelope_path, "envelope"), pinned, expected=expected, crls=crls,
                    at=dt.datetime.now(dt.UTC))
    c = result.content
    data = {"valid": True, "mediaType": c.media_type, "signer": result.signer,
            "signer_sha256": result.fingerprint, "signing_time": c.signing_time.isoformat(),
            "expiry": c.expiry.isoformat() if c.expiry else None,
            "artifact": c.target.to_dict(), "signing_agent": c.signing_agent}
    emit(data, as_json, lambda d: click.echo(
        f"valid {d['mediaType']} signature by {d['signer']} on {d['artifact']['digest']} "
        f"(signed {d['signing_time']})"))
