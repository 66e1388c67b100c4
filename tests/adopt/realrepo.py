"""Repositories made by the REAL `notary` client on a workstation in another timezone.

Go writes `expires` in the zone of the machine that made the file: with TZ=Europe/Berlin the
client writes `+01:00` (winter) or `+02:00` (summer), with TZ=America/New_York `-05:00`/`-04:00`.
`ZonedClient` is the real client run with such a TZ; `make_repository` gives a repository with
the history a team has after a while: init, the snapshot key handed to the server (as `docker
trust` does), a delegation whose delegate publishes a target with its own client, and a targets
key rotation.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from softhsm.notary_server import PASSPHRASE, NotaryClient, NotaryServer

ZONES = {"berlin": "Europe/Berlin", "new-york": "America/New_York"}
OFFSET = re.compile(rb'"expires":"[0-9T:.-]+([+-]\d\d:\d\d)"')


@dataclass
class ZonedClient(NotaryClient):
    """The real notary client run with TZ set (its own trust dir and config)."""

    tz: str = "UTC"

    def run(self, *args: str, check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, TZ=self.tz)
        for role in ("ROOT", "TARGETS", "SNAPSHOT", "DELEGATION"):
            env[f"NOTARY_{role}_PASSPHRASE"] = PASSPHRASE
        proc = subprocess.run(["notary", "-c", str(self.config_path()), *args], env=env,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"notary {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}\n{proc.stderr}")
        return proc


@dataclass
class NotaryRepository:
    gun: str
    owner: ZonedClient
    delegate: ZonedClient
    artifact: Path
    folder: Path

    def key_files(self, role: str) -> list[Path]:
        """The owner's key files whose PEM header says `role: ROLE` (and this GUN for targets)."""
        out = []
        for path in sorted((self.owner.trust_dir / "private").rglob("*.key")):
            text = path.read_text()
            if f"role: {role}\n" in text and (role == "root" or f"gun: {self.gun}\n" in text):
                out.append(path)
        return out


def make_repository(server: NotaryServer, folder: Path, gun: str, zone: str) -> NotaryRepository:
    tz = ZONES[zone]
    owner = ZonedClient(server, folder / "owner", tz=tz)
    owner.run("init", gun, "--publish")
    owner.run("key", "rotate", gun, "snapshot", "-r")  # server-managed, as docker trust does
    keys = folder / "delegate-keys"
    keys.mkdir(parents=True)
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    str(keys / "releases.key")], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(keys / "releases.key"),
                    "-out", str(keys / "releases.crt"), "-days", "365", "-subj", "/CN=releases"],
                   check=True, capture_output=True)
    owner.run("delegation", "add", gun, "targets/releases", str(keys / "releases.crt"),
              "--all-paths", "--publish")
    delegate = ZonedClient(server, folder / "delegate", tz=tz)
    delegate.run("key", "import", str(keys / "releases.key"), "--role", "targets/releases")
    artifact = folder / "artifact.bin"
    artifact.write_bytes(b"release 1\n")
    delegate.run("add", gun, "v1", str(artifact), "--roles", "targets/releases", "--publish")
    owner.run("key", "rotate", gun, "targets")
    return NotaryRepository(gun, owner, delegate, artifact, folder)


def offsets(data: bytes) -> set[str]:
    """The UTC offsets of the `expires` times in a metadata file."""
    return {m.decode() for m in OFFSET.findall(data)}
