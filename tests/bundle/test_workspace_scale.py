"""The workspace at scale: a commit costs what it changes, bulk commits (one filesystem sync)
survive SIGKILL like small ones, what killed commits leave is cleared, version 1 upgrades."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony import workspace_files as store
from ceremony.workspace import Workspace, WorkspaceError
from tests.bundle.test_workspace import (
    bucket_file,
    dump,
    key_record,
    sigkill_every_commit_step,
)
from tests.bundle.test_workspace_inventory import to_version_2
from tests.conftest import ROOT


def files_under(top: Path) -> set[str]:
    return {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()}


def fill(ws: Workspace, count: int) -> None:
    with ws.transaction() as tx:
        for i in range(count):
            tx.add_trusted_root(f"example.com/team/app-{i}", 1, f"root 1 of {i}".encode())
            tx.record_signed(f"example.com/team/app-{i}", "targets", 1, f"t1 of {i}".encode())
        tx.add_key(key_record(guns=tuple(f"example.com/team/app-{i}" for i in range(count))))


def test_a_commit_writes_only_the_repositories_it_changes(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    fill(ws, 300)
    before = files_under(ws.path)
    ws.record_signed("example.com/team/app-7", "targets", 2, b"t2 of 7")
    after = files_under(ws.path)
    gen = os.readlink(ws.path / "current")
    number = gen.removeprefix("state/gen-")
    # new: one snapshot of the one repository; nothing of the unchanged inventory
    assert sorted(after - before) == [
        f"repos/example.com+team+app-7/{number}/repo.json",
        f"repos/example.com+team+app-7/{number}/roots/1.root.json",
        f"repos/example.com+team+app-7/{number}/signed/targets.json"]
    # the other 299 repositories are untouched, and read back from their older snapshot
    fresh = Workspace.open(ws.path)
    assert len(fresh.guns()) == 300
    assert fresh.last_signed("example.com/team/app-8", "targets").data == b"t1 of 8"
    assert fresh.last_signed("example.com/team/app-7", "targets").data == b"t2 of 7"
    assert fresh.repo_folder("example.com/team/app-8").name == "00000001"
    # the previous snapshot of the changed repository is kept for a racing reader, no older
    ws.record_signed("example.com/team/app-7", "targets", 3, b"t3 of 7")
    ws.record_signed("example.com/team/app-7", "targets", 4, b"t4 of 7")
    assert store.snapshots(ws.path / "repos" / "example.com+team+app-7") == [3, 4]
    assert sorted(p.name for p in (ws.path / "state").iterdir()) == \
        ["gen-00000003", "gen-00000004"]


def test_sigkill_at_every_step_of_a_bulk_commit(tmp_path):
    assert store.can_sync_filesystem() and 12 > store.BULK_REPOS  # the one-sync path
    sigkill_every_commit_step(tmp_path, repos=12, every=3)


KILLED_NEW_REPO = """
import sys
from ceremony.workspace import Workspace, WorkspaceError
ws = Workspace.open(sys.argv[1])
with ws.transaction() as tx:
    for i in range(int(sys.argv[2])):
        tx.add_trusted_root(f"example.com/ghost/app-{i}", 1, b"ghost root")
"""


def test_what_a_killed_commit_left_never_becomes_state(tmp_path):
    """Snapshots a killed commit wrote carry a number above `current`; the next commit must
    remove them before its own number passes theirs, or they would come into force."""
    for count in (1, 12):  # the fsync path and the one-sync path
        ws = Workspace.open(tmp_path / f"ws-{count}", create=True)
        ws.add_trusted_root("example.com/real/app", 1, b"real root")
        env = dict(os.environ, PYTHONPATH=str(ROOT),
                   CEREMONY_FAULT_INJECT="workspace.commit.link_made")
        p = subprocess.run([sys.executable, "-c", KILLED_NEW_REPO, str(ws.path), str(count)],
                           env=env, capture_output=True, timeout=60)
        assert p.returncode == -9
        assert (ws.path / "repos" / "example.com+ghost+app-0" / "00000002").is_dir()
        assert Workspace.open(ws.path).guns() == ["example.com/real/app"]
        ws.add_trusted_root("example.com/real/app", 2, b"real root 2")  # generation 3
        fresh = Workspace.open(ws.path)
        assert fresh.guns() == ["example.com/real/app"]
        assert fresh.trusted_roots("example.com/ghost/app-0") == []
        assert not (ws.path / "repos" / "example.com+ghost+app-0").exists()
        assert sorted(p.name for p in (ws.path / "state").iterdir()) == \
            ["gen-00000001", "gen-00000003"]


def test_a_version_1_workspace_is_upgraded_when_opened(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    fill(ws, 3)
    ws.record_signed("example.com/team/app-1", "targets", 2, b"t2 of 1")
    expected = dump(ws.path)
    # rebuild the version 1 layout: every repository (and the inventory.json of version 2)
    # inside the current generation
    to_version_2(ws)
    gen = ws.path / os.readlink(ws.path / "current")
    for folder in (ws.path / "repos").iterdir():
        shutil.copytree(ws.repo_folder(folder.name.replace("+", "/")),
                        gen / "repos" / folder.name)
    shutil.rmtree(ws.path / "repos")
    (ws.path / "workspace.json").write_text(json.dumps(
        {"format": "notary-ceremony-workspace", "version": 1}))
    upgraded = Workspace.open(ws.path)
    assert json.loads((ws.path / "workspace.json").read_text())["version"] == 3
    assert dump(ws.path) == expected
    assert upgraded.repo_folder("example.com/team/app-1") == \
        ws.path / "repos" / "example.com+team+app-1" / gen.name.removeprefix("gen-")
    upgraded.record_signed("example.com/team/app-1", "targets", 3, b"t3 of 1")
    assert Workspace.open(ws.path).last_signed("example.com/team/app-1", "targets").data == \
        b"t3 of 1"


def test_inventory_records_are_checked_when_used_and_found_by_canonical_id(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    records = [key_record(guns=(f"example.com/team/app-{i}",), key_label=f"k{i}")
               for i in range(5)]
    with ws.transaction() as tx:
        for rec in records:
            tx.add_key(rec)
    with ws.transaction() as tx:
        tx.retire_key(records[1].key_id, "rotated")
    # damage one record's PEM: found and reported when that record is used, not before
    path = bucket_file(ws, "keys", records[3].key_id)
    bucket = json.loads(path.read_text())
    bucket[records[3].key_id]["public_key_pem"] = \
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    path.write_text(json.dumps(bucket))
    fresh = Workspace.open(ws.path)
    assert fresh.key(records[0].key_id).key_label == "k0"
    assert fresh.key_by_canonical_id(records[2].canonical_id).key_id == records[2].key_id
    assert fresh.key_by_canonical_id(records[1].canonical_id).key_id == records[1].key_id
    assert fresh.key_by_canonical_id("0" * 64) is None
    assert fresh.is_retired(records[1].key_id) and not fresh.is_retired(records[3].key_id)
    with pytest.raises(WorkspaceError, match="damaged"):
        fresh.key(records[3].key_id)
    with pytest.raises(WorkspaceError, match="damaged"):
        Workspace.open(ws.path).keys()
