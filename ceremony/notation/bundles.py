"""Notation's request and response bundles (transfer/systembundle.py frames them, digests and
bounds them; this module says what their content is, and reads it strictly: unknown fields,
wrong types, bad base64 or certificates are refused with one line).

Requests (made on the online machine, or wherever CSRs are collected):
    {"type": "issue", "csrs": [{"name", "csr": base64 DER}], "summary": [...]}
    {"type": "sign", "artifacts": [{"reference", "descriptor": {mediaType, digest, size}}],
     "summary": [...]}
Responses (made offline, inside a ceremony; every one carries the transcript head):
    {"type": "issued", "ca", "request_sha256", "transcript_sha256",
     "certificates": [{"name", "serial", "chain": PEM}], "summary"}
    {"type": "signatures", "request_sha256", "transcript_sha256",
     "signatures": [{"reference", "descriptor", "envelope": base64, "mediaType",
                     "thumbprints", "signingTime"}], "summary"}
    {"type": "crl", "ca", "transcript_sha256", "ca_certificate": PEM, "crl": base64 DER,
     "number", "next_update", "revoked": [serial hex], "summary"}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509

from ceremony.notation.errors import NotationError
from ceremony.notation.payload import Descriptor
from transfer.errors import TransferError
from transfer.systembundle import SystemBundle, b64, read_system_bundle, unb64

SYSTEM = "notation"
MAX_ITEMS = 100_000
MAX_SUMMARY = 20


def _fields(obj: Any, where: str, required: tuple[str, ...],
            optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise NotationError(f"{where}: expected an object")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise NotationError(f"{where}: unknown field {unknown[0]!r} (made by another version "
                            "of the tool?)")
    missing = [k for k in required if k not in obj]
    if missing:
        raise NotationError(f"{where}: missing field {missing[0]!r}")
    return dict(obj)


def _text(value: Any, where: str, limit: int = 4096) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise NotationError(f"{where}: expected a string (at most {limit} characters)")
    return value


def _items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        raise NotationError(f"{where}: expected a non-empty list (at most {MAX_ITEMS})")
    return value


def _summary(lines: list[str]) -> list[str]:
    return lines[:MAX_SUMMARY] + ([f"... and {len(lines) - MAX_SUMMARY} more"]
                                  if len(lines) > MAX_SUMMARY else [])


def read(path: str | Path, kind: str, *types: str) -> SystemBundle:
    """A notation bundle of `kind` whose content type is one of `types`."""
    try:
        bundle = read_system_bundle(path, SYSTEM, kind)
    except TransferError as exc:
        raise NotationError(f"{path}: {exc}") from None
    got = bundle.content.get("type")
    if got not in types:
        raise NotationError(f"{path}: a notation {kind} of type {got!r}; this command reads "
                            f"{' or '.join(types)}")
    return bundle


# --- requests ---------------------------------------------------------------------------------

def csr_request(csrs: list[tuple[str, x509.CertificateSigningRequest]]) -> SystemBundle:
    from cryptography.hazmat.primitives.serialization import Encoding
    lines = [f"issue {len(csrs)} signing certificate(s)"] + [
        f"{name}: {csr.subject.rfc4514_string()}" for name, csr in csrs]
    return SystemBundle(system=SYSTEM, kind="request", content={
        "type": "issue", "summary": _summary(lines),
        "csrs": [{"name": name, "csr": b64(csr.public_bytes(Encoding.DER))}
                 for name, csr in csrs]})


def read_csr_request(content: Mapping[str, Any]
                     ) -> list[tuple[str, x509.CertificateSigningRequest]]:
    c = _fields(content, "request", ("type", "csrs"), ("summary",))
    out = []
    names: set[str] = set()
    for i, item in enumerate(_items(c["csrs"], "request: csrs")):
        where = f"request: csrs[{i}]"
        m = _fields(item, where, ("name", "csr"))
        name = _text(m["name"], f"{where}.name", 200)
        if name in names:
            raise NotationError(f"{where}: name {name!r} given twice")
        names.add(name)
        try:
            der = unb64(m["csr"], f"{where}.csr")
            out.append((name, x509.load_der_x509_csr(der)))
        except (TransferError, ValueError) as exc:
            raise NotationError(f"{where} ({name}): not a PKCS#10 CSR ({exc})") from None
    return out


def sign_request(artifacts: list[tuple[str, Descriptor]]) -> SystemBundle:
    lines = [f"sign {len(artifacts)} artifact(s)"] + [
        f"{ref} {d.digest} {d.size} bytes" for ref, d in artifacts]
    return SystemBundle(system=SYSTEM, kind="request", content={
        "type": "sign", "summary": _summary(lines),
        "artifacts": [{"reference": ref, "descriptor": d.to_dict()} for ref, d in artifacts]})


def read_sign_request(content: Mapping[str, Any]) -> list[tuple[str, Descriptor]]:
    c = _fields(content, "request", ("type", "artifacts"), ("summary",))
    out = []
    for i, item in enumerate(_items(c["artifacts"], "request: artifacts")):
        where = f"request: artifacts[{i}]"
        m = _fields(item, where, ("reference", "descriptor"))
        out.append((_text(m["reference"], f"{where}.reference", 1024),
                    Descriptor.from_dict(m["descriptor"])))
    return out


# --- responses --------------------------------------------------------------------------------

def issued_response(ca: str, request_sha256: str, transcript_sha256: str,
                    certificates: list[dict[str, str]]) -> SystemBundle:
    lines = [f"{len(certificates)} signing certificate(s) issued by CA '{ca}'"] + [
        f"{c['name']}: serial {c['serial']}" for c in certificates]
    return SystemBundle(system=SYSTEM, kind="response", content={
        "type": "issued", "ca": ca, "request_sha256": request_sha256,
        "transcript_sha256": transcript_sha256, "certificates": certificates,
        "summary": _summary(lines)})


def signatures_response(request_sha256: str, transcript_sha256: str,
                        entries: list[dict[str, Any]]) -> SystemBundle:
    lines = [f"{len(entries)} signature(s)"] + [
        f"{e['reference']} {e['descriptor']['digest']} {e['mediaType']}" for e in entries]
    return SystemBundle(system=SYSTEM, kind="response", content={
        "type": "signatures", "request_sha256": request_sha256,
        "transcript_sha256": transcript_sha256, "signatures": entries,
        "summary": _summary(lines)})


def crl_response(ca: str, transcript_sha256: str, ca_certificate: bytes,
                 crl: x509.CertificateRevocationList, number: int,
                 revoked: list[str]) -> SystemBundle:
    from cryptography.hazmat.primitives.serialization import Encoding
    nxt = crl.next_update_utc.isoformat() if crl.next_update_utc else ""
    lines = [f"CRL #{number} of CA '{ca}', next update {nxt}",
             f"revoked: {', '.join(revoked) if revoked else 'none'}"]
    return SystemBundle(system=SYSTEM, kind="response", content={
        "type": "crl", "ca": ca, "transcript_sha256": transcript_sha256,
        "ca_certificate": ca_certificate.decode(), "crl": b64(crl.public_bytes(Encoding.DER)),
        "number": number, "next_update": nxt, "revoked": revoked, "summary": _summary(lines)})


def read_signatures(content: Mapping[str, Any]) -> list[tuple[dict[str, Any], bytes]]:
    c = _fields(content, "response", ("type", "request_sha256", "transcript_sha256",
                                      "signatures"), ("summary",))
    out = []
    for i, item in enumerate(_items(c["signatures"], "response: signatures")):
        where = f"response: signatures[{i}]"
        m = _fields(item, where, ("reference", "descriptor", "envelope", "mediaType",
                                  "thumbprints", "signingTime"))
        _text(m["reference"], f"{where}.reference", 1024)
        Descriptor.from_dict(m["descriptor"])
        _text(m["mediaType"], f"{where}.mediaType", 100)
        if not isinstance(m["thumbprints"], list) or not all(
                isinstance(t, str) for t in m["thumbprints"]):
            raise NotationError(f"{where}.thumbprints: expected a list of strings")
        try:
            envelope = unb64(m["envelope"], f"{where}.envelope")
        except TransferError as exc:
            raise NotationError(str(exc)) from None
        out.append((m, envelope))
    return out


def unpack(content: Mapping[str, Any]) -> dict[str, bytes]:
    """The files a response carries for people and verifiers: name -> bytes."""
    from cryptography.hazmat.primitives.serialization import Encoding
    kind = content.get("type")
    if kind == "issued":
        c = _fields(content, "response", ("type", "ca", "request_sha256", "transcript_sha256",
                                          "certificates"), ("summary",))
        out = {}
        for i, item in enumerate(_items(c["certificates"], "response: certificates")):
            where = f"response: certificates[{i}]"
            m = _fields(item, where, ("name", "serial", "chain"))
            name = _text(m["name"], f"{where}.name", 200)
            pem = _text(m["chain"], f"{where}.chain", 64 * 1024).encode()
            try:
                x509.load_pem_x509_certificates(pem)
            except ValueError:
                raise NotationError(f"{where}: no PEM certificate chain") from None
            safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_"
                           for ch in name)
            file = f"{safe.lstrip('.') or 'certificate'}.chain.pem"
            if file in out:  # two names that read the same as file names
                raise NotationError(f"{where}: a second certificate would be written as {file}")
            out[file] = pem
        return out
    if kind == "crl":
        c = _fields(content, "response", ("type", "ca", "transcript_sha256", "ca_certificate",
                                          "crl", "number", "next_update", "revoked"),
                    ("summary",))
        try:
            der = unb64(c["crl"], "response: crl")
            crl = x509.load_der_x509_crl(der)
            ca = x509.load_pem_x509_certificate(_text(c["ca_certificate"], "response: "
                                                      "ca_certificate", 64 * 1024).encode())
        except (TransferError, ValueError) as exc:
            raise NotationError(f"response: not a CRL and CA certificate ({exc})") from None
        if not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
            raise NotationError("response: the CRL is not signed by the CA certificate it "
                                "carries")
        return {"crl.der": der, "crl.pem": crl.public_bytes(Encoding.PEM),
                "ca.crt": ca.public_bytes(Encoding.PEM)}
    raise NotationError(f"response of type {kind!r} carries no files to unpack (signatures "
                        "go to the registry with `ceremony notation attach --response`)")
