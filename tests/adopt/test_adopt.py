"""`ceremony adopt` against the REAL notary-server, notary client and Docker CLI.

Repositories are made by the real notary client on "workstations" in Berlin and New York (TZ
set: their files carry +01:00 / -05:00 times), with a delegation whose delegate published a
target, and a targets key rotation. The tool takes them onto SoftHSM tokens; the real clients
then follow.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ceremony.workspace import Workspace
from softhsm.notary_server import PASSPHRASE, NotaryServer
from tests.adopt.realrepo import NotaryRepository, make_repository
from tests.ceremonies.sites import Site, client, fetch, published, root_ids, signed_file

pytestmark = pytest.mark.notary


@pytest.fixture(autouse=True)
def passphrase_env(monkeypatch):
    monkeypatch.setenv("ADOPT_PASS", PASSPHRASE)  # the notary test clients' key passphrase


def adopt_args(repo: NotaryRepository, req: Path, out: Path, *extra: str) -> list[str]:
    return ["adopt", repo.gun, "--request", str(req), "--out", str(out),
            "--root-key-file", str(repo.key_files("root")[0]),
            "--root-passphrase-source", "env:ADOPT_PASS", "--root-token", "root-a", *extra]


def served(server: NotaryServer, gun: str, name: str) -> dict:
    status, body = server.get(f"/v2/{gun}/_trust/tuf/{name}.json")
    assert status == 200, (name, status)
    return json.loads(body)["signed"]


def docker_trust_inspect(server: NotaryServer, folder: Path, gun: str) -> list[dict]:
    """`docker trust inspect GUN` with the real Docker CLI against the real notary-server."""
    config = folder / "docker-config"
    host = server.url.removeprefix("https://")
    (config / "tls" / host).mkdir(parents=True, exist_ok=True)
    (config / "tls" / host / "ca.crt").write_bytes(server.ca.read_bytes())
    env = dict(os.environ, DOCKER_CONFIG=str(config), DOCKER_CONTENT_TRUST_SERVER=server.url)
    proc = subprocess.run(["docker", "trust", "inspect", gun], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_adopt_a_berlin_repository_onto_tokens(server, site: Site, tmp_path):
    gun = "example.com/adopt/berlin"
    repo = make_repository(server, tmp_path / "made", gun, "berlin")
    old = served(server, gun, "root")
    old_ids = old["roles"]["root"]["keyids"]
    old_targets = old["roles"]["targets"]["keyids"]
    # A real client that trusts the repository already (old trust data, pinned to the old ID).
    stale = client(server, tmp_path / "stale", gun, old_ids)
    assert "v1" in stale.run("list", gun).stdout

    req = fetch(server, gun, tmp_path / "adopt.req", operation="adopt")
    resp = tmp_path / "adopt.resp"
    targets_file = repo.key_files("targets")[0]
    r = site.run(*adopt_args(repo, req, resp, "--targets-token", "targets",
                             "--targets-key-file", str(targets_file),
                             "--targets-passphrase-source", "env:ADOPT_PASS"),
                 *site.pins(), input="yes\n")
    assert r.returncode == 0, r.output
    root_file = repo.key_files("root")[0]
    assert f"SOFTWARE KEY SIGNS: root key {old_ids[0]}" in r.stdout
    assert f"DESTROY {root_file}" in r.stdout and "LEAVES root in v4" in r.stdout
    assert f"after publishing, destroy the software key file {targets_file}" in r.stdout
    assert f"Pin these (distribute to every verifier of {gun}):" in r.stdout
    assert PASSPHRASE not in r.output

    root = signed_file(resp, gun, "root")
    new_ids = root_ids(resp, gun)
    assert root["signed"]["version"] == 4 and new_ids != old_ids
    assert root["signed"]["expires"].endswith("Z")  # what the tool writes is UTC
    assert {s["keyid"] for s in root["signatures"]} == {old_ids[0], new_ids[0]}
    assert root["signed"]["roles"]["targets"]["keyids"] != old_targets
    targets = signed_file(resp, gun, "targets")
    assert targets["signed"]["version"] == 5
    assert [r["name"] for r in targets["signed"]["delegations"]["roles"]] == ["targets/releases"]
    assert f"the root certificate IDs changed (previously {old_ids[0]})" in r.stdout

    # The workspace holds the repository's history; the software keys are retired.
    ws = Workspace.open(site.workspace)
    assert sorted(ws.trusted_root_history(gun)) == [1, 2, 3, 4]
    retired = {k.key.key_id: k for k in ws.retired_keys()}
    assert set(old_ids) | set(old_targets) <= set(retired)
    assert retired[old_ids[0]].key.token_label == "software key file"
    assert {k.role: k.token_label for k in ws.keys()} == {"root": "root-a", "targets": "targets"}
    # The passphrase and the private key were never written: not in the workspace (transcripts
    # included), not in the response.
    for path in [resp, *site.workspace.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert PASSPHRASE.encode() not in data and b"PRIVATE KEY" not in data, path

    published(server, resp)
    # The client with the old trust data follows the rotation (3 -> 4) on its own.
    assert "v1" in stale.run("list", gun).stdout
    assert "v1" in repo.owner.run("list", gun).stdout
    # A fresh client pinned to the NEW certificate ID trusts it; one pinned to the old ID is
    # refused (it must be given the new one).
    fresh = client(server, tmp_path / "fresh", gun, new_ids)
    assert "v1" in fresh.run("list", gun).stdout
    pinned_old = client(server, tmp_path / "pinned-old", gun, old_ids)
    assert pinned_old.run("list", gun, check=False).returncode != 0
    # The delegate still publishes with its own client and key.
    repo.artifact.write_bytes(b"release 2\n")
    repo.delegate.run("add", gun, "v2", str(repo.artifact), "--roles", "targets/releases",
                      "--publish")
    assert "v2" in fresh.run("list", gun).stdout
    # Docker lists the new administrative keys.
    inspect = docker_trust_inspect(server, tmp_path, gun)
    admin = {k["Name"]: [key["ID"] for key in k["Keys"]]
             for k in inspect[0]["AdministrativeKeys"]}
    assert admin["Root"] == new_ids
    assert admin["Repository"] == root["signed"]["roles"]["targets"]["keyids"]

    # Adopting it again is refused, nothing written.
    req2 = fetch(server, gun, tmp_path / "again.req", operation="adopt")
    site.refused([*adopt_args(repo, req2, tmp_path / "again.resp", "--keep-targets"),
                  *site.pins(), "--yes"], tmp_path / "again.resp", "is already adopted")


def test_import_then_adopt_keeping_targets_then_rotate_targets(server, site: Site, tmp_path):
    """New York: `adopt import` pins the history from the root certificate ID the team already
    uses; adopt keeps the software targets key; `rotate targets` then moves it onto a token."""
    gun = "example.com/adopt/new-york"
    repo = make_repository(server, tmp_path / "made", gun, "new-york")
    pin = served(server, gun, "1.root")["roles"]["root"]["keyids"][0]
    req = fetch(server, gun, tmp_path / "adopt.req", operation="adopt")
    r = site.run("adopt", "import", gun, "--request", str(req), "--root-cert-id", pin, "--json")
    assert r.returncode == 0, r.output
    imported = json.loads(r.stdout)
    assert imported["pinned"] == [1, 2, 3] and imported["pins"]["root_cert_ids"] == [pin]
    assert sorted(Workspace.open(site.workspace).trusted_root_history(gun)) == [1, 2, 3]

    resp = tmp_path / "adopt.resp"
    result = site.ok(*adopt_args(repo, req, resp, "--keep-targets"), *site.pins(), "--yes")
    assert result["complete"] and [f["role"] for f in result["repositories"][0]["files"]] == \
        ["root"]
    assert result["pins"]["changed"] and result["pins"]["previous_root_cert_ids"] == [pin]
    published(server, resp)
    new_ids = result["pins"]["root_cert_ids"]
    fresh = client(server, tmp_path / "fresh", gun, new_ids)
    assert "v1" in fresh.run("list", gun).stdout

    # The smaller step: root on tokens, targets key still in software -> onto a token.
    req = fetch(server, gun, tmp_path / "rot.req", operation="rotate-targets")
    rot = tmp_path / "rot.resp"
    site.ok("rotate", "targets", gun, "--request", str(req), "--out", str(rot),
            "--targets-token", "targets", "--root-token", "root-a", *site.pins(), "--yes")
    published(server, rot)
    assert "v1" in fresh.run("list", gun).stdout
    repo.artifact.write_bytes(b"release 2\n")
    repo.delegate.run("add", gun, "v2", str(repo.artifact), "--roles", "targets/releases",
                      "--publish")
    assert "v2" in fresh.run("list", gun).stdout
    assert "v2" in repo.owner.run("list", gun).stdout  # old trust data, followed 3 -> 4 -> 5


def test_refusals_write_nothing(server, site: Site, tmp_path):
    gun, other_gun = "example.com/adopt/refusals", "example.com/adopt/other"
    repo = make_repository(server, tmp_path / "made", gun, "berlin")
    other = make_repository(server, tmp_path / "other", other_gun, "new-york")
    req = fetch(server, gun, tmp_path / "adopt.req", operation="adopt")
    out = tmp_path / "adopt.resp"
    base = [*adopt_args(repo, req, out, "--targets-token", "targets"), *site.pins(), "--yes"]
    Workspace.open(site.workspace, create=True)  # an offline machine's (empty) workspace

    def with_file(flag: str, path: Path) -> list[str]:
        args = list(base)
        args[args.index(flag) + 1] = str(path)
        return args

    os.environ["WRONG_PASS"] = "not-the-passphrase"
    wrong = list(base)
    wrong[wrong.index("env:ADOPT_PASS")] = "env:WRONG_PASS"
    line = site.refused(wrong, out, "wrong passphrase")
    assert "not-the-passphrase" not in line
    # A key file of another repository: its targets key (gun: header), its root key.
    site.refused([*base, "--targets-key-file", str(other.key_files("targets")[0]),
                  "--targets-passphrase-source", "env:ADOPT_PASS"], out,
                 f"belongs to another repository (gun: {other_gun})")
    site.refused(with_file("--root-key-file", other.key_files("root")[0]), out,
                 f"holds no root key of {gun}")
    # The targets key file given as the root key.
    site.refused(with_file("--root-key-file", repo.key_files("targets")[0]), out,
                 "is a targets key file")
    # A root key that is no longer the current one (the client rotated root since).
    old_root = tmp_path / "old-root.key"
    old_root.write_bytes(repo.key_files("root")[0].read_bytes())
    repo.owner.run("key", "rotate", gun, "root", input="yes\n")
    req = fetch(server, gun, tmp_path / "adopt.req", operation="adopt")
    site.refused(with_file("--root-key-file", old_root), out,
                 f"holds an old root key of {gun}: root v3 was the last to list it, the current "
                 "root is v4")
    # A request for another operation; an import pinned to an ID no root lists.
    req_rt = fetch(server, gun, tmp_path / "rt.req", operation="rotate-targets")
    site.refused(with_file("--request", req_rt), out, "fetch a request with --operation adopt")
    site.refused(["adopt", "import", gun, "--request", str(req), "--root-cert-id", "ab" * 32],
                 out, "no root version lists the pinned root certificate ID")
    assert Workspace.open(site.workspace).guns() == []
