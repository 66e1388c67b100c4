"""The TUF request/response bundle content read strictly, and the workspace's TUF section
(root history, last signed versions, rollback refused) staged in a transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ceremony.tuf import bundles, state
from ceremony.tuf.bundles import TufBundleError, TufRequest, TufResponse
from ceremony.workspace import Workspace
from tests.conftest import run_cli
from tests.tuf.pytuf_repo import PyTufRepository
from transfer.systembundle import SystemBundle, write_system_bundle


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> PyTufRepository:
    return PyTufRepository.create(tmp_path_factory.mktemp("bundles") / "repo")


def _request(repo: PyTufRepository, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "req.json"
    r = run_cli("tuf", "request", "--repo", str(repo.metadata_dir), "--name", "demo",
                "--operation", "renew", "--renew-role", "targets", "--out", str(out), *extra)
    assert r.returncode == 0, r.output
    return out


def test_request_carries_the_chain_and_the_newest_files(repo, tmp_path):
    request, bundle = bundles.read_request(_request(repo, tmp_path))
    assert request.operation == "renew" and request.params == {"roles": ["targets"]}
    assert set(request.metadata) == {"1.root.json", "2.targets.json", "2.releases.json",
                                     "1.snapshot.json", "timestamp.json"}
    assert request.metadata["2.targets.json"] == (repo.metadata_dir / "2.targets.json").read_bytes()
    assert bundle.system == "tuf" and bundle.kind == "request"
    assert any("renew" in line for line in request.summary)


def _edited(path: Path, change) -> Path:
    obj = json.loads(path.read_bytes())
    change(obj)
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda o: o["content"].update(extra=1), "unknown field 'extra'"),
    (lambda o: o["content"]["params"].update(colour="red"), "unknown field 'colour'"),
    (lambda o: o["content"].update(operation="explode"), "unknown operation"),
    (lambda o: o["content"]["metadata"].update({"../x.json": "AA=="}), "not a metadata file"),
    (lambda o: o["content"]["metadata"].update({"9.root.json": "not base64!"}), "base64"),
    (lambda o: o["content"].update(repository="a b"), "not a repository name"),
])
def test_a_bad_request_is_refused_with_one_line(repo, tmp_path, change, message):
    path = _request(repo, tmp_path)
    obj = json.loads(path.read_bytes())
    change(obj)
    # re-sealed: the frame's digest is right, the content is what is wrong
    bundle = SystemBundle(system="tuf", kind="request", content=obj["content"])
    write_system_bundle(path, bundle, overwrite=True)
    with pytest.raises(TufBundleError) as info:
        bundles.read_request(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_edited_request_fails_its_digest(repo, tmp_path):
    path = _edited(_request(repo, tmp_path), lambda o: o["content"]["summary"].append("x"))
    with pytest.raises(TufBundleError, match="digest|sha256|canonical form"):
        bundles.read_request(path)


def test_a_notation_bundle_is_not_a_tuf_request(tmp_path):
    path = tmp_path / "n.json"
    write_system_bundle(path, SystemBundle(system="notation", kind="request", content={}))
    with pytest.raises(TufBundleError, match="expected a tuf request bundle"):
        bundles.read_request(path)


def test_response_round_trip_and_partial(repo):
    data = (repo.metadata_dir / "1.root.json").read_bytes()
    response = TufResponse("demo", "sign", {"1.root.json": data}, "a" * 64, "b" * 64,
                           bundles.Partial("1.root.json", ("c" * 64,),
                                           {"root": {"threshold": 2, "valid": ["c" * 64],
                                                     "missing": ["d" * 64]}}),
                           ("one line",))
    bundle = bundles.response_bundle(response)
    again = bundles.parse_response(SystemBundle(system="tuf", kind="response",
                                                content=json.loads(json.dumps(
                                                    dict(bundle.content)))))
    assert again == response
    with pytest.raises(TufBundleError, match="not among the files"):
        bundles.response_bundle(TufResponse("demo", "sign", {"2.root.json": data}, "a" * 64,
                                            "b" * 64, response.partial))
    with pytest.raises(TufBundleError, match="64 lowercase hex"):
        bundles.response_bundle(TufResponse("demo", "sign", {"1.root.json": data}, "A" * 64,
                                            "b" * 64))


def test_request_keys_must_carry_their_own_key_id(repo):
    key = repo.signers["timestamp"][0].public_key
    good = {key.keyid: key.to_dict()}
    request = TufRequest("demo", "rotate-key", {"role": "timestamp"}, {},
                         {"timestamp": bundles.OnlineRole(
                             {k: bundles._keys(good, "k")[k] for k in good}, 1)})
    assert bundles.parse_request(bundles.request_bundle(request)).online_keys.keys() == \
        {"timestamp"}
    with pytest.raises(TufBundleError, match="is not the key's own"):
        bundles._keys({"0" * 64: key.to_dict()}, "k")


def test_state_root_history_and_rollback(repo, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    root1 = (repo.metadata_dir / "1.root.json").read_bytes()
    targets2 = (repo.metadata_dir / "2.targets.json").read_bytes()
    targets1 = (repo.metadata_dir / "1.targets.json").read_bytes()
    with ws.transaction() as tx:
        assert state.stage_root(tx, "demo", root1) == 1
        assert state.stage_signed(tx, "demo", "targets", targets2) == 2
        assert not Workspace.open(tmp_path / "ws").system_paths("tuf")  # not yet committed
    s = state.TufState.load(Workspace.open(tmp_path / "ws"), "demo")
    assert s.roots == {1: root1} and s.last_version("targets") == 2
    assert s.trusted_root().signed.version == 1
    assert state.repositories(ws) == ["demo"]
    with pytest.raises(state.TufStateError, match="roll back the v2"):
        with ws.transaction() as tx:
            state.stage_signed(tx, "demo", "targets", targets1)
    with pytest.raises(state.TufStateError, match="expected v2"):
        with ws.transaction() as tx:
            root3 = json.loads(root1)
            root3["signed"]["version"] = 3
            state.stage_root(tx, "demo", json.dumps(root3).encode())
    with pytest.raises(state.TufStateError, match="no TUF repository 'other'"):
        state.TufState.load(ws, "other").latest_root  # noqa: B018


def test_a_request_crosses_the_gap_as_text_frames(repo, tmp_path):
    path = _request(repo, tmp_path)
    sent = run_cli("transfer", "send", str(path), "--text")
    assert sent.returncode == 0, sent.output
    assert "TUF renew for repository 'demo'" in sent.stderr  # the summary lines are shown
    got = run_cli("transfer", "receive", "--stdin", "--out", str(tmp_path / "got.json"),
                  input=sent.stdout)
    assert got.returncode == 0, got.output
    assert bundles.read_request(tmp_path / "got.json")[0] == bundles.read_request(path)[0]
