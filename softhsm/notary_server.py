"""A real notary-server and notary client on 127.0.0.1, for tests, rehearsals and demos.

Not part of the offline tool: this starts the Debian `notary-server` with in-process keys and
memory storage behind TLS from a throwaway test CA, and drives the real `notary` client against
it. Everything lives in a folder the caller chooses; nothing listens beyond loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSPHRASE = "rehearsal-passphrase"  # for the notary client's own software keys only


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """Create an EC test CA and a server certificate for localhost/127.0.0.1.

    Returns (ca_cert, server_cert, server_key) paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ceremony test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
           .issuer_name(ca_name).public_key(srv_key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now - dt.timedelta(minutes=5))
           .not_valid_after(now + dt.timedelta(days=30))
           .add_extension(x509.SubjectAlternativeName([
               x509.DNSName("localhost"),
               x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                          critical=False)
           .sign(ca_key, hashes.SHA256()))
    ca_path, srv_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    srv_path.write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    _write_key(srv_key, key_path)
    return ca_path, srv_path, key_path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class NotaryServer:
    """A running notary-server on 127.0.0.1 (TLS, in-process keys, memory storage)."""

    folder: Path
    url: str = ""
    ca: Path = field(default=Path())
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> NotaryServer:
        exe = shutil.which("notary-server")
        if exe is None:
            raise RuntimeError("notary-server is not installed (apt-get install notary)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca, cert, key = make_test_ca(self.folder / "tls")
        port = _free_port()
        config = {
            "server": {"http_addr": f"127.0.0.1:{port}", "tls_cert_file": str(cert),
                       "tls_key_file": str(key)},
            "trust_service": {"type": "local", "hostname": "", "port": ""},
            "storage": {"backend": "memory"},
            "logging": {"level": "info"},
        }
        cfg = self.folder / "server.json"
        cfg.write_text(json.dumps(config))
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen([exe, "-config", str(cfg)], stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL)
        self.url = f"https://localhost:{port}"
        deadline = time.monotonic() + timeout
        ctx = ssl.create_default_context(cafile=str(self.ca))
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_notary_server/health", context=ctx,
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"notary-server did not start; see {self.folder}/server.log")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

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
