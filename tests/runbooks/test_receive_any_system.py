"""A script's transfer-receive step takes any trust system's bundle (here a notation request
arriving as QR photographs), checks its kind before writing, and records its digest."""

from __future__ import annotations

import hashlib
import json

from tests.runbooks.conftest import ceremony
from transfer.systembundle import SystemBundle, parse_any_bundle


def _script(tmp_path, frames, digest: str, kind: str) -> str:
    return json.dumps({
        "format": "notary-ceremony-script/1",
        "ceremony": {"name": "Receive", "purpose": "a notation request over QR",
                     "guns": ["registry.example.com/app"]},
        "participants": [{"name": "Alice", "role": "administrator"}],
        "inputs": {"frames": {"kind": "frames", "path": str(frames)}},
        "steps": [{"id": "receive", "do": "transfer-receive", "images": "frames", "kind": kind,
                   "out": "sign.request", "expect": {"sha256": digest}}],
    })


def test_notation_request_received_from_qr_images(tmp_path):
    bundle = SystemBundle(system="notation", kind="request", content={
        "type": "sign", "summary": ["sign 1 artifact"], "artifacts": []})
    src = tmp_path / "req.json"
    src.write_bytes(bundle.to_bytes())
    frames = tmp_path / "frames"
    r = ceremony("transfer", "send", str(src), "--png", str(frames))
    assert r.returncode == 0, r.stderr
    file_sha = hashlib.sha256(bundle.to_bytes()).hexdigest()
    script = tmp_path / "receive.yaml"
    script.write_text(_script(tmp_path, frames, file_sha, "request"))
    ws = tmp_path / "ws"
    from ceremony.workspace import Workspace
    Workspace.open(ws, create=True)
    r = ceremony("run", str(script), "--yes", "--workspace", str(ws), "--out-dir",
                 str(tmp_path / "out"), offline=True)
    assert r.returncode == 0, r.stdout + r.stderr
    got = (tmp_path / "out" / "sign.request").read_bytes()
    assert parse_any_bundle(got) == bundle

    # the wrong kind: refused, nothing written
    script.write_text(_script(tmp_path, frames, file_sha, "response"))
    r = ceremony("run", str(script), "--yes", "--workspace", str(ws), "--out-dir",
                 str(tmp_path / "out2"), offline=True)
    assert r.returncode != 0
    assert "received a request bundle, the step expects a response" in r.stdout + r.stderr
    assert not (tmp_path / "out2" / "sign.request").exists()
