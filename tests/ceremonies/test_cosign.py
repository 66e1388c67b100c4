"""A 2-of-3 root threshold with keyholders at two sites: two workspaces, two SoftHSM
environments holding different tokens, the REAL notary-server and client.

Site A holds root-a (and the targets key); site B holds root-b and root-c. B makes its root
certificates on its tokens and pins the repository on the root certificate ID A reads out. A
rotates to 2-of-3 with B's certificates (a partial response: A's signature only), B checks and
signs it, A merges, publishes; clients follow. Then a renewal is prepared with no token at all,
signed in parallel at A (root-a) and B (root-c), merged into a complete root. Refusals write
nothing.
"""

from __future__ import annotations

import json

import pytest

from ceremony.workspace import Workspace
from tests.ceremonies.sites import (
    Site,
    client,
    fetch,
    init_repo,
    publish,
    published,
    root_ids,
    signed_file,
)
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary


def status(site: Site, path) -> dict:
    return site.ok("status", str(path))


def thresholds(report: dict, role: str = "root") -> dict[str, dict]:
    repo = report["repositories"][0]
    f = next(f for f in repo["files"] if f["role"] == role)
    return {t["name"].split(" (")[0]: t for t in f["thresholds"]}


def test_two_of_three_root_cosigned_at_two_sites(notary, softhsm_factory, tmp_path):
    gun = "example.com/two-sites"
    a = Site(softhsm_factory("site-a", ["root-a", "targets"]), tmp_path / "a")
    b = Site(softhsm_factory("site-b", ["root-b", "root-c"]), tmp_path / "b")
    init = init_repo(a, notary, gun, tmp_path, "root-a")
    a_id = root_ids(init, gun)[0]
    stale = client(notary, tmp_path / "stale", gun, [a_id])
    assert "No targets present" in stale.run("list", gun).stdout

    # site B: a root key on each of its tokens, a root certificate CN=GUN made by each token
    certs = {}
    for label in ("root-b", "root-c"):
        r = b.run("key", "generate", "--token", label, "--label", "root", "--pin-source",
                  b.env.pin_source(label))
        assert r.returncode == 0, r.output
        certs[label] = tmp_path / f"{label}.pem"
        cert = b.ok("key", "cert", "--token", label, "--label", "root", "--gun", gun, "--out",
                    str(certs[label]), "--pin-source", b.env.pin_source(label))
        certs[label + "-id"] = cert["cert_key_id"]
    b_id, c_id = certs["root-b-id"], certs["root-c-id"]
    # site B pins the repository on the root certificate ID site A reads out
    req = fetch(notary, gun, tmp_path / "pin.req", operation="pin")
    r = b.run("pin", gun, "--request", str(req), "--root-cert-id", "ab" * 32)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.output
    assert "does not verify against the pinned root certificate IDs" in r.stderr
    assert Workspace.open(b.workspace).trusted_root_history(gun) == {}
    assert b.last_transcript()[-1]["data"]["outcome"] == "refused"
    pinned = b.ok("pin", gun, "--request", str(req), "--root-cert-id", a_id)
    assert pinned["pinned_versions"] == [1] and pinned["root_cert_ids"] == [a_id]

    # site A: rotate to 2-of-3; B's keys are not here -> refused naming exactly them ...
    req = fetch(notary, gun, tmp_path / "rot.req", operation="rotate-root")
    p1 = tmp_path / "p1.resp"
    args = ["rotate", "root", gun, "--request", str(req), "--out", str(p1), "--root-token",
            "root-a", "--add-cert", str(certs["root-b"]), "--add-cert", str(certs["root-c"]),
            "--root-threshold", "2", *a.pins(), "--yes"]
    err = a.refused(args, p1, "cannot meet every threshold")
    assert f"key {b_id}" in err and f"key {c_id}" in err and a_id not in err.split("tokens")[0]
    assert "root v2 (its own root keys) [needs 2, has 1]: 1 more signature from any of: " in err
    # ... or, with --partial, a partial response carrying A's signature
    result = a.ok(*args, "--partial")
    assert not result["complete"]
    assert {m["key_id"] for m in result["repositories"][0]["missing"]} == {b_id, c_id}
    r = publish(notary, p1)
    assert r.returncode == 1 and "partial" in r.stderr
    t = thresholds(status(a, p1))
    assert t["root v1 keys"]["met"] and [s["key_id"] for s in t["root v1 keys"]["signed"]] == \
        [a_id]
    assert t["root v2"]["have"] == 1 and t["root v2"]["threshold"] == 2
    assert {m["key_id"] for m in t["root v2"]["missing"]} == {b_id, c_id}
    human = a.run("status", str(p1))
    assert human.returncode == 0
    assert "root v2 (its own root keys): 1 of 2 signed: 1 more signature from any of: " \
        in human.stdout
    assert "root v1 keys (they approve the change to v2): met: 1 signature, 1 needed" \
        in human.stdout
    assert f"signed:  {a_id} on token 'root-a' key 'root'" in human.stdout

    # site B checks the partial against ITS workspace, reviews, signs with root-b
    report = status(b, p1)
    assert report["repositories"][0]["verified_against_workspace"]
    # B's own keys: unknown to its workspace until it signs with them -- unless its tokens
    # are given, which show them as its own (read by public key, no PIN)
    assert f"{b_id} (not known here)" in b.run("status", str(p1)).stdout
    own = b.run("status", str(p1), "--token", "root-b", "--token", "root-c")
    assert own.returncode == 0, own.output
    assert f"{b_id} on token 'root-b' key 'root' (this site, token given)" in own.stdout
    assert f"{c_id} on token 'root-c' key 'root' (this site, token given)" in own.stdout
    s1 = tmp_path / "s1.resp"
    r = b.run("sign", str(p1), "--token", "root-b", "--out", str(s1), *b.pins("root-b"),
              "--participant", "Bea", input="yes\n")
    assert r.returncode == 0, r.output
    assert "REVIEW: co-signing" in r.stdout and "WILL SIGN: token 'root-b'" in r.stdout
    assert f"{a_id}: SIGNED already" in r.stdout
    assert "built on root v1, the newest root this workspace trusts" in r.stdout
    assert "complete: publishable" in r.stdout
    # A's key, unknown to B's workspace, shows where A says it lives, as A's claim
    assert "not in this workspace's inventory; the originating site says: on token 'root-a' " \
        "key 'root'" in r.stdout
    assert "claim: the originating site says: " in r.stdout and "root threshold 2" in r.stdout
    assert read_bundle(s1, kind="response").complete
    # site A merges its partial with B's answer (re-verified here), then publishes
    m1 = tmp_path / "m1.resp"
    merged = a.ok("merge", str(p1), str(s1), "--out", str(m1))
    assert merged["complete"]
    v2 = signed_file(m1, gun, "root")
    assert v2["signed"]["roles"]["root"] == {"keyids": [a_id, b_id, c_id], "threshold": 2}
    assert [s["keyid"] for s in v2["signatures"]] == sorted([a_id, b_id])
    published(notary, m1)
    assert "No targets present" in stale.run("list", gun).stdout
    all_ids = [a_id, b_id, c_id]
    assert "No targets present" in client(notary, tmp_path / "fresh", gun, all_ids).run(
        "list", gun).stdout

    # a renewal prepared with no token at all, signed in parallel at A and at B, merged
    req = fetch(notary, gun, tmp_path / "renew.req", operation="renew")
    p2 = tmp_path / "p2.resp"
    a.ok("renew", gun, "--role", "root", "--request", str(req), "--out", str(p2), "--partial",
         "--yes")
    t = thresholds(status(a, p2))
    assert (t["root v2 keys"]["have"], t["root v3"]["have"]) == (0, 0)
    sa = tmp_path / "sa.resp"
    assert not a.ok("sign", str(p2), "--token", "root-a", "--out", str(sa), *a.pins("root-a"),
                    "--yes")["complete"]
    sb = tmp_path / "sb.resp"
    # B still trusts only v1: it refuses to sign on top of a root it has not verified
    b.refused(["sign", str(p2), "--token", "root-c", "--out", str(sb), *b.pins("root-c"),
               "--yes"], sb, "builds on root v2, but the newest root this workspace trusts "
                             "is v1")
    pinned = b.ok("pin", gun, "--request", str(fetch(notary, gun, tmp_path / "pin2.req",
                                                          operation="pin")))
    assert pinned["pinned_versions"] == [2]
    assert not b.ok("sign", str(p2), "--token", "root-c", "--out", str(sb), *b.pins("root-c"),
                    "--yes")["complete"]
    # B's own inventory now names its token
    assert Workspace.open(b.workspace).key(c_id).token_label == "root-c"
    # merging refuses responses to different requests; writes nothing
    m2 = tmp_path / "m2.resp"
    a.refused(["merge", str(sa), str(s1), "--out", str(m2)], m2, "different requests")
    m2a, m2b = tmp_path / "m2a.resp", tmp_path / "m2b.resp"
    res = a.ok("merge", str(sa), str(sb), "--out", str(m2a))
    a.ok("merge", str(sb), str(sa), "--out", str(m2b))
    assert res["complete"] and read_bundle(m2a).entries == read_bundle(m2b).entries
    v3 = signed_file(m2a, gun, "root")
    assert v3["signed"]["version"] == 3
    assert {s["keyid"] for s in v3["signatures"]} == {a_id, c_id}
    published(notary, m2a)
    assert "No targets present" in stale.run("list", gun).stdout
    cached = json.loads((stale.metadata_dir(gun) / "root.json").read_bytes())
    assert cached["signed"]["version"] == 3
    assert "No targets present" in client(notary, tmp_path / "fresh3", gun, all_ids).run(
        "list", gun).stdout

    # root-a is compromised: removed at A (its key still approves, as one of the old 2),
    # completed by B with root-b and root-c (v4 is 2 of {b, c}), merged at A, where the key
    # is then recorded as retired
    req = fetch(notary, gun, tmp_path / "rm.req", operation="rotate-root")
    p3 = tmp_path / "p3.resp"
    a.ok("rotate", "root", gun, "--request", str(req), "--out", str(p3), "--root-token",
         "root-a", "--remove-key", a_id, "--reason", "root-a compromised", "--partial",
         *a.pins(), "--yes")
    assert not Workspace.open(a.workspace).is_retired(a_id)
    b.ok("pin", gun, "--request", str(fetch(notary, gun, tmp_path / "pin3.req",
                                            operation="pin")))
    # B sees A's reason and where A says its key lives, as A's claims; its own keys as its own
    seen = b.run("status", str(p3))
    assert seen.returncode == 0, seen.output
    assert "claim: the originating site says: " in seen.stdout
    assert "reason 'root-a compromised'" in seen.stdout
    assert f"once complete, key {a_id} is recorded as retired: 'root-a compromised" in seen.stdout
    assert f"signed:  {a_id} on token 'root-a' key 'root' (the originating site says so; not " \
        "known here)" in seen.stdout
    assert f"{b_id} on token 'root-b' key 'root' (this site)" in seen.stdout
    assert "root v3 keys (they approve the change to v4): 1 of 2 signed: 1 more signature " \
        "from any of: " in seen.stdout
    needs_v4 = [line for line in seen.stdout.splitlines()
                if "root v4 (its own root keys): 0 of 2 signed: 2 more signatures from " in line]
    assert len(needs_v4) == 1 and b_id in needs_v4[0], seen.stdout  # keys listed in ID order
    s3 = tmp_path / "s3.resp"
    signed = b.ok("sign", str(p3), "--token", "root-b", "--token", "root-c", "--out", str(s3),
                  *b.pins(), "--yes")
    assert signed["logins_by_token"] == {"root-b": 1, "root-c": 1}
    # fully signed at B, but only A's workspace can record root-a as retired: not publishable
    assert not signed["complete"] and signed["awaiting_origin_merge"]
    r = publish(notary, s3)
    assert r.returncode == 1 and "the originating site must merge it first" in r.stderr
    seen = b.run("status", str(s3))
    assert "root v3 keys (they approve the change to v4): met: 3 signatures, 2 needed" \
        in seen.stdout and " of 2 --" not in seen.stdout
    assert "awaiting the originating site's merge" in seen.stdout
    assert not b.ok("merge", str(p3), str(s3), "--out", str(tmp_path / "b3.resp"))["complete"]
    m3 = tmp_path / "m3.resp"
    assert a.ok("merge", str(p3), str(s3), "--out", str(m3))["complete"]
    ws = Workspace.open(a.workspace)
    assert ws.is_retired(a_id)
    assert "root-a compromised" in {r.key.key_id: r for r in ws.retired_keys()}[a_id].reason
    v4 = signed_file(m3, gun, "root")
    assert v4["signed"]["roles"]["root"] == {"keyids": [b_id, c_id], "threshold": 2}
    published(notary, m3)
    assert "No targets present" in stale.run("list", gun).stdout
    assert "No targets present" in client(notary, tmp_path / "fresh4", gun, [b_id, c_id]).run(
        "list", gun).stdout
