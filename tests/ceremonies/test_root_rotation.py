"""Root-key rotation against the REAL notary-server and client, keys on SoftHSM tokens.

Add a second root token, publish, then remove the first (as after losing it): a client that
cached root v1 walks 1 -> 2 -> 3, a fresh client pinned to the new root certificate verifies.
A root signed only by new keys is refused by the server and by our verifier, and our tool
refuses to make one, naming exactly the missing keys; nothing is written on refusal.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ceremony.notary.format import Instant, Role, key_from_certificate, read_metadata, sign_metadata
from ceremony.notary.format.model import Root
from ceremony.notary.format.repository import RepositoryFiles
from ceremony.notary.format.repository_check import verify_repository
from ceremony.workspace import Workspace
from tests.ceremonies.sites import (
    Site,
    client,
    fetch,
    file_bytes,
    init_repo,
    publish,
    published,
    root_ids,
    signed_file,
)
from tests.metadata.factory import ec_key, notary_certificate
from tests.metadata.software_signer import SoftwareSigner
from transfer.bundle import ResponseBundle, ResponseEntry, SignedFile, write_bundle

pytestmark = pytest.mark.notary
TOKENS = ["root-a", "root-b", "targets", "spare"]


@pytest.fixture
def site(softhsm_factory, tmp_path) -> Site:
    return Site(softhsm_factory("site", TOKENS), tmp_path)


def test_add_second_root_token_then_remove_the_first(notary, site, tmp_path):
    gun, o = "example.com/rootrot", site
    init = init_repo(o, notary, gun, tmp_path, "root-a")
    v1_ids = root_ids(init, gun)
    stale = client(notary, tmp_path / "stale", gun, v1_ids)  # caches v1, then sleeps
    assert "No targets present" in stale.run("list", gun).stdout

    # 1. add root-b: root v2 = {a, b}, threshold 1, signed by a (old) and a + b (new)
    req = fetch(notary, gun, tmp_path / "add.req", operation="rotate-root")
    add = tmp_path / "add.resp"
    r = o.run("rotate", "root", gun, "--request", str(req), "--out", str(add), "--root-token",
              "root-a", "--add-token", "root-b", *o.pins(), input="yes\n")
    assert r.returncode == 0, r.output
    assert "root threshold 1 of 1 -> 1 of 2" in r.stdout
    assert "Notary's rotation rule" in r.stdout and "WILL SIGN: token 'root-b'" in r.stdout
    v2 = signed_file(add, gun, "root")
    assert v2["signed"]["version"] == 2
    assert v2["signed"]["roles"]["root"]["keyids"][0] == v1_ids[0]
    b_id = v2["signed"]["roles"]["root"]["keyids"][1]
    assert {s["keyid"] for s in v2["signatures"]} == {v1_ids[0], b_id}
    published(notary, add)
    # a client that follows each step
    follower = client(notary, tmp_path / "follower", gun, v1_ids)
    assert "No targets present" in follower.run("list", gun).stdout

    # 2. root-a is lost: remove it with root-b alone (v2's threshold is 1 of {a, b})
    req = fetch(notary, gun, tmp_path / "rm.req", operation="rotate-root")
    rm = tmp_path / "rm.resp"
    result = o.ok("rotate", "root", gun, "--request", str(req), "--out", str(rm),
                  "--root-token", "root-b", "--remove-token", "root-a", "--reason",
                  "token root-a lost", *o.pins("root-b"), "--yes")
    assert result["complete"] and result["logins_by_token"] == {"root-b": 1}
    v3 = signed_file(rm, gun, "root")
    assert v3["signed"]["roles"]["root"]["keyids"] == [b_id]
    assert v1_ids[0] not in v3["signed"]["keys"]
    assert [s["keyid"] for s in v3["signatures"]] == [b_id]
    published(notary, rm)
    ws = Workspace.open(o.workspace)
    assert ws.is_retired(v1_ids[0]) and not ws.is_retired(b_id)
    retired = {r.key.key_id: r for r in ws.retired_keys()}
    assert "token root-a lost" in retired[v1_ids[0]].reason
    assert ws.latest_root_version(gun) == 3

    # the client that cached v1 walks 1.root -> 2.root -> 3.root; the follower too
    assert "No targets present" in stale.run("list", gun).stdout
    cached = json.loads((stale.metadata_dir(gun) / "root.json").read_bytes())
    assert cached["signed"]["version"] == 3
    assert "No targets present" in follower.run("list", gun).stdout
    # a fresh client pinned to the new root certificate verifies
    fresh = client(notary, tmp_path / "fresh", gun, [b_id])
    assert "No targets present" in fresh.run("list", gun).stdout
    # ... and one pinned to the removed key does not
    old_pin = client(notary, tmp_path / "oldpin", gun, v1_ids)
    assert old_pin.run("list", gun, check=False).returncode != 0

    # 3. our tool refuses to make a root only new keys sign, naming exactly what is missing
    req = fetch(notary, gun, tmp_path / "rogue.req", operation="rotate-root")
    out = tmp_path / "rogue.resp"
    err = o.refused(["rotate", "root", gun, "--request", str(req), "--out", str(out),
                     "--add-token", "spare", "--remove-token", "root-b", *o.pins(), "--yes"],
                    out, "cannot meet every threshold")
    assert f"key {b_id}" in err and "token 'root-b' key 'root'" in err
    assert "root v3 keys (they approve the change to v4)" in err
    assert "needs 1, has 0" in err and v1_ids[0] not in err
    assert o.last_transcript()[-1]["data"]["outcome"] == "refused"
    # and a token no key of which is listed does not help either: still refused, same keys
    err2 = o.refused(["rotate", "root", gun, "--request", str(req), "--out", str(out),
                      "--root-token", "root-a", "--add-token", "spare", *o.pins(), "--yes"],
                     out, f"key {b_id}")
    assert "tokens present:" in err2

    # a second root key on a token that already holds one: refused before any key is made
    listing = ["token", "keys", "root-b", "--json", "--pin-source", o.env.pin_source("root-b")]
    keys_before = o.run(*listing).stdout
    o.refused(["rotate", "root", gun, "--request", str(req), "--out", str(out), "--root-token",
               "root-b", "--add-token", "root-b", "--root-label", "root-2", *o.pins(),
               "--yes"], out, "token 'root-b' already holds root key")
    assert "root" in keys_before
    assert o.run(*listing).stdout == keys_before

    # 4. such a root built by hand (v4 listing only a new key, signed only by it) is refused
    #    by the real server and by our verifier
    rogue_key = ec_key()
    cert = notary_certificate(rogue_key, gun)
    new_key = key_from_certificate(cert)
    current = read_metadata(file_bytes(rm, gun, "root"), "root.json", Root).signed
    rogue = Root.from_dict(current.to_dict())
    rogue.version = 4
    rogue.expires = Instant.from_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0)
                                          + dt.timedelta(days=365))
    del rogue.keys[b_id]
    rogue.keys[new_key.key_id] = new_key
    rogue.roles["root"] = Role([new_key.key_id], 1)
    data = sign_metadata(rogue, [SoftwareSigner(rogue_key)])
    bundle = tmp_path / "rogue-manual.resp"
    write_bundle(bundle, ResponseBundle((ResponseEntry(gun, (SignedFile("root", data),)),)))
    r = publish(notary, bundle)
    assert r.returncode == 1 and "failed to validate data with current trusted certificates" \
        in r.stderr, r.output
    history = {1: file_bytes(init, gun, "root"), 2: file_bytes(add, gun, "root"),
               3: file_bytes(rm, gun, "root"), 4: data}
    report = verify_repository(RepositoryFiles(roles={"root": data}, root_history=history,
                                               source="test"), gun, trusted_root=history[1])
    assert not report.ok
    assert "root version 4 is not signed by the threshold of the root keys of version 3" in \
        str(report.errors[0])
    # the server kept v3: a fresh client still verifies
    assert "No targets present" in client(notary, tmp_path / "after", gun, [b_id]).run(
        "list", gun).stdout


def test_bulk_root_rotation_and_renewal_one_login_per_token(notary, site, tmp_path):
    """One ceremony adds a root token to 6 repositories: one login per token, one certificate
    per GUN made by the new token; then their targets are renewed in one ceremony, then their
    roots with every certificate re-issued."""
    o, guns = site, [f"example.com/bulk-{n}" for n in range(6)]
    req = fetch(notary, guns, tmp_path / "init.req")
    init = tmp_path / "init.resp"
    o.ok("init", "--request", str(req), "--out", str(init), "--root-token", "root-a",
         "--targets-token", "targets", *o.pins(), "--yes")
    published(notary, init)
    gun = guns[-1]
    stale = client(notary, tmp_path / "c", gun, root_ids(init, gun))  # caches root v1
    assert "No targets present" in stale.run("list", gun).stdout
    req = fetch(notary, guns, tmp_path / "rot.req", operation="rotate-root")
    out = tmp_path / "rot.resp"
    result = o.ok("rotate", "root", "--all", "--request", str(req), "--out", str(out),
                  "--root-token", "root-a", "--add-token", "root-b", "--root-threshold", "2",
                  *o.pins(), "--yes")
    assert result["complete"] and result["logins_by_token"] == {"root-a": 1, "root-b": 1}
    assert result["signatures"] == 2 * len(guns)
    b_ids = set()
    for gun in guns:
        root = signed_file(out, gun, "root")["signed"]
        assert root["version"] == 2 and root["roles"]["root"]["threshold"] == 2
        assert root["roles"]["root"]["keyids"][0] == root_ids(init, gun)[0]
        b_ids.add(root["roles"]["root"]["keyids"][1])
    assert len(b_ids) == len(guns)  # a certificate per GUN, one key on root-b
    published(notary, out)
    req = fetch(notary, guns, tmp_path / "renew.req", operation="renew")
    out2 = tmp_path / "renew.resp"
    result = o.ok("renew", "--all", "--role", "targets", "--request", str(req), "--out",
                  str(out2), "--targets-token", "targets", *o.pins("targets"), "--yes")
    assert result["logins_by_token"] == {"targets": 1} and result["signatures"] == len(guns)
    published(notary, out2)
    # and every root certificate re-issued on its token, for all of them
    req = fetch(notary, guns, tmp_path / "renew-root.req", operation="renew")
    out3 = tmp_path / "renew-root.resp"
    result = o.ok("renew", "--all", "--role", "root", "--reissue-certs", "--request", str(req),
                  "--out", str(out3), "--root-token", "root-a", "--root-token", "root-b",
                  *o.pins(), "--yes")
    assert result["logins_by_token"] == {"root-a": 1, "root-b": 1}
    assert result["signatures"] == 2 * len(guns)
    for g in guns:
        assert set(root_ids(out3, g)).isdisjoint(root_ids(out, g))
        assert len(signed_file(out3, g, "root")["signatures"]) == 4  # old and new IDs
    published(notary, out3)
    out = out3
    assert "No targets present" in stale.run("list", gun).stdout
    # a fresh client pins every root certificate ID of a threshold-2 root (docs/verify.md, pinning)
    fresh = client(notary, tmp_path / "f", gun, root_ids(out, gun))
    assert "No targets present" in fresh.run("list", gun).stdout
