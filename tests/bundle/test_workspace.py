"""The offline workspace: layout, rules, inventory, safe names, and SIGKILL at every step."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ceremony import inventory_store
from ceremony import workspace_files as store
from ceremony.inventory import InventoryError, KeyRecord, TokenRecord
from ceremony.secrets import forget_secret, register_secret
from ceremony.workspace import RollbackError, Workspace, WorkspaceError
from tests.bundle.helpers import AWKWARD
from tests.conftest import ROOT

GUN = "docker.io/library/app"


@pytest.fixture
def ws(tmp_path):
    return Workspace.open(tmp_path / "ws", create=True)


def bucket_file(ws: Workspace, kind: str, record_id: str) -> Path:
    """The inventory file in force holding record `record_id` of `kind` (as a person finds
    it: the bucket named by the ID's first two hex digits, the highest number not above
    `current`)."""
    number = store.gen_number(ws.path / os.readlink(ws.path / "current"))
    folder = ws.path / "inventory" / kind / inventory_store.bucket_of(kind, record_id)
    path = inventory_store.in_force(folder, number)
    assert path is not None
    return path


def key_record(role="targets", guns=(GUN,), with_cert=False, **extra) -> KeyRecord:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    cert = ""
    if with_cert:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, guns[0])])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(private.public_key()).serial_number(1)
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .sign(private, hashes.SHA256())).public_bytes(serialization.Encoding.PEM).decode()
    fields = dict(key_id=hashlib.sha256(pem + cert.encode()).hexdigest(),
                  canonical_id=hashlib.sha256(pem).hexdigest(), role=role,
                  algorithm="ecdsa-p256", token_serial="0001", token_label="root-a",
                  key_label=f"{role}-key", pkcs11_id="01ab", public_key_pem=pem.decode(),
                  cert_pem=cert, guns=guns, evidence={"CKA_LOCAL": True,
                                                      "CKA_NEVER_EXTRACTABLE": True})
    fields.update(extra)
    return KeyRecord(**fields)


def test_open_needs_a_workspace_and_honours_the_environment(tmp_path, monkeypatch):
    with pytest.raises(WorkspaceError, match="not a ceremony workspace"):
        Workspace.open(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file").write_text("x")
    with pytest.raises(WorkspaceError, match="not an empty directory"):
        Workspace.open(tmp_path / "other", create=True)
    monkeypatch.delenv("CEREMONY_WORKSPACE", raising=False)
    with pytest.raises(WorkspaceError, match="give --workspace DIR or set CEREMONY_WORKSPACE"):
        Workspace.open()
    ws = Workspace.open(tmp_path / "ws", create=True)
    monkeypatch.setenv("CEREMONY_WORKSPACE", str(tmp_path / "ws"))
    assert Workspace.open().path == ws.path
    (ws.path / "workspace.json").write_text('{"format":"notary-ceremony-workspace","version":9}')
    with pytest.raises(WorkspaceError, match="format version 9"):
        Workspace.open(ws.path)


def test_root_history_exact_bytes_and_layout(ws):
    ws.add_trusted_root(GUN, 1, b'{"v":1}')
    ws.add_trusted_root(GUN, 2, AWKWARD)
    ws.add_trusted_root(GUN, 2, AWKWARD)  # identical: no-op
    assert ws.trusted_roots(GUN) == [b'{"v":1}', AWKWARD]
    assert ws.trusted_root_history(GUN) == {1: b'{"v":1}', 2: AWKWARD}
    assert ws.latest_root_version(GUN) == 2 and ws.guns() == [GUN]
    folder = ws.repo_folder(GUN)
    gen = int(os.readlink(ws.path / "current").removeprefix("state/gen-"))
    assert folder == ws.path / "repos" / "docker.io+library+app" / f"{gen:08d}"
    assert (folder / "roots" / "2.root.json").read_bytes() == AWKWARD
    with pytest.raises(RollbackError, match="already trusted with different content"):
        ws.add_trusted_root(GUN, 1, b'{"v":"evil"}')
    with pytest.raises(RollbackError, match="does not follow the last trusted version 2"):
        ws.add_trusted_root(GUN, 4, b"{}")
    ws.add_trusted_root("example.com/late", 7, b"{}")  # first pin may start anywhere
    assert ws.trusted_root_history("example.com/late") == {7: b"{}"}
    assert ws.trusted_roots("example.com/unknown") == []


def test_signed_versions_only_move_forward(ws):
    assert ws.last_signed_version(GUN, "targets") is None
    assert ws.compare_version(GUN, "targets", 1) == 1
    rec = ws.record_signed(GUN, "targets", 3, b"t3")
    assert rec.version == 3 and rec.sha256 == hashlib.sha256(b"t3").hexdigest()
    ws.record_signed(GUN, "targets", 3, b"t3")  # the same bytes again: fine
    with pytest.raises(RollbackError, match="below version 3 already signed"):
        ws.record_signed(GUN, "targets", 2, b"t2")
    with pytest.raises(RollbackError, match="already signed here with different content"):
        ws.record_signed(GUN, "targets", 3, b"other")
    ws.record_signed(GUN, "targets", 3, b"t3+cosig", allow_same_version=True)
    assert ws.last_signed(GUN, "targets").data == b"t3+cosig"
    assert [ws.compare_version(GUN, "targets", v) for v in (2, 3, 4)] == [-1, 0, 1]
    ws.require_newer(GUN, "targets", 4)
    with pytest.raises(RollbackError, match="already signed version 3"):
        ws.require_newer(GUN, "targets", 3)
    ws.record_signed(GUN, "targets/releases", 1, b"rel")
    assert (ws.repo_folder(GUN) / "signed" / "targets" / "releases.json").read_bytes() == b"rel"
    with pytest.raises(WorkspaceError, match="unknown role"):
        ws.record_signed(GUN, "../../etc/passwd", 1, b"x")
    with pytest.raises(WorkspaceError, match="positive integer"):
        ws.record_signed(GUN, "root", 0, b"x")


@pytest.mark.parametrize("gun, message", [
    ("../../etc", "'.' or '..' component"),
    ("example.com/../../x", "'.' or '..' component"),
    ("/etc/passwd", "empty path component"),
    ("example.com//x", "empty path component"),
    ("example.com/x/", "empty path component"),
    ("example.com\\x", "invalid first component"),
    ("example.com/x\x00y", "invalid component"),
    ("ex\u0430mple.com/x", "non-ASCII"),
    ("example.com/\u202ex", "non-ASCII"),
    ("e\uff58ample.com/x", "non-ASCII"),
    ("Example.com/x", "must be lowercase"),
    ("example.com/x+y", "invalid component"),
    ("", "GUN is empty"),
    ("a" * 256, "at most 255"),
    ("-bad.com/x", "invalid first component"),
])
def test_unsafe_guns_are_refused_and_nothing_is_written(ws, gun, message):
    before = sorted(str(p) for p in ws.path.rglob("*"))
    with pytest.raises(WorkspaceError, match=message):
        ws.add_trusted_root(gun, 1, b"{}")
    with pytest.raises(WorkspaceError):
        ws.trusted_roots(gun)
    assert sorted(str(p) for p in ws.path.rglob("*")) == before


def test_inventory_holds_public_data_only(ws):
    ws.add_token(TokenRecord(serial="0001", label="root-a", manufacturer="SoftHSM"))
    root_key = key_record("root", with_cert=True)
    targets_key = key_record()
    with ws.transaction() as tx:
        tx.add_key(root_key)
        tx.add_key(targets_key)
    assert [t.label for t in ws.tokens()] == ["root-a"] and ws.tokens()[0].added
    assert {k.key_id for k in ws.keys()} == {root_key.key_id, targets_key.key_id}
    assert ws.key(root_key.key_id).cert_pem == root_key.cert_pem
    assert ws.key(root_key.key_id).evidence == {"CKA_LOCAL": True, "CKA_NEVER_EXTRACTABLE": True}
    retired = ws.retire_key(targets_key.key_id, "compromised laptop, incident 42")
    assert ws.is_retired(targets_key.key_id) and retired.reason.startswith("compromised")
    assert [k.key_id for k in ws.keys()] == [root_key.key_id]
    assert len(ws.keys(include_retired=True)) == 2 and ws.key(targets_key.key_id) is not None
    with pytest.raises(WorkspaceError, match="is retired"):
        ws.add_key(targets_key)
    with pytest.raises(WorkspaceError, match="no active key"):
        ws.retire_key(targets_key.key_id, "again")
    retired_file = json.loads(bucket_file(ws, "retired", targets_key.key_id).read_text())
    assert retired_file[targets_key.key_id]["key"]["key_id"] == targets_key.key_id
    assert targets_key.key_id not in json.loads(
        bucket_file(ws, "keys", targets_key.key_id).read_text())
    assert json.loads(bucket_file(ws, "tokens", "0001").read_text())["0001"]["label"] == \
        "root-a"


def test_inventory_refuses_private_keys_secrets_and_garbage():
    private_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with pytest.raises(InventoryError, match="private key block"):
        key_record(public_key_pem=private_pem)
    with pytest.raises(InventoryError, match="private key block"):
        key_record(evidence={"note": private_pem})
    register_secret("975310")
    try:
        with pytest.raises(InventoryError, match="registered as secret"):
            TokenRecord(serial="1", label="pin 975310")
    finally:
        forget_secret("975310")
    with pytest.raises(InventoryError, match="key_id must be 64 lowercase hex"):
        key_record(key_id="ABC")
    with pytest.raises(InventoryError, match="does not parse"):
        key_record(public_key_pem="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(InventoryError, match="'..' component"):
        key_record(guns=("example.com/../x",))
    with pytest.raises(InventoryError, match="pkcs11_id must be lowercase hex"):
        key_record(pkcs11_id="zz")


def test_a_transaction_is_all_or_nothing(ws):
    ws.add_trusted_root(GUN, 1, b"r1")
    with pytest.raises(RuntimeError):
        with ws.transaction() as tx:
            tx.add_trusted_root(GUN, 2, b"r2")
            tx.record_signed(GUN, "root", 2, b"r2")
            tx.add_token(TokenRecord(serial="9", label="t"))
            assert tx.trusted_roots(GUN) == [b"r1", b"r2"]  # staged changes are visible
            assert ws.trusted_roots(GUN) == [b"r1"]  # ... but not committed
            raise RuntimeError("token removed")
    assert ws.trusted_roots(GUN) == [b"r1"] and ws.tokens() == []
    with ws.transaction() as tx:
        with pytest.raises(WorkspaceError, match="in use by another ceremony"):
            with ws.transaction():
                pass
        tx.add_trusted_root(GUN, 2, b"r2")
    assert ws.latest_root_version(GUN) == 2


def test_old_generations_are_collected(ws):
    for v in range(1, 8):
        ws.add_trusted_root(GUN, v, f"r{v}".encode())
    gens = sorted(p.name for p in (ws.path / "state").iterdir())
    assert len(gens) == 2 and os.readlink(ws.path / "current") == f"state/{gens[-1]}"
    assert ws.trusted_roots(GUN) == [f"r{v}".encode() for v in range(1, 8)]


def test_damage_is_detected_not_trusted(ws):
    ws.add_trusted_root(GUN, 1, b"genuine")
    ws.add_trusted_root(GUN, 2, b"genuine 2")  # the changed file is fresh, not a shared link
    path = ws.repo_folder(GUN) / "roots" / "2.root.json"
    path.write_bytes(b"swapped")
    with pytest.raises(WorkspaceError, match="damaged: docker.io/library/app root version 2"):
        Workspace.open(ws.path).trusted_roots(GUN)
    link = ws.path / "current"
    link.unlink()
    link.symlink_to("/etc")
    with pytest.raises(WorkspaceError, match="points outside the workspace state"):
        Workspace.open(ws.path).trusted_roots(GUN)


def test_transcript_paths(ws):
    path = ws.new_transcript_path("Rotate targets: docker.io/library/app")
    assert path.parent == ws.transcripts_dir and path.parent.is_dir()
    assert path.name.endswith("-rotate-targets-docker-io-library-app.jsonl")


# --- SIGKILL at every step of a commit ---------------------------------------------------------

COMMIT = """
import json, sys
from ceremony.inventory import KeyRecord, TokenRecord
from ceremony.workspace import Workspace
ws = Workspace.open(sys.argv[1])
key = KeyRecord.from_dict(json.loads(sys.argv[2]))
with ws.transaction() as tx:
    for i in range(int(sys.argv[3])):
        gun = f"example.com/repo-{i}"
        tx.add_trusted_root(gun, 2, f"root 2 of {i}".encode())
        tx.record_signed(gun, "root", 2, f"root 2 of {i}".encode())
        tx.record_signed(gun, "targets", 5, f"targets 5 of {i}".encode())
    tx.add_token(TokenRecord(serial="0002", label="root-b", added="2026-01-01T00:00:00Z"))
    tx.add_key(key)
    if not tx.is_retired("%s"):
        tx.retire_key("%s", "rotated")
