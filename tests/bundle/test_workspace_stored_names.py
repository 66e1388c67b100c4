"""The workspace's code says "repository"; what it stores keeps Notary's names, byte for byte
(repo.json's "gun", roots/<N>.root.json), so workspaces already on disk read as they did."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ceremony.workspace import Workspace, WorkspaceError

GUN = "docker.io/library/app"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_repo_json_is_written_exactly_as_before(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.add_trusted_root(GUN, 1, b"root one")
    record = ws.record_signed(GUN, "targets", 3, b"targets three")
    folder = ws.repo_folder(GUN)
    assert folder.parent.name == "docker.io+library+app"
    # the layout and the index's bytes as every earlier version of the tool wrote them
    expected = (b'{\n "gun": "docker.io/library/app",\n "roots": {\n  "1": "' +
                _sha(b"root one").encode() + b'"\n },\n "signed": {\n  "targets": {\n   '
                b'"sha256": "' + _sha(b"targets three").encode() + b'",\n   "time": "' +
                record.time.encode() + b'",\n   "version": 3\n  }\n }\n}')
    assert (folder / "repo.json").read_bytes() == expected
    assert (folder / "roots" / "1.root.json").read_bytes() == b"root one"
    assert (folder / "signed" / "targets.json").read_bytes() == b"targets three"


def test_a_repo_json_naming_another_repository_is_damage(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.add_trusted_root(GUN, 1, b"root one")
    index = ws.repo_folder(GUN) / "repo.json"
    data = json.loads(index.read_bytes())
    data["gun"] = "docker.io/library/other"
    os.chmod(index, 0o600)
    index.write_text(json.dumps(data, indent=1, sort_keys=True))
    with pytest.raises(WorkspaceError, match="repo.json names another repository"):
        Workspace.open(ws.path).trusted_root_history(GUN)
