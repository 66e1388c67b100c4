"""A root key held at another site from the first ceremony on (issue 9, items 11 and 12), and
the PIN checked before the review (item 4).

Site B makes its root key and certificate (`key generate`, `key cert`: both recorded in B's
transcripts, the custody evidence of a key made there); site A's `init` lists B's certificate
in root v1 (`--remote-root-cert`, checked), a 2-of-2 root that needs B's signature: a partial
response B signs with `ceremony sign`; published, the real notary client pinned to both IDs
reads it. Real SoftHSM tokens at each site, the real notary-server and client.
"""

from __future__ import annotations

import json

import pytest

from tests.ceremonies.sites import Site, client, fetch, published, root_ids

pytestmark = pytest.mark.notary


def transcript_kinds(site: Site, name: str) -> list[list[dict]]:
    out = []
    for path in sorted((site.workspace / "transcripts").glob(f"*-{name}.jsonl")):
        out.append([json.loads(line) for line in path.read_text().splitlines()])
    return out


def test_init_with_a_root_key_of_another_site(notary, softhsm_factory, tmp_path):
    gun = "example.com/remote-root"
    a = Site(softhsm_factory("site-a", ["root-a", "targets"]), tmp_path / "a")
    b = Site(softhsm_factory("site-b", ["root-b"]), tmp_path / "b")

    # site B: its key and certificate, with custody evidence in B's workspace transcripts
    gen = b.ok("key", "generate", "--token", "root-b", "--label", "root", "--pin-source",
               b.env.pin_source("root-b"))
    cert = tmp_path / "b.pem"
    made = b.ok("key", "cert", "--token", "root-b", "--label", "root", "--gun", gun, "--out",
                str(cert), "--pin-source", b.env.pin_source("root-b"))
    b_id = made["cert_key_id"]
    for name, result in (("key-generate", gen), ("key-cert", made)):
        [entries] = transcript_kinds(b, name)
        kinds = [e["kind"] for e in entries]
        assert kinds[0] == "start" and kinds[-1] == "end", kinds
        assert "airgap" in kinds and "tokens" in kinds and "custody" in kinds
        assert entries[-1]["data"]["outcome"] == "completed"
        assert result["transcript_sha256"] and result["transcript_words"]
    custody = next(e for e in transcript_kinds(b, "key-generate")[0] if e["kind"] == "custody")
    assert custody["data"]["custody"]["ok"] and custody["data"]["token"] == "root-b"
    issued = next(e for e in transcript_kinds(b, "key-cert")[0] if e["kind"] == "custody")
    assert issued["data"]["cert_key_id"] == b_id
    human = b.run("key", "cert", "--token", "root-b", "--label", "root", "--gun", gun,
                  "--out", str(tmp_path / "again.pem"), "--pin-source",
                  b.env.pin_source("root-b"))
    assert human.returncode == 0 and "final digest" in human.stdout
    assert "NOT stored on the token" in human.stdout

    # site A: init with B's certificate; the threshold 2 needs B: refused without --partial
    req = fetch(notary, gun, tmp_path / "init.req")
    p1 = tmp_path / "init.partial"
    args = ["init", "--request", str(req), "--out", str(p1), "--root-token", "root-a",
            "--targets-token", "targets", "--remote-root-cert", str(cert), "--root-threshold",
            "2", *a.pins()]
    r = a.run(*args, "--yes")
    assert r.returncode == 1 and f"key {b_id}" in r.stderr and not p1.exists(), r.output
    bad = tmp_path / "other.pem"
    other = b.ok("key", "cert", "--token", "root-b", "--label", "root", "--gun",
                 "example.com/other", "--out", str(bad), "--pin-source",
                 b.env.pin_source("root-b"))
    assert other["cert_key_id"]
    r = a.run(*[x if x != str(cert) else str(bad) for x in args], "--yes")
    assert r.returncode == 1 and "CN 'example.com/other'" in r.stderr
    r = a.run(*args, "--partial", input="yes\n")
    assert r.returncode == 0, r.output
    assert f"held at another site (from --remote-root-cert {cert}" in r.stdout
    assert "PARTIAL" in r.stdout
    status = a.ok("status", str(p1))
    root_file = next(f for f in status["repositories"][0]["files"] if f["role"] == "root")
    [t] = root_file["thresholds"]
    assert t["threshold"] == 2 and t["have"] == 1
    assert [m["key_id"] for m in t["missing"]] == [b_id]

    # site B signs the root that lists its key; complete, published, read by a pinned client
    s1 = tmp_path / "init.signed"
    r = b.run("sign", str(p1), "--token", "root-b", "--out", str(s1), *b.pins("root-b"),
              input="yes\n")
    assert r.returncode == 0, r.output
    published(notary, s1)
    all_ids = root_ids(s1, gun)
    assert b_id in all_ids and len(all_ids) == 2
    assert "No targets present" in client(notary, tmp_path / "c", gun, all_ids).run(
        "list", gun).stdout


def test_pin_checked_before_the_review(notary, softhsm_factory, tmp_path):
    gun = "example.com/pin-first"
    a = Site(softhsm_factory("site-pin", ["root-a", "targets"]), tmp_path / "a")
    req = fetch(notary, gun, tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    a.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
         "--targets-token", "targets", *a.pins(), "--yes")
    published(notary, resp)
    wrong = tmp_path / "wrong.pin"
    wrong.write_text("0000000000\n")
    wrong.chmod(0o600)
    req = fetch(notary, gun, tmp_path / "renew.req", operation="renew")
    out = tmp_path / "renew.resp"
    r = a.run("renew", gun, "--role", "targets", "--request", str(req), "--out", str(out),
              "--targets-token", "targets", "--pin-source", f"targets=file:{wrong}", "--yes")
    assert r.returncode == 1 and "PIN" in r.stderr, r.output
    assert "REVIEW" not in r.stdout and not out.exists()
    assert "confirmation" not in [e["kind"] for e in a.last_transcript()]
