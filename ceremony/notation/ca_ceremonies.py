"""The CA ceremonies, inside the session frame, their state in the workspace's "notation"
section (castate.py): `ca init`, `ca intermediate`, `ca issue` (answers a request bundle of
CSRs), `ca revoke` and `ca crl` (a response bundle carrying the CRL to publish).

Each: checks first (state, request, every CSR rule, the CA key on its token, found without
logging in), then the review (hex + words of every fingerprint and of the review itself), the
confirmation, the token signatures, the output, and the workspace commit -- in this order, so
that nothing is written before the confirmation and a refusal leaves everything as it was.
The command line (cli.py) and the script steps (ceremony/scripts/notation_steps.py) call these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options
from ceremony.notation import bundles, certs
from ceremony.notation.castate import SYSTEM, CAState, check_ca_name
from ceremony.notation.frame import (
    confirm_review,
    fingerprint,
    key_line,
    notation_session,
    open_key,
    read_request,
    record_key,
    review,
    stage_tokens,
    token_key,
    words,
    write_file,
    write_response,
)
from ceremony.notation.keyspec import key_spec
from ceremony.notation.review import key_fingerprint


def _sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _until(valid_for: dt.timedelta, issuer: x509.Certificate | None = None) -> str:
    end = certs.now() + valid_for
    if issuer is not None:
        end = min(end, issuer.not_valid_after_utc)
    return f"{valid_for.days} days, until {end:%Y-%m-%d %H:%M}Z"


def _cert_json(cert: x509.Certificate) -> dict[str, Any]:
    return {"subject": cert.subject.rfc4514_string(), "serial": f"{cert.serial_number:x}",
            "sha256": _sha256(cert), "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat()}


def _ca_key(s: Any, state: CAState, uri: str | None) -> Any:
    """The CA's token, its key checked against the CA certificate before the review."""
    token, info = open_key(s, uri or state.token, state.label, f"notation CA '{state.name}'")
    state.check_key(info.public_key)
    return token


def _result(s: Any, out: dict[str, Any]) -> dict[str, Any]:
    out["logins"] = s.tokens.logins
    return out


# --- init, intermediate -----------------------------------------------------------------------

def ca_init(options: Options, console: Console, *, ca: str, token: str, label: str,
            subject: str, valid_for: dt.timedelta, path_length: int,
            algorithm: str | None = None) -> dict[str, Any]:
    """A root CA certificate, self-signed by a key on a token; the CA kept in the workspace."""
    check_ca_name(ca)
    name = certs.parse_subject(subject)
    data = {"ca": ca, "subject": subject, "valid_for_days": valid_for.days,
            "path_length": path_length, "out": options.out}
    with notation_session("notation-ca-init", options, console, data=data,
                          create_workspace=True) as s:
        if s.tx.system_file(SYSTEM, f"ca/{ca}/ca.json") is not None:
            raise CeremonyRefused(f"this workspace already has a notation CA named '{ca}': "
                                  "choose another --ca NAME")
        tok, info = open_key(s, token, label, f"notation root CA '{ca}'", algorithm)
        spec = key_spec(info.public_key)
        if algorithm is None:
            s.transcript.custody({**s.tokens.custody(tok, info),
                                  "purpose": f"notation root CA '{ca}'", "reused": True})
        lines = [f"  CA name:       {ca} (in workspace {s.ws.path})",
                 f"  subject:       {name.rfc4514_string()}",
                 f"  key:           {spec.name} on {key_line(tok, label)}",
                 *fingerprint("key", key_fingerprint(info.public_key)),
                 f"  validity:      {_until(valid_for)}",
                 f"  path length:   {path_length} (CAs allowed below this root)",
                 "  profile:       basicConstraints critical cA=TRUE; keyUsage critical "
                 "keyCertSign, cRLSign; SKI, AKI"]
        digest = review(s, f"notation ca init: a self-signed root CA '{ca}'", lines)
        confirm_review(s, f"Make the root CA certificate of '{ca}'", digest)
        cert = certs.root_ca(token_key(tok, label), name, valid_for=valid_for,
                             path_length=path_length)
        state = CAState(None, f"pkcs11:token={tok.label}", label, [cert], name=ca)
        state.stage(s.tx)
        tokens = stage_tokens(s)
        record_key(s, tok, info, "root-ca", [f"ca:{ca}", f"subject:{name.rfc4514_string()}"],
                   cert.public_bytes(Encoding.PEM).decode("ascii"))
        if options.out:
            write_file(s, "certificate", cert.public_bytes(Encoding.PEM))
        s.finish({"notation": {"ca_created": ca}, "tokens": tokens},
                 ca=ca, certificate_sha256=_sha256(cert))
        result = _result(s, {"ceremony": "notation-ca-init", "ca": ca,
                             "certificate": _cert_json(cert), "review_sha256": digest,
                             "out": options.out or None})
    result.update(s.transcript_fields())
    return result


