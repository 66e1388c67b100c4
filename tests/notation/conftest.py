"""Notary Project tests: REAL SoftHSM tokens, the REAL `notation` CLI (built by
scripts/bootstrap into ~/.cache/notary-ceremony/tools) and a REAL OCI registry (Debian's
docker-registry, distribution 2.8: no referrers API, so the tag schema path) on 127.0.0.1.

Offline commands run inside the AIRGAPPED wrapper (a fresh network namespace); online ones
(resolve, attach) and `notation` itself run normally against the registry."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from ceremony.notation.registry import OCI_MANIFEST, Registry, sha256_digest
from softhsm.notary_server import holds_listener, start_on_port
from tests.conftest import AIRGAPPED, CliResult, run_cli

NOTATION_VERSION = "v1.3.2"
TOOLS = Path.home() / ".cache/notary-ceremony/tools"
NOTATION = TOOLS / f"notation-{NOTATION_VERSION}" / "notation"
TOKENS = ["ca-root", "ca-inter", "signer"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """docker-registry on 127.0.0.1 with a throwaway config and storage; yields its host as
    notation names it (localhost:PORT: notation uses plain HTTP for localhost only)."""
    exe = shutil.which("docker-registry")
    assert exe, "docker-registry is missing: run scripts/bootstrap"
    folder = tmp_path_factory.mktemp("registry")
    log = open(folder / "registry.log", "wb")  # noqa: SIM115

    def start(port: int) -> subprocess.Popen:
        (folder / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {folder / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n")
        return subprocess.Popen([exe, "serve", str(folder / "config.yml")], stdout=log,
                                stderr=subprocess.STDOUT)
    proc, port = _start_on_free_port(start, "docker-registry", folder / "registry.log")
    try:
        yield f"localhost:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def push_image(host: str, repo: str, tag: str, content: bytes) -> dict:
    """A tiny OCI image (one layer) pushed with the tool's own registry client."""
    reg = Registry(host)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    reg.push_blob(repo, config)
    reg.push_blob(repo, content)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256_digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256_digest(content), "size": len(content)}]}).encode()
    return reg.push_manifest(repo, tag, manifest, OCI_MANIFEST).to_dict()


class Notation:
    """The real notation CLI with its own config and cache folders."""

    def __init__(self, home: Path):
        assert NOTATION.is_file(), f"{NOTATION} is missing: run scripts/bootstrap"
        self.home = home
        self.config = home / "config" / "notation"
        self.config.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, cache: str = "cache") -> CliResult:
        env = dict(os.environ, XDG_CONFIG_HOME=str(self.home / "config"),
                   XDG_CACHE_HOME=str(self.home / cache), HOME=str(self.home))
        proc = subprocess.run([str(NOTATION), *args], env=env, capture_output=True, text=True,
                              timeout=120)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)


class Offline:
    """The air-gapped machine: SoftHSM tokens, `ceremony` in a network namespace."""

    def __init__(self, env, folder: Path):
        self.env = env
        self.folder = folder

    def pin(self, label: str) -> str:
        return self.env.pin_source(label)

    def run(self, *args: str, input: str | None = None) -> CliResult:
        return run_cli(*args, env=self.env.env, wrapper=AIRGAPPED, input=input)

    def ok(self, *args: str) -> CliResult:
        r = self.run(*args)
        assert r.returncode == 0, r.output
        return r


@pytest.fixture(scope="module")
def offline(softhsm_factory, tmp_path_factory) -> Offline:
    return Offline(softhsm_factory("notation-hsm", TOKENS), tmp_path_factory.mktemp("offline"))


class CRLServer:
    """Serves one folder over HTTP on 127.0.0.1 (where a CRL distribution point points)."""

    def __init__(self, folder: Path):
        handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(folder), **kw)
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None  # quiet
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()



OLAREG = TOOLS / "olareg-v0.1.2" / "olareg"
OCIREG = TOOLS / "ocireg-ggcr-v0.22.1" / "ocireg"


def _answers_v2(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
        return True
    except OSError:
        return False


def _start_on_free_port(start, what: str, log: Path | None = None):
    """start(port) on a port picked as free; ready when /v2/ answers AND the started process
    holds the listening socket (another test's registry may have taken the port between pick
    and bind, and would answer /v2/ too); a fresh port after a lost race. (process, port)."""
    return start_on_port(start, lambda proc, port: _answers_v2(port) and holds_listener(proc, port),
                         what=what, timeout=10, log=log)


@pytest.fixture(scope="module")
def olareg_registry():
    """olareg (scripts/peers/olareg, built by scripts/bootstrap): an OCI distribution 1.1
    registry WITH the referrers API, in memory, on 127.0.0.1. Yields localhost:PORT."""
    assert OLAREG.is_file(), f"{OLAREG} is missing: run scripts/bootstrap"
    proc, port = _start_on_free_port(lambda port: subprocess.Popen(
        [str(OLAREG), "serve", "--store-type", "mem", "--addr", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), "olareg")
    try:
        yield f"localhost:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ggcr_registry():
    """go-containerregistry's pkg/registry with WithReferrersSupport(true) (scripts/peers/
    ocireg, built by scripts/bootstrap), in memory, on 127.0.0.1. Yields localhost:PORT."""
    assert OCIREG.is_file(), f"{OCIREG} is missing: run scripts/bootstrap"
    proc = subprocess.Popen([str(OCIREG), "-addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("listening on 127.0.0.1:"), f"ocireg did not start: {line!r}"
        yield "localhost:" + line.strip().rsplit(":", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
