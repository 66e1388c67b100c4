"""Compatibility: the first round's CA commands on a loose CA folder (`--ca-dir DIR`), without
the session frame (no transcript, no typed confirmation). The workspace CA (ca_ceremonies.py)
is the way; these stay only so that existing folders and scripts keep working.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.cli.common import emit
from ceremony.notation import certs
from ceremony.notation.castate import CAState
from ceremony.notation.cli_common import load_certs as _load_certs
from ceremony.notation.cli_common import load_csr
from ceremony.notation.cli_common import offline as _offline
from ceremony.notation.cli_common import pool as _pool
from ceremony.notation.cli_common import token_key as _token_key
from ceremony.notation.errors import NotationError
from ceremony.notation.files import refuse_existing, write_atomic


def _cert_json(cert: x509.Certificate) -> dict[str, Any]:
    return {"subject": cert.subject.rfc4514_string(), "serial": f"{cert.serial_number:x}",
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat()}


def _print_cert(d: dict[str, Any]) -> None:
    click.echo(f"  subject: {d['subject']}\n  serial:  {d['serial']}\n  sha256:  {d['sha256']}\n"
               f"  valid:   {d['not_before']} .. {d['not_after']}")


def init(ca_dir: str, token: str, label: str, subject: str, validity: dt.timedelta,
         path_length: int, pin_source: str | None, module: str | None, allow_network: bool,
         force: bool, as_json: bool) -> None:
    folder = Path(ca_dir)
    name = certs.parse_subject(subject)
    refuse_existing([folder / "ca.json"], force)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        key = _token_key(pool, token, label)
        cert = certs.root_ca(key, name, valid_for=validity, path_length=path_length)
    CAState(folder, token, label, [cert]).save()
    emit({"ca_dir": str(folder), "certificate": _cert_json(cert)}, as_json, lambda d: (
        click.echo(f"root CA written to {d['ca_dir']}/ca.crt"), _print_cert(d["certificate"])))


def intermediate(ca_dir: str, out_dir: str, token: str, label: str, subject: str,
                 validity: dt.timedelta, pin_source: str | None, module: str | None,
                 allow_network: bool, force: bool, as_json: bool) -> None:
    parent = CAState.load(ca_dir)
    name = certs.parse_subject(subject)
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


def issue(ca_dir: str, csr_path: str, out: str, validity: dt.timedelta, crl_url: str | None,
          pin_source: str | None, module: str | None, allow_network: bool, force: bool,
          as_json: bool) -> None:
    from ceremony.notation.review import issuance_lines
    from ceremony.notation.rules import check_csr
    state = CAState.load(ca_dir)
    csr = load_csr(csr_path)
    spec = check_csr(csr)
    refuse_existing([Path(out)], force)
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
    assert state.folder is not None
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
    assert state.folder is not None
    return {"crl": str(state.folder / "crl.pem"), "number": state.crl_number,
            "next_update": crl.next_update_utc.isoformat() if crl.next_update_utc else None,
            "revoked": sorted(state.revoked)}


def revoke(ca_dir: str, cert_path: str | None, serial: str | None, validity: dt.timedelta,
           pin_source: str | None, module: str | None, allow_network: bool,
           as_json: bool) -> None:
    state = CAState.load(ca_dir)
    if bool(cert_path) == bool(serial):
        raise click.UsageError("give exactly one of --cert FILE or --serial HEX")
    if cert_path:
        serial = f"{_load_certs(cert_path)[0].serial_number:x}"
    serial = (serial or "").lower().removeprefix("0x")
    if serial not in state.issued:
        raise NotationError(f"serial {serial} was not issued by this CA ({ca_dir}): check the "
                            "certificate (ca.json lists the serials this CA issued)")
    _offline(allow_network)
    state.revoked.setdefault(serial, certs.now().isoformat())
    with _pool(module, pin_source) as pool:
        crl = _write_crl(state, pool, validity)
    state.save()
    emit(_crl_json(state, crl), as_json, lambda d: click.echo(
        f"revoked {serial}; CRL #{d['number']} written to {d['crl']} (next update "
        f"{d['next_update']}): give it to every verifier"))


def crl(ca_dir: str, validity: dt.timedelta, pin_source: str | None, module: str | None,
        allow_network: bool, as_json: bool) -> None:
    state = CAState.load(ca_dir)
    _offline(allow_network)
    with _pool(module, pin_source) as pool:
        made = _write_crl(state, pool, validity)
    state.save()
    emit(_crl_json(state, made), as_json, lambda d: click.echo(
        f"CRL #{d['number']} written to {d['crl']} (next update {d['next_update']})"))
