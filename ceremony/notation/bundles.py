"""Notation's request and response bundles (transfer/systembundle.py frames them, digests and
bounds them; this module says what their content is, and reads it strictly through the tool's
one strict reader (strict.READ): unknown fields, wrong types, bad base64 or certificates are
refused with one line naming the field).

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
from ceremony.notation.headers import MAX_CHAIN
from ceremony.notation.payload import ENVELOPE_TYPES, Descriptor
from ceremony.notation.strict import READ
from groundfloor.limits import MAX_BUNDLE_FILE_BYTES, MAX_PEM_BYTES
from transfer.errors import TransferError
from transfer.systembundle import SystemBundle, b64, read_system_bundle

SYSTEM = "notation"
MAX_ITEMS = 100_000
MAX_SUMMARY = 20
MAX_REFERENCE = 1024
MAX_NAME = 200


def _fields(obj: Any, where: str, required: tuple[str, ...],
            optional: tuple[str, ...] = ()) -> dict[str, Any]:
    # A bundle's content arrives as a read-only mapping; its objects inside as dicts.
    return READ.fields(dict(obj) if isinstance(obj, Mapping) else obj, where, required,
                       optional)


def _items(value: Any, where: str) -> list[Any]:
    items = READ.array(value, where, max_items=MAX_ITEMS)
    if not items:
        raise NotationError(f"{where}: expected a non-empty array")
    return items


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
    for i, item in enumerate(_items(c["csrs"], "request.csrs")):
        where = f"request.csrs[{i}]"
        m = _fields(item, where, ("name", "csr"))
        name = READ.string(m["name"], f"{where}.name", max_len=MAX_NAME)
        if name in names:
            raise NotationError(f"{where}: name {name!r} given twice")
        names.add(name)
        der = READ.base64(m["csr"], f"{where}.csr", limit=MAX_PEM_BYTES)
        try:
            out.append((name, x509.load_der_x509_csr(der)))
        except ValueError as exc:
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
    for i, item in enumerate(_items(c["artifacts"], "request.artifacts")):
        where = f"request.artifacts[{i}]"
        m = _fields(item, where, ("reference", "descriptor"))
        out.append((READ.string(m["reference"], f"{where}.reference", max_len=MAX_REFERENCE),
                    Descriptor.from_dict(m["descriptor"], f"{where}.descriptor")))
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
    return read_signature_entries(c["signatures"], "response.signatures")


def read_signature_entries(items: Any, where: str) -> list[tuple[dict[str, Any], bytes]]:
    """The signatures of a response (or of the first round's signatures.json): each entry
    checked, with its envelope's bytes."""
    out = []
    for i, item in enumerate(_items(items, where)):
        at = f"{where}[{i}]"
        m = _fields(item, at, ("reference", "descriptor", "envelope", "mediaType",
                               "thumbprints", "signingTime"))
        READ.string(m["reference"], f"{at}.reference", max_len=MAX_REFERENCE)
        Descriptor.from_dict(m["descriptor"], f"{at}.descriptor")
        READ.choice(m["mediaType"], f"{at}.mediaType", ENVELOPE_TYPES)
        READ.strings(m["thumbprints"], f"{at}.thumbprints", max_items=MAX_CHAIN)
        READ.string(m["signingTime"], f"{at}.signingTime", max_len=64)
        out.append((m, READ.base64(m["envelope"], f"{at}.envelope",
                                   limit=MAX_BUNDLE_FILE_BYTES)))
    return out


def unpack(content: Mapping[str, Any]) -> dict[str, bytes]:
    """The files a response carries for people and verifiers: name -> bytes."""
    from cryptography.hazmat.primitives.serialization import Encoding
    kind = content.get("type")
    if kind == "issued":
        c = _fields(content, "response", ("type", "ca", "request_sha256", "transcript_sha256",
                                          "certificates"), ("summary",))
        out = {}
        for i, item in enumerate(_items(c["certificates"], "response.certificates")):
            where = f"response.certificates[{i}]"
            m = _fields(item, where, ("name", "serial", "chain"))
            name = READ.string(m["name"], f"{where}.name", max_len=MAX_NAME)
            pem = READ.string(m["chain"], f"{where}.chain", max_len=MAX_PEM_BYTES).encode()
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
        der = READ.base64(c["crl"], "response.crl", limit=MAX_BUNDLE_FILE_BYTES)
        ca_pem = READ.string(c["ca_certificate"], "response.ca_certificate",
                             max_len=MAX_PEM_BYTES)
        try:
            crl = x509.load_der_x509_crl(der)
            ca = x509.load_pem_x509_certificate(ca_pem.encode())
        except ValueError as exc:
            raise NotationError(f"response: not a CRL and CA certificate ({exc})") from None
        if not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
            raise NotationError("response: the CRL is not signed by the CA certificate it "
                                "carries")
        return {"crl.der": der, "crl.pem": crl.public_bytes(Encoding.PEM),
                "ca.crt": ca.public_bytes(Encoding.PEM)}
    raise NotationError(f"response of type {kind!r} carries no files to unpack (signatures "
                        "go to the registry with `ceremony notation attach --response`)")
