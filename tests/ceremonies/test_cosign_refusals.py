"""Co-signing refusals: each one line, exit 1, no output written, the workspace unchanged.

A 2-of-2 root rotated to 1-of-2 with only root-a present gives a partial response P; the same
ceremony run from a copy of the workspace gives P', a different content for the same version
and request. A site refuses to merge them, to sign P' after P, to sign with a token that holds
no key the files need, and to sign a tampered P; `status` without a workspace says it did not
check; finally root-b completes P and the real client follows.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from ceremony.transcript import verify_transcript
from tests.ceremonies.sites import (
    Site,
    client,
    fetch,
    init_repo,
    published,
    root_ids,
)
from tests.conftest import ROOT
from transfer.bundle import PendingSignatures, read_bundle, write_bundle

pytestmark = pytest.mark.notary


def tampered(src, dst):
    """P with the root's expiry changed inside the partial state (digest resealed)."""
    bundle = read_bundle(src, kind="response")
    entry = bundle.entries[0]
    state = json.loads(json.dumps(dict(entry.pending.state)))
    root = json.loads(base64.b64decode(state["files"][0]["data"]))
    root["signed"]["expires"] = "2099-01-01T00:00:00Z"
    state["files"][0]["data"] = base64.b64encode(json.dumps(root).encode()).decode()
    entry = replace(entry, pending=PendingSignatures(entry.pending.missing, state))
    write_bundle(dst, replace(bundle, entries=(entry,)))
    return dst


ESC = "\x1b"
# A token label that tries to forge a "missing" line, move up and clear it, reverse text, crash.
HOSTILE_LABEL = f"root-b\n    - 0 more signatures: met{ESC}[1A{ESC}[2K{ESC}[2J\u202eok\ud800"


def hostile(src, dst):
    """P whose still-missing keys carry a hostile token label (digest resealed): what a
    co-signing site controlling the partial bundle can send."""
    bundle = read_bundle(src, kind="response")
    entry = bundle.entries[0]
    missing = [dict(m, token_label=HOSTILE_LABEL) for m in entry.pending.missing]
    state = json.loads(json.dumps(dict(entry.pending.state)))
    for claim in state["claims"]["keys"].values():  # where status reads the other site's labels
        claim["token_label"] = HOSTILE_LABEL
    entry = replace(entry, pending=PendingSignatures(missing, state))
    write_bundle(dst, replace(bundle, entries=(entry,)))
    return dst


def interrupted(site: Site, args: list[str]) -> None:
    """Ctrl-C at the confirmation prompt: the transcript ends 'interrupted', its final digest
    is printed all the same (stdout), and it verifies against its ANCHORS record."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), CEREMONY_WORKSPACE=str(site.workspace),
               **site.env.env)
    proc = subprocess.Popen(["unshare", "--net", sys.executable, "-m", "ceremony", *args],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen = b""
    deadline = time.monotonic() + 120
    while b"Type yes to sign: " not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    assert b"Type yes to sign: " in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (1, 130) and err.decode().strip().endswith(
        ("error: aborted", "error: interrupted")), (out, seen + err)
    last = sorted((site.workspace / "transcripts").glob("*.jsonl"))[-1]
    result = verify_transcript(last)
    assert result.outcome == "interrupted" and result.anchored_by
    text = out.decode()
    assert f"transcript {last} (interrupted)" in text
    assert f"final digest {result.final_digest}" in text


def test_cosign_refusals(notary, softhsm_factory, tmp_path):
    gun = "example.com/cosign-refusals"
    o = Site(softhsm_factory("site", ["root-a", "root-b", "targets"]), tmp_path / "site")
    init = init_repo(o, notary, gun, tmp_path, "root-a", "root-b", threshold=2)
    ids = root_ids(init, gun)
    copy = tmp_path / "copy"
    shutil.copytree(o.workspace, copy, symlinks=True)
    req = fetch(notary, gun, tmp_path / "rot.req", operation="rotate-root")
    p, p2 = tmp_path / "p.resp", tmp_path / "p2.resp"
    args = ["rotate", "root", gun, "--request", str(req), "--root-token", "root-a",
            "--root-threshold", "1", "--partial", *o.pins(), "--yes"]
    assert not o.ok(*args, "--out", str(p))["complete"]
    assert not o.ok(*args, "--out", str(p2), "--workspace", str(copy), "--root-expires",
                    "9y", "--allow-shorter")["complete"]

    out = tmp_path / "out.resp"
    o.refused(["merge", str(p), str(p2), "--out", str(out)], out, "sign different content")
    o.refused(["sign", str(p2), "--token", "root-b", "--out", str(out), *o.pins("root-b"),
               "--yes"], out, "already signed a different root version 2")
    err = o.refused(["sign", str(p), "--token", "targets", "--out", str(out),
                     *o.pins("targets"), "--yes"], out, "hold no key that can still sign")
    assert f"{ids[1]} (token 'root-b' of this site, not given)" in err
    o.refused(["sign", str(tampered(p, tmp_path / "t.resp")), "--token", "root-b", "--out",
               str(out), *o.pins("root-b"), "--yes"], out, "signed_sha256 does not match")
    o.refused(["sign", str(p), "--token", "root-b", "--out", str(out), *o.pins("root-b")],
              out, "no confirmation")
    assert o.last_transcript()[-1]["data"]["outcome"] == "refused"
    interrupted(o, ["sign", str(p), "--token", "root-b", "--out", str(out),
                    *o.pins("root-b")])

    r = o.run("status", str(p), "--workspace", str(tmp_path / "no-such-workspace"))
    assert r.returncode == 1 and "not a ceremony workspace" in r.stderr  # explicit: must be one
    from ceremony.workspace import Workspace
    Workspace.open(tmp_path / "empty-workspace", create=True)
    r = o.run("status", str(p), "--workspace", str(tmp_path / "empty-workspace"))
    assert r.returncode == 0 and "NOT checked against a workspace" in r.stdout
    assert "root v1 keys (they approve the change to v2): 1 of 2 signed: 1 more signature from " \
        f"{ids[1]} on token 'root-b' key 'root' (the originating site says so; not known " \
        "here)" in r.stdout  # exactly the one key that can: no "any of"
    assert "reason" not in r.stdout  # a default reason, with no key retired, is no claim
    r = o.run("status", str(hostile(p, tmp_path / "h.resp")), "--workspace",
              str(tmp_path / "empty-workspace"))  # never obeyed, never a forged line
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.output
    assert not {ch for ch in r.output if ch != "\n" and not ch.isprintable()}, r.output
    assert "root-b" not in r.stdout and "(not known here)" in r.stdout  # a claim that is no
    # valid label is not shown at all, so nothing of it can reach the screen
    assert not any(line.lstrip().startswith("- 0 more signatures") for line in
                   r.stdout.splitlines()), r.stdout  # the forged line stays inside its own

    s = tmp_path / "s.resp"
    result = o.ok("sign", str(p), "--token", "root-b", "--out", str(s), *o.pins("root-b"),
                  "--yes")
    assert result["complete"] and result["signatures"] == 1
    published(notary, s)
    assert "No targets present" in client(notary, tmp_path / "c", gun, ids).run(
        "list", gun).stdout