def ca_intermediate(options: Options, console: Console, *, parent: str, ca: str, token: str,
                    label: str, subject: str, valid_for: dt.timedelta,
                    parent_token: str | None = None,
                    algorithm: str | None = None) -> dict[str, Any]:
    """An intermediate CA for a key on another token, issued by the workspace's CA `parent`."""
    check_ca_name(ca)
    name = certs.parse_subject(subject)
    data = {"ca": ca, "parent": parent, "subject": subject, "valid_for_days": valid_for.days}
    with notation_session("notation-ca-intermediate", options, console, data=data) as s:
        if s.tx.system_file(SYSTEM, f"ca/{ca}/ca.json") is not None:
            raise CeremonyRefused(f"this workspace already has a notation CA named '{ca}': "
                                  "choose another --ca NAME")
        issuer_state = CAState.from_workspace(s.tx, parent)
        issuer_tok = _ca_key(s, issuer_state, parent_token)
        tok, info = open_key(s, token, label, f"notation intermediate CA '{ca}'", algorithm)
        spec = key_spec(info.public_key)
        issuer = issuer_state.certificate
        lines = [f"  CA name:       {ca}, issued by CA '{parent}'",
                 f"  subject:       {name.rfc4514_string()}",
                 f"  key:           {spec.name} on {key_line(tok, label)}",
                 *fingerprint("key", key_fingerprint(info.public_key)),
                 f"  validity:      {_until(valid_for, issuer)}",
                 "  path length:   0 (issues signing certificates only)",
                 f"  issuer:        {issuer.subject.rfc4514_string()} on "
                 f"{key_line(issuer_tok, issuer_state.label)}",
                 *fingerprint("issuer certificate", _sha256(issuer))]
        digest = review(s, f"notation ca intermediate: CA '{ca}' issued by '{parent}'", lines)
        confirm_review(s, f"Issue the intermediate CA certificate of '{ca}'", digest)
        cert = certs.intermediate_ca(token_key(issuer_tok, issuer_state.label), issuer,
                                     info.public_key, name, valid_for=valid_for)
        serial = f"{cert.serial_number:x}"
        issuer_state.issued[serial] = {"subject": cert.subject.rfc4514_string(),
                                       "not_after": cert.not_valid_after_utc.isoformat()}
        issuer_state.stage(s.tx)
        state = CAState(None, f"pkcs11:token={tok.label}", label, [cert, *issuer_state.chain],
                        name=ca)
        state.stage(s.tx)
        tokens = stage_tokens(s)
        record_key(s, tok, info, "intermediate-ca",
                   [f"ca:{ca}", f"subject:{name.rfc4514_string()}"],
                   cert.public_bytes(Encoding.PEM).decode("ascii"))
        if options.out:
            write_file(s, "certificate", b"".join(c.public_bytes(Encoding.PEM)
                                                  for c in state.chain))
        s.finish({"notation": {"ca_created": ca, "issued_by": parent}, "tokens": tokens},
                 ca=ca, certificate_sha256=_sha256(cert))
        result = _result(s, {"ceremony": "notation-ca-intermediate", "ca": ca,
                             "parent": parent, "certificate": _cert_json(cert),
                             "review_sha256": digest, "out": options.out or None})
    result.update(s.transcript_fields())
    return result


# --- issue ------------------------------------------------------------------------------------

