"""The lab Notary service: `python -m softhsm.notary_server --dir DIR [--stop]`, and the
notary-server + notary-signer pair behind it (the default of every test server)."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from softhsm import lab_server
from softhsm.notary_server import SIGNER_ALIAS, NotaryServer
from tests.conftest import ROOT

pytestmark = pytest.mark.notary


def lab(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "softhsm.notary_server", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def get(url: str, ca: str) -> bytes:
    import urllib.request
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
        return resp.read()


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() != b""
    except OSError:
        return False


def test_start_prints_exports_and_how_to_stop_then_stop(tmp_path):
    folder = tmp_path / "lab"
    pids: list[int] = []
    r = lab("--dir", str(folder), "--port", "0")
    try:
        assert r.returncode == 0, r.stderr
        exports = dict(line.removeprefix("export ").split("=", 1)
                       for line in r.stdout.splitlines())
        assert sorted(exports) == ["SERVER_CA", "SERVER_URL"]
        url, ca = exports["SERVER_URL"], exports["SERVER_CA"]
        assert url.startswith("https://localhost:") and ca == str(folder / "tls" / "ca.pem")
        assert "notary-signer (ECDSA" in r.stderr and f"--dir {folder} --stop" in r.stderr
        assert json.loads(get(f"{url}/_notary_server/health", ca)) == {}
        key = json.loads(get(f"{url}/v2/example.com/lab/_trust/tuf/timestamp.key", ca))
        assert key["keytype"] == "ecdsa"
        state = json.loads((folder / lab_server.STATE).read_text())
        pids += [p["pid"] for p in state["processes"]]
        assert all(alive(pid) for pid in pids)
        # the signer's passphrase: in its environment and a 0600 file, never in any argv
        passphrase = (folder / "signer" / "alias-passphrase").read_text()
        assert (folder / "signer" / "alias-passphrase").stat().st_mode & 0o077 == 0
        signer_pid = next(p["pid"] for p in state["processes"]
                          if p["config"].endswith("signer.json"))
        environ = Path(f"/proc/{signer_pid}/environ").read_bytes().split(b"\0")
        assert f"NOTARY_SIGNER_{SIGNER_ALIAS.upper()}={passphrase}".encode() in environ
        for pid in pids:
            assert passphrase.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert passphrase not in r.stdout + r.stderr

        again = lab("--dir", str(folder), "--port", "0")
        assert again.returncode == 1
        assert again.stderr.startswith("error: a lab server already runs from ")
        assert again.stderr.count("\n") == 1 and "--stop" in again.stderr
    finally:
        stopped = lab("--dir", str(folder), "--stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert not any(alive(pid) for pid in pids)
    assert not (folder / lab_server.STATE).exists()
    nothing = lab("--dir", str(folder), "--stop")
    assert nothing.returncode == 1 and nothing.stderr.startswith("error: no lab server state")


def test_local_trust_service_makes_ed25519_server_keys(tmp_path):
    folder = tmp_path / "lab"
    r = lab("--dir", str(folder), "--port", "0", "--trust-service", "local", "--json")
    try:
        assert r.returncode == 0, r.stderr
        state = json.loads(r.stdout)
        assert state["trust_service"] == "local" and len(state["processes"]) == 1
        key = json.loads(get(f"{state['url']}/v2/example.com/lab/_trust/tuf/snapshot.key",
                             state["ca"]))
        assert key["keytype"] == "ed25519"
    finally:
        assert lab("--dir", str(folder), "--stop").returncode == 0


def _tls_to_signer(port: int, ca: Path, cert: tuple[Path, Path] | None) -> bool:
    """Whether a TLS client (with `cert` or none) gets an HTTP/2 answer from the signer."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.set_alpn_protocols(["h2"])
    if cert:
        ctx.load_cert_chain(*cert)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            return len(tls.recv(100)) > 0
    except (ssl.SSLError, OSError):
        return False


def test_signer_demands_the_servers_client_certificate(tmp_path):
    """Mutual TLS between notary-server and notary-signer: only the client certificate the
    server presents is let in."""
    with NotaryServer(tmp_path / "srv") as server:
        config = json.loads((tmp_path / "srv" / "signer" / "signer.json").read_text())
        port = int(config["server"]["grpc_addr"].rsplit(":", 1)[1])
        tls = tmp_path / "srv" / "tls"
        assert not _tls_to_signer(port, server.ca, None)
        assert not _tls_to_signer(port, server.ca, (tls / "server.pem", tls / "server.key"))
        assert _tls_to_signer(port, server.ca, (tls / "server-client.pem",
                                                tls / "server-client.key"))
