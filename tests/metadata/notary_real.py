"""Trust data made by the real notary client against a real notary-server on 127.0.0.1.

`build_real_repository(folder)` runs one realistic history with the Debian `notary` binaries:
init, snapshot key rotated to the server, a delegation with an openssl-made EC key and
certificate (imported by the delegate's own client), targets published by the delegate, a second
delegation with restricted paths, targets with HTML characters, non-ASCII and U+2028 in their
names and one with custom data, the targets key rotated, the root key rotated. It then downloads
what the server serves (current files and the N.root.json history) and records facts about the
real client (key IDs it lists, how pinned clients react to the root rotation).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import urllib.request
import uuid
from pathlib import Path

from softhsm.notary_server import PASSPHRASE, NotaryClient, NotaryServer

GUN = "example.com/ceremony/app"
TARGET_NAMES = ["plain.txt", "v1<&>.tar", "ünïcode\u2028name", "dir/nested/file"]


def run_with_yes(client: NotaryClient, *args: str, check: bool = True
                 ) -> subprocess.CompletedProcess[str]:
    """`notary ARGS` answering "yes" (root rotation asks for confirmation on stdin)."""
    env = dict(os.environ)
    for role in ("ROOT", "TARGETS", "SNAPSHOT", "DELEGATION"):
        env[f"NOTARY_{role}_PASSPHRASE"] = PASSPHRASE
    proc = subprocess.run(["notary", "-c", str(client.config_path()), *args], env=env,
                          input="yes\n", capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise RuntimeError(f"notary {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def publish(server: NotaryServer, gun: str, files: dict[str, bytes]) -> tuple[int, bytes]:
    """POST metadata to the server as the notary client does (multipart, parts named files)."""
    boundary = uuid.uuid4().hex
    parts = []
    for role, data in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                     f'filename="{role}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{server.url}/v2/{gun}/_trust/tuf/", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    context = ssl.create_default_context(cafile=str(server.ca))
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def download(server: NotaryServer, gun: str, folder: Path, delegations: list[str]) -> None:
    """What a user downloads from the server: current files and the whole root history."""
    folder.mkdir(parents=True, exist_ok=True)
    for role in ["root", "targets", "snapshot", "timestamp", *delegations]:
        status, body = server.get(f"/v2/{gun}/_trust/tuf/{role}.json")
        assert status == 200, (role, status, body)
        path = folder / f"{role}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    version = 1
    while True:
        status, body = server.get(f"/v2/{gun}/_trust/tuf/{version}.root.json")
        if status != 200:
            break
        (folder / f"{version}.root.json").write_bytes(body)
        version += 1


def root_cert_ids(metadata: Path) -> list[str]:
    root = json.loads((metadata / "root.json").read_bytes())["signed"]
    return list(root["roles"]["root"]["keyids"])


def key_list(client: NotaryClient) -> list[tuple[str, str]]:
    """(role, key ID) pairs as `notary key list` prints them."""
    rows = []
    for line in client.run("key", "list").stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and len(fields[-2]) == 64:
            rows.append((fields[0], fields[-2]))
    return rows


def build_real_repository(folder: Path) -> dict[str, object]:
    """Run the whole history against a fresh server; returns facts recorded on the way."""
    facts: dict[str, object] = {"gun": GUN}
    with NotaryServer(folder / "server") as server:
        owner = NotaryClient(server, folder / "owner")
        owner.run("init", GUN, "--publish")
        owner.run("key", "rotate", GUN, "snapshot", "-r")
        metadata = owner.metadata_dir(GUN)
        facts["first_root_cert_ids"] = root_cert_ids(metadata)

        # A delegate with its own key, made by openssl, imported into its own client.
        keys = folder / "delegate-keys"
        keys.mkdir(parents=True)
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                        "-out", str(keys / "releases.key")], check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(keys / "releases.key"),
                        "-out", str(keys / "releases.crt"), "-days", "365", "-subj",
                        "/CN=releases"], check=True, capture_output=True)
        owner.run("delegation", "add", GUN, "targets/releases", str(keys / "releases.crt"),
                  "--all-paths", "--publish")
        owner.run("delegation", "add", GUN, "targets/qa", str(keys / "releases.crt"),
                  "--paths", "qa/,dir/", "--publish")
        delegate = NotaryClient(server, folder / "delegate")
        delegate.run("key", "import", str(keys / "releases.key"), "--role", "targets/releases")
        artifact = folder / "artifact.bin"
        artifact.write_bytes(b"artifact contents\n")
        for name in TARGET_NAMES:
            delegate.run("add", GUN, name, str(artifact), "--roles", "targets/releases")
        delegate.run("add", GUN, "dir/qa-build", str(artifact), "--roles", "targets/qa")
        delegate.run("publish", GUN)
        custom = folder / "custom.json"
        custom.write_text('{"build": 7, "labels": ["a", "b"], "signed": true}')
        owner.run("add", GUN, "top-level", str(artifact), "--custom", str(custom), "--publish")

        owner.run("key", "rotate", GUN, "targets")
        run_with_yes(owner, "key", "rotate", GUN, "root")
        owner.run("add", GUN, "after-rotation", str(artifact), "--publish")
        facts["root_cert_ids"] = root_cert_ids(metadata)
        facts["listing"] = owner.run("list", GUN).stdout
        facts["delegate_listing"] = delegate.run("list", GUN).stdout
        facts["owner_key_list"] = key_list(owner)
        facts["delegate_key_list"] = key_list(delegate)

        # How real clients pinned to each root certificate ID react to the root rotation.
        for label, ids in (("old", facts["first_root_cert_ids"]),
                           ("new", facts["root_cert_ids"])):
            pinned = NotaryClient(server, folder / f"pinned-{label}", pinned={GUN: ids},
                                  disable_tofu=True)
            proc = pinned.run("list", GUN, check=False)
            facts[f"pinned_{label}"] = {"returncode": proc.returncode,
                                        "output": proc.stdout + proc.stderr}
            shutil.rmtree(folder / f"pinned-{label}")

        download(server, GUN, folder / "download", ["targets/releases", "targets/qa"])
        # Superseded but validly signed versions, for mix-and-match and rollback tests.
        older = folder / "older"
        older.mkdir()
        for role in ("targets", "timestamp"):
            version = json.loads((folder / "download" / f"{role}.json").read_bytes())[
                "signed"]["version"] - 1
            status, body = server.get(f"/v2/{GUN}/_trust/tuf/{version}.{role}.json")
            if status == 200:
                (older / f"{role}.json").write_bytes(body)
    (folder / "facts.json").write_text(json.dumps(facts, indent=1))
    return facts
