"""`ceremony notation ...`: the Notary Project (notation) commands, a thin layer over this
package. Offline commands (ca, csr, sign-descriptors, verify, trust-store) refuse to run on a
networked machine when they use a private key, and never import the online module; `resolve`
and `attach` run on the online machine and import `registry` only when called.

PINs come from --pin-source (prompt, env:NAME, file:PATH) or the token URI, never argv.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.airgap import allow_network_option
from ceremony.cli.common import emit, json_option
from ceremony.notation import certs
from ceremony.notation.castate import CAState
from ceremony.notation.cli_common import load_certs as _load_certs
from ceremony.notation.cli_common import offline as _offline
from ceremony.notation.cli_common import pool as _pool
from ceremony.notation.cli_common import read as _read
from ceremony.notation.cli_common import token_key as _token_key
from ceremony.notation.cli_common import validity as _validity
from ceremony.notation.errors import NotationError
from ceremony.notation.files import refuse_existing, write_atomic

pin_source_option = click.option("--pin-source", "pin_source", metavar="SOURCE",
                                 help="Where the user PIN comes from: prompt (default), "
                                      "env:NAME or file:PATH. Never the PIN itself.")
module_option = click.option("--module", metavar="PATH", help="PKCS#11 module (.so).")
force_option = click.option("--force", is_flag=True, help="Replace existing outputs.")
ca_dir_option = click.option("--ca-dir", required=True, metavar="DIR",
                             help="The CA folder (made by `ceremony notation ca init`).")


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _cert_json(cert: x509.Certificate) -> dict[str, Any]:
    return {"subject": cert.subject.rfc4514_string(), "serial": f"{cert.serial_number:x}",
            "sha256": _fingerprint(cert), "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat()}


def _print_cert(d: dict[str, Any]) -> None:
    click.echo(f"  subject: {d['subject']}\n  serial:  {d['serial']}\n  sha256:  {d['sha256']}\n"
               f"  valid:   {d['not_before']} .. {d['not_after']}")


@click.group("notation")
def notation() -> None:
    """Notary Project (Notary v2, notation): CA on tokens, signatures for OCI artifacts."""


# --- the CA ------------------------------------------------------------------------------

@notation.group("ca")
def ca() -> None:
    """A root (or intermediate) CA whose key stays on a token."""


@ca.command("init")
@ca_dir_option
@click.option("--token", required=True, metavar="URI", help="Token holding the CA key.")
@click.option("--label", required=True, help="Label of the CA key (ceremony key generate).")
@click.option("--subject", required=True, help="e.g. 'C=US, ST=WA, O=Example, CN=Root CA'.")
@click.option("--valid-for", default="20y", show_default=True)
@click.option("--path-length", default=1, show_default=True, type=click.IntRange(0, 4),
              help="CAs allowed below the root (1: one intermediate).")
@pin_source_option
@module_option
@allow_network_option
@force_option
@json_option
def ca_init(ca_dir: str, token: str, label: str, subject: str, valid_for: str,
            path_length: int, pin_source: str | None, module: str | None, allow_network: bool,
            force: bool, as_json: bool) -> None:
    """Make a self-signed root CA certificate for a key on a token."""
    folder = Path(ca_dir)
    name, validity = certs.parse_subject(subject), _validity(valid_for)
    refuse_existing([folder / "ca.json"], force)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        key = _token_key(pool, token, label)
        cert = certs.root_ca(key, name, valid_for=validity, path_length=path_length)
    CAState(folder, token, label, [cert]).save()
    emit({"ca_dir": str(folder), "certificate": _cert_json(cert)}, as_json, lambda d: (
        click.echo(f"root CA written to {d['ca_dir']}/ca.crt"), _print_cert(d["certificate"])))


@ca.command("intermediate")
@ca_dir_option
@click.option("--out-dir", required=True, metavar="DIR", help="The new CA folder.")
@click.option("--token", required=True, metavar="URI", help="Token holding the new CA key.")
@click.option("--label", required=True, help="Label of the new CA key.")
@click.option("--subject", required=True)
@click.option("--valid-for", default="10y", show_default=True)
@pin_source_option
@module_option
@allow_network_option
@force_option
@json_option
def ca_intermediate(ca_dir: str, out_dir: str, token: str, label: str, subject: str,
                    valid_for: str, pin_source: str | None, module: str | None,
                    allow_network: bool, force: bool, as_json: bool) -> None:
    """Issue an intermediate CA (key on another token) from the CA in --ca-dir."""
    parent = CAState.load(ca_dir)
    name, validity = certs.parse_subject(subject), _validity(valid_for)
    refuse_existing([Path(out_dir) / "ca.json"], force)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        public = pool.open(token).public_key(label).public_key
        issuer = _token_key(pool, parent.token, parent.label)
        parent.check_key(issuer.public_key)
        cert = certs.intermediate_ca(issuer, parent.certificate, public, name,
                                     valid_for=validity)
    CAState(Path(out_dir), token, label, [cert, *parent.chain]).save()
    emit({"ca_dir": out_dir, "certificate": _cert_json(cert)}, as_json, lambda d: (
        click.echo(f"intermediate CA written to {d['ca_dir']}/ca.crt"),
        _print_cert(d["certificate"])))


@ca.command("issue")
@ca_dir_option
@click.option("--csr", "csr_path", required=True, metavar="FILE", help="PKCS#10 CSR (PEM/DER).")
@click.option("--out", required=True, metavar="FILE", help="Chain PEM: leaf, CAs, root.")
@click.option("--valid-for", default="1y", show_default=True)
@click.option("--crl-url", metavar="URL", help="Put this CRL distribution point in the "
              "certificate (only if verifiers can fetch it).")
@pin_source_option
@module_option
@allow_network_option
@force_option
@json_option
def ca_issue(ca_dir: str, csr_path: str, out: str, valid_for: str, crl_url: str | None,
             pin_source: str | None, module: str | None, allow_network: bool, force: bool,
             as_json: bool) -> None:
    """Issue a Notary Project signing certificate from a CSR (every rule checked first)."""
    from ceremony.notation.rules import check_csr
    state = CAState.load(ca_dir)
    raw = _read(csr_path, "CSR")
    try:
        csr = (x509.load_pem_x509_csr(raw) if b"-----BEGIN" in raw
               else x509.load_der_x509_csr(raw))
    except ValueError:
        raise NotationError(f"{csr_path} is not a PKCS#10 CSR (PEM or DER)") from None
    spec = check_csr(csr)
    validity = _validity(valid_for)
    refuse_existing([Path(out)], force)
    from ceremony.notation.review import issuance_lines
    for line in issuance_lines(csr, spec, state.chain, validity, crl_url):
        click.echo(line, err=True)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        issuer = _token_key(pool, state.token, state.label)
        state.check_key(issuer.public_key)
        issued = certs.signing_certificate(issuer, state.chain, csr, valid_for=validity,
                                           crl_url=crl_url)
    cert = issued.certificate
    state.issued[f"{cert.serial_number:x}"] = {
        "subject": cert.subject.rfc4514_string(), "not_after": cert.not_valid_after_utc.isoformat()}
    state.save()  # the serial is on record before the certificate leaves: always revocable
    write_atomic(Path(out), issued.chain_pem())
    emit({"out": out, "key": spec.name, "certificate": _cert_json(cert)}, as_json, lambda d: (
        click.echo(f"signing certificate ({d['key']}) written to {d['out']}"),
        _print_cert(d["certificate"])))


def _write_crl(state: CAState, pool: Any,
               valid_for: dt.timedelta) -> x509.CertificateRevocationList:
    from ceremony.notation.crl import make_crl
    issuer = _token_key(pool, state.token, state.label)
    state.check_key(issuer.public_key)
    crl = make_crl(issuer, state.certificate, state.revoked_dates(), state.crl_number + 1,
                   valid_for)
    state.crl_number += 1
    write_atomic(state.folder / "crl.pem", crl.public_bytes(Encoding.PEM))
    # DER is what a CRL distribution point serves (RFC 5280 4.2.1.13).
    write_atomic(state.folder / "crl.der", crl.public_bytes(Encoding.DER))
    return crl


def _crl_json(state: CAState, crl: x509.CertificateRevocationList) -> dict[str, Any]:
    return {"crl": str(state.folder / "crl.pem"), "number": state.crl_number,
            "next_update": crl.next_update_utc.isoformat() if crl.next_update_utc else None,
            "revoked": sorted(state.revoked)}


@ca.command("revoke")
@ca_dir_option
@click.option("--cert", "cert_path", metavar="FILE", help="The certificate to revoke.")
@click.option("--serial", metavar="HEX", help="Or its serial number (hex).")
@click.option("--valid-for", default="30d", show_default=True, help="Until the CRL's nextUpdate.")
@pin_source_option
@module_option
@allow_network_option
@json_option
def ca_revoke(ca_dir: str, cert_path: str | None, serial: str | None, valid_for: str,
              pin_source: str | None, module: str | None, allow_network: bool,
              as_json: bool) -> None:
    """Revoke a certificate this CA issued and write a new CRL (ca-dir/crl.pem)."""
    state = CAState.load(ca_dir)
    if bool(cert_path) == bool(serial):
        raise click.UsageError("give exactly one of --cert FILE or --serial HEX")
    if cert_path:
        serial = f"{_load_certs(cert_path)[0].serial_number:x}"
    serial = (serial or "").lower().removeprefix("0x")
    if serial not in state.issued:
        raise NotationError(f"serial {serial} was not issued by this CA ({ca_dir}): check the "
                            "certificate (ca.json lists the serials this CA issued)")
    validity = _validity(valid_for)
    _offline(allow_network)
    state.revoked.setdefault(serial, certs.now().isoformat())
    with _pool(module, pin_source) as pool:
        crl = _write_crl(state, pool, validity)
    state.save()
    emit(_crl_json(state, crl), as_json, lambda d: click.echo(
        f"revoked {serial}; CRL #{d['number']} written to {d['crl']} (next update "
        f"{d['next_update']}): give it to every verifier"))


@ca.command("crl")
@ca_dir_option
@click.option("--valid-for", default="30d", show_default=True, help="Until the CRL's nextUpdate.")
@pin_source_option
@module_option
@allow_network_option
@json_option
def ca_crl(ca_dir: str, valid_for: str, pin_source: str | None, module: str | None,
           allow_network: bool, as_json: bool) -> None:
    """Issue a fresh CRL (renewal before nextUpdate), listing every revoked certificate."""
    state = CAState.load(ca_dir)
    validity = _validity(valid_for)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        crl = _write_crl(state, pool, validity)
    state.save()
    emit(_crl_json(state, crl), as_json, lambda d: click.echo(
        f"CRL #{d['number']} written to {d['crl']} (next update {d['next_update']})"))


# --- keys, trust material ------------------------------------------------------------------

@notation.command("csr")
@click.option("--token", required=True, metavar="URI")
@click.option("--label", required=True)
@click.option("--subject", required=True)
@click.option("--out", required=True, metavar="FILE")
@pin_source_option
@module_option
@allow_network_option
@force_option
def csr_command(token: str, label: str, subject: str, out: str, pin_source: str | None,
                module: str | None, allow_network: bool, force: bool) -> None:
    """Write a PKCS#10 CSR for a signing key on a token."""
    name = certs.parse_subject(subject)
    refuse_existing([Path(out)], force)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        csr = certs.signing_request(_token_key(pool, token, label), name)
    write_atomic(Path(out), csr.public_bytes(Encoding.PEM))
    click.echo(f"CSR for {name.rfc4514_string()} written to {out}")