def ca_issue(options: Options, console: Console, *, ca: str, valid_for: dt.timedelta,
             crl_url: str | None = None, ca_token: str | None = None) -> dict[str, Any]:
    """Answer a request bundle of CSRs: every rule checked, reviewed, issued into a response."""
    from ceremony.notation.errors import NotationError
    from ceremony.notation.review import issuance_lines
    from ceremony.notation.rules import check_csr
    data = {"ca": ca, "request": options.request, "out": options.out,
            "valid_for_days": valid_for.days, "crl_url": crl_url}
    with notation_session("notation-ca-issue", options, console, data=data) as s:
        request = read_request(s, "issue")
        csrs = bundles.read_csr_request(request.content)
        specs = []
        for csr_name, csr in csrs:
            try:
                specs.append(check_csr(csr))
            except NotationError as exc:
                raise CeremonyRefused(f"CSR '{csr_name}': {exc}; nothing was issued") from None
        state = CAState.from_workspace(s.tx, ca)
        tok = _ca_key(s, state, ca_token)
        lines = [f"  request:       bundle sha256 {request.digest_hex}",
                 f"  issuing CA:    '{ca}', {state.certificate.subject.rfc4514_string()} on "
                 f"{key_line(tok, state.label)}",
                 *fingerprint("CA certificate", _sha256(state.certificate)),
                 f"  validity:      {_until(valid_for, state.certificate)}",
                 f"  certificates:  {len(csrs)}"]
        for (csr_name, csr), spec in zip(csrs, specs, strict=True):
            block = issuance_lines(csr, spec, state.chain, valid_for,
                                   crl_url)[1:]
            fp = key_fingerprint(csr.public_key())
            lines += [f"  [{csr_name}]", *("  " + b for b in block),
                      f"    key words:     {words(fp)}"]
        digest = review(s, f"notation ca issue: {len(csrs)} signing certificate(s) from CA "
                           f"'{ca}'", lines)
        confirm_review(s, f"Issue {len(csrs)} signing certificate(s)", digest)
        issuer = token_key(tok, state.label)
        issued = []
        for csr_name, csr in csrs:
            made = certs.signing_certificate(issuer, state.chain, csr, valid_for=valid_for,
                                             crl_url=crl_url)
            cert = made.certificate
            serial = f"{cert.serial_number:x}"
            state.issued[serial] = {"subject": cert.subject.rfc4514_string(),
                                    "not_after": cert.not_valid_after_utc.isoformat()}
            state.stage_issued(s.tx, serial, made.chain_pem())
            issued.append({"name": csr_name, "serial": serial,
                           "chain": made.chain_pem().decode()})
            _note_certificate(s, ca, cert)
        state.stage(s.tx)
        tokens = stage_tokens(s)
        response = bundles.issued_response(ca, request.digest_hex, s.transcript.head, issued)
        written = write_response(s, response)
        s.finish({"notation": {"ca": ca, "issued": [i["serial"] for i in issued]},
                  "tokens": tokens}, issued=len(issued), logins=s.tokens.logins)
        result = _result(s, {"ceremony": "notation-ca-issue", "ca": ca,
                             "request_sha256": request.digest_hex, "review_sha256": digest,
                             "certificates": [{"name": i["name"], "serial": i["serial"]}
                                              for i in issued], **written})
    result.update(s.transcript_fields())
    return result


def _note_certificate(s: Any, ca: str, cert: x509.Certificate) -> None:
    """A certificate issued for a token key the workspace's inventory holds (a csr ceremony
    made its request): the record gains the certificate and what it serves. Keys not on this
    workspace's tokens (CI signers, plugins) are not in the inventory and stay out."""
    from ceremony.inventory import KeyRecord, spki_sha256
    rec = s.tx.key(spki_sha256(cert.public_key()))
    if rec is None or rec.system != "notation" or s.tx.is_retired(rec.key_id):
        return
    names = sorted({*rec.guns, f"ca:{ca}", f"subject:{cert.subject.rfc4514_string()}"})
    s.tx.add_key(KeyRecord.from_dict({**rec.to_dict(), "guns": names,
                                      "cert_pem": cert.public_bytes(Encoding.PEM).decode()}))


# --- revocation -------------------------------------------------------------------------------

