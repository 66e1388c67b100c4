"""`ceremony online fetch|publish` against the real notary-server and the real notary client."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from softhsm.notary_server import NotaryClient, NotaryServer
from tests.conftest import run_cli
from tests.online import notary_metadata as nm
from transfer.bundle import (
    ResponseBundle,
    ResponseEntry,
    SignedFile,
    read_bundle,
    write_bundle,
)

pytestmark = pytest.mark.notary

GUN = "example.com/app"


def requests_logged(server: NotaryServer, method: str, uri: str) -> int:
    """How many `method uri` requests the server logged (its own access log)."""
    count = 0
    for line in (server.folder / "server.log").read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (entry.get("http.request.method") == method
                and entry.get("http.request.uri") == uri):
            count += 1
    return count


def wait_logged(server: NotaryServer, method: str, uri: str, at_least: int) -> int:
    deadline = time.monotonic() + 5
    while (n := requests_logged(server, method, uri)) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return n


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository made by the real client: target, delegation with a target, targets-key
    rotation (so root has a history 1..2)."""
    tmp = tmp_path_factory.mktemp("online")
    with NotaryServer(tmp / "server") as server:
        client = NotaryClient(server, tmp / "client")
        client.run("init", GUN, "--publish")
        artefact = tmp / "artefact.txt"
        artefact.write_text("hello")
        client.run("add", GUN, "v1", str(artefact), "--publish")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                        "-out", str(tmp / "del.key")], check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(tmp / "del.key"),
                        "-out", str(tmp / "del.pem"), "-days", "30", "-subj", "/CN=releases"],
                       check=True, capture_output=True)
        client.run("delegation", "add", GUN, "targets/releases", str(tmp / "del.pem"),
                   "--all-paths", "--publish")
        client.run("key", "import", str(tmp / "del.key"), "--role", "targets/releases")
        client.run("add", GUN, "v2", str(artefact), "--roles", "targets/releases", "--publish")
        client.run("key", "rotate", GUN, "targets")
        client.run("publish", GUN)
        client.run("list", GUN)  # the client's cache now holds the current files
        yield server, client, tmp


def fetch(server, *args, out):
    return run_cli("online", "fetch", *args, "--server", server.url, "--ca", str(server.ca),
                   "--out", str(out))


def test_fetch_existing_repository_is_byte_identical_to_server_and_client(repo, tmp_path):
    server, client, _ = repo
    out = tmp_path / "request.bundle"
    r = fetch(server, GUN, "--operation", "rotate-targets", "--param", "reason=test", out=out)
    assert r.returncode == 0, r.output
    bundle = read_bundle(out, kind="request")
    assert r.stdout.splitlines()[-3] == f"bundle sha256 {bundle.digest_hex}"
    entry = bundle.entry(GUN)
    assert entry.operation == "rotate-targets" and entry.params == {"reason": "test"}
    assert sorted(entry.metadata) == ["root", "snapshot", "targets", "targets/releases",
                                      "timestamp"]
    cache = client.metadata_dir(GUN)
    for role, data in entry.metadata.items():
        status, served = server.get(f"/v2/{GUN}/_trust/tuf/{role}.json")
        assert status == 200 and served == data, role
        assert (cache / f"{role}.json").read_bytes() == data, role
    assert len(entry.root_history) == 2
    for n, data in enumerate(entry.root_history, start=1):
        assert server.get(f"/v2/{GUN}/_trust/tuf/{n}.root.json") == (200, data)
    assert entry.root_history[-1] == entry.metadata["root"]
    assert entry.root_history[0] != entry.root_history[1]
    # timestamp.key is the server's active key, the one root names; snapshot.key is not fetched
    # for an existing repository (its snapshot key is the client's: a GET would create one).
    ts_key = entry.server_keys["timestamp"]
    assert server.get(f"/v2/{GUN}/_trust/tuf/timestamp.key") == (200, ts_key)
    root = json.loads(entry.metadata["root"])["signed"]
    assert root["roles"]["timestamp"]["keyids"] == [
        nm.key_id(nm.server_key(entry.server_keys["timestamp"]))]
    assert "snapshot" not in entry.server_keys
    assert requests_logged(server, "GET", f"/v2/{GUN}/_trust/tuf/snapshot.key") == 0
    # consistent set: snapshot and roles were fetched by the hashes the server named
    snap_hex = hashlib.sha256(entry.metadata["snapshot"]).hexdigest()
    assert requests_logged(server, "GET", f"/v2/{GUN}/_trust/tuf/snapshot.{snap_hex}.json") >= 1


