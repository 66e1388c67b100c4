"""Bulk: 20 repositories started in one init and their shared targets key rotated in one
ceremony, with one login per token; the real server and client accept every repository."""

from __future__ import annotations

import json

import pytest

from ceremony.workspace import Workspace
from tests.ceremonies.conftest import client, fetch, publish, response_file, root_cert_ids
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary

N = 20


def test_bulk_init_and_targets_rotation_over_20_guns(server, offline, tmp_path):
    o = offline
    guns = [f"bulk.example.com/repo-{i:02d}" for i in range(N)]
    req = fetch(server, *guns, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    result = o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
                  "--targets-token", "targets", *o.pins(), "--yes")
    assert result["logins_by_token"] == {"root-a": 1, "targets": 1}
    publish(server, resp)
    targets_ids = {json.loads(response_file(resp, g, "root"))["signed"]["roles"]["targets"][
        "keyids"][0] for g in guns}
    assert len(targets_ids) == 1  # one targets key shared by the 20 repositories
    pins = {g: root_cert_ids(resp, g) for g in guns}
    cached = client(server, tmp_path / "cached", pins)
    for g in guns[:2]:
        assert "No targets present" in cached.run("list", g).stdout

    req = fetch(server, *guns, out=tmp_path / "rotate.req", operation="rotate-targets")
    resp = tmp_path / "rotate.resp"
    result = o.ok("rotate", "targets", "--all", "--request", str(req), "--out", str(resp),
                  "--targets-token", "targets", "--root-token", "root-a", *o.pins(), "--yes",
                  "--reason", "compromise drill")
    # one login per token for the whole run, one signature per file
    assert result["logins"] == 2
    assert result["logins_by_token"] == {"root-a": 1, "targets": 1}
    assert result["signatures"] == 2 * N
    signed = next(e for e in o.last_transcript() if e["kind"] == "signed")["data"]
    assert signed["logins_by_token"] == {"root-a": 1, "targets": 1}
    assert signed["by_token"] == {"root-a": N, "targets": N}
    bundle = read_bundle(resp, kind="response")
    assert bundle.guns == guns and bundle.complete
    new_ids = {json.loads(response_file(resp, g, "root"))["signed"]["roles"]["targets"][
        "keyids"][0] for g in guns}
    assert len(new_ids) == 1 and new_ids.isdisjoint(targets_ids)
    publish(server, resp)
    for g in guns[:2]:  # a client that cached root v1, and fresh ones, accept root v2
        assert "No targets present" in cached.run("list", g).stdout
    for g in (guns[0], guns[N // 2], guns[-1]):
        fresh = client(server, tmp_path / f"fresh-{g.rsplit('-', 1)[1]}", {g: pins[g]})
        assert "No targets present" in fresh.run("list", g).stdout
    ws = Workspace.open(o.workspace)
    (old,) = targets_ids
    assert ws.is_retired(old)
    assert all(ws.latest_root_version(g) == 2 for g in guns)
    (new,) = new_ids
    assert set(ws.key(new).guns) == set(guns)
