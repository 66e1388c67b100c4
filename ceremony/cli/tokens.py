"""`ceremony token list|keys` and `ceremony key generate|export|cert`: a thin layer over hsm/.

Notary key objects and key IDs are made here, in the ceremony layer, with
ceremony.notary.format.keys: hsm/ reports keys and certificates without knowing Notary's formats.

PINs come from --pin-source (prompt, env:NAME, file:PATH) or the URI's pin-source, never from
argv. Every output file is written atomically and never replaces an existing file without
--force. JSON output (--json) is stable and documented in docs/hsm.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives import hashes

from ceremony.airgap import allow_network_option, network_warning, require_offline
from ceremony.cli.common import emit, json_option
from ceremony.cli.common import warn as _warn
from ceremony.errors import KeyFormatError
from ceremony.notary.format.encoding import canonical_json
from ceremony.notary.format.keys import Key, key_from_certificate, key_from_public_key
from groundfloor.files import atomic_write, check_output
from groundfloor.names import InvalidName, validate_gun
from hsm.errors import HSMError
from hsm.keys import DEFAULT_ALGORITHM
from hsm.stores import token_store_folders

module_option = click.option("--module", "module", metavar="PATH",
                             help="PKCS#11 module (.so); default: $CEREMONY_PKCS11_MODULE, the "
                                  "URI's module-path, then well-known locations.")
pin_source_option = click.option("--pin-source", "pin_source", metavar="SOURCE",
                                 help="Where the user PIN comes from: prompt (default), "
                                      "env:NAME or file:PATH. Never the PIN itself.")
token_option = click.option("--token", "token_uri", metavar="URI", required=True,
                            help="PKCS#11 URI (pkcs11:token=root-a) or a token label.")
label_option = click.option("--label", metavar="LABEL", help="Key label (CKA_LABEL).")
workspace_option = click.option("--workspace", metavar="DIR",
                                help="Workspace whose transcripts/ records the custody evidence "
                                     "(default: $CEREMONY_WORKSPACE; made if absent).")
transcript_dir_option = click.option("--transcript-dir", metavar="DIR",
                                     help="Record the transcript in this folder instead of a "
                                          "workspace (made if absent).")


def custody_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a key command that changes a token and records custody evidence, in the
    order help lists them: the PIN, the module, the air-gap override, the transcript, --json."""
    for option in reversed((pin_source_option, module_option, allow_network_option,
                            workspace_option, transcript_dir_option, json_option)):
        command = option(command)
    return command


@contextmanager
def _custody_transcript(name: str, workspace: str | None, folder: str | None,
                        data: dict[str, Any]) -> Iterator[Any]:
    """The transcript of a key command: custody evidence recorded where a site keeps it (the
    workspace's transcripts/, or --transcript-dir). Refusals and failures are recorded too.
    Without either place nothing is recorded (yields None) and the output says so."""
    import datetime as dt
    import os
    import re

    from ceremony.ceremonies.session import record_stop
    from ceremony.transcript import Transcript
    if folder is None and workspace is None and not os.environ.get("CEREMONY_WORKSPACE"):
        yield None  # _close_transcript warns, once the command succeeded
        return
    if folder is not None:
        from groundfloor.files import make_dirs
        make_dirs(folder)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = Path(folder) / f"{stamp}-{re.sub(r'[^a-z0-9]+', '-', name)}.jsonl"
    else:
        from ceremony.workspace import Workspace
        path = Workspace.open(workspace, create=True).new_transcript_path(name)
    transcript = Transcript.create(path, ceremony=name, data=data)
    with transcript:
        try:
            yield transcript
        except BaseException as exc:  # recorded as every ceremony's frame records it
            if not transcript.closed:
                record_stop(transcript, exc)
            raise


def _close_transcript(transcript: Any, data: dict[str, Any]) -> None:
    """Close with the outcome and put the final digest (hex and words) into `data`."""
    if transcript is None:
        data.update({"transcript": None, "transcript_sha256": None, "transcript_words": None})
        return
    from groundfloor.words import digest_words
    digest = transcript.close("completed")
    data.update({"transcript": str(transcript.path), "transcript_sha256": digest,
                 "transcript_words": digest_words(bytes.fromhex(digest))})