def test_new_gun_keys_fetched_once_and_publish_is_accepted_by_the_real_client(repo, tmp_path):
    server, _, _ = repo
    gun = "example.com/brand-new"
    out = tmp_path / "request.bundle"
    r = fetch(server, gun, out=out)
    assert r.returncode == 0, r.output
    entry = read_bundle(out).entry(gun)
    assert entry.operation == "init" and not entry.exists and entry.root_history == ()
    for role in ("timestamp", "snapshot"):
        assert wait_logged(server, "GET", f"/v2/{gun}/_trust/tuf/{role}.key", 1) == 1

    # Sign a new repository that names exactly the carried server keys, publish it with the CLI.
    root_key, files = nm.new_repository(gun, entry.server_keys["timestamp"],
                                        entry.server_keys["snapshot"], ("v1", b"payload"))
    response = ResponseBundle(entries=(ResponseEntry(gun, tuple(SignedFile(role, data)
                                                                for role, data in files)),),
                              request_sha256=read_bundle(out).digest_hex)
    resp_path = write_bundle(tmp_path / "response.bundle", response)
    r = run_cli("online", "publish", str(resp_path), "--server", server.url, "--ca",
                str(server.ca))
    assert r.returncode == 0, r.output
    assert "published 1 repository" in r.stdout
    for role, data in files:  # multipart carried the exact bytes, delegation name included
        assert server.get(f"/v2/{gun}/_trust/tuf/{role}.json") == (200, data)
    # The server signs with the keys it handed out once, and the keys were not replaced.
    for role in ("timestamp", "snapshot"):
        _, served = server.get(f"/v2/{gun}/_trust/tuf/{role}.json")
        signer = json.loads(served)["signatures"][0]["keyid"]
        assert signer == nm.key_id(nm.server_key(entry.server_keys[role])), role
        assert server.get(f"/v2/{gun}/_trust/tuf/{role}.key")[1] == entry.server_keys[role]
    fresh = NotaryClient(server, tmp_path / "fresh", pinned={gun: [root_key.id]},
                         disable_tofu=True)
    listing = fresh.run("list", gun).stdout
    assert "v1" in listing and "targets/releases" in listing


def test_publish_what_the_real_client_signed(repo, tmp_path):
    """`notary init` without --publish signs root/targets/snapshot locally (fetching the
    timestamp key itself); our publish uploads those files and the client carries on."""
    server, _, _ = repo
    gun = "example.com/client-made"
    maker = NotaryClient(server, tmp_path / "maker")
    maker.run("init", gun)
    meta = maker.metadata_dir(gun)
    files = tuple(SignedFile(role, (meta / f"{role}.json").read_bytes())
                  for role in ("root", "targets", "snapshot"))
    path = write_bundle(tmp_path / "resp", ResponseBundle(entries=(ResponseEntry(gun, files),)))
    r = run_cli("online", "publish", str(path), "--server", server.url, "--ca", str(server.ca))
    assert r.returncode == 0, r.output
    for f in files:
        assert server.get(f"/v2/{gun}/_trust/tuf/{f.role}.json") == (200, f.data)
    root = json.loads(files[0].data)["signed"]
    fresh = NotaryClient(server, tmp_path / "fresh", pinned={gun: root["roles"]["root"]["keyids"]},
                         disable_tofu=True)
    assert "No targets present" in fresh.run("list", gun).stdout
    artefact = tmp_path / "a.txt"
    artefact.write_text("x")
    maker.run("add", gun, "later", str(artefact), "--publish")
    assert "later" in fresh.run("list", gun).stdout


def _response(tmp_path: Path, gun: str, *files: tuple[str, bytes]) -> Path:
    bundle = ResponseBundle(entries=(ResponseEntry(gun, tuple(SignedFile(r, d)
                                                              for r, d in files)),))
    return write_bundle(tmp_path / "resp.bundle", bundle, overwrite=True)


