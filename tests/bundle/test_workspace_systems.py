"""A trust system's own section of the workspace (notation CAs, TUF repositories): files by
path, in the same crash-safe generations as the Notary state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.workspace import Workspace, WorkspaceError
from tests.conftest import ROOT


@pytest.fixture
def ws(tmp_path):
    return Workspace.open(tmp_path / "ws", create=True)


def test_files_round_trip_per_system_and_commit_together(ws):
    with ws.transaction() as tx:
        tx.put_system_file("notation", "ca/root/ca.json", b'{"version":1}')
        tx.put_system_file("notation", "ca/root/ca.crt", b"PEM")
        tx.put_system_file("tuf", "repos/app/1.root.json", b"{}")
        assert tx.system_file("notation", "ca/root/ca.crt") == b"PEM"  # staged reads
        assert ws.system_file("notation", "ca/root/ca.crt") is None  # not committed yet
    assert ws.system_file("notation", "ca/root/ca.crt") == b"PEM"
    assert ws.system_paths("notation") == ["ca/root/ca.crt", "ca/root/ca.json"]
    assert ws.system_paths("tuf", "repos/") == ["repos/app/1.root.json"]
    assert ws.system_paths("other") == [] and ws.system_file("tuf", "nope") is None
    with ws.transaction() as tx:
        tx.remove_system_file("notation", "ca/root/ca.crt")
        tx.put_system_file("notation", "ca/root/ca.json", b'{"version":2}')
    assert ws.system_paths("notation") == ["ca/root/ca.json"]
    assert ws.system_file("notation", "ca/root/ca.json") == b'{"version":2}'
    assert ws.system_file("tuf", "repos/app/1.root.json") == b"{}"  # carried on unchanged


def test_unchanged_files_are_hard_linked_not_rewritten(ws):
    with ws.transaction() as tx:
        tx.put_system_file("tuf", "a.json", b"A" * 1000)
        tx.put_system_file("tuf", "b.json", b"B")
    first = os.readlink(ws.path / "current")
    with ws.transaction() as tx:
        tx.put_system_file("tuf", "b.json", b"B2")
    second = os.readlink(ws.path / "current")
    assert first != second
    a1 = os.stat(ws.path / first / "systems/tuf/files/a.json")
    a2 = os.stat(ws.path / second / "systems/tuf/files/a.json")
    assert a1.st_ino == a2.st_ino
    # a commit that changes only the Notary state carries the section on, linked too
    ws.add_trusted_root("example.com/app", 1, b"root")
    third = os.readlink(ws.path / "current")
    assert os.stat(ws.path / third / "systems/tuf/files/b.json").st_ino == \
        os.stat(ws.path / second / "systems/tuf/files/b.json").st_ino
    assert ws.system_file("tuf", "b.json") == b"B2"


@pytest.mark.parametrize("system, path, message", [
    ("Notation", "x", "not a trust-system name"),
    ("../x", "x", "not a trust-system name"),
    ("tuf", "../escape", "not a workspace file path"),
    ("tuf", "/abs", "not a workspace file path"),
    ("tuf", "a//b", "not a workspace file path"),
    ("tuf", ".hidden", "not a workspace file path"),
    ("tuf", "a/" * 9 + "b", "not a workspace file path"),
    ("tuf", "dot.", "not a workspace file path"),
])
def test_unsafe_names_refused_nothing_written(ws, system, path, message):
    before = sorted(p.name for p in (ws.path / "state").iterdir())
    with pytest.raises(WorkspaceError, match=message):
        with ws.transaction() as tx:
            tx.put_system_file(system, path, b"x")
    assert sorted(p.name for p in (ws.path / "state").iterdir()) == before


def test_a_failed_transaction_leaves_the_section_unchanged(ws):
    with ws.transaction() as tx:
        tx.put_system_file("tuf", "a.json", b"1")
    with pytest.raises(RuntimeError):
        with ws.transaction() as tx:
            tx.put_system_file("tuf", "a.json", b"2")
            raise RuntimeError("ceremony refused")
    assert ws.system_file("tuf", "a.json") == b"1"


def test_damage_is_detected_not_trusted(ws):
    with ws.transaction() as tx:
        tx.put_system_file("notation", "ca/root/ca.json", b'{"version":1}')
    target = ws.path / os.readlink(ws.path / "current") / "systems/notation/files/ca/root/ca.json"
    os.chmod(target, 0o644)
    target.write_bytes(b'{"version":9}')
    again = Workspace.open(ws.path)
    with pytest.raises(WorkspaceError, match="damaged.*notation section"):
        again.system_file("notation", "ca/root/ca.json")


COMMIT = """
import sys
from ceremony.workspace import Workspace
ws = Workspace.open(sys.argv[1])
with ws.transaction() as tx:
    tx.put_system_file("tuf", "repos/app/2.root.json", b"root two")
    tx.put_system_file("tuf", "repos/app/state.json", b"state 2")
    tx.remove_system_file("tuf", "repos/app/old.json")
    tx.put_system_file("notation", "ca/x/ca.json", b"new ca")
    tx.add_trusted_root("example.com/app", 2, b"notary root 2")
"""


def _dump(path: Path) -> dict:
    ws = Workspace.open(path)
    return {s: {p: ws.system_file(s, p) for p in ws.system_paths(s)} for s in ("tuf", "notation")
            } | {"notary": ws.trusted_root_history("example.com/app")}


def test_sigkill_at_every_commit_step_leaves_old_or_new_section(tmp_path):
    base = tmp_path / "base"
    ws = Workspace.open(base, create=True)
    with ws.transaction() as tx:
        tx.put_system_file("tuf", "repos/app/1.root.json", b"root one")
        tx.put_system_file("tuf", "repos/app/state.json", b"state 1")
        tx.put_system_file("tuf", "repos/app/old.json", b"old")
        tx.add_trusted_root("example.com/app", 1, b"notary root 1")
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def run(target: Path, **extra: str) -> int:
        return subprocess.run([sys.executable, "-c", COMMIT, str(target)], env={**env, **extra},
                              capture_output=True, timeout=60).returncode

    old_state = _dump(base)
    finished = tmp_path / "finished"
    shutil.copytree(base, finished, symlinks=True)
    trace = tmp_path / "trace"
    assert run(finished, CEREMONY_FAULT_TRACE=str(trace)) == 0
    new_state = _dump(finished)
    assert new_state != old_state and new_state["tuf"]["repos/app/2.root.json"] == b"root two"
    points = trace.read_text().split()
    assert "workspace.commit.switched" in points
    outcomes = set()
    for n in range(1, len(points) + 1):
        victim = tmp_path / f"kill-{n}"
        shutil.copytree(base, victim, symlinks=True)
        assert run(victim, CEREMONY_FAULT_INJECT=str(n)) == -9, n
        state = _dump(victim)
        assert state in (old_state, new_state), f"torn state after kill at point {n}"
        outcomes.add("old" if state == old_state else "new")
        assert run(victim) == 0 and _dump(victim) == new_state
        shutil.rmtree(victim)
    assert outcomes == {"old", "new"}
