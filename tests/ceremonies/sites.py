"""Key-holding sites for the root-key and co-signing tests: each site is an offline machine
with its OWN SoftHSM environment (its own tokens) and its OWN workspace. Offline commands run
in a subprocess inside a fresh network namespace (`unshare --net`: loopback only, no route);
online commands (`online fetch`, `online publish`) run against a real notary-server on
127.0.0.1; verification is by the real `notary` client with trust pinning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from softhsm.env import SoftHSMEnv
from softhsm.notary_server import NotaryClient, NotaryServer
from tests.conftest import ROOT, CliResult, run_cli
from transfer.bundle import read_bundle


def notary_server(tmp_path_factory: pytest.TempPathFactory,
                  trust_service: str = "signer") -> Iterator[NotaryServer]:
    """For a module-scoped fixture: `yield from notary_server(tmp_path_factory)`.
    `trust_service`: "signer" (notary-signer, ECDSA server keys, as Docker Hub) or "local"."""
    with NotaryServer(tmp_path_factory.mktemp("notary") / "server",
                      trust_service=trust_service) as s:
        yield s


class Site:
    """One offline machine: its tokens (a SoftHSM environment) and its workspace."""

    def __init__(self, env: SoftHSMEnv, folder: Path):
        self.env = env
        self.folder = folder
        self.workspace = folder / "workspace"

    def pins(self, *labels: str) -> list[str]:
        out = []
        for label in labels or tuple(self.env.labels):
            out += ["--pin-source", f"{label}={self.env.pin_source(label)}"]
        return out

    def run(self, *args: str, input: str | None = None) -> CliResult:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(self.env.env)
        env["CEREMONY_WORKSPACE"] = str(self.workspace)
        env.pop("CEREMONY_DEBUG", None)
        proc = subprocess.run(["unshare", "--net", sys.executable, "-m", "ceremony", *args],
                              env=env, input=input if input is not None else "",
                              capture_output=True, text=True, timeout=300)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str) -> dict:
        r = self.run(*args, "--json")
        assert r.returncode == 0, r.output
        return json.loads(r.stdout)

    def state(self) -> dict[str, bytes]:
        """Every workspace file except transcripts (to prove a refusal changed nothing)."""
        out: dict[str, bytes] = {}
        if not self.workspace.exists():
            return out
        for path in sorted(self.workspace.rglob("*")):
            rel = path.relative_to(self.workspace).as_posix()
            if rel.startswith("transcripts") or rel == ".lock":
                continue
            out[rel] = os.readlink(path).encode() if path.is_symlink() else (
                path.read_bytes() if path.is_file() else b"<dir>")
        return out

    def last_transcript(self) -> list[dict]:
        last = sorted((self.workspace / "transcripts").glob("*.jsonl"))[-1]
        return [json.loads(line) for line in last.read_text().splitlines()]

    def refused(self, args: list[str], out: Path, expected: str) -> str:
        """The command must refuse with one line naming `expected`, writing nothing."""
        before = self.state()
        r = self.run(*args)
        assert r.returncode == 1, r.output
        lines = r.stderr.strip().splitlines()
        if len(lines) == 2 and lines[0].endswith("Type yes to sign: "):
            lines = lines[1:]  # the confirmation prompt, answered by nothing
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
        assert "Traceback" not in r.output
        assert expected in lines[0], lines[0]
        assert not out.exists(), "a refused command wrote its output"
        assert self.state() == before, "a refused command changed the workspace"
        return lines[0]


def fetch(server: NotaryServer, gun: str | list[str], out: Path,
          operation: str | None = None) -> Path:
    guns = [gun] if isinstance(gun, str) else list(gun)
    args = ["online", "fetch", *guns, "--server", server.url, "--ca", str(server.ca), "--out",
            str(out), "--force"]
    if operation:
        args += ["--operation", operation]
    r = run_cli(*args)
    assert r.returncode == 0, r.output
    return out


def publish(server: NotaryServer, response: Path) -> CliResult:
    return run_cli("online", "publish", str(response), "--server", server.url, "--ca",
                   str(server.ca))


def published(server: NotaryServer, response: Path) -> None:
    r = publish(server, response)
    assert r.returncode == 0, r.output


def file_bytes(response: Path, gun: str, role: str) -> bytes:
    entry = read_bundle(response, kind="response").entry(gun)
    return next(f.data for f in entry.files if f.role == role)


def signed_file(response: Path, gun: str, role: str) -> dict:
    return json.loads(file_bytes(response, gun, role))


def root_ids(response: Path, gun: str) -> list[str]:
    return list(signed_file(response, gun, "root")["signed"]["roles"]["root"]["keyids"])


def client(server: NotaryServer, folder: Path, gun: str, ids: list[str]) -> NotaryClient:
    """A real notary client pinned to these root certificate IDs (no TOFU)."""
    return NotaryClient(server, folder, pinned={gun: ids}, disable_tofu=True)


def init_repo(site: Site, server: NotaryServer, gun: str, tmp: Path, *root_tokens: str,
              threshold: int = 1, extra: tuple[str, ...] = ()) -> Path:
    req = fetch(server, gun, tmp / f"{tmp.name}-init.req")
    resp = tmp / f"{tmp.name}-init.resp"
    args = ["init", "--request", str(req), "--out", str(resp), "--targets-token", "targets",
            "--root-threshold", str(threshold), *site.pins(), "--yes", *extra]
    for token in root_tokens:
        args += ["--root-token", token]
    site.ok(*args)
    published(server, resp)
    return resp
