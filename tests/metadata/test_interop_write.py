"""Metadata built and signed by this tool, published to a real notary-server, read by the real
notary client. The server accepts non-Go bytes with HTTP 200 and clients then fail, so the proof
is the client: it must list what we signed and cache exactly our bytes. What the server refuses,
the verifier refuses too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ceremony.errors import ExpiredError, RootChainError
from ceremony.notary.format import (
    Instant,
    Role,
    Root,
    Targets,
    key_from_certificate,
    read_metadata,
    read_repository,
    sign_metadata,
    verify_repository,
)
from softhsm.notary_server import PASSPHRASE, NotaryClient, NotaryServer
from tests.metadata.factory import ec_key, meta_of, notary_certificate
from tests.metadata.notary_real import download, publish
from tests.metadata.software_signer import SoftwareSigner, load_notary_private_key

pytestmark = pytest.mark.notary

GUN = "example.com/ceremony/written"


class Live:
    """A running server and the owner's client, after `notary init` and a server snapshot key."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.server = NotaryServer(folder / "server").start()
        self.client = NotaryClient(self.server, folder / "owner")
        self.client.run("init", GUN, "--publish")
        self.client.run("key", "rotate", GUN, "snapshot", "-r")
        self.client.run("list", GUN)  # the cache now holds the root that lists the server's key

    def current(self, role: str, cls: type) -> object:
        path = self.client.metadata_dir(GUN) / f"{role}.json"
        return read_metadata(path.read_bytes(), path.name, cls).signed

    def signer_for(self, canonical_key_id: str) -> SoftwareSigner:
        path = self.client.trust_dir / "private" / f"{canonical_key_id}.key"
        return SoftwareSigner(load_notary_private_key(path.read_bytes(), PASSPHRASE))

    def root_signer(self) -> SoftwareSigner:
        root = self.current("root", Root)
        (key,) = root.role_keys("root").values()
        return self.signer_for(key.canonical_key_id)

    def targets_signer(self) -> SoftwareSigner:
        root = self.current("root", Root)
        (key,) = root.role_keys("targets").values()
        return self.signer_for(key.canonical_key_id)

    def list(self) -> str:
        return self.client.run("list", GUN).stdout


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    live = Live(tmp_path_factory.mktemp("live"))
    yield live
    live.server.stop()


def test_targets_we_sign_are_accepted_by_the_real_client(live):
    root = live.current("root", Root)
    targets = live.current("targets", Targets)
    names = ["ours/plain", "ours/<html>&amp", "ours/ünï\u2029", "ours/𝄞"]
    for name in names:
        targets.targets[name] = meta_of(name.encode())
    targets.targets["ours/plain"].custom = {"z": [1, {"b": None, "a": "<x>"}], "a": True}
    targets.version += 1
    targets.expires = Instant.now() + dt.timedelta(days=1000, microseconds=123457)
    data = sign_metadata(targets, [live.targets_signer()], keys=root.role_keys("targets"))
    status, body = publish(live.server, GUN, {"targets": data})
    assert status == 200, body
    listing = live.list()
    for name in names:
        assert name in listing
    # the client verified and cached exactly our bytes
    assert (live.client.metadata_dir(GUN) / "targets.json").read_bytes() == data


def test_root_we_renew_is_accepted_by_the_real_client(live):
    root = live.current("root", Root)
    root.version += 1
    root.expires = Instant.now() + dt.timedelta(days=3650, microseconds=1)
    data = sign_metadata(root, [live.root_signer()])
    status, body = publish(live.server, GUN, {"root": data})
    assert status == 200, body
    live.list()
    assert (live.client.metadata_dir(GUN) / "root.json").read_bytes() == data
    folder = live.folder / "after-renewal"
    download(live.server, GUN, folder, [])
    report = verify_repository(read_repository(folder, GUN), GUN)
    assert report.ok, report.errors
    assert [r.version for r in report.root_chain] == list(range(1, root.version + 1))


def test_root_signed_by_a_new_key_only_is_refused_by_server_and_verifier(live):
    root = live.current("root", Root)
    new_key = ec_key()
    cert_key = key_from_certificate(notary_certificate(new_key, GUN))
    for keyid in root.roles["root"].keyids:
        del root.keys[keyid]
    root.keys[cert_key.key_id] = cert_key
    root.roles["root"] = Role([cert_key.key_id], 1)
    root.version += 1
    data = sign_metadata(root, [SoftwareSigner(new_key)])
    status, body = publish(live.server, GUN, {"root": data})
    assert status == 400 and b"failed to validate data with current trusted certificates" in body
    folder = live.folder / "forged"
    download(live.server, GUN, folder, [])
    (folder / f"{root.version}.root.json").write_bytes(data)
    (folder / "root.json").write_bytes(data)
    report = verify_repository(read_repository(folder, GUN), GUN)
    assert isinstance(report.errors[0], RootChainError)


def test_a_really_expired_targets_file_is_refused_by_server_and_verifier(live):
    root = live.current("root", Root)
    targets = live.current("targets", Targets)
    targets.version += 1
    targets.expires = Instant.now() - dt.timedelta(hours=1)
    data = sign_metadata(targets, [live.targets_signer()], keys=root.role_keys("targets"))
    status, body = publish(live.server, GUN, {"targets": data})
    assert status == 400 and b"targets expired at" in body
    folder = live.folder / "expired"
    download(live.server, GUN, folder, [])
    (folder / "targets.json").write_bytes(data)
    report = verify_repository(read_repository(folder, GUN), GUN)
    expired = [e for e in report.errors if isinstance(e, ExpiredError)]
    assert [str(e) for e in expired] == [
        f"targets.json: targets expired on {targets.expires}, before {report.verified_at}"]
