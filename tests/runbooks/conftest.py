"""Runbook scripts, run as a ceremony officer would: `ceremony run` in a subprocess.

Real runs (not --dry-run) use SoftHSM tokens named as in the scripts and run in a fresh
network namespace (`unshare --net`: loopback only, no route), which is what the air-gap check
demands; the online side (`ceremony online fetch|publish`) talks to a real notary-server on
127.0.0.1. Dry runs make their own world.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from softhsm.env import SoftHSMEnv
from softhsm.notary_server import NotaryClient, NotaryServer
from tests.conftest import ROOT, CliResult, run_cli

RUNBOOKS = ROOT / "runbooks"
PLACEHOLDER = "0" * 64
TOKENS = ["root-a", "root-b", "root-c", "targets"]


def ceremony(*args: str, env: dict[str, str] | None = None, offline: bool = False,
             timeout: float = 300, input: str | None = None) -> CliResult:
    """`python -m ceremony ARGS`, in a new network namespace when `offline`."""
    full = dict(os.environ)
    full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    for name in ("CEREMONY_DEBUG", "CEREMONY_WORKSPACE", "SOFTHSM2_CONF",
                 "CEREMONY_PKCS11_MODULE", "CEREMONY_REHEARSAL_NETNS"):
        full.pop(name, None)
    full.update(env or {})
    prefix = ["unshare", "--net"] if offline else []
    proc = subprocess.run([*prefix, sys.executable, "-m", "ceremony", *args], env=full,
                          input=input or "", capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def script_copy(name: str, folder: Path) -> Path:
    """A runbook script copied into the ceremony folder, as the runbooks say to do."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(RUNBOOKS / name, folder / name))


def fill_digest(script: Path, digest: str, nth: int = 1) -> None:
    """Write a digest in place of the nth placeholder, as the administrator does."""
    text = script.read_text()
    parts = text.split(PLACEHOLDER)
    assert len(parts) > nth, f"{script.name} has fewer than {nth} placeholder(s)"
    script.write_text(PLACEHOLDER.join(parts[:nth]) + digest + PLACEHOLDER.join(parts[nth:]))


def final_digest(output: str) -> str:
    match = re.search(r"final sha256 ([0-9a-f]{64})", output)
    assert match, output[-2000:]
    return match.group(1)


class Site:
    """The offline machine: SoftHSM tokens named as in the runbooks, and a workspace."""

    def __init__(self, env: SoftHSMEnv, folder: Path):
        self.env, self.folder = env, folder
        self.workspace = folder / "workspace"

    def pins(self, *labels: str) -> list[str]:
        out = []
        for label in labels or self.env.labels:
            out += ["--pin-source", f"{label}={self.env.pin_source(label)}"]
        return out

    def run(self, script: Path, *extra: str, env: dict[str, str] | None = None,
            answers: str | None = None) -> CliResult:
        """`ceremony run SCRIPT --yes` for real, offline, PINs from the throwaway files; with
        `answers`, without --yes: the answers typed at the prompts."""
        yes = ["--yes"] if answers is None else []
        return ceremony("run", str(script), *yes, "--workspace", str(self.workspace),
                        *self.pins(), *extra, env={**self.env.env, **(env or {})},
                        offline=True, input=answers)

    def cli(self, *args: str) -> CliResult:
        """Any other offline command, with this site's tokens and workspace."""
        return ceremony(*args, env={**self.env.env,
                                    "CEREMONY_WORKSPACE": str(self.workspace)}, offline=True)

    def transcripts(self) -> list[Path]:
        return sorted((self.workspace / "transcripts").glob("*-run-*.jsonl"))

    def entries(self, path: Path | None = None) -> list[dict]:
        path = path or self.transcripts()[-1]
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def secrets(self) -> list[str]:
        return [self.env.pin(label) for label in self.env.labels]


@pytest.fixture
def site(softhsm_factory, tmp_path) -> Site:
    return Site(softhsm_factory("runbook-hsm", TOKENS), tmp_path)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with NotaryServer(tmp_path_factory.mktemp("runbook-notary") / "server") as s:
        yield s


def fetch(server: NotaryServer, out: Path, *guns: str, operation: str | None = None,
          extra: tuple[str, ...] = ()) -> str:
    """`ceremony online fetch` on the online machine; returns the bundle digest it printed."""
    args = ["online", "fetch", *guns, "--server", server.url, "--ca", str(server.ca),
            "--out", str(out), *extra]
    if operation:
        args += ["--operation", operation]
    r = run_cli(*args)
    assert r.returncode == 0, r.output
    match = re.search(r"bundle sha256 ([0-9a-f]{64})", r.stdout)
    assert match, r.stdout
    return match.group(1)


def publish(server: NotaryServer, response: Path) -> None:
    r = run_cli("online", "publish", str(response), "--server", server.url, "--ca",
                str(server.ca))
    assert r.returncode == 0, r.output


def pinned_client(server: NotaryServer, folder: Path, pins_file: Path) -> NotaryClient:
    """A real notary client configured with the trust pinning a ceremony exported."""
    pinning = json.loads(pins_file.read_text())["trust_pinning"]
    return NotaryClient(server, folder, pinned=pinning["certs"],
                        disable_tofu=pinning["disable_tofu"])


def no_secret_anywhere(site: Site, *places: Path, text: str = "") -> None:
    """No PIN in any file under the places given, nor in the text (outputs)."""
    for secret in site.secrets():
        assert secret not in text
        for place in places:
            for path in place.rglob("*"):
                if path.is_file() and "pins" not in path.parts and "tokens" not in path.parts:
                    assert secret.encode() not in path.read_bytes(), path
