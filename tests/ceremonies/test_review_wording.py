"""The review says exactly what is true, once (issue 9, item 8): a token plugged in but not
given is not "not present"; the server's snapshot key is "held by the Notary server" in every
ceremony; a certificate that leaves root is not "present (reused)"; each key is described once.
Real SoftHSM tokens and the real notary-server.
"""

from __future__ import annotations

import pytest

from tests.ceremonies.conftest import fetch, publish, root_cert_ids

pytestmark = pytest.mark.notary


def test_review_wording(server, offline, tmp_path):
    gun = "example.com/wording"
    o = offline
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    r = o.run("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
              "--root-token", "root-b", "--targets-token", "targets", *o.pins(), "--yes")
    assert r.returncode == 0, r.output
    a_id, b_id = root_cert_ids(resp, gun)
    for kid in (a_id, b_id):  # described once (the summary), named once more (the change)
        assert r.stdout.count(f"cert key ID {kid}, canonical") == 1, r.stdout
        assert f"keys.{kid}: ecdsa-x509 key {kid} (described above)" in r.stdout
    publish(server, resp)

    # root-b stays plugged in but is not given: the threshold (1) is met by root-a
    req = fetch(server, gun, out=tmp_path / "rot.req", operation="rotate-targets")
    r = o.run("rotate", "targets", gun, "--request", str(req), "--out",
              str(tmp_path / "rot.resp"), "--targets-token", "targets", "--root-token",
              "root-a", *o.pins("root-a", "targets"), "--yes")
    assert r.returncode == 0, r.output
    b_line = next(line for line in r.stdout.splitlines()
                  if f"cert key ID {b_id}" in line)
    assert "token plugged in but not given to this command" in b_line
    assert "token not present" not in b_line
    snapshot_lines = [line for line in r.stdout.splitlines() if "snapshot key" in line
                      or line.strip().startswith("snapshot:")]
    assert any("held by the Notary server (snapshot key)" in line for line in
               r.stdout.splitlines())
    assert "not in this workspace's inventory" not in r.stdout, snapshot_lines
    publish(server, tmp_path / "rot.resp")

    # a re-issued certificate leaves root: said so, not "present (reused)"
    req = fetch(server, gun, out=tmp_path / "renew.req", operation="renew")
    r = o.run("renew", gun, "--role", "root", "--reissue-certs", "--request", str(req),
              "--out", str(tmp_path / "renew.resp"), "--root-token", "root-a", "--root-token",
              "root-b", *o.pins("root-a", "root-b"), "--yes")
    assert r.returncode == 0, r.output
    removed = [line for line in r.stdout.splitlines() if line.strip().startswith(
        f"- keys.{a_id}:")]
    assert removed and "LEAVES: root certificate re-issued as" in removed[0]
    assert "present (reused)" not in removed[0]
    # the pins block warns that fresh clients need the new IDs
    assert "WARNING: the root certificate IDs changed" in r.stdout
