"""A CA's state: what the offline machine keeps about one CA it runs.

The same files, wherever they live -- in the workspace's "notation" section under
`ca/<name>/` (the way: committed with the ceremony's transcript, crash-safe, locked), or in a
loose folder given with `--ca-dir` (the first round's layout, kept for compatibility):

    ca.json       {"version": 1, "token": URI, "label": key label, "crl_number": n,
                   "issued": {serial hex: {"subject", "not_after"}},
                   "revoked": {serial hex: revocation time}}
    ca.crt        this CA's certificate (PEM)
    chain.pem     this CA's chain up to the root (PEM, this CA first)
    crl.pem       the newest CRL (PEM; crl.der in a folder: the same in DER, to publish)
    issued/<serial>.pem   (workspace only) each certificate issued, with its chain

The token and key label say which key signs; the certificate pins it (the key on the token
must match the certificate's public key, checked before every signature).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ceremony.notation.errors import NotationError
from ceremony.notation.files import write_atomic
from ceremony.notation.strict import READ, read_file
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_PEM_BYTES, MAX_WORKSPACE_FILE_BYTES

SYSTEM = "notation"
CA_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def check_ca_name(name: str) -> str:
    if not CA_NAME.fullmatch(name):
        raise NotationError(f"CA name {name!r}: use lowercase letters, digits and '-' (at most "
                            "32), e.g. root or issuing")
    return name


def spki(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[no-any-return]


@dataclass
class CAState:
    folder: Path | None  # a --ca-dir folder; None for a CA kept in the workspace
    token: str
    label: str
    chain: list[x509.Certificate]
    crl_number: int = 0
    issued: dict[str, dict[str, str]] = field(default_factory=dict)
    revoked: dict[str, str] = field(default_factory=dict)
    name: str = ""  # the CA's name in the workspace
    crl: bytes | None = None  # newest CRL, PEM

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    # -- the files, wherever they are --------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        data: dict[str, Any] = {"version": 1, "token": self.token, "label": self.label,
                                "crl_number": self.crl_number, "issued": self.issued,
                                "revoked": self.revoked}
        out = {"chain.pem": b"".join(c.public_bytes(Encoding.PEM) for c in self.chain),
               "ca.crt": self.certificate.public_bytes(Encoding.PEM),
               "ca.json": (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()}
        if self.crl is not None:
            out["crl.pem"] = self.crl
        return out

    @classmethod
    def from_files(cls, get: Callable[[str], bytes | None], where: str, *,
                   folder: Path | None = None, name: str = "", kind: str = "notation CA"
                   ) -> CAState:
        try:
            raw, chain_pem = get("ca.json"), get("chain.pem")
            if raw is None or chain_pem is None:
                raise ValueError("ca.json or chain.pem missing")
            data = _read_ca_json(raw)
            chain = x509.load_pem_x509_certificates(chain_pem)
            return cls(folder, data["token"], data["label"], chain, data["crl_number"],
                       data["issued"], data["revoked"], name=name, crl=get("crl.pem"))
        except NotationError as exc:
            raise NotationError(f"{where} is not a {kind} made by `ceremony notation ca init` "
                                f"({exc})") from None
        except (GroundFloorError, OSError, ValueError) as exc:
            raise NotationError(f"{where} is not a {kind} made by `ceremony notation ca init` "
                                f"({type(exc).__name__}: {exc})") from None

    # -- a --ca-dir folder --------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path) -> CAState:
        path = Path(folder)

        def get(name: str) -> bytes | None:
            limit = MAX_WORKSPACE_FILE_BYTES if name == "ca.json" else MAX_PEM_BYTES
            try:
                return read_limited(path / name, limit, what=f"CA {name}")
            except GroundFloorError:
                if name == "crl.pem" and not (path / name).exists():
                    return None
                raise
        return cls.from_files(get, str(path), folder=path, kind="CA folder")

    def save(self) -> None:
        assert self.folder is not None
        for name, data in self.files().items():
            if name != "crl.pem":  # the CRL is written by its own ceremony, PEM and DER
                write_atomic(self.folder / name, data)

    # -- the workspace ------------------------------------------------------------------------
    @classmethod
    def from_workspace(cls, ws: Any, name: str) -> CAState:
        check_ca_name(name)
        if ws.system_file(SYSTEM, f"ca/{name}/ca.json") is None:
            known = names_in(ws)
            raise NotationError(f"this workspace has no notation CA named '{name}' (it has: "
                                f"{', '.join(known) or 'none'}); make one with `ceremony "
                                "notation ca init`, or give --ca NAME")
        return cls.from_files(lambda p: ws.system_file(SYSTEM, f"ca/{name}/{p}"),
                              f"workspace CA '{name}'", name=name)

    def stage(self, tx: Any) -> None:
        """Put this CA's files into the workspace transaction (committed by the frame)."""
        for path, data in self.files().items():
            tx.put_system_file(SYSTEM, f"ca/{self.name}/{path}", data)

    def stage_issued(self, tx: Any, serial: str, chain_pem: bytes) -> None:
        tx.put_system_file(SYSTEM, f"ca/{self.name}/issued/{serial}.pem", chain_pem)

    # -- rules -------------------------------------------------------------------------------
    def revoked_dates(self) -> dict[int, dt.datetime]:
        return {int(s, 16): dt.datetime.fromisoformat(t) for s, t in self.revoked.items()}

    def check_key(self, public_key: Any) -> None:
        """The token's key must be this CA certificate's key."""
        if spki(public_key) != spki(self.certificate.public_key()):
            raise NotationError(f"key '{self.label}' on token {self.token} is not the key of "
                                f"this CA ({self.certificate.subject.rfc4514_string()}): "
                                "insert the CA's token")


