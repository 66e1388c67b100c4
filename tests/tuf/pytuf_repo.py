"""A TUF 1.0 repository made by python-tuf's own repository code (tuf.repository.Repository),
on disk with consistent snapshots, as python-tuf's example repository keeps it. The peer the
tool must agree with: python-tuf writes, the tool verifies and signs, python-tuf reads back."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.signer import CryptoSigner, Key, Signer, SSlibKey
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer
from tuf.repository import Repository

EXPIRY = timedelta(days=30)


def new_signer(kind: str = "ed25519") -> CryptoSigner:
    private = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else \
        ec.generate_private_key(ec.SECP256R1() if kind == "p256" else ec.SECP384R1())
    return CryptoSigner(private)


class PyTufRepository(Repository):
    """python-tuf repository: root/targets/snapshot/timestamp and a delegated role."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.metadata_dir = folder / "metadata"
        self.targets_dir = folder / "targets"
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self.signers: dict[str, list[Signer]] = {}
        self.stored: dict[str, bytes] = {}
        self._targets_infos: dict[str, MetaFile] = {}
        self._snapshot_info = MetaFile(1)
        self.now = datetime.now(UTC).replace(microsecond=0)

    # -- tuf.repository.Repository ---------------------------------------------------------
    def open(self, role: str) -> Metadata:
        if role in self.stored:
            return Metadata.from_bytes(self.stored[role])
        classes: dict[str, Any] = {"root": Root, "snapshot": Snapshot, "timestamp": Timestamp}
        md = Metadata(classes.get(role, Targets)())
        md.signed.expires = self.now + EXPIRY
        return md

    def close(self, role: str, md: Metadata) -> None:
        if role in self.stored:
            md.signed.version += 1
        md.signed.expires = self.now + EXPIRY
        md.signatures.clear()
        for signer in self.signers.get(role, []):
            md.sign(signer, append=True)
        self.store(role, md.to_bytes(JSONSerializer()))

    @property
    def targets_infos(self) -> dict[str, MetaFile]:
        return self._targets_infos

    @property
    def snapshot_info(self) -> MetaFile:
        return self._snapshot_info

    # -- files -----------------------------------------------------------------------------
    def store(self, role: str, data: bytes) -> None:
        md = Metadata.from_bytes(data)
        self.stored[role] = data
        version = md.signed.version
        if role == "timestamp":
            (self.metadata_dir / "timestamp.json").write_bytes(data)
            return
        (self.metadata_dir / f"{version}.{role}.json").write_bytes(data)
        if role == "root":
            (self.metadata_dir / "root.json").write_bytes(data)
        elif role == "snapshot":
            self._snapshot_info = MetaFile(version)
        else:
            self._targets_infos[f"{role}.json"] = MetaFile(version)

    def add_key(self, role: str, signer: Signer, delegator: str | None = None) -> None:
        self.signers.setdefault(role, []).append(signer)

    def add_target(self, role: str, path: str, content: bytes) -> None:
        digest = hashlib.sha256(content).hexdigest()
        folder, _, name = path.rpartition("/")
        out = self.targets_dir / folder / f"{digest}.{name}"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
        # tough 0.24 asks for `<hash>.<whole path>` where python-tuf and go-tuf ask for
        # `<dir>/<hash>.<name>`; a repository serving tough clients keeps both names.
        tough_name = self.targets_dir / f"{digest}.{path}"
        tough_name.parent.mkdir(parents=True, exist_ok=True)
        tough_name.write_bytes(content)
        with self.edit_targets(role) as targets:
            targets.targets[path] = TargetFile(len(content), {"sha256": digest}, path)

    def publish(self) -> None:
        self.do_snapshot(force=True)
        self.do_timestamp(force=True)

    # -- a whole first version -------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path) -> PyTufRepository:
        """Version 1 of everything: local keys for every role, two targets, a delegation."""
        repo = cls(folder)
        for role in ("root", "targets", "snapshot", "timestamp"):
            repo.add_key(role, new_signer("ed25519" if role != "targets" else "p256"))
        repo.add_key("releases", new_signer("ed25519"))
        with repo.edit_root() as root:
            root.consistent_snapshot = True
            for role in ("root", "targets", "snapshot", "timestamp"):
                root.add_key(repo.signers[role][0].public_key, role)
        with repo.edit_targets() as targets:
            key = repo.signers["releases"][0].public_key
            targets.delegations = Delegations(
                keys={key.keyid: key},
                roles={"releases": DelegatedRole("releases", [key.keyid], 1, True,
                                                 paths=["releases/*"])})
        with repo.edit_targets("releases"):
            pass
        repo.add_target("targets", "files/hello.txt", b"hello from a TUF repository\n")
        repo.add_target("releases", "releases/v1.txt", b"release one\n")
        repo.publish()
        return repo

    # -- root changes made here, signed elsewhere -------------------------------------------
    def propose_root(self, change: Any) -> bytes:
        """Root N+1 with `change(root)` applied, signed by the local keys of root N only
        (the others are on tokens): what python-tuf hands to the offline machine."""
        md = Metadata.from_bytes(self.stored["root"])
        md.signed.version += 1
        md.signed.expires = self.now + EXPIRY
        md.signatures.clear()
        change(md.signed)
        for signer in self.signers["root"]:
            md.sign(signer, append=True)
        return md.to_bytes(JSONSerializer())


def token_key(entry: dict[str, Any]) -> Key:
    """A key as `ceremony tuf key --json` prints it, as python-tuf's Key."""
    return SSlibKey.from_dict(entry["keyid"], copy.deepcopy(entry["key"]))
