"""Transcripts anchored at their end (issue 9, item 13).

- every run prints its transcript's final digest, a refused one too;
- the final digest is recorded where a second copy lives: ANCHORS beside the transcript (the
  workspace's transcripts/ folder), and a response bundle names the transcript's digest when it
  was made;
- `transcript verify` compares with those, and warns when it had nothing to compare with;
- an edit of an entry's `prev` field names the entry actually edited.
"""

from __future__ import annotations

import json

import pytest

from ceremony.transcript import ANCHORS, Transcript, TranscriptTampered, verify_transcript
from ceremony.workspace import Workspace
from tests.conftest import AIRGAPPED, run_cli
from tests.transcript.test_transcript import lines, rechain, write_lines
from transfer.bundle import ResponseBundle, ResponseEntry, SignedFile, write_bundle


def _set(rows, i, **changes):
    obj = json.loads(rows[i])
    for key, value in changes.items():
        if key == "outcome":
            obj["data"]["outcome"] = value
        else:
            obj[key] = value
    rows[i] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return rows


def refused_run(tmp_path):
    """A real `ceremony sign` refused after its transcript started (the response is garbage)."""
    ws = tmp_path / "ws"
    Workspace.open(ws, create=True)
    garbage = tmp_path / "resp.json"
    garbage.write_text("not a bundle\n")
    r = run_cli("sign", str(garbage), "--token", "pkcs11:token=root-b", "--out",
                str(tmp_path / "out.json"), "--workspace", str(ws), wrapper=AIRGAPPED)
    [path] = (ws / "transcripts").glob("*.jsonl")
    return r, path


def test_a_refused_run_prints_its_final_digest_and_anchors_it(tmp_path):
    r, path = refused_run(tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("error: "), r.output
    assert len(r.stderr.splitlines()) == 1  # still one error line on stderr
    result = verify_transcript(path)
    assert result.outcome == "refused"
    assert f"transcript {path} (refused)" in r.stdout
    assert f"final digest {result.final_digest}" in r.stdout
    assert f"words        {result.final_words}" in r.stdout
    [record] = [json.loads(x) for x in (path.parent / ANCHORS).read_text().splitlines()]
    assert record["final_sha256"] == result.final_digest and record["outcome"] == "refused"
    assert record["transcript"] == path.name
    ok = run_cli("transcript", "verify", str(path))
    assert ok.returncode == 0 and "anchored by" in ok.stdout and "WITHOUT" not in ok.stderr


def test_refused_rewritten_as_completed_is_caught_by_the_workspace_anchor(tmp_path):
    _, path = refused_run(tmp_path)
    rows = lines(path)
    write_lines(path, rechain(_set(rows, len(rows) - 1, outcome="completed")))
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 1, r.output
    assert "does not match the one recorded in" in r.stderr and ANCHORS in r.stderr
    assert "outcome 'refused'" in r.stderr


def test_json_error_output_carries_the_digest_too(tmp_path):
    ws = tmp_path / "ws"
    Workspace.open(ws, create=True)
    (tmp_path / "resp.json").write_text("{}")
    r = run_cli("sign", str(tmp_path / "resp.json"), "--token", "pkcs11:token=x", "--out",
                str(tmp_path / "o.json"), "--workspace", str(ws), "--json", wrapper=AIRGAPPED)
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["outcome"] == "refused" and len(data["transcript_sha256"]) == 64


def test_verify_without_any_anchor_warns(tmp_path):
    path = tmp_path / "t.jsonl"
    with Transcript.create(path, ceremony="x") as t:
        t.append("note", {})
    (tmp_path / ANCHORS).unlink()
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 0
    assert "warning: verified WITHOUT an anchor" in r.stderr and "--expect" in r.stderr
    r = run_cli("transcript", "verify", str(path), "--json")
    assert json.loads(r.stdout)["anchored_by"] == []
    final = verify_transcript(path).final_digest
    r = run_cli("transcript", "verify", str(path), "--expect", final)
    assert r.returncode == 0 and "WITHOUT" not in r.stderr


def test_an_edited_prev_field_names_the_entry_edited(tmp_path):
    path = tmp_path / "t.jsonl"
    with Transcript.create(path, ceremony="x") as t:
        for i in range(5):
            t.append("note", {"i": i})
    rows = lines(path)
    write_lines(path, _set(rows, 3, prev="ab" * 32))  # seq 4's own prev field
    with pytest.raises(TranscriptTampered, match=r"chain broken at seq 4 .*entry 4 was altered "
                                                 r"\(e\.g\. its prev field\)"):
        verify_transcript(path)
    r = run_cli("transcript", "verify", str(path))
    assert "entry 4 was altered" in r.stderr and "entry 3 was altered" not in r.stderr


def test_an_edited_entry_is_still_named_as_itself(tmp_path):
    path = tmp_path / "t.jsonl"
    with Transcript.create(path, ceremony="x") as t:
        for i in range(5):
            t.append("note", {"i": i})
    rows = lines(path)
    obj = json.loads(rows[2])
    obj["data"]["i"] = 42
    rows[2] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    write_lines(path, rows)
    with pytest.raises(TranscriptTampered, match="entry 3 was altered$"):
        verify_transcript(path)


def _ceremony_with_response(tmp_path):
    path = tmp_path / "t.jsonl"
    out = tmp_path / "resp.json"
    t = Transcript.create(path, ceremony="rotate-targets")
    t.confirmation("Sign?", "yes", via_yes=True)
    t.append("signed", {"token_operations": 1})
    root = json.dumps({"signed": {"version": 2}, "signatures": []}).encode()
    bundle = ResponseBundle((ResponseEntry("example.com/app", (SignedFile("root", root),)),),
                            request_sha256="1" * 64, transcript_sha256=t.head)
    write_bundle(out, bundle)
    t.output("response", bundle.to_bytes(), path=str(out), bundle_sha256=bundle.digest_hex)
    t.close("completed")
    return path, out


def test_the_response_bundle_anchors_the_transcript_up_to_it(tmp_path):
    path, out = _ceremony_with_response(tmp_path)
    copy = tmp_path / "crossed.json"
    copy.write_bytes(out.read_bytes())
    (tmp_path / ANCHORS).unlink()
    out.unlink()  # only the copy that crossed the air gap is left
    r = run_cli("transcript", "verify", str(path), "--response", str(copy))
    assert r.returncode == 0, r.output
    assert f"anchored by response {copy}" in r.stdout and "WITHOUT" not in r.stderr
    # the confirmation rewritten (and the chain recomputed): the response no longer matches
    write_lines(path, rechain(_set(lines(path), 1, data={"answer": "no"})))
    r = run_cli("transcript", "verify", str(path), "--response", str(copy))
    assert r.returncode == 1
    assert "the entry before its output entry (seq 4) no longer hashes to that" in r.stderr


def test_the_response_beside_is_found_without_asking(tmp_path):
    path, out = _ceremony_with_response(tmp_path)
    (tmp_path / ANCHORS).unlink()
    result = verify_transcript(path)
    assert result.anchored_by == (f"response {out} (names the transcript up to seq 3)",)
    write_lines(path, rechain(_set(lines(path), 2, data={"token_operations": 9})))
    with pytest.raises(TranscriptTampered, match="entries up to the response were changed"):
        verify_transcript(path)
