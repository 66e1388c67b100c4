"""scripts/rehearse, the README's first command: set-up and a full rehearsal, end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from softhsm.env import load_env
from tests.conftest import ROOT
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary


def test_rehearse(tmp_path):
    folder = tmp_path / "reh"
    env = {k: v for k, v in os.environ.items()
           if k not in ("SOFTHSM2_CONF", "CEREMONY_PKCS11_MODULE", "CEREMONY_WORKSPACE",
                        "CEREMONY_REHEARSAL_NETNS")}
    env["REHEARSAL_DIR"] = str(folder)
    r = subprocess.run(["bash", str(ROOT / "scripts" / "rehearse")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "Traceback" not in out and "error:" not in out
    # every step, with a clear header, in order
    headers = re.findall(r"^== Step (\d+)/(\d+) \[(online|offline)\] ([a-z0-9-]+):", r.stdout,
                         re.M)
    assert [h[3] for h in headers] == [
        "fetch-init", "init-request-qr", "init-request", "init", "init-verify",
        "init-response-qr", "init-response", "publish-init", "client-init", "alice-key",
        "fetch-signer", "signer-add", "publish-signer", "release", "fetch-rotate", "rotate",
        "rotate-verify", "publish-rotate", "client-rotate"]
    # the gap crossed as QR frames, the offline side isolated, the real client verified
    assert "own network namespace, loopback only" in r.stdout
    assert "matches the expected digest (fetch-init)" in r.stdout
    assert list((folder / "outputs" / "init-request-frames").glob("frame-*.png"))
    assert "a real notary-server listens on https://localhost:" in r.stdout
    assert "with notary-signer behind it (ECDSA timestamp and snapshot keys" in r.stdout
    signer_log = folder / "notary-server" / "signer" / "signer.log"
    assert signer_log.stat().st_size > 0  # notary-signer ran and served the server
    init_root = next(f.data for f in read_bundle(
        folder / "outputs" / "init.response", kind="response").entry(
            "example.com/rehearsal/app").files if f.role == "root")
    root = json.loads(init_root)["signed"]
    for role in ("timestamp", "snapshot"):
        (key_id,) = root["roles"][role]["keyids"]
        assert root["keys"][key_id]["keytype"] == "ecdsa", role
    assert re.search(r"verified root v1, cached and fresh", r.stdout)
    assert "the delegate published app-1.0.tar in targets/releases" in r.stdout
    assert "verified root v2, cached and fresh; lists app-1.0.tar" in r.stdout
    # the summary: digests, what was verified, the transcript's digest as words, re-verified
    summary = r.stdout.split("== Summary (rehearsal)")[1]
    assert summary.count("sha256 ") >= 4 and "signed:" in summary and "verified:" in summary
    final = re.search(r"final sha256 ([0-9a-f]{64})\n  final words  (.+)", summary)
    assert final
    assert "transcript OK:" in r.stdout and "closed (completed)" in r.stdout
    assert f"final sha256 {final.group(1)}" in r.stdout.split("as an auditor would")[1]
    made = load_env(folder / "softhsm")
    assert sorted(made.labels) == ["root-a", "targets"]
    for label in made.labels:
        pin = made.pin(label)
        assert pin not in out
        for path in folder.rglob("*"):
            if path.is_file() and "pins" not in path.parts and "tokens" not in path.parts:
                assert pin.encode() not in path.read_bytes(), path
    # one login per token for the whole script (init, signer add and rotate all use 'targets';
    # init and rotate use 'root-a'), not one per step
    [transcript] = (folder / "workspace" / "transcripts").glob("*-run-*.jsonl")
    signed = [e["data"] for e in map(json.loads, transcript.read_text().splitlines())
              if e["kind"] == "signed"]
    assert len(signed) == 3
    assert sum(d["logins"] for d in signed) == 2
