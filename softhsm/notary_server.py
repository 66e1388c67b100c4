"""A real Notary service and the real notary client on 127.0.0.1, for tests, rehearsals and labs.

Not part of the offline tool. Two configurations of the Debian `notary-server`:

- `signer` (the default): notary-server with notary-signer, as Docker Hub and Harbor run it.
  The signer holds the timestamp and snapshot keys (ECDSA P-256), in its own storage (memory:
  the Debian build has no SQLite driver), encrypted under a passphrase alias whose passphrase
  reaches it through the environment (`NOTARY_SIGNER_<ALIAS>`), never argv. Server and signer
  talk gRPC over mutual TLS: each side presents a certificate from the same throwaway CA.
- `local`: `trust_service: local`, in-process Ed25519 server keys; Docker Hub never makes
  those and some verifiers refuse them, so it stays only as a second configuration for tests.

Storage is memory in both: everything is lost when the service stops. TLS comes from a
throwaway CA in the folder the caller chooses; nothing listens beyond loopback.
`python -m softhsm.notary_server --dir DIR` starts one for a lab (see softhsm/lab_server.py).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from softhsm.moduleenv import stop_process, wait_ready
from softhsm.notary_tls import TestCA, make_test_ca

__all__ = ["PASSPHRASE", "TRUST_SERVICES", "NotaryClient", "NotaryServer", "make_test_ca"]

PASSPHRASE = "rehearsal-passphrase"  # for the notary client's own software keys only
TRUST_SERVICES = ("signer", "local")
DEFAULT_TRUST_SERVICE = "signer"
SIGNER_ALIAS = "ceremonylab"  # notary-signer reads its passphrase from NOTARY_SIGNER_CEREMONYLAB


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_free_port = free_port  # the name older callers used


# A port picked as free can be taken by another process before the daemon binds it: the daemon
# then exits, and a check that the port answers finds the other process. Each start confirms
# that its own process serves the port, and tries a fresh port (at most this many times) when
# the daemon exited.
PORT_ATTEMPTS = 3


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def holds_listener(process: subprocess.Popen[bytes], port: int) -> bool:
    """Whether `process` itself holds the socket listening on port `port` (Linux /proc): an
    answer on the port alone may come from whoever took the port first."""
    listening = set()
    try:
        for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rpartition(":")[2], 16) == port:
                listening.add(f"socket:[{cols[9]}]")
        fds = os.listdir(f"/proc/{process.pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{process.pid}/fd/{fd}") in listening:
                return True
        except OSError:
            continue  # closed meanwhile
    return False


def _serves(process: subprocess.Popen[bytes], port: int) -> bool:
    return _listening(port) and holds_listener(process, port)


def start_on_port(start: Callable[[int], subprocess.Popen[bytes]],
                  ready: Callable[[subprocess.Popen[bytes], int], bool], *, what: str,
                  timeout: float, log: Path | None = None,
                  port: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    """Start a daemon listening on 127.0.0.1 with `start(port)` and wait until `ready(process,
    port)` holds with it still running. `port`: the caller's, tried once (a fresh one would not be
    what they asked for); 0: a port picked as free, and, when the daemon exits first (it most
    likely lost the port to another process), a fresh one, PORT_ATTEMPTS tries. A daemon that
    did not start is stopped; the RuntimeError names `what` and its `log`."""
    attempts = 1 if port else PORT_ATTEMPTS
    see = f"; see {log}" if log is not None else ""
    for _ in range(attempts):
        chosen = port or free_port()
        process = start(chosen)
        started = wait_ready(process, partial(ready, process, chosen), timeout)
        if started:
            return process, chosen
        stop_process(process)
        if started is None:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s{see}")
    tries = f" ({attempts} tries, each on a fresh port)" if attempts > 1 else ""
    raise RuntimeError(f"{what} did not start{tries}{see}")


@dataclass
class NotaryServer:
    """A running notary-server on 127.0.0.1 (TLS, memory storage), with notary-signer behind it
    (`trust_service="signer"`, ECDSA server keys) or in-process Ed25519 keys (`"local"`)."""

    folder: Path
    trust_service: str = DEFAULT_TRUST_SERVICE
    port: int = 0  # 0: a free port
    url: str = ""
    ca: Path = field(default=Path())
    process: subprocess.Popen[bytes] | None = None
    signer_process: subprocess.Popen[bytes] | None = None

    @property
    def key_algorithm(self) -> str:
        """The key type of the server-managed timestamp and snapshot keys."""
        return "ecdsa" if self.trust_service == "signer" else "ed25519"

    def _popen(self, args: list[str], log: Path, env: dict[str, str] | None,
               detach: bool) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:  # the child keeps its own descriptor
            return subprocess.Popen(args, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=detach)

    def _start_signer(self, ca: TestCA, detach: bool) -> dict[str, object]:
        exe = shutil.which("notary-signer")
        if exe is None:
            raise RuntimeError("notary-signer is not installed (apt-get install notary)")
        folder = self.folder / "signer"
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = ca.issue("signer")
        client_cert, client_key = ca.issue("server-client", server=False, client=True)
        passphrase_file = folder / "alias-passphrase"
        passphrase_file.touch(mode=0o600)
        passphrase_file.chmod(0o600)  # also when an earlier run left one
        passphrase_file.write_text(secrets.token_urlsafe(24))
        env = dict(os.environ)
        env[f"NOTARY_SIGNER_{SIGNER_ALIAS.upper()}"] = passphrase_file.read_text()
        def start(port: int) -> subprocess.Popen[bytes]:
            config = {
                "server": {"grpc_addr": f"127.0.0.1:{port}", "tls_cert_file": str(cert),
                           "tls_key_file": str(key), "client_ca_file": str(ca.path)},
                "storage": {"backend": "memory", "default_alias": SIGNER_ALIAS},
                "logging": {"level": "info"},
            }
            (folder / "signer.json").write_text(json.dumps(config, indent=2))
            # kept on self at once: stop() ends it, and a failed start leaves it to inspect
            self.signer_process = self._popen([exe, "-config", str(folder / "signer.json")],
                                              folder / "signer.log", env, detach)
            return self.signer_process
        try:
            _, port = start_on_port(
                start, _serves, what="notary-signer", timeout=20, log=folder / "signer.log")
        except RuntimeError:
            self.stop()
            raise
        return {"type": "remote", "hostname": "localhost", "port": str(port),
                "key_algorithm": "ecdsa", "tls_ca_file": str(ca.path),
                "tls_client_cert": str(client_cert), "tls_client_key": str(client_key)}

    def start(self, timeout: float = 20.0, detach: bool = False) -> NotaryServer:
        """Start (signer first, then server) and wait until the server reports healthy.
        `detach`: the processes get their own session, to outlive this one (labs)."""
        if self.trust_service not in TRUST_SERVICES:
            raise ValueError(f"trust_service must be one of {', '.join(TRUST_SERVICES)}")
        exe = shutil.which("notary-server")
        if exe is None:
            raise RuntimeError("notary-server is not installed (apt-get install notary)")
        self.folder.mkdir(parents=True, exist_ok=True)
        ca = TestCA.create(self.folder / "tls")
        self.ca = ca.path
        cert, key = ca.issue("server")
        trust: dict[str, object] = {"type": "local", "hostname": "", "port": ""}
        if self.trust_service == "signer":
            trust = self._start_signer(ca, detach)
        ctx = ssl.create_default_context(cafile=str(self.ca))

        def healthy(process: subprocess.Popen[bytes], port: int) -> bool:
            # over TLS with this CA: no other process passes it
            try:
                with urllib.request.urlopen(f"https://localhost:{port}/_notary_server/health",
                                            context=ctx, timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        def start(port: int) -> subprocess.Popen[bytes]:
            config = {
                "server": {"http_addr": f"127.0.0.1:{port}", "tls_cert_file": str(cert),
                           "tls_key_file": str(key)},
                "trust_service": trust,
                "storage": {"backend": "memory"},
                "logging": {"level": "info"},
            }
            cfg = self.folder / "server.json"
            cfg.write_text(json.dumps(config, indent=2))
            self.process = self._popen([exe, "-config", str(cfg)], self.folder / "server.log",
                                       None, detach)  # on self at once, as the signer
            return self.process
        try:
            _, port = start_on_port(start, healthy, what="notary-server", timeout=timeout,
                                    log=self.folder / "server.log", port=self.port)
        except RuntimeError:
            self.stop()
            raise
        self.url = f"https://localhost:{port}"
        return self

    def stop(self) -> None:
        stop_process(self.process)
        stop_process(self.signer_process)

    def __enter__(self) -> NotaryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def get(self, path: str) -> tuple[int, bytes]:
        """GET a server path (e.g. '/v2/GUN/_trust/tuf/root.json'); returns (status, body)."""
        ctx = ssl.create_default_context(cafile=str(self.ca))
        try:
            with urllib.request.urlopen(self.url + path, context=ctx, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


@dataclass
class NotaryClient:
    """The real `notary` client with its own trust dir and config."""

    server: NotaryServer
    trust_dir: Path
    pinned: dict[str, list[str]] = field(default_factory=dict)
    disable_tofu: bool = False

    def config_path(self) -> Path:
        self.trust_dir.mkdir(parents=True, exist_ok=True)
        cfg: dict[str, object] = {
            "trust_dir": str(self.trust_dir),
            "remote_server": {"url": self.server.url, "root_ca": str(self.server.ca)},
        }
        if self.pinned or self.disable_tofu:
            cfg["trust_pinning"] = {"certs": self.pinned, "disable_tofu": self.disable_tofu}
        path = self.trust_dir / "config.json"
        path.write_text(json.dumps(cfg))
        return path

    def run(self, *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        for role in ("ROOT", "TARGETS", "SNAPSHOT", "DELEGATION"):
            env[f"NOTARY_{role}_PASSPHRASE"] = PASSPHRASE
        proc = subprocess.run(["notary", "-c", str(self.config_path()), *args], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"notary {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}\n{proc.stderr}")
        return proc

    def metadata_dir(self, gun: str) -> Path:
        return self.trust_dir / "tuf" / gun / "metadata"


if __name__ == "__main__":
    import sys

    from softhsm.lab_server import main
    sys.exit(main())
