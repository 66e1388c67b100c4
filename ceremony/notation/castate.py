"""A CA folder: what the offline machine keeps about one CA it runs.

    <dir>/ca.json       {"version": 1, "token": URI, "label": key label, "crl_number": n,
                         "issued": {serial hex: {"subject", "not_after"}},
                         "revoked": {serial hex: revocation time}}
    <dir>/ca.crt        this CA's certificate (PEM)
    <dir>/chain.pem     this CA's chain up to the root (PEM, this CA first)
    <dir>/crl.pem       the newest CRL (PEM; crl.der: the same in DER, to publish)

The token and key label say which key signs; the certificate pins it (the key on the token
must match the certificate's public key, checked before every signature).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ceremony.notation.errors import NotationError
from ceremony.notation.files import write_atomic
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_PEM_BYTES, MAX_WORKSPACE_FILE_BYTES


@dataclass
class CAState:
    folder: Path
    token: str
    label: str
    chain: list[x509.Certificate]
    crl_number: int = 0
    issued: dict[str, dict[str, str]] = field(default_factory=dict)
    revoked: dict[str, str] = field(default_factory=dict)

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    @classmethod
    def load(cls, folder: str | Path) -> CAState:
        path = Path(folder)
        try:
            data = json.loads(read_limited(path / "ca.json", MAX_WORKSPACE_FILE_BYTES,
                                           what="CA state"))
            chain = x509.load_pem_x509_certificates(
                read_limited(path / "chain.pem", MAX_PEM_BYTES, what="CA chain"))
            if data.get("version") != 1 or not chain:
                raise ValueError("unknown version or empty chain")
            return cls(path, data["token"], data["label"], chain, int(data["crl_number"]),
                       dict(data["issued"]), dict(data["revoked"]))
        except (GroundFloorError, OSError, ValueError, KeyError, TypeError) as exc:
            raise NotationError(f"{path} is not a CA folder made by `ceremony notation ca "
                                f"init` ({type(exc).__name__}: {exc})") from None

    def save(self) -> None:
        data: dict[str, Any] = {"version": 1, "token": self.token, "label": self.label,
                                "crl_number": self.crl_number, "issued": self.issued,
                                "revoked": self.revoked}
        write_atomic(self.folder / "chain.pem",
                     b"".join(c.public_bytes(Encoding.PEM) for c in self.chain))
        write_atomic(self.folder / "ca.crt", self.certificate.public_bytes(Encoding.PEM))
        write_atomic(self.folder / "ca.json",
                     (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())

    def revoked_dates(self) -> dict[int, dt.datetime]:
        return {int(s, 16): dt.datetime.fromisoformat(t) for s, t in self.revoked.items()}

    def check_key(self, public_key: Any) -> None:
        """The token's key must be this CA certificate's key."""
        def spki(k: Any) -> bytes:
            return k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if spki(public_key) != spki(self.certificate.public_key()):
            raise NotationError(f"key '{self.label}' on token {self.token} is not the key of "
                                f"this CA ({self.certificate.subject.rfc4514_string()}): "
                                "insert the CA's token")