"""


def dump(path: Path) -> dict:
    ws = Workspace.open(path)
    return {"repos": {g: (ws.trusted_root_history(g),
                          {r: ws.last_signed(g, r).data for r in ("root", "targets")
                           if ws.last_signed(g, r)}) for g in ws.guns()},
            "tokens": ws.tokens(), "keys": [k.key_id for k in ws.keys()],
            "retired": [r.key.key_id for r in ws.retired_keys()]}


def test_sigkill_at_every_commit_step_leaves_old_or_new_state(tmp_path):
    sigkill_every_commit_step(tmp_path, repos=3, every=1)


def sigkill_every_commit_step(tmp_path: Path, repos: int, every: int) -> None:
    """Kill a commit of `repos` repositories at every `every`-th fault point (and at the first
    of each name): the state read back is the old one or the new one, and a rerun completes."""
    base = tmp_path / "base"
    ws = Workspace.open(base, create=True)
    old_key, new_key = key_record(), key_record(guns=("example.com/repo-0",))
    with ws.transaction() as tx:
        for i in range(repos):
            tx.add_trusted_root(f"example.com/repo-{i}", 1, f"root 1 of {i}".encode())
            tx.record_signed(f"example.com/repo-{i}", "targets", 4, b"t4")
        tx.add_key(old_key)
        tx.add_token(TokenRecord(serial="0001", label="root-a", added="2026-01-01T00:00:00Z"))
    script = COMMIT % (old_key.key_id, old_key.key_id)
    args = [json.dumps(new_key.to_dict()), str(repos)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def run(target: Path, **extra: str) -> int:
        return subprocess.run([sys.executable, "-c", script, str(target), *args],
                              env={**env, **extra}, capture_output=True, timeout=60).returncode

    old_state = dump(base)
    finished = tmp_path / "finished"
    shutil.copytree(base, finished, symlinks=True)
    trace = tmp_path / "trace"
    assert run(finished, CEREMONY_FAULT_TRACE=str(trace)) == 0
    new_state = dump(finished)
    assert new_state != old_state
    points = trace.read_text().split()
    assert len(points) >= 15 and "workspace.commit.switched" in points
    outcomes = {"old": 0, "new": 0}
    chosen = sorted({points.index(name) + 1 for name in points}
                    | set(range(1, len(points) + 1, every)))
    for n in chosen:
        victim = tmp_path / f"kill-{n}"
        shutil.copytree(base, victim, symlinks=True)
        assert run(victim, CEREMONY_FAULT_INJECT=str(n)) == -9, n
        state = dump(victim)
        assert state in (old_state, new_state), f"torn state after kill at point {n}"
        outcomes["old" if state == old_state else "new"] += 1
        assert run(victim) == 0  # the same ceremony step run again completes
        assert dump(victim) == new_state
        assert len(list((victim / "state").iterdir())) <= 2
        shutil.rmtree(victim)
    assert outcomes["old"] > 0 and outcomes["new"] > 0
