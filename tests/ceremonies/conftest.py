"""Ceremonies against the REAL notary-server and client, with REAL SoftHSM tokens.

Offline commands run in a subprocess inside a fresh network namespace (`unshare --net`): the
machine there has only a loopback interface and no route, which is what the air-gap check
demands and which proves the offline side needs no network. Online commands (`online fetch`,
`online publish`) run normally against a notary-server on 127.0.0.1, one per test module.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from softhsm.env import SoftHSMEnv
from softhsm.notary_server import NotaryClient, NotaryServer
from tests.ceremonies.sites import notary_server
from tests.conftest import ROOT, CliResult, run_cli
from transfer.bundle import read_bundle

TOKENS = ["root-a", "root-b", "targets", "spare"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real notary-server per test module, with notary-signer (ECDSA server keys)."""
    yield from notary_server(tmp_path_factory)


@pytest.fixture(scope="module")
def notary(server):
    """The same server, under the name the co-signing and root-key tests use."""
    return server


class Offline:
    """The offline machine of one test: its SoftHSM tokens and its workspace."""

    def __init__(self, env: SoftHSMEnv, folder: Path):
        self.env = env
        self.folder = folder
        self.workspace = folder / "workspace"
        self.outputs: list[str] = []  # everything the commands printed (scanned for PINs)

    def pins(self, *labels: str) -> list[str]:
        labels = labels or tuple(self.env.labels)
        out = []
        for label in labels:
            out += ["--pin-source", f"{label}={self.env.pin_source(label)}"]
        return out

    def run(self, *args: str, input: str | None = None, timeout: float = 300) -> CliResult:
        """`ceremony ARGS` in a new network namespace, with the workspace and tokens."""
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(self.env.env)
        env["CEREMONY_WORKSPACE"] = str(self.workspace)
        env.pop("CEREMONY_DEBUG", None)
        proc = subprocess.run(["unshare", "--net", sys.executable, "-m", "ceremony", *args],
                              env=env, input=input if input is not None else "",
                              capture_output=True, text=True, timeout=timeout)
        self.outputs.append(proc.stdout + proc.stderr)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, input: str | None = None) -> dict:
        """Run a ceremony with --json; it must succeed; returns its JSON summary."""
        r = self.run(*args, "--json", input=input)
        assert r.returncode == 0, r.output
        return json.loads(r.stdout)

    def state(self) -> dict[str, bytes]:
        """Every workspace file except transcripts, by path (to prove nothing changed)."""
        out = {}
        if not self.workspace.exists():
            return out
        for path in sorted(self.workspace.rglob("*")):
            rel = path.relative_to(self.workspace).as_posix()
            if rel.startswith("transcripts") or rel == ".lock":
                continue
            out[rel] = os.readlink(path).encode() if path.is_symlink() else (
                path.read_bytes() if path.is_file() else b"<dir>")
        return out

    def assert_no_pin_anywhere(self, *folders: Path) -> None:
        """No token PIN in any output, nor in any file under the workspace or `folders`."""
        pins = [self.env.pin(label) for label in self.env.labels]
        for text in self.outputs:
            assert not any(pin in text for pin in pins)
        for folder in (self.workspace, *folders):
            for path in folder.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()
                    assert not any(pin.encode() in data for pin in pins), path

    def transcripts(self) -> list[Path]:
        return sorted((self.workspace / "transcripts").glob("*.jsonl"))

    def last_transcript(self) -> list[dict]:
        return [json.loads(line) for line in self.transcripts()[-1].read_text().splitlines()]


@pytest.fixture
def offline(softhsm_factory, tmp_path) -> Offline:
    return Offline(softhsm_factory("hsm", TOKENS), tmp_path)


def fetch(server: NotaryServer, *guns: str, out: Path, operation: str | None = None,
          extra: tuple[str, ...] = ()) -> Path:
    args = ["online", "fetch", *guns, "--server", server.url, "--ca", str(server.ca),
            "--out", str(out), "--force", *extra]
    if operation:
        args += ["--operation", operation]
    r = run_cli(*args)
    assert r.returncode == 0, r.output
    return out


def publish(server: NotaryServer, response: Path) -> None:
    r = run_cli("online", "publish", str(response), "--server", server.url, "--ca",
                str(server.ca))
    assert r.returncode == 0, r.output


def response_file(response: Path, gun: str, role: str) -> bytes:
    entry = read_bundle(response, kind="response").entry(gun)
    return next(f.data for f in entry.files if f.role == role)


def root_cert_ids(response: Path, gun: str) -> list[str]:
    root = json.loads(response_file(response, gun, "root"))["signed"]
    return list(root["roles"]["root"]["keyids"])


def client(server: NotaryServer, folder: Path, pins: dict[str, list[str]]) -> NotaryClient:
    """A real notary client that trusts only the pinned root certificate IDs (no TOFU)."""
    return NotaryClient(server, folder, pinned=pins, disable_tofu=True)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