def _print_transcript(d: dict[str, Any]) -> None:
    if d["transcript"]:
        click.echo(f"transcript {d['transcript']}")
        click.echo(f"  final digest {d['transcript_sha256']}")
        click.echo(f"  words        {d['transcript_words']}")
    else:
        click.echo("custody evidence NOT recorded in a transcript: give --workspace DIR (or "
                   "set CEREMONY_WORKSPACE) or --transcript-dir DIR to record it")


@contextmanager
def _pool(module: str | None, pin_source: str | None) -> Iterator[Any]:
    from hsm.session import TokenPool
    with TokenPool(module=module, pin_source=pin_source, on_warning=_warn) as pool:
        yield pool


def _need(value: str | None, flag: str, hint: str) -> str:
    if not value:
        raise HSMError(f"missing {flag}: {hint}")
    return value


def _check_out(out: str | None, force: bool, workspace: str | None = None) -> None:
    # Refuse before asking the token for anything: no PIN typed for nothing. Never into a
    # token store or the workspace, even with --force.
    if out:
        check_output(out, force=force,
                     state={"workspace": workspace or os.environ.get("CEREMONY_WORKSPACE"),
                            **token_store_folders()})


def _airgap(t: Any, allow_network: bool) -> None:
    """Private keys are used: refuse on a machine with a network up, unless allowed; recorded
    (when there is a transcript) before the one warning, as in every ceremony's frame."""
    findings = require_offline(allow_network)
    if t is not None:
        t.append("airgap", {"findings": findings, "allow_network": allow_network,
                            "offline": not findings})
    if findings:
        _warn(network_warning(findings))


