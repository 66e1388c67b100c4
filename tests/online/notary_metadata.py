"""TEST-ONLY: just enough Notary metadata building to give `online publish` something signed.

The real model, serialisation and signing live in the metadata and ceremony layers; this is a
small software-key stand-in so the online tests can publish a new repository that uses the
server keys carried in a request, and check the real client accepts it. ASCII content only, so
Python's sorted compact JSON equals Go's canonical JSON here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def key_id(key_obj: dict) -> str:
    return hashlib.sha256(canonical(key_obj)).hexdigest()


def expires(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SoftKey:
    private: ec.EllipticCurvePrivateKey
    key_obj: dict

    @property
    def id(self) -> str:
        return key_id(self.key_obj)

    def sign(self, message: bytes) -> dict:
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return {"keyid": self.id, "method": "ecdsa", "sig": base64.b64encode(raw).decode()}


def plain_key() -> SoftKey:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return SoftKey(private, {"keytype": "ecdsa",
                             "keyval": {"private": None, "public": base64.b64encode(der).decode()}})


def root_cert_key(gun: str) -> SoftKey:
    """A root key as Notary makes them: self-signed, CN=GUN, CA:FALSE, codeSigning."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gun)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                           critical=False)
            .sign(private, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return SoftKey(private, {"keytype": "ecdsa-x509",
                             "keyval": {"private": None, "public": base64.b64encode(pem).decode()}})


def server_key(raw: bytes) -> dict:
    """A server key as carried in a request (exact bytes), normalised to the canonical object."""
    obj = json.loads(raw)
    return {"keytype": obj["keytype"], "keyval": {"private": None,
                                                  "public": obj["keyval"]["public"]}}


def signed_file(signed: dict, *keys: SoftKey) -> bytes:
    body = canonical(signed)
    sigs = json.dumps([k.sign(body) for k in keys], separators=(",", ":")).encode()
    return b'{"signed":' + body + b',"signatures":' + sigs + b"}"


def target_meta(content: bytes) -> dict:
    return {"hashes": {"sha256": base64.b64encode(hashlib.sha256(content).digest()).decode(),
                       "sha512": base64.b64encode(hashlib.sha512(content).digest()).decode()},
            "length": len(content)}


def new_repository(gun: str, timestamp_key: bytes, snapshot_key: bytes,
                   target: tuple[str, bytes]) -> tuple[SoftKey, list[tuple[str, bytes]]]:
    """root v1 + targets v1 (delegating to targets/releases) + targets/releases v1.

    Snapshot and timestamp are left to the server (its keys come from the request). Returns
    the root key (for pinning) and the files in upload order.
    """
    root_key, targets_key, releases_key = root_cert_key(gun), plain_key(), plain_key()
    ts, snap = server_key(timestamp_key), server_key(snapshot_key)
    keys = {k.id: k.key_obj for k in (root_key, targets_key)}
    keys[key_id(ts)] = ts
    keys[key_id(snap)] = snap
    root = {"_type": "Root", "consistent_snapshot": False, "expires": expires(3650),
            "keys": keys, "version": 1, "roles": {
                "root": {"keyids": [root_key.id], "threshold": 1},
                "targets": {"keyids": [targets_key.id], "threshold": 1},
                "snapshot": {"keyids": [key_id(snap)], "threshold": 1},
                "timestamp": {"keyids": [key_id(ts)], "threshold": 1}}}
    targets = {"_type": "Targets", "expires": expires(1095), "targets": {}, "version": 1,
               "delegations": {"keys": {releases_key.id: releases_key.key_obj}, "roles": [
                   {"keyids": [releases_key.id], "name": "targets/releases", "paths": [""],
                    "threshold": 1}]}}
    releases = {"_type": "Targets", "expires": expires(1095), "version": 1,
                "delegations": {"keys": {}, "roles": []},
                "targets": {target[0]: target_meta(target[1])}}
    return root_key, [("root", signed_file(root, root_key)),
                      ("targets", signed_file(targets, targets_key)),
                      ("targets/releases", signed_file(releases, releases_key))]
