"""A python-tuf repository's root moves onto tokens and rotates again, signed by the tool;
python-tuf, go-tuf and tough follow the rotation and download a target, and each refuses the
repository once one root signature is missing below threshold."""

from __future__ import annotations

import json

import pytest
from tuf.api.metadata import Metadata

from tests.tuf.conftest import TOKENS
from tests.tuf.peers import CLIENTS, serve


def test_sign_shows_the_change_and_meets_both_thresholds(rotated):
    text = rotated.sign_v2_text
    for label in TOKENS:
        assert f"+ key {rotated.token_keys[label]['keyid']}" in text
    old_root = Metadata.from_bytes(rotated.root(1)).signed.roles["root"].keyids[0]
    assert f"- key {old_root}" in text
    assert "role root: threshold 1 -> 2" in text
    assert "version 1 -> 2" in text
    assert "words" in text
    status = rotated.sign_v2["status"]
    assert status["previous_root"]["met"] and status["own_root"]["met"]
    assert rotated.sign_v2["complete"] is True
    assert len(rotated.sign_v2["signed_with"]) == 2
    # v3: signed only by the tool (tokens a and c): both thresholds from token keys alone
    assert rotated.sign_v3["status"]["previous_root"]["valid"] == \
        rotated.sign_v3["status"]["own_root"]["valid"]
    assert rotated.sign_v3["complete"] is True
    rotated.offline.assert_no_pin()


def test_python_tuf_accepts_the_signed_roots(rotated):
    roots = [Metadata.from_bytes(rotated.root(v)) for v in (1, 2, 3)]
    for old, new in zip(roots, roots[1:], strict=False):
        old.signed.verify_delegate("root", new.signed_bytes, new.signatures)  # raises below
        new.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    keyids = [*roots[1].signatures, *roots[2].signatures]
    schemes = {roots[2].signed.keys[k].scheme for k in keyids if k in roots[2].signed.keys}
    assert {"ecdsa-sha2-nistp256", "ed25519", "rsassa-pss-sha256"} <= schemes


def test_tool_verifies_the_whole_repository(rotated):
    report = rotated.offline.ok("tuf", "verify", str(rotated.metadata), "--targets",
                                str(rotated.repo.targets_dir))
    assert [r["version"] for r in report["root_chain"]] == [1, 2, 3]
    assert report["consistent_snapshot"] is True
    assert set(report["roles"]) == {"timestamp", "snapshot", "targets", "releases"}
    assert report["warnings"] == []
    # against the state trusted before (no version went back), and the first version
    assert rotated.offline.ok("tuf", "verify", str(rotated.metadata), "--previous",
                              str(rotated.v1_metadata))["ok"]
    assert rotated.offline.ok("tuf", "verify", str(rotated.v1_metadata))["ok"]


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_client_follows_the_rotation_and_downloads(rotated, client, tmp_path):
    with serve(rotated.repo.folder) as url:
        result = CLIENTS[client](rotated.root(1), url, tmp_path, "files/second.txt")
        delegated = CLIENTS[client](rotated.root(1), url, tmp_path / "2", "releases/v1.txt")
    assert result.ok, result.error
    assert result.root_version == 3
    assert result.content == b"published after two root rotations\n"
    assert delegated.ok and delegated.content == b"release one\n", delegated.error


@pytest.fixture(scope="module")
def one_signature_short(rotated, tmp_path_factory):
    """The rotated repository with one signature removed from root v3 (1 of 2 left)."""
    import shutil
    folder = shutil.copytree(rotated.repo.folder, tmp_path_factory.mktemp("short") / "repo")
    for name in ("3.root.json", "root.json"):
        path = folder / "metadata" / name
        data = json.loads(path.read_bytes())
        data["signatures"] = data["signatures"][:1]
        path.write_text(json.dumps(data, indent=1, sort_keys=True))
    return folder


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_client_refuses_a_root_one_signature_below_threshold(rotated, one_signature_short,
                                                             client, tmp_path):
    with serve(one_signature_short) as url:
        result = CLIENTS[client](rotated.root(1), url, tmp_path, "files/second.txt")
    assert not result.ok
    assert result.error


def test_tool_refuses_a_root_one_signature_below_threshold(rotated, one_signature_short):
    r = rotated.offline.run("tuf", "verify", str(one_signature_short / "metadata"), "--json")
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "3.root.json" in r.stderr
    assert "1 valid signature(s) of root v2's 'root' keys, threshold 2" in r.stderr
    assert json.loads(r.stdout)["error"]["code"] == "root-chain"