@pytest.mark.parametrize("what, files, expected", [
    ("garbage", [("root", b"garbage"), ("targets", b"{}")], "HTTP 400 MALFORMED_JSON"),
    ("old version", None, "HTTP 400"),
])
def test_publish_refusal_shows_the_servers_reason(repo, tmp_path, what, files, expected):
    server, client, _ = repo
    if files is None:  # upload the first root again, below the server's current version
        # (the files the server has now would count as published: see test_publish_resumes)
        files = [("root", server.get(f"/v2/{GUN}/_trust/tuf/1.root.json")[1])]
    before = server.get(f"/v2/{GUN}/_trust/tuf/targets.json")
    r = run_cli("online", "publish", str(_response(tmp_path, GUN, *files)), "--server",
                server.url, "--ca", str(server.ca))
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.startswith(f"error: the server refused {GUN}: ") and expected in err, err
    assert "\n" not in err and "nothing was published" in err
    if what == "old version":
        assert "must increment the version" in err, err
    assert server.get(f"/v2/{GUN}/_trust/tuf/targets.json") == before


def test_partial_response_is_not_uploaded(repo, tmp_path):
    from transfer.bundle import PendingSignatures
    server, _, _ = repo
    gun = "example.com/partial"
    bundle = ResponseBundle(entries=(ResponseEntry(gun, (SignedFile("root", b"{}"),),
                                                   PendingSignatures(({"keyid": "ab"},))),))
    path = write_bundle(tmp_path / "partial", bundle)
    r = run_cli("online", "publish", str(path), "--server", server.url, "--ca", str(server.ca))
    assert r.returncode == 1 and "partial" in r.stderr and "nothing uploaded" in r.stderr
    assert requests_logged(server, "POST", f"/v2/{gun}/_trust/tuf/") == 0


def test_fetch_errors_are_one_line_and_write_nothing(repo, tmp_path):
    server, _, _ = repo
    out = tmp_path / "req"
    cases = [
        (fetch(server, GUN, out=out), "already exists on the server"),
        (fetch(server, "Example.com/x", out=out), "must be lowercase"),
        (fetch(server, "a.com/../etc", out=out), "'..' component"),
        (run_cli("online", "fetch", GUN, "--operation", "rotate-targets", "--server", server.url,
                 "--out", str(out)), "not trusted"),
        (run_cli("online", "fetch", GUN, "--operation", "rotate-targets", "--server",
                 "https://127.0.0.1:9", "--out", str(out)), "cannot reach https://127.0.0.1:9"),
        (run_cli("online", "fetch", GUN, "--server", "http://" + server.url[8:],
                 "--out", str(out)), "refusing plain HTTP"),
    ]
    for r, expected in cases:
        assert r.returncode == 1, r.output
        assert expected in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_fetch_refuses_to_overwrite_before_touching_the_server(repo, tmp_path):
    server, _, _ = repo
    out = tmp_path / "req"
    out.write_text("keep me")
    r = fetch(server, "example.com/untouched", out=out)
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr
    assert out.read_text() == "keep me"
    assert requests_logged(server, "GET", "/v2/example.com/untouched/_trust/tuf/root.json") == 0


def test_bulk_fetch_many_guns_in_one_request(repo, tmp_path):
    server, _, _ = repo
    guns = [f"bulk.example.com/repo-{i:03d}" for i in range(40)]
    listing = tmp_path / "guns.txt"
    listing.write_text("# bulk\n" + "\n".join(guns[1:]) + "\n")
    out = tmp_path / "bulk.bundle"
    started = time.monotonic()
    r = run_cli("online", "fetch", guns[0], "--guns-from", str(listing), "--server", server.url,
                "--ca", str(server.ca), "--out", str(out), "--snapshot-key", "never")
    elapsed = time.monotonic() - started
    assert r.returncode == 0, r.output
    bundle = read_bundle(out)
    assert bundle.guns == guns
    assert all(set(e.server_keys) == {"timestamp"} for e in bundle.entries)
    assert elapsed < 60
