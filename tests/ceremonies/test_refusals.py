"""Refusals: each one line, exit 1, no response written, the workspace unchanged, and the
refusal recorded in the transcript. Requests are real ones fetched from the real server,
altered the way a compromised online machine could alter them."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from softhsm.notary_server import NotaryClient
from tests.ceremonies.conftest import TOKENS, Offline, fetch, publish
from tests.conftest import ROOT
from transfer.bundle import read_bundle, write_bundle

pytestmark = pytest.mark.notary


@pytest.fixture(scope="module")
def offline_m(softhsm_factory, tmp_path_factory) -> Offline:
    return Offline(softhsm_factory("hsm", TOKENS), tmp_path_factory.mktemp("offline"))


def new_repo(o: Offline, server, gun: str, tmp) -> None:
    req = fetch(server, gun, out=tmp / "init.req")
    resp = tmp / "init.resp"
    o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
         "--targets-token", "targets", *o.pins(), "--yes")
    publish(server, resp)


def refused(o: Offline, args: list[str], resp, expected: str, input: str | None = None) -> str:
    before = o.state()
    count = len(o.transcripts())
    r = o.run(*args, "--out", str(resp), input=input)
    assert r.returncode == 1, r.output
    lines = r.stderr.strip().splitlines()
    err = lines[-1]  # the confirmation prompt may precede it
    assert err.startswith("error: ") and sum(line.startswith("error:") for line in lines) == 1, \
        r.stderr
    assert len(lines) == 1 or lines[0].endswith("Type yes to sign: "), r.stderr
    assert "Traceback" not in r.output
    assert expected in err, err
    assert not resp.exists(), "a refused ceremony wrote its response"
    assert o.state() == before, "a refused ceremony changed the workspace"
    assert len(o.transcripts()) == count + 1
    entries = o.last_transcript()
    assert entries[-1]["kind"] == "end" and entries[-1]["data"]["outcome"] == "refused"
    assert any(e["kind"] == "refusal" and expected in e["data"]["reason"] for e in entries)
    return err


def resealed(path, out, **changes):
    """The request at `path` with its (only) entry changed, digest recomputed: what an
    attacker controlling the online machine can produce."""
    bundle = read_bundle(path, kind="request")
    entry = replace(bundle.entries[0], **changes)
    write_bundle(out, replace(bundle, entries=(entry,)), overwrite=True)
    return out


def attacker_key() -> bytes:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return json.dumps({"keytype": "ed25519", "keyval": {"public": base64.b64encode(raw).decode(),
                                                        "private": None}}).encode()


def rotate_args(o: Offline, req) -> list[str]:
    return ["rotate", "targets", "--all", "--request", str(req), "--targets-token", "targets",
            "--root-token", "root-a", *o.pins(), "--yes"]


def test_tampered_root_and_forged_history(server, offline_m, tmp_path):
    o, gun = offline_m, "example.com/tampered"
    new_repo(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    entry = read_bundle(req, kind="request").entries[0]
    root = json.loads(entry.metadata["root"])
    root["signed"]["expires"] = "2099-01-01T00:00:00Z"  # signatures no longer match
    forged = json.dumps(root, separators=(",", ":")).encode()
    bad = resealed(req, tmp_path / "bad.req", metadata={**entry.metadata, "root": forged},
                   root_history=(forged,))
    refused(o, rotate_args(o, bad), tmp_path / "resp", "differs from the trusted root")
    bad = resealed(req, tmp_path / "bad2.req", metadata={**entry.metadata, "root": forged})
    refused(o, rotate_args(o, bad), tmp_path / "resp", "does not verify against this workspace")
    targets = json.loads(entry.metadata["targets"])
    targets["signed"]["version"] = 7
    bad = resealed(req, tmp_path / "bad3.req", metadata={
        **entry.metadata, "targets": json.dumps(targets, separators=(",", ":")).encode()})
    refused(o, rotate_args(o, bad), tmp_path / "resp", "does not verify against this workspace")


def test_rollback_to_a_version_older_than_signed(server, offline_m, tmp_path):
    o, gun = offline_m, "example.com/rollback"
    new_repo(o, server, gun, tmp_path)
    key = tmp_path / "k.pub"
    key.write_bytes(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    req = fetch(server, gun, out=tmp_path / "req", operation="signer-add")
    o.ok("signer", "add", gun, "bob", "--key", str(key), "--request", str(req), "--out",
         str(tmp_path / "signed.resp"), "--targets-token", "targets", *o.pins(), "--yes")
    # targets v2 signed here but never published: the server still has v1
    req = fetch(server, gun, out=tmp_path / "req2", operation="signer-add")
    refused(o, ["signer", "add", gun, "carol", "--key", str(key), "--request", str(req),
                "--targets-token", "targets", *o.pins(), "--yes"], tmp_path / "resp",
            "older than the trusted version 2")


def test_swapped_server_key(server, offline_m, tmp_path):
    o, gun = offline_m, "example.com/swapped"
    new_repo(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    entry = read_bundle(req, kind="request").entries[0]
    bad = resealed(req, tmp_path / "bad.req",
                   server_keys={**entry.server_keys, "timestamp": attacker_key()})
    refused(o, rotate_args(o, bad), tmp_path / "resp", "refusing a swapped server key")
    # and for a new repository the server keys must at least be keys
    req = fetch(server, "example.com/swapped-new", out=tmp_path / "new.req")
    entry = read_bundle(req, kind="request").entries[0]
    bad = resealed(req, tmp_path / "bad2.req",
                   server_keys={**entry.server_keys, "timestamp": b"{}"})
    refused(o, ["init", "--request", str(bad), "--root-token", "root-a", "--targets-token",
                "targets", *o.pins(), "--yes"], tmp_path / "resp", "not a Notary public key")


def test_missing_tokens_and_keys(server, offline_m, tmp_path):
    o, gun = offline_m, "example.com/missing"
    new_repo(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    err = refused(o, ["rotate", "targets", gun, "--request", str(req), "--targets-token",
                      "pkcs11:token=not-here", "--root-token", "root-a", *o.pins(), "--yes"],
                  tmp_path / "resp", "tokens present:")
    for label in TOKENS:
        assert f"'{label}'" in err
    # the root token given holds no root key of this repository: the key is named, with the
    # token the workspace knows it on
    err = refused(o, ["rotate", "targets", gun, "--request", str(req), "--targets-token",
                      "targets", "--root-token", "spare", *o.pins(), "--yes"],
                  tmp_path / "resp", "cannot meet every threshold")
    assert "token 'root-a' key 'root'" in err and "--partial" in err


def test_no_confirmation_and_wrong_operation(server, offline_m, tmp_path):
    o, gun = offline_m, "example.com/unconfirmed"
    new_repo(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    args = ["rotate", "targets", gun, "--request", str(req), "--targets-token", "targets",
            "--root-token", "root-a", *o.pins()]
    refused(o, args, tmp_path / "resp", "no confirmation")
    refused(o, args, tmp_path / "resp", "not confirmed", input="no\n")
    entries = o.last_transcript()
    assert any(e["kind"] == "review" for e in entries)  # it was shown, then refused
    assert not any(e["kind"] == "signed" for e in entries)
    refused(o, ["signer", "remove", gun, "alice", "--request", str(req), "--targets-token",
                "targets", *o.pins(), "--yes"], tmp_path / "resp", "asks for 'rotate-targets'")
    refused(o, ["init", "--request", str(req), "--root-token", "root-a", "--targets-token",
                "targets", *o.pins(), "--yes"], tmp_path / "resp", "asks for 'rotate-targets'")


def test_unknown_root_and_existing_repository(server, offline_m, tmp_path):
    o = offline_m
    gun = "example.com/made-elsewhere"
    NotaryClient(server, tmp_path / "other").run("init", gun, "--publish")
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    refused(o, rotate_args(o, req), tmp_path / "resp", "unknown root")
    req = fetch(server, gun, out=tmp_path / "req2", operation="init")
    refused(o, ["init", "--request", str(req), "--root-token", "root-a", "--targets-token",
                "targets", *o.pins(), "--yes"], tmp_path / "resp",
            "the server already has trust data")


def test_one_ceremony_per_workspace_at_a_time(server, offline_m, tmp_path):
    """While a ceremony waits for its confirmation it holds the workspace: a second one fails
    at once with one line, and the first then completes."""
    o, gun = offline_m, "example.com/busy"
    new_repo(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    env = dict(os.environ, PYTHONPATH=str(ROOT), CEREMONY_WORKSPACE=str(o.workspace),
               **o.env.env)
    known = len(o.transcripts())
    first = subprocess.Popen(
        ["unshare", "--net", sys.executable, "-m", "ceremony", "rotate", "targets", gun,
         "--request", str(req), "--out", str(tmp_path / "first.resp"), "--targets-token",
         "targets", "--root-token", "root-a", *o.pins()],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(e.get("kind") == "review" for e in _entries(o, known)):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = o.run(*rotate_args(o, req), "--out", str(tmp_path / "second.resp"))
        assert second.returncode == 1 and "in use by another ceremony" in second.stderr
        assert second.stderr.count("\n") == 1 and not (tmp_path / "second.resp").exists()
        out, err = first.communicate("yes\n", timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    assert (tmp_path / "first.resp").exists()


def _entries(o: Offline, known: int) -> list[dict]:
    """Entries of the newest transcript, if a transcript beyond the first `known` exists."""
    transcripts = o.transcripts()
    if len(transcripts) <= known:
        return []
    out = []
    for line in transcripts[-1].read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break
    return out
