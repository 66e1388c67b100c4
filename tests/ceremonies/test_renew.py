"""Renewal against the REAL notary-server and client, keys on SoftHSM tokens.

Root certificates near expiry are re-issued on their tokens: root v+1 lists the new cert key
IDs and carries each token's one signature under the old ID (the old root's threshold) and the
new ID (its own); a client that cached the old root and a fresh client pinned to the new IDs
both follow. targets.json is renewed with a new expiry. Refusals write nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ceremony.workspace import Workspace
from tests.ceremonies.sites import (
    Site,
    client,
    fetch,
    init_repo,
    published,
    root_ids,
    signed_file,
)

pytestmark = pytest.mark.notary
TOKENS = ["root-a", "root-b", "targets"]


@pytest.fixture
def site(softhsm_factory, tmp_path) -> Site:
    return Site(softhsm_factory("site", TOKENS), tmp_path)


def cert_until(root: dict, kid: str) -> dt.datetime:
    from ceremony.notary.format.keys import Key
    key = Key.from_dict(root["signed"]["keys"][kid])
    return key.certificates[0].not_valid_after_utc


def test_root_renewal_reissues_certificates_and_targets_renewal(notary, site, tmp_path):
    gun, o = "example.com/renew", site
    # root (and so its certificates) made for 120 days: inside the 6-month re-issue window
    init = init_repo(o, notary, gun, tmp_path, "root-a", "root-b",
                     extra=("--root-expires", "120d"))
    old_ids = root_ids(init, gun)
    assert len(old_ids) == 2
    stale = client(notary, tmp_path / "stale", gun, old_ids)
    assert "No targets present" in stale.run("list", gun).stdout

    # re-issue needs every token whose certificate is due: refused with root-b absent
    req = fetch(notary, gun, tmp_path / "root.req", operation="renew")
    out = tmp_path / "root.resp"
    err = o.refused(["renew", gun, "--role", "root", "--request", str(req), "--out", str(out),
                     "--root-token", "root-a", *o.pins(), "--yes"], out,
                    "root certificates to re-issue need their tokens present")
    assert f"certificate {old_ids[1]}" in err and "token 'root-b' key 'root'" in err
    assert old_ids[0] not in err

    r = o.run("renew", gun, "--role", "root", "--request", str(req), "--out", str(out),
              "--root-token", "root-a", "--root-token", "root-b", *o.pins(), input="yes\n")
    assert r.returncode == 0, r.output
    assert r.stdout.count("RE-ISSUED (expires") == 2
    root = signed_file(out, gun, "root")
    new_ids = root["signed"]["roles"]["root"]["keyids"]
    assert root["signed"]["version"] == 2 and set(new_ids).isdisjoint(old_ids)
    assert root["signed"]["roles"]["root"]["threshold"] == 1
    assert set(root["signed"]["keys"]).isdisjoint(old_ids)
    # one signature per token key, listed under the old and the new certificate ID
    assert {s["keyid"] for s in root["signatures"]} == set(old_ids) | set(new_ids)
    by_id = {s["keyid"]: s["sig"] for s in root["signatures"]}
    assert by_id[old_ids[0]] == by_id[new_ids[0]] and by_id[old_ids[1]] == by_id[new_ids[1]]
    expires = dt.datetime.strptime(root["signed"]["expires"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires.year - dt.datetime.now(dt.UTC).year in (9, 10)
    for kid in new_ids:
        assert cert_until(root, kid).replace(tzinfo=None) >= expires
    published(notary, out)
    ws = Workspace.open(o.workspace)
    assert all(ws.is_retired(k) for k in old_ids)
    assert all(ws.key(k) is not None for k in new_ids)
    # the client that cached v1 follows; a fresh client pinned to the new IDs verifies
    assert "No targets present" in stale.run("list", gun).stdout
    assert "No targets present" in client(notary, tmp_path / "fresh", gun, new_ids).run(
        "list", gun).stdout

    # certificates now far from expiry: a second root renewal re-issues nothing
    req = fetch(notary, gun, tmp_path / "root2.req", operation="renew")
    out2 = tmp_path / "root2.resp"
    # (5y is earlier than the current expiry: a shortening, confirmed explicitly)
    result = o.ok("renew", gun, "--role", "root", "--expires", "5y", "--request", str(req),
                  "--out", str(out2), "--root-token", "root-a", *o.pins("root-a"), "--yes",
                  "--allow-shorter")
    assert result["signatures"] == 1
    root3 = signed_file(out2, gun, "root")
    assert root3["signed"]["roles"]["root"]["keyids"] == new_ids
    assert root3["signed"]["version"] == 3
    published(notary, out2)

    # targets renewal: v2, new expiry, same content; the stale client follows again
    req = fetch(notary, gun, tmp_path / "t.req", operation="renew")
    out3 = tmp_path / "t.resp"
    result = o.ok("renew", gun, "--role", "targets", "--expires", "2031-06-30", "--request",
                  str(req), "--out", str(out3), "--targets-token", "targets",
                  *o.pins("targets"), "--yes")
    assert [f["role"] for f in result["repositories"][0]["files"]] == ["targets"]
    targets = signed_file(out3, gun, "targets")
    assert targets["signed"]["version"] == 2
    assert targets["signed"]["expires"] == "2031-06-30T00:00:00Z"
    published(notary, out3)
    assert notary.get(f"/v2/{gun}/_trust/tuf/targets.json")[1].count(b"2031-06-30") == 1
    assert "No targets present" in stale.run("list", gun).stdout
    cached = (stale.metadata_dir(gun) / "targets.json").read_bytes()
    assert b"2031-06-30T00:00:00Z" in cached

    # bad expiries are one-line refusals
    out4 = tmp_path / "bad.resp"
    o.refused(["renew", gun, "--role", "targets", "--expires", "2001-01-01", "--request",
               str(req), "--out", str(out4), "--targets-token", "targets"], out4,
              "is not in the future")
    o.refused(["renew", gun, "--role", "targets", "--expires", "soon", "--request",
               str(req), "--out", str(out4), "--targets-token", "targets"], out4,
              "--expires 'soon'")
