"""Both sides of TUF ceremonies for the tests: the offline machine (SoftHSM tokens, a workspace,
every command air-gapped) and the online service (a repository folder served to clients; its
snapshot, timestamp and online delegated-role keys are software keys, as an online service's
are: python-tuf's repository code signs those roles after each `ceremony tuf apply`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata

from tests.conftest import CliResult, run_cli
from tests.tuf.airgapped import AirgappedTokens
from tests.tuf.pytuf_repo import PyTufRepository, new_signer

# token label -> what it holds in the tests
TOKENS = ("root-a", "root-b", "root-c", "root-d", "targets-1", "targets-2")


@dataclass
class OfflineSite(AirgappedTokens):
    """The offline machine: its tokens and workspace; every command runs air-gapped."""

    workspace: Path
    tokens = TOKENS

    def ceremony(self, command: list[str], request: Path, out: Path, *options: str,
                 input: str | None = None, yes: bool = True) -> CliResult:
        return self.run("tuf", *command, "--workspace", str(self.workspace), "--request",
                        str(request), "--out", str(out), *(["--yes"] if yes else []),
                        *self.pins(), *options, "--json", input=input)

    def ok(self, command: list[str], request: Path, out: Path, *options: str) -> dict[str, Any]:
        r = self.ceremony(command, request, out, *options)
        assert r.returncode == 0, r.output
        return json.loads(r.stdout)


class OnlineService(PyTufRepository):
    """The online repository: files from the offline side come in through `ceremony tuf
    apply`; snapshot and timestamp (and an online delegated role) are signed here."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.signers = {"snapshot": [new_signer("ed25519")],
                        "timestamp": [new_signer("p256")]}
        self.keys_dir = folder.parent / "online-keys"
        self.keys_dir.mkdir(exist_ok=True)

    def public_pem(self, signer: CryptoSigner, name: str) -> Path:
        path = self.keys_dir / f"{name}.pem"
        path.write_bytes(signer._private_key.public_key().public_bytes(  # noqa: SLF001
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    def request(self, operation: str, out: Path, *extra: str, name: str = "demo") -> Path:
        r = run_cli("tuf", "request", "--repo", str(self.metadata_dir), "--name", name,
                    "--operation", operation, "--out", str(out), *extra)
        assert r.returncode == 0, r.output
        return out

    def apply(self, response: Path, request: Path) -> list[str]:
        r = run_cli("tuf", "apply", "--response", str(response), "--repo",
                    str(self.metadata_dir), "--request", str(request), "--json")
        assert r.returncode == 0, r.output
        written = json.loads(r.stdout)["written"]
        for name in written:
            if name == "root.json":
                continue
            role = name.split(".", 1)[1][:-5]
            self.store(role, (self.metadata_dir / name).read_bytes())
        return list(written)

    def put_target_file(self, path: str, content: bytes) -> None:
        """A target file under both names clients ask for (see PyTufRepository.add_target)."""
        digest = hashlib.sha256(content).hexdigest()
        folder, _, name = path.rpartition("/")
        for out in (self.targets_dir / folder / f"{digest}.{name}",
                    self.targets_dir / f"{digest}.{path}"):
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(content)

    def root_version(self) -> int:
        return int(Metadata.from_bytes(self.stored["root"]).signed.version)
