"""What a verifier of a repository pins: the root certificate IDs and the root public keys.

- The notary client (and `docker trust`) pins root certificate key IDs: the IDs root.json lists
  for the root role (`trust_pinning.certs` in the client's config). With a root threshold
  above 1 a fresh client checks the newest root against its pins alone, so every ID is pinned.
- Connaisseur pins one public root key per trust root: the SubjectPublicKeyInfo PEM of a root
  key (the key inside the certificate, which survives a certificate re-issue).

`pin_set` reads them from a root; `PinSet.render` is the "Pin these" block printed after the
ceremonies that change or create a root, and `ceremony pins` writes the files (docs/verify.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from ceremony.errors import CeremonyError
from ceremony.notary.format.model import ROOT, Root


@dataclass(frozen=True)
class PinSet:
    gun: str
    root_cert_ids: tuple[str, ...]
    root_public_keys_pem: tuple[str, ...]

    def trust_pinning(self) -> dict[str, Any]:
        """The notary client's `trust_pinning` value for this repository."""
        return {"certs": {self.gun: list(self.root_cert_ids)}}

    def changed_from(self, previous: PinSet | None) -> bool:
        return previous is not None and set(previous.root_cert_ids) != set(self.root_cert_ids)

    def to_json(self, previous: PinSet | None = None) -> dict[str, Any]:
        """`changed` is true when `previous` (the root before this one) pinned other IDs."""
        return {"gun": self.gun, "root_cert_ids": list(self.root_cert_ids),
                "trust_pinning": self.trust_pinning(),
                "root_public_keys_pem": list(self.root_public_keys_pem),
                "changed": self.changed_from(previous),
                "previous_root_cert_ids": list(previous.root_cert_ids) if previous else []}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> tuple[PinSet, PinSet | None]:
        """(the pin set, the previous one if it differed) from `to_json` output."""
        pins = cls(data["gun"], tuple(data["root_cert_ids"]),
                   tuple(data["root_public_keys_pem"]))
        previous = None
        if data.get("changed"):
            previous = cls(data["gun"], tuple(data["previous_root_cert_ids"]), ())
        return pins, previous

    def render(self, previous: PinSet | None = None) -> list[str]:
        """The human block: what to hand to every verifier of the repository."""
        import json
        lines = [f"Pin these (distribute to every verifier of {self.gun}):",
                 "  root certificate IDs (notary client trust_pinning.certs; pin ALL of them):"]
        lines += [f"    {kid}" for kid in self.root_cert_ids]
        lines.append("  notary client config (~/.notary/config.json, or the file given to "
                     "notary -c):")
        lines.append("    " + json.dumps({"trust_pinning": self.trust_pinning()},
                                         sort_keys=True))
        lines.append("  root public key(s) for Connaisseur's trust root (PEM):")
        for pem in self.root_public_keys_pem:
            lines += [f"    {line}" for line in pem.strip().splitlines()]
        if self.changed_from(previous):
            assert previous is not None
            lines.append("  WARNING: the root certificate IDs changed (previously "
                         f"{', '.join(previous.root_cert_ids)}). Clients that already trust "
                         "this repository follow the new root on their own; FRESH clients "
                         "pinned to an old ID fail until they are given the new ID(s) above.")
        lines.append(f"  (`ceremony pins {self.gun} --out DIR` writes these as files)")
        return lines


def pin_set(gun: str, root: Root) -> PinSet:
    """The pins of `root`: its root-role key IDs in root.json order and their public keys."""
    ids = tuple(root.roles[ROOT].keyids)
    pems = []
    for kid in ids:
        public = root.keys[kid].public_key
        pems.append(public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
                    .decode())
    return PinSet(gun, ids, tuple(pems))


_CERT_ID = re.compile(r"[0-9a-f]{64}")


def root_cert_ids(values: Sequence[str]) -> list[str]:
    """`--root-cert-id` values as pinned (lower case), each checked: 64 hex digits."""
    ids = [v.strip().lower() for v in values]
    for cid in ids:
        if not _CERT_ID.fullmatch(cid):
            raise CeremonyError(f"--root-cert-id {cid[:80]!r}: a root certificate ID is 64 hex "
                              "digits (the cert key ID root.json lists)")
    return ids
