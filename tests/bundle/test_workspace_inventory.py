"""The inventory at scale: records in buckets versioned by generation, so a commit writes the
few buckets it changes; version 2 workspaces (one inventory.json per generation) upgrade when
opened, crash-safely."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ceremony import inventory_store
from ceremony.inventory import KeyRecord, TokenRecord
from ceremony.workspace import Workspace
from tests.bundle.test_workspace import bucket_file, dump, key_record
from tests.conftest import ROOT


def files_under(top: Path) -> set[str]:
    return {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()}


def to_version_2(ws: Workspace) -> None:
    """Rewrite the inventory as version 2 kept it: one inventory.json in the generation."""
    gen = ws.path / os.readlink(ws.path / "current")
    (gen / "inventory.json").write_text(json.dumps({
        "tokens": [t.to_dict() for t in ws.tokens()],
        "keys": [k.to_dict() for k in ws.keys()],
        "retired": [r.to_dict() for r in ws.retired_keys()]}, indent=1))
    shutil.rmtree(ws.path / "inventory")
    (ws.path / "workspace.json").write_text(json.dumps(
        {"format": "notary-ceremony-workspace", "version": 2}))


def filled(path: Path, keys: int) -> tuple[Workspace, list]:
    ws = Workspace.open(path, create=True)
    records = [key_record("root", guns=(f"example.com/team/app-{i}",), key_label=f"k{i}")
               for i in range(keys)]
    with ws.transaction() as tx:
        tx.add_token(TokenRecord(serial="0001", label="root-a"))
        for i, rec in enumerate(records):
            tx.add_trusted_root(f"example.com/team/app-{i}", 1, f"root 1 of {i}".encode())
            tx.add_key(rec)
    ws.retire_key(records[0].key_id, "rotated")
    return ws, records


def test_a_key_change_writes_only_its_buckets(tmp_path):
    ws, records = filled(tmp_path / "ws", 300)
    before = files_under(ws.path)
    new = key_record(guns=("example.com/team/app-7",))
    ws.add_key(new)
    number = os.readlink(ws.path / "current").removeprefix("state/gen-")
    # the key's bucket and its canonical ID's bucket: 2 of the ~500 files, whatever it holds
    assert sorted(after for after in files_under(ws.path) - before) == sorted({
        f"inventory/keys/{new.key_id[:2]}/{number}.json",
        f"inventory/canonical/{new.canonical_id[:2]}/{number}.json"})
    fresh = Workspace.open(ws.path)
    assert fresh.key(new.key_id) == ws.key(new.key_id)
    assert fresh.key_by_canonical_id(new.canonical_id).key_id == new.key_id
    assert fresh.key_by_canonical_id(records[0].canonical_id).key_id == records[0].key_id
    assert fresh.is_retired(records[0].key_id)
    assert len(fresh.keys()) == 300 and len(fresh.keys(include_retired=True)) == 301
    # a person finds a key by the first two hex digits of its ID
    assert new.key_id in json.loads(bucket_file(fresh, "keys", new.key_id).read_text())
    # a ceremony noting the same token and key again writes nothing
    state = files_under(ws.path)
    with ws.transaction() as tx:
        tx.add_token(TokenRecord(serial="0001", label="root-a"))
        tx.add_key(new)
        assert not tx.changed
    assert files_under(ws.path) == state
    # older files of a changed bucket are collected: the current and previous one stay
    for i in range(3):
        ws.add_key(KeyRecord.from_dict({**new.to_dict(), "guns": [f"example.com/x/{i}"]}))
    assert len(list((ws.path / "inventory" / "keys" / new.key_id[:2]).iterdir())) <= 2


def test_a_version_2_workspace_is_upgraded_when_opened(tmp_path):
    ws, records = filled(tmp_path / "ws", 20)
    expected = dump(ws.path)
    expected_keys = [k.to_dict() for k in ws.keys(include_retired=True)]
    to_version_2(ws)
    upgraded = Workspace.open(ws.path)
    assert json.loads((ws.path / "workspace.json").read_text())["version"] == 3
    assert dump(ws.path) == expected
    assert [k.to_dict() for k in upgraded.keys(include_retired=True)] == expected_keys
    assert upgraded.key_by_canonical_id(records[5].canonical_id).key_id == records[5].key_id
    upgraded.retire_key(records[1].key_id, "lost")
    assert Workspace.open(ws.path).is_retired(records[1].key_id)


UPGRADE = """
import sys
from ceremony.workspace import Workspace
Workspace.open(sys.argv[1])
"""


def test_sigkill_during_the_upgrade_then_it_runs_again(tmp_path):
    ws, _ = filled(tmp_path / "ws", 20)
    expected = dump(ws.path)
    to_version_2(ws)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    trace = tmp_path / "trace"
    probe = tmp_path / "probe"
    shutil.copytree(ws.path, probe, symlinks=True)
    assert subprocess.run([sys.executable, "-c", UPGRADE, str(probe)],
                          env={**env, "CEREMONY_FAULT_TRACE": str(trace)},
                          timeout=60).returncode == 0
    points = trace.read_text().split()
    assert "workspace.upgrade.inventory" in points
    outcomes = {2: 0, 3: 0}
    for n in range(1, len(points) + 1):
        victim = tmp_path / f"kill-{n}"
        shutil.copytree(ws.path, victim, symlinks=True)
        p = subprocess.run([sys.executable, "-c", UPGRADE, str(victim)],
                           env={**env, "CEREMONY_FAULT_INJECT": str(n)}, timeout=60)
        assert p.returncode == -9, n
        # killed before the marker moved: still version 2 (whatever buckets were written
        # are ignored), upgraded again from the start by the next open; or after: version 3
        version = json.loads((victim / "workspace.json").read_text())["version"]
        assert version in (2, 3)
        outcomes[version] += 1
        assert dump(victim) == expected
        assert json.loads((victim / "workspace.json").read_text())["version"] == 3
        shutil.rmtree(victim)
    assert outcomes[2] > 0


def test_a_killed_commit_leaves_no_bucket_in_force(tmp_path):
    ws, _ = filled(tmp_path / "ws", 3)
    new = key_record(guns=("example.com/team/app-1",))
    script = ("import sys, json\nfrom ceremony.workspace import Workspace\n"
              "from ceremony.inventory import KeyRecord\n"
              "Workspace.open(sys.argv[1]).add_key(KeyRecord.from_dict(json.loads(sys.argv[2])))")
    p = subprocess.run([sys.executable, "-c", script, str(ws.path), json.dumps(new.to_dict())],
                       env=dict(os.environ, PYTHONPATH=str(ROOT),
                                CEREMONY_FAULT_INJECT="workspace.commit.link_made"), timeout=60)
    assert p.returncode == -9
    leftover = ws.path / "inventory" / "keys" / new.key_id[:2]
    assert any(n > 2 for n in inventory_store.versions(leftover))
    assert Workspace.open(ws.path).key(new.key_id) is None
    ws.add_token(TokenRecord(serial="0002", label="root-b"))  # the next commit sweeps first
    fresh = Workspace.open(ws.path)
    assert fresh.key(new.key_id) is None and fresh.key_by_canonical_id(new.canonical_id) is None
    assert [t.label for t in fresh.tokens()] == ["root-a", "root-b"]