def ca_crl(options: Options, console: Console, *, ca: str, valid_for: dt.timedelta,
           revoke: Sequence[str] = (), ca_token: str | None = None) -> dict[str, Any]:
    """Revoke the certificates `revoke` (serials, hex) if any, and issue a fresh CRL listing
    every revoked certificate, into a response bundle to publish."""
    from ceremony.notation.crl import make_crl
    serials = [s.lower().removeprefix("0x") for s in revoke]
    name = "notation-ca-revoke" if serials else "notation-ca-crl"
    data = {"ca": ca, "revoke": serials, "valid_for_days": valid_for.days, "out": options.out}
    with notation_session(name, options, console, data=data) as s:
        state = CAState.from_workspace(s.tx, ca)
        for serial in serials:
            if serial not in state.issued:
                raise CeremonyRefused(f"serial {serial} was not issued by CA '{ca}': check the "
                                      "certificate (`ceremony notation ca export` lists the "
                                      "serials it issued)")
        tok = _ca_key(s, state, ca_token)
        number = state.crl_number + 1
        lines = [f"  CA:            '{ca}', {state.certificate.subject.rfc4514_string()} on "
                 f"{key_line(tok, state.label)}",
                 *fingerprint("CA certificate", _sha256(state.certificate)),
                 f"  CRL number:    {number}, valid {_until(valid_for)}"]
        for serial in serials:
            again = " (already revoked: stays with its first date)" if serial in state.revoked \
                else ""
            lines.append(f"  REVOKE:        {serial} {state.issued[serial]['subject']}{again}")
        listed = sorted(set(state.revoked) | set(serials))
        lines.append(f"  CRL lists:     {', '.join(listed) if listed else 'no certificate'}")
        what = f"revoke {len(serials)} certificate(s) and issue" if serials else "issue"
        digest = review(s, f"notation ca {'revoke' if serials else 'crl'}: {what} CRL #{number} "
                           f"of CA '{ca}'", lines)
        confirm_review(s, f"{what[0].upper()}{what[1:]} CRL #{number}", digest)
        when = certs.now().isoformat()
        for serial in serials:
            state.revoked.setdefault(serial, when)
        crl = make_crl(token_key(tok, state.label), state.certificate, state.revoked_dates(),
                       number, valid_for)
        state.crl_number = number
        state.crl = crl.public_bytes(Encoding.PEM)
        state.stage(s.tx)
        tokens = stage_tokens(s)
        response = bundles.crl_response(ca, s.transcript.head,
                                        state.certificate.public_bytes(Encoding.PEM), crl,
                                        number, sorted(state.revoked))
        written = write_response(s, response)
        s.finish({"notation": {"ca": ca, "crl_number": number, "revoked": serials},
                  "tokens": tokens}, crl_number=number)
        nxt = crl.next_update_utc.isoformat() if crl.next_update_utc else None
        result = _result(s, {"ceremony": name, "ca": ca, "crl_number": number,
                             "next_update": nxt, "revoked": sorted(state.revoked),
                             "review_sha256": digest, **written})
    result.update(s.transcript_fields())
    return result


def ca_public_files(ws: Any, ca: str) -> dict[str, bytes]:
    """What people and verifiers get of a CA: its certificate, chain, root, newest CRL."""
    state = CAState.from_workspace(ws, ca)
    out = {"ca.crt": state.certificate.public_bytes(Encoding.PEM),
           "chain.pem": b"".join(c.public_bytes(Encoding.PEM) for c in state.chain),
           "root.crt": state.chain[-1].public_bytes(Encoding.PEM)}
    if state.crl is not None:
        out["crl.pem"] = state.crl
        out["crl.der"] = x509.load_pem_x509_crl(state.crl).public_bytes(Encoding.DER)
    return out


def ca_listing(ws: Any, ca: str) -> dict[str, Any]:
    state = CAState.from_workspace(ws, ca)
    return {"ca": ca, "certificate": _cert_json(state.certificate),
            "chain": [c.subject.rfc4514_string() for c in state.chain],
            "token": state.token, "label": state.label, "crl_number": state.crl_number,
            "issued": state.issued, "revoked": state.revoked}


