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
import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.cli.common import build_ceremony, console, emit, json_option, table_options
from ceremony.notation import certs, cose, jws
from ceremony.notation.cli_common import frame_options, session_options
from ceremony.notation.errors import NotationError
from ceremony.notation.files import refuse_existing, write_atomic
from ceremony.notation.payload import COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, Descriptor
from ceremony.notation.strict import READ, read_file
from ceremony.notation.tables import SIGN
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_DESCRIPTORS_BYTES

MAX_DESCRIPTORS = 100_000


def _read_versioned(path: Path, what: str, made_by: str, items: str) -> list[Any] | None:
    """The `items` of one of the first round's files ({"version": 1, items: [...]}), read
    strictly; None when the file is a bundle instead."""
    try:
        raw = read_limited(path, MAX_DESCRIPTORS_BYTES, what=what)
    except GroundFloorError as exc:
        raise NotationError(str(exc)) from None
    data = READ.mapping(read_file(raw, f"{what} {path}"), str(path))
    if "format" in data:  # a bundle: its own reader checks it
        return None
    READ.fields(data, str(path), ("version", items))
    if data["version"] != 1:
        raise NotationError(f"{path} is not a {what} made by {made_by} (version 1)")
    return READ.array(data[items], f"{path}: {items}", max_items=MAX_DESCRIPTORS)


def read_descriptors(path: Path) -> list[tuple[str, Descriptor]]:
    """A request bundle of `ceremony notation resolve`, or the first round's descriptors file
    ({"version": 1, "artifacts": [...]})."""
    items = _read_versioned(path, "descriptors file", "`ceremony notation resolve`",
                            "artifacts")
    if items is None:
        from ceremony.notation import bundles
        return bundles.read_sign_request(bundles.read(path, "request", "sign").content)
    if not items:
        raise NotationError(f"{path} lists no artifacts")
    out = []
    for i, item in enumerate(items):
        where = f"{path}: artifacts[{i}]"
        m = READ.fields(item, where, ("reference", "descriptor"))
        out.append((READ.string(m["reference"], f"{where}.reference", max_len=1024),
                    Descriptor.from_dict(m["descriptor"], f"{where}.descriptor")))
    return out


def read_signatures(folder: Path) -> list[tuple[dict[str, Any], bytes]]:
    from ceremony.notation.bundles import read_signature_entries
    path = folder / "signatures.json"
    items = _read_versioned(path, "signatures index", "`ceremony notation sign-descriptors`",
                            "signatures")
    if items is None:
        raise NotationError(f"{path} is a bundle: give it with --response")
    return read_signature_entries(items, f"{path}: signatures")


@click.command("sign-descriptors")
@click.option("--request", metavar="REQ",
              help="Request bundle from `ceremony notation resolve` on the online machine.")
@click.option("--out", metavar="RESP", help="The response bundle (for `attach --response`).")
@table_options(SIGN)
@frame_options
def sign_descriptors(request: str | None, out: str | None, **kw: Any) -> None:
    """Sign OCI descriptors with a key on a token: Notary Project JWS or COSE envelopes (a
    ceremony: review, confirmation, transcript, response bundle)."""
    descriptors, out_dir, chain_path = kw["descriptors"], kw["out_dir"], kw["chain"]
    pin_sources, as_json = kw["pin_sources"], kw["as_json"]
    if descriptors is None:
        if not request or not out:
            raise click.UsageError("give --request REQ and --out RESP")
        r = build_ceremony(SIGN, kw)(session_options(kw, out, request), console(as_json))
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
            a["expiry"], out_dir, pin_sources[0] if pin_sources else None, kw["module"],
            kw["allow_network"], kw["force"], as_json)


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
    from ceremony.notation.cli_common import load_certs, load_crls, load_descriptor, read
    from ceremony.notation.verify import verify
    pinned = [load_certs(r)[-1] for r in roots]
    expected = load_descriptor(descriptor_path) if descriptor_path else None
    result = verify(read(envelope_path, "envelope"), pinned, expected=expected,
                    crls=load_crls(crl_paths), at=dt.datetime.now(dt.UTC))
    c = result.content
    data = {"valid": True, "mediaType": c.media_type, "signer": result.signer,
            "signer_sha256": result.fingerprint, "signing_time": c.signing_time.isoformat(),
            "expiry": c.expiry.isoformat() if c.expiry else None,
            "artifact": c.target.to_dict(), "signing_agent": c.signing_agent}
    emit(data, as_json, lambda d: click.echo(
        f"valid {d['mediaType']} signature by {d['signer']} on {d['artifact']['digest']} "
        f"(signed {d['signing_time']})"))