@notation.command("trust-store")
@click.option("--root", "roots", multiple=True, required=True, metavar="FILE",
              help="Root CA certificate(s) to pin (e.g. CA-DIR/chain.pem's last).")
@click.option("--config-dir", required=True, metavar="DIR",
              help="notation's configuration folder (e.g. ~/.config/notation).")
@click.option("--store", default="notary-ceremony", show_default=True)
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE",
              help="Registry scope (host/repository, or '*'); repeatable.")
@click.option("--identity", "identities", multiple=True, metavar="SUBJECT",
              help="Trusted signer subject, e.g. 'C=US, ST=WA, O=Example, CN=ci'; default *.")
@force_option
def trust_store(roots: tuple[str, ...], config_dir: str, store: str, scopes: tuple[str, ...],
                identities: tuple[str, ...], force: bool) -> None:
    """Write notation's trust store and trust policy pinning the root CA(s)."""
    from ceremony.notation.truststore import write_trust_material
    pinned = [_load_certs(r)[-1] for r in roots]
    for cert in pinned:
        if cert.issuer != cert.subject:
            raise NotationError(f"{cert.subject.rfc4514_string()} is not a root (self-signed)")
    written = write_trust_material(Path(config_dir), store, pinned, scopes=list(scopes),
                                   identities=list(identities), force=force)
    for path in written:
        click.echo(f"wrote {path}")