_CA_JSON = ("version", "token", "label", "crl_number", "issued", "revoked")
_SERIAL = re.compile(r"[0-9a-f]{1,64}")  # RFC 5280: 20 octets (leading zeros given may add)


def _read_ca_json(raw: bytes) -> dict[str, Any]:
    """ca.json, read strictly: every field of the form `files` writes, nothing else."""
    data = READ.fields(read_file(raw, "ca.json"), "ca.json", _CA_JSON)
    if data["version"] != 1:
        raise NotationError(f"ca.json: version {data['version']!r} is not 1")
    READ.string(data["token"], "ca.json.token", max_len=4096)
    READ.string(data["label"], "ca.json.label", max_len=256)
    READ.integer(data["crl_number"], "ca.json.crl_number", minimum=0)
    for serial, info in READ.mapping(data["issued"], "ca.json.issued").items():
        where = f"ca.json.issued.{serial}"
        READ.string(serial, where, pattern=_SERIAL, like="a serial number in lowercase hex")
        record = READ.fields(info, where, ("subject", "not_after"))
        READ.string(record["subject"], f"{where}.subject")
        READ.string(record["not_after"], f"{where}.not_after")
    for serial, when in READ.mapping(data["revoked"], "ca.json.revoked").items():
        where = f"ca.json.revoked.{serial}"
        READ.string(serial, where, pattern=_SERIAL, like="a serial number in lowercase hex")
        try:
            dt.datetime.fromisoformat(READ.string(when, where))
        except ValueError:
            raise NotationError(f"{where}: {when!r} is not a date and time") from None
    return data


def names_in(ws: Any) -> list[str]:
    """The CAs kept in a workspace."""
    return sorted({p.split("/")[1] for p in ws.system_paths(SYSTEM, "ca/")
                   if p.endswith("/ca.json") and p.count("/") == 2})


def issued_chains(ws: Any) -> list[tuple[str, list[x509.Certificate]]]:
    """Every certificate the workspace's CAs issued, with its chain: (CA name, chain)."""
    out = []
    for path in ws.system_paths(SYSTEM, "ca/"):
        parts = path.split("/")
        if len(parts) == 4 and parts[2] == "issued" and parts[3].endswith(".pem"):
            data = ws.system_file(SYSTEM, path)
            if data:
                out.append((parts[1], x509.load_pem_x509_certificates(data)))
    return out
