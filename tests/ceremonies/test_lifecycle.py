"""A repository's life with keys on tokens, checked by the real notary server and client.

init -> publish -> pinned `notary list`; signer add -> the delegate publishes with the real
client -> a fresh pinned client lists it; targets rotation -> a client holding the old root
and a fresh client both verify; signer remove and delegation add/remove; a 2-of-2 root; an
offline snapshot key.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from ceremony.notary.ceremonies.partialstate import PartialState
from ceremony.workspace import Workspace
from tests.ceremonies.conftest import client, fetch, publish, response_file, root_cert_ids
from tests.ceremonies.sites import notary_server
from tests.conftest import run_cli
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary


def delegate_key(folder, name):
    """A delegate's own EC key pair, made with openssl (the delegate's machine)."""
    key, pub = folder / f"{name}.key", folder / f"{name}.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                   capture_output=True)
    return key, pub


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    """notary-server with `trust_service: local` (in-process Ed25519 server keys)."""
    yield from notary_server(tmp_path_factory, "local")


@pytest.fixture(params=["signer", "local"])
def any_server(request):
    """Both configurations: notary-signer (ECDSA, the default) and the local trust service."""
    return request.getfixturevalue("server" if request.param == "signer" else "local_server")


def test_init_signer_add_rotate_targets_signer_remove(any_server, offline, tmp_path):
    server = any_server
    gun = "example.com/life"
    o = offline
    # 1. init, published, read by a client that pins the root certificate made on the token
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    result = o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
                  "--targets-token", "targets", *o.pins(), "--yes", "--participant", "Alice",
                  "--participant", "Bob")
    assert result["complete"] and result["logins"] == 2
    assert result["logins_by_token"] == {"root-a": 1, "targets": 1}
    publish(server, resp)
    # the server-managed keys are the configuration's kind: ECDSA from notary-signer
    root = json.loads(response_file(resp, gun, "root"))["signed"]
    for role in ("timestamp", "snapshot"):
        (key_id,) = root["roles"][role]["keyids"]
        assert root["keys"][key_id]["keytype"] == server.key_algorithm, role
    pins = {gun: root_cert_ids(resp, gun)}
    cached = client(server, tmp_path / "cached", pins)
    assert "No targets present" in cached.run("list", gun).stdout
    # the server serves exactly the reviewed bytes
    for role in ("root", "targets"):
        assert server.get(f"/v2/{gun}/_trust/tuf/{role}.json")[1] == \
            response_file(resp, gun, role)
    entries = o.last_transcript()
    kinds = [e["kind"] for e in entries]
    assert kinds[0] == "start" and kinds[-1] == "end" and entries[-1]["data"]["outcome"] == \
        "completed"
    for kind in ("participants", "airgap", "input", "tokens", "custody", "review",
                 "confirmation", "signed", "output", "workspace"):
        assert kind in kinds, kind
    airgap = next(e for e in entries if e["kind"] == "airgap")["data"]
    assert airgap == {"allow_network": False, "findings": [], "offline": True}
    assert next(e for e in entries if e["kind"] == "confirmation")["data"]["via"] == "--yes"
    assert entries[0]["data"]["participants"] == ["Alice", "Bob"]
    for label in ("root-a", "targets"):  # no PIN anywhere in the transcript or outputs
        pin = o.env.pin(label)
        assert pin not in o.transcripts()[-1].read_text()
        assert pin not in resp.read_text()

    # 2. signer add; the delegate publishes with the real client; a fresh client lists it
    key, pub = delegate_key(tmp_path, "alice")
    req = fetch(server, gun, out=tmp_path / "signer.req", operation="signer-add")
    resp = tmp_path / "signer.resp"
    r = o.run("signer", "add", gun, "alice", "--key", str(pub), "--request", str(req), "--out",
              str(resp), "--targets-token", "targets", *o.pins("targets"), input="yes\n")
    assert r.returncode == 0, r.output
    assert "targets/alice" in r.stdout and "targets/releases" in r.stdout
    publish(server, resp)
    delegate = client(server, tmp_path / "delegate", pins)
    delegate.run("key", "import", str(key), "--role", "targets/releases")
    artefact = tmp_path / "app.tar"
    artefact.write_bytes(b"release one")
    delegate.run("add", gun, "v1", str(artefact), "--roles", "targets/releases", "--publish")
    fresh = client(server, tmp_path / "fresh1", pins)
    listing = fresh.run("list", gun).stdout
    assert "v1" in listing and "targets/releases" in listing
    assert next(e for e in o.last_transcript() if e["kind"] == "confirmation")["data"][
        "via"] == "typed"

    # 3. targets rotation: the client that cached root v1 and a fresh client both follow
    old_targets_id = json.loads(response_file(tmp_path / "init.resp", gun, "root"))[
        "signed"]["roles"]["targets"]["keyids"][0]
    req = fetch(server, gun, out=tmp_path / "rotate.req", operation="rotate-targets")
    resp = tmp_path / "rotate.resp"
    result = o.ok("rotate", "targets", gun, "--request", str(req), "--out", str(resp),
                  "--targets-token", "targets", "--root-token", "root-a", "--label",
                  "targets-2", *o.pins(), "--yes")
    assert [f["role"] for f in result["repositories"][0]["files"]] == ["root", "targets"]
    publish(server, resp)
    root = json.loads(response_file(resp, gun, "root"))["signed"]
    assert root["version"] == 2 and old_targets_id not in root["keys"]
    assert "v1" in cached.run("list", gun).stdout
    assert "v1" in client(server, tmp_path / "fresh2", pins).run("list", gun).stdout
    ws = Workspace.open(o.workspace)
    assert ws.is_retired(old_targets_id)
    assert ws.latest_root_version(gun) == 2
    assert ws.last_signed_version(gun, "targets") == 3

    # 4. delegation add (a certificate key, a path) and signer remove
    req = fetch(server, gun, out=tmp_path / "deleg.req", operation="delegation-add")
    cert_key = tmp_path / "qa.key"
    subprocess.run(["openssl", "req", "-new", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(cert_key), "-out",
                    str(tmp_path / "qa.pem"), "-days", "30", "-subj", "/CN=qa"],
                   check=True, capture_output=True)
    resp = tmp_path / "deleg.resp"
    o.ok("delegation", "add", gun, "targets/qa", "--key", str(tmp_path / "qa.pem"), "--path",
         "qa/", "--request", str(req), "--out", str(resp), "--targets-token", "targets",
         *o.pins("targets"), "--yes")
    publish(server, resp)
    roles = fresh.run("delegation", "list", gun).stdout
    assert "targets/qa" in roles and "qa/" in roles
    req = fetch(server, gun, out=tmp_path / "rm.req", operation="signer-remove")
    resp = tmp_path / "rm.resp"
    o.ok("signer", "remove", gun, "alice", "--request", str(req), "--out", str(resp),
         "--targets-token", "targets", *o.pins("targets"), "--yes")
    publish(server, resp)
    roles = client(server, tmp_path / "fresh3", pins).run("delegation", "list", gun).stdout
    assert "targets/alice" not in roles and "targets/releases" not in roles
    assert "targets/qa" in roles
    # no PIN in any output, response, request, transcript or workspace file
    o.assert_no_pin_anywhere(tmp_path)


def test_root_threshold_two_of_two_and_partial_rotation(server, offline, tmp_path):
    gun = "example.com/two-of-two"
    o = offline
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    result = o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
                  "--root-token", "root-b", "--root-threshold", "2", "--targets-token",
                  "targets", *o.pins(), "--yes")
    assert result["logins_by_token"] == {"root-a": 1, "root-b": 1, "targets": 1}
    root = json.loads(response_file(resp, gun, "root"))
    assert root["signed"]["roles"]["root"]["threshold"] == 2
    assert len(root["signatures"]) == 2
    publish(server, resp)
    pins = {gun: root_cert_ids(resp, gun)}
    assert len(pins[gun]) == 2
    cached = client(server, tmp_path / "c", pins)
    assert "No targets present" in cached.run("list", gun).stdout

    # only root-a present: refused, naming root-b's key, unless --partial
    req = fetch(server, gun, out=tmp_path / "rot.req", operation="rotate-targets")
    before = o.state()
    r = o.run("rotate", "targets", gun, "--request", str(req), "--out",
              str(tmp_path / "rot.resp"), "--targets-token", "targets", "--root-token",
              "root-a", *o.pins(), "--yes")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "token 'root-b'" in r.stderr and "tokens present:" in r.stderr
    assert not (tmp_path / "rot.resp").exists() and o.state() == before
    partial = tmp_path / "partial.resp"
    result = o.ok("rotate", "targets", gun, "--request", str(req), "--out", str(partial),
                  "--targets-token", "targets", "--root-token", "root-a", *o.pins(), "--yes",
                  "--partial", "--label", "t2")
    assert not result["complete"]
    missing = result["repositories"][0]["missing"]
    assert {m["token_label"] for m in missing} == {"root-b"}
    assert {m["role"] for m in missing} == {"root"}
    bundle = read_bundle(partial, kind="response")
    assert not bundle.complete
    r = run_cli("online", "publish", str(partial), "--server", server.url, "--ca",
                str(server.ca))
    assert r.returncode == 1 and "partial" in r.stderr
    # the partial state restores against this workspace and shows what is left
    ws = Workspace.open(o.workspace)
    entry = bundle.entry(gun)
    state = PartialState.from_dict(gun, entry.pending.state)
    files, previous = state.restore(gun, ws.trusted_root_history(gun))
    assert [f.role for f in files] == ["root", "targets"] and previous.version == 1
    assert not files[0].complete and files[1].complete
    old = state.verified_previous_files(gun, previous)
    assert old["root"].version == 1 and old["targets"].version == 1
    assert ws.last_signed_version(gun, "root") == 2 and ws.latest_root_version(gun) == 1


def test_offline_snapshot_key_on_a_token(server, offline, tmp_path):
    gun = "example.com/offline-snapshot"
    o = offline
    req = fetch(server, gun, out=tmp_path / "init.req", extra=("--snapshot-key", "never"))
    resp = tmp_path / "init.resp"
    r = o.run("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
              "--targets-token", "targets", "--snapshot-token", "spare", *o.pins(),
              input="yes\nyes\n")
    assert r.returncode == 0, r.output
    assert "offline snapshot" in r.stdout
    files = [f.role for f in read_bundle(resp, kind="response").entry(gun).files]
    assert files == ["root", "targets", "snapshot"]
    publish(server, resp)
    snap = json.loads(response_file(resp, gun, "snapshot"))
    assert server.get(f"/v2/{gun}/_trust/tuf/snapshot.json")[1] == response_file(
        resp, gun, "snapshot")
    assert set(snap["signed"]["meta"]) == {"root", "targets"}
    pins = {gun: root_cert_ids(resp, gun)}
    assert "No targets present" in client(server, tmp_path / "c", pins).run(
        "list", gun).stdout
    # later ceremonies re-sign the snapshot here too; without its token they are refused
    key = tmp_path / "k.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    str(tmp_path / "k.key")], check=True, capture_output=True)
    subprocess.run(["openssl", "ec", "-in", str(tmp_path / "k.key"), "-pubout", "-out",
                    str(key)], check=True, capture_output=True)
    req = fetch(server, gun, out=tmp_path / "signer.req", operation="signer-add")
    args = ["signer", "add", gun, "dev", "--key", str(key), "--request", str(req),
            "--targets-token", "targets", *o.pins(), "--yes"]
    r = o.run(*args, "--out", str(tmp_path / "refused.resp"))
    assert r.returncode == 1 and "token 'spare' key 'snapshot'" in r.stderr, r.stderr
    resp = tmp_path / "signer.resp"
    o.ok(*args, "--snapshot-token", "spare", "--out", str(resp))
    entry = read_bundle(resp, kind="response").entry(gun)
    assert [f.role for f in entry.files] == ["targets", "snapshot"]
    publish(server, resp)
    snap = json.loads(response_file(resp, gun, "snapshot"))["signed"]
    assert snap["version"] == 2
    roles = client(server, tmp_path / "c2", pins).run("delegation", "list", gun).stdout
    assert "targets/dev" in roles and "targets/releases" in roles