# --- signing and verifying -------------------------------------------------------------------

from ceremony.notation.sign_cli import sign_descriptors, verify_command  # noqa: E402

notation.add_command(sign_descriptors)
notation.add_command(verify_command)


@notation.command("resolve")
@click.argument("references", nargs=-1, required=True)
@click.option("--out", required=True, metavar="FILE", help="Descriptors file for signing.")
@force_option
def resolve(references: tuple[str, ...], out: str, force: bool) -> None:
    """ONLINE: resolve references in an OCI registry to descriptors (digest checked)."""
    from ceremony.notation.registry import Reference, Registry
    refuse_existing([Path(out)], force)
    artifacts = []
    for text in references:
        ref = Reference.parse(text)
        desc = Registry(ref.host).resolve(ref)
        artifacts.append({"reference": str(ref), "descriptor": desc.to_dict()})
        click.echo(f"{ref} -> {desc.digest} ({desc.media_type}, {desc.size} bytes)")
    write_atomic(Path(out), (json.dumps({"version": 1, "artifacts": artifacts}, indent=2)
                             + "\n").encode())


@notation.command("attach")
@click.option("--signatures", required=True, metavar="DIR",
              help="Output folder of `ceremony notation sign-descriptors`.")
def attach_command(signatures: str) -> None:
    """ONLINE: attach signatures to their artifacts (referrers API or tag schema)."""
    from ceremony.notation.registry import Reference, Registry, attach
    from ceremony.notation.sign_cli import read_signatures
    for entry, envelope in read_signatures(Path(signatures)):
        ref = Reference.parse(entry["reference"])
        registry = Registry(ref.host)
        from ceremony.notation.payload import Descriptor
        subject = Descriptor.from_dict(entry["descriptor"])
        current = registry.resolve(Reference(ref.host, ref.repo, None, subject.digest))
        if not current.same_artifact(subject):
            raise NotationError(f"{ref} is no longer the signed manifest; sign again")
        desc = attach(registry, ref.repo, subject, envelope, entry["mediaType"],
                      entry["thumbprints"])
        click.echo(f"attached {entry['mediaType']} signature {desc.digest} to "
                   f"{ref.host}/{ref.repo}@{subject.digest}")
