"""TUF 1.0 tests: python-tuf makes the repository, the tool verifies it and signs its roots with
REAL SoftHSM token keys (in a network namespace, as on an air-gapped machine), and three real
clients (python-tuf ngclient, go-tuf v2, tough) fetch it from 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.tuf.airgapped import AirgappedTokens
from tests.tuf.pytuf_repo import PyTufRepository, new_signer, token_key

TOKENS = {"tuf-a": "ecdsa-p256", "tuf-b": "ed25519", "tuf-c": "rsa-3072"}
KEY_LABEL = "tuf-root"


@dataclass
class Offline(AirgappedTokens):
    """The offline machine: its tokens; every command runs air-gapped."""

    tokens = TOKENS

    def ok(self, *args: str, input: str | None = None) -> dict[str, Any]:
        result = self.run(*args, "--json", input=input)
        assert result.returncode == 0, result.output
        return json.loads(result.stdout)

    def sign(self, proposed: Path, trusted: Path, out: Path, *tokens: str,
             extra: tuple[str, ...] = ()) -> dict[str, Any]:
        args = ["tuf", "sign", str(proposed), "--trusted", str(trusted), "--out", str(out),
                "--yes", *self.pins(*tokens), *extra]
        for label in tokens:
            args += ["--token", label]
        return self.ok(*args)

    def assert_no_pin(self) -> None:
        for label in TOKENS:
            pin = self.env.pin(label)
            assert all(pin not in text for text in self.outputs), label


@dataclass
class Rotated:
    """A python-tuf repository whose root went 1 -> 2 -> 3, roots 2 and 3 signed by the tool."""

    folder: Path
    repo: PyTufRepository
    offline: Offline
    token_keys: dict[str, dict[str, Any]]
    v1_metadata: Path                     # a copy of the repository before any rotation
    sign_v2: dict[str, Any]
    sign_v3: dict[str, Any]
    sign_v2_text: str = ""

    @property
    def metadata(self) -> Path:
        return self.repo.metadata_dir

    def root(self, version: int) -> bytes:
        return (self.metadata / f"{version}.root.json").read_bytes()


@pytest.fixture(scope="module")
def offline(softhsm_factory) -> Offline:  # noqa: F811
    env = softhsm_factory("tuf", list(TOKENS))
    off = Offline(env)
    for label, algorithm in TOKENS.items():
        r = off.run("key", "generate", "--token", label, "--label", KEY_LABEL, "--algorithm",
                    algorithm, "--pin-source", env.pin_source(label), "--json")
        assert r.returncode == 0, r.output
    return off


@pytest.fixture(scope="module")
def rotated(offline: Offline, tmp_path_factory) -> Rotated:
    folder = tmp_path_factory.mktemp("tuf-rotated")
    keys = {label: offline.ok("tuf", "key", "--token", label, "--label", KEY_LABEL)
            for label in TOKENS}
    repo = PyTufRepository.create(folder / "repo")
    v1_copy = shutil.copytree(repo.metadata_dir, folder / "v1-metadata")

    # Root v2 (made by python-tuf): the root role moves to the three token keys, 2 of 3.
    old_root_keyid = repo.signers["root"][0].public_key.keyid

    def to_tokens(root: Any) -> None:
        root.revoke_key(old_root_keyid, "root")
        for label in TOKENS:
            root.add_key(token_key(keys[label]), "root")
        root.roles["root"].threshold = 2
    (folder / "proposed-2.root.json").write_bytes(repo.propose_root(to_tokens))
    text = offline.run("tuf", "sign", str(folder / "proposed-2.root.json"), "--trusted",
                       str(repo.metadata_dir / "1.root.json"), "--out",
                       str(folder / "signed-2.root.json"), *offline.pins("tuf-a", "tuf-b"),
                       "--token", "tuf-a", "--token", "tuf-b", input="yes\n")
    assert text.returncode == 0, text.output
    sign_v2 = offline.sign(folder / "proposed-2.root.json", repo.metadata_dir / "1.root.json",
                           folder / "signed-2.root.json", "tuf-a", "tuf-b",
                           extra=("--force",))
    repo.store("root", (folder / "signed-2.root.json").read_bytes())
    repo.signers["root"] = []            # root keys now live on the tokens only

    # Root v3 (made by python-tuf): the timestamp key is replaced; no local key signs it.
    new_timestamp = new_signer("p256")
    old_ts = repo.signers["timestamp"][0].public_key.keyid

    def rotate_timestamp(root: Any) -> None:
        root.revoke_key(old_ts, "timestamp")
        root.add_key(new_timestamp.public_key, "timestamp")
    (folder / "proposed-3.root.json").write_bytes(repo.propose_root(rotate_timestamp))
    sign_v3 = offline.sign(folder / "proposed-3.root.json", repo.metadata_dir / "2.root.json",
                           folder / "signed-3.root.json", "tuf-a", "tuf-c")
    repo.store("root", (folder / "signed-3.root.json").read_bytes())
    repo.signers["timestamp"] = [new_timestamp]
    repo.add_target("targets", "files/second.txt", b"published after two root rotations\n")
    repo.publish()
    return Rotated(folder, repo, offline, keys, v1_copy, sign_v2, sign_v3, text.output)