def _key_id_arg(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise HSMError(f"--id must be hexadecimal (e.g. 01a2), not {value!r}") from None
    if not raw:
        raise HSMError("--id must not be empty")
    return raw


# --- Notary key objects (ceremony.notary.format.keys) --------------------------------------------

def _plain_key(info: Any) -> Key | None:
    """The plain Notary key (ecdsa/rsa/ed25519) of a key on a token, if its public key is known."""
    return key_from_public_key(info.public_key) if info.public_key is not None else None


def _cert_key(cert: Any) -> Key | None:
    """The x509 Notary key (its ID is the "cert key ID"); None for a non-ECDSA/RSA certificate."""
    try:
        return key_from_certificate(cert)
    except KeyFormatError:
        return None


def _key_json(info: Any) -> dict[str, Any]:
    """KEY (docs/hsm.md): what the token says (KeyInfo.to_json) plus the Notary key IDs."""
    raw = info.to_json()
    nk = _plain_key(info)
    data: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "public_key_pem":
            data["keytype"] = nk.keytype if nk else None
            data["key_id"] = nk.key_id if nk else None
        data[name] = value
    if raw["certificate"] is not None:
        ck = _cert_key(info.certificate)
        data["certificate"] = {**raw["certificate"], "cert_key_id": ck.key_id if ck else None,
                               "cert_keytype": ck.keytype if ck else None}
    return data


# --- token ----------------------------------------------------------------------------------

@click.group()
def token() -> None:
    """PKCS#11 tokens: list slots and tokens, list keys on a token."""


@token.command("list")
@module_option
@json_option
def token_list(module: str | None, as_json: bool) -> None:
    """Slots and tokens of the PKCS#11 module(s): label, serial, manufacturer, model, flags."""
    with _pool(module, None) as pool:
        found = pool.slots()
    data = {"modules": [{
        "path": mod.path, "manufacturer": mod.manufacturer, "description": mod.description,
        "slots": [{"slot_id": s.slot_id, "description": s.description,
                   "manufacturer": s.manufacturer, "note": s.note or None,
                   "token": s.token.to_json() if s.token else None} for s in entries],
    } for mod, entries in found]}

    def human(d: dict[str, Any]) -> None:
        for mod in d["modules"]:
            click.echo(f"{mod['path']} ({mod['manufacturer']}; {mod['description']})")
            if not mod["slots"]:
                click.echo("  no slots (no reader or token attached)")
            for s in mod["slots"]:
                t = s["token"]
                if t is None:
                    click.echo(f"  slot {s['slot_id']}: {s['note']}")
                    continue
                click.echo(f"  slot {s['slot_id']}: token '{t['label']}' serial {t['serial']} "
                           f"({t['manufacturer']} {t['model']}) [{', '.join(t['flags'])}]")
    emit(data, as_json, human)


@token.command("keys")
@click.argument("uri", required=False)
@module_option
@pin_source_option
@click.option("--workspace", "workspace", default=None, metavar="DIR",
              help="List the workspace's key inventory instead (every trust system; no token "
                   "opened); URI then filters by token label.")
@click.option("--retired", is_flag=True, help="With --workspace: retired keys too, and why.")
@json_option
def token_keys(uri: str | None, module: str | None, pin_source: str | None,
               workspace: str | None, retired: bool, as_json: bool) -> None:
    """Keys on a token: label, ID, algorithm, Notary key IDs and custody evidence.

    Logs in (private keys and their custody attributes are visible only then). With
    --workspace: the workspace's inventory (system, role, key ID, token, names served)."""
    if workspace is not None:
        from ceremony.cli.inventory_listing import show_inventory
        show_inventory(workspace, uri, retired, as_json)
        return
    from hsm.errors import TokenNotFoundError
    with _pool(module, pin_source) as pool:
        try:
            tok = pool.open(uri)
        except TokenNotFoundError as exc:  # this command takes the token as its argument
            raise TokenNotFoundError(str(exc).replace(
                "choose one with --token pkcs11:token=LABEL",
                "choose one: ceremony token keys pkcs11:token=LABEL")) from None
        keys = tok.keys()
        data = {"token": tok.info.to_json(), "keys": [_key_json(k) for k in keys]}

    def human(d: dict[str, Any]) -> None:
        t = d["token"]
        click.echo(f"token '{t['label']}' serial {t['serial']} ({t['manufacturer']} "
                   f"{t['model']}): {len(d['keys'])} key(s)")
        for k in d["keys"]:
            _print_key(k)
    emit(data, as_json, human)


def _print_key(k: dict[str, Any], indent: str = "  ") -> None:
    alg = k["algorithm"] or f"unsupported {k['key_type']}"
    click.echo(f"{indent}'{k['label']}' {alg} id {k['id']}")
    if k["key_id"]:
        click.echo(f"{indent}  key ID ({k['keytype']}): {k['key_id']}")
    c = k["custody"]
    if c is None:
        click.echo(f"{indent}  custody: private key not visible")
    else:
        yn = {True: "yes", False: "no", None: "?"}
        verdict = "OK" if c["ok"] else "NOT OK: " + ", ".join(c["problems"])
        click.echo(f"{indent}  custody {verdict}: local={yn[c['local']]} never-extractable="
                   f"{yn[c['never_extractable']]} always-sensitive={yn[c['always_sensitive']]} "
                   f"sensitive={yn[c['sensitive']]} extractable={yn[c['extractable']]}")
    cert = k.get("certificate")
    if cert:
        click.echo(f"{indent}  certificate CN={cert['subject_cn']} until {cert['not_after']}; "
                   f"cert key ID ({cert['cert_keytype']}): {cert['cert_key_id']}")


# --- key ------------------------------------------------------------------------------------

@click.group()
def key() -> None:
    """Keys on tokens: generate, export public keys, issue root certificates."""


@key.command("generate")
@token_option
@click.option("--label", metavar="LABEL", required=True, help="Key label (CKA_LABEL).")
@click.option("--algorithm", default=DEFAULT_ALGORITHM, show_default=True, metavar="ALG",
              help="ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096 or ed25519.")
@click.option("--id", "key_id", metavar="HEX", help="CKA_ID to use (default: 16 random bytes).")
@custody_options
def key_generate(token_uri: str | None, label: str | None, algorithm: str, key_id: str | None,
                 pin_source: str | None, module: str | None, allow_network: bool,
                 workspace: str | None, transcript_dir: str | None, as_json: bool) -> None:
    """Generate a signing key ON the token (never extractable) and show custody evidence."""
    from hsm.keys import get_algorithm
    _need(token_uri, "--token URI", "the token to generate on, e.g. --token pkcs11:token=root-a")
    _need(label, "--label LABEL", "a name for the new key, e.g. --label root")
    get_algorithm(algorithm)  # refuse an unknown algorithm before asking for a PIN
    raw_id = _key_id_arg(key_id)
    with _custody_transcript("key-generate", workspace, transcript_dir,
                             {"token": token_uri, "label": label, "algorithm": algorithm,
                              "allow_network": allow_network}) as t:
        _airgap(t, allow_network)
        with _pool(module, pin_source) as pool:
            tok = pool.open(token_uri)
            if t is not None:
                t.tokens([tok.info.to_json()])
            info = tok.generate_key(label or "", algorithm, raw_id)
            data = {"token": tok.info.to_json(), "key": _key_json(info)}
        if t is not None:
            t.custody({"token": data["token"]["label"], "serial": data["token"]["serial"],
                       **data["key"]})
        _close_transcript(t, data)

    def human(d: dict[str, Any]) -> None:
        k = d["key"]
        click.echo(f"generated {k['algorithm']} key '{k['label']}' on token "
                   f"'{d['token']['label']}'")
        _print_key(k)
        _print_transcript(d)
    emit(data, as_json, human)


@key.command("export")
@token_option
@label_option
@click.option("--format", "fmt", default="pem", show_default=True, metavar="FORMAT",
              help="pem (SubjectPublicKeyInfo) or notary (canonical Notary key object; the "
                   "file's SHA-256 is the key ID).")
@click.option("--out", metavar="FILE", help="Write here instead of standard output.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@pin_source_option
@module_option
@json_option
def key_export(token_uri: str | None, label: str | None, fmt: str, out: str | None,
               force: bool, pin_source: str | None, module: str | None, as_json: bool) -> None:
    """Export a public key as PEM or as a Notary key object (with its key ID)."""
    if fmt not in ("pem", "notary"):
        raise HSMError(f"unknown --format {fmt!r}: use pem or notary")
    _need(token_uri, "--token URI", "the token holding the key, e.g. --token pkcs11:token=root-a")
    _check_out(out, force)
    with _pool(module, pin_source) as pool:
        tok = pool.open(token_uri)
        info = tok.public_key(label)
        token_json = tok.info.to_json()
    nk = _plain_key(info)
    if nk is None:
        raise HSMError(f"key '{info.label}' has no readable public key on token "
                       f"'{token_json['label']}'")
    key_json = _key_json(info)
    # notary: the canonical key object, whose SHA-256 is the key ID.
    content = (key_json["public_key_pem"].encode() if fmt == "pem"
               else canonical_json(nk.to_dict()))
    if out:
        atomic_write(out, content, overwrite=force)
    data = {"token": token_json, "key": key_json, "format": fmt, "out": out,
            "notary_key": nk.to_dict(), "content": None if out else content.decode()}

    def human(d: dict[str, Any]) -> None:
        if out is None:
            click.echo(content.decode(), nl=fmt == "notary")
            return
        click.echo(f"wrote {fmt} public key of '{info.label}' ({info.algorithm}) to {out}")
        click.echo(f"  key ID ({nk.keytype}): {nk.key_id}")
    emit(data, as_json, human)


@key.command("cert")
@token_option
@label_option
@click.option("--gun", metavar="GUN", required=True,
              help="The repository (CN of the certificate), e.g. docker.io/library/app.")
@click.option("--valid-for", "valid_for", default="10y", show_default=True, metavar="DURATION",
              help="Validity: 10y, 6m, 365d, 52w, 12h (a year is 365 days, as in Notary; "
                   "a month 30 days).")
@click.option("--out", metavar="FILE", required=True,
              help="Where to write the certificate (PEM).")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--store-on-token", is_flag=True,
              help="Also store the certificate on the token (same label and ID), replacing "
                   "one stored earlier for this key.")
@custody_options
def key_cert(token_uri: str | None, label: str | None, gun: str | None, valid_for: str,
             out: str | None, force: bool, store_on_token: bool, pin_source: str | None,
             module: str | None, allow_network: bool, workspace: str | None,
             transcript_dir: str | None, as_json: bool) -> None:
    """Issue a self-signed root certificate for GUN; the token computes the signature.

    Running it again for the same key re-issues (new serial and validity, same key)."""
    from hsm.duration import parse_duration
    _need(token_uri, "--token URI", "the token holding the root key")
    _need(gun, "--gun GUN", "the repository the root certificate is for")
    _need(out, "--out FILE", "where to write the certificate (PEM)")
    try:
        validate_gun(gun)
    except InvalidName as exc:
        raise HSMError(f"--gun: {exc}") from None
    validity = parse_duration(valid_for, "--valid-for: invalid validity")
    _check_out(out, force, workspace)
    with _custody_transcript("key-cert", workspace, transcript_dir,
                             {"token": token_uri, "label": label, "gun": gun,
                              "valid_for": valid_for, "store_on_token": store_on_token,
                              "out": out, "allow_network": allow_network}) as t:
        data = _issue_cert(t, token_uri, label, gun, validity, out, force, store_on_token,
                           pin_source, module, allow_network)
        _close_transcript(t, data)
    token_json = data["token"]

    def human(d: dict[str, Any]) -> None:
        click.echo(f"wrote root certificate for '{gun}' to {out} (key '{d['label']}' on token "
                   f"'{token_json['label']}')")
        click.echo(f"  valid {d['not_before']} .. {d['not_after']}, serial {d['serial']}")
        click.echo(f"  cert key ID ({d['cert_keytype']}; root.json, trust pinning): "
                   f"{d['cert_key_id']}")
        click.echo(f"  canonical key ID ({d['canonical_keytype']}; notary key list): "
                   f"{d['canonical_key_id']}")
        if d["stored_on_token"]:
            click.echo("  stored on the token" + (
                f", replacing {', '.join(d['replaced_cert_key_ids'])}"
                if d["replaced_cert_key_ids"] else "")
                + f": init uses this certificate for '{gun}' (pin this cert key ID)")
        else:
            click.echo("  NOT stored on the token: root.json lists this cert key ID only if "
                       f"this file is given to init (--root-cert {out}, or --remote-root-cert "
                       "at another site) or to rotate root (--add-cert); otherwise init "
                       "uses a certificate stored on the token or issues a new one")
        _print_transcript(d)
    emit(data, as_json, human)


def _issue_cert(t: Any, token_uri: str | None, label: str | None, gun: str | None,
                validity: Any, out: str | None, force: bool, store_on_token: bool,
                pin_source: str | None, module: str | None,
                allow_network: bool) -> dict[str, Any]:
    _airgap(t, allow_network)
    with _pool(module, pin_source) as pool:
        tok = pool.open(token_uri)
        if t is not None:
            t.tokens([tok.info.to_json()])
        result = tok.certificate(label, gun or "", valid_for=validity, store=store_on_token)
        token_json = tok.info.to_json()
    assert out is not None
    atomic_write(out, result.pem, overwrite=force)
    if t is not None:
        t.output("certificate", result.pem, path=out)
    cert = result.certificate
    cert_key = key_from_certificate(cert)  # ecdsa-x509 / rsa-x509 (ed25519 refused by hsm)
    canonical_key = key_from_public_key(cert.public_key())  # ID = cert_key.canonical_key_id
    replaced = [k.key_id for k in map(_cert_key, result.replaced_certificates) if k is not None]
    data = {
        "token": token_json, "label": result.label, "id": result.key_id.hex(), "gun": gun,
        "out": out,
        "serial": f"{cert.serial_number:x}",
        "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signature_algorithm": result.signature_algorithm,
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "cert_keytype": cert_key.keytype, "cert_key_id": cert_key.key_id,
        "canonical_keytype": canonical_key.keytype,
        "canonical_key_id": cert_key.canonical_key_id,
        "notary_key": cert_key.to_dict(),
        "stored_on_token": result.stored_on_token,
        "replaced_cert_key_ids": replaced,
    }
    if t is not None:
        t.custody({"token": token_json["label"], "serial": token_json["serial"],
                   **{k: v for k, v in data.items() if k != "token"}})
    return data
