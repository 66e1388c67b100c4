"""Bad and tampered TUF metadata: the tool refuses each case with a named error (verify), and
`ceremony tuf sign` refuses what it must not sign, writing nothing."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceremony.tuf import errors
from ceremony.tuf.verify import Previous, verify_repository
from tests.tuf.pytuf_repo import PyTufRepository


@pytest.fixture
def repo(tmp_path) -> PyTufRepository:
    return PyTufRepository.create(tmp_path / "repo")


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_bytes())
    change(data)
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def _verify(repo: PyTufRepository, **kw):
    return verify_repository(repo.metadata_dir, **kw)


def test_changed_after_signing_is_a_threshold_error(repo):
    _edit_json(repo.metadata_dir / "timestamp.json",
               lambda d: d["signed"].update(expires="2099-01-01T00:00:00Z"))
    with pytest.raises(errors.ThresholdError, match="timestamp.json: 0 valid signature"):
        _verify(repo)


def test_signature_by_a_key_outside_the_role_does_not_count(repo):
    theirs = json.loads((repo.metadata_dir / "1.snapshot.json").read_bytes())["signatures"]
    _edit_json(repo.metadata_dir / "timestamp.json", lambda d: d.update(signatures=theirs))
    with pytest.raises(errors.ThresholdError):
        _verify(repo)


def test_expired_is_a_freeze_error(repo):
    with pytest.raises(errors.ExpiredError, match="'root' v1 expired"):
        _verify(repo, now=datetime(2100, 1, 1, tzinfo=UTC))


def test_versions_going_back_are_rollback_errors(repo, tmp_path):
    old = shutil.copytree(repo.metadata_dir, tmp_path / "old")
    repo.add_target("targets", "files/new.txt", b"new")
    repo.publish()
    newer = Previous.from_dir(repo.metadata_dir)
    with pytest.raises(errors.RollbackError, match="timestamp v1 is older than the v2"):
        verify_repository(old, previous=newer)
    assert verify_repository(repo.metadata_dir, previous=Previous.from_dir(old))


def test_snapshot_disagreeing_with_timestamp_is_a_consistency_error(repo):
    with repo.edit_snapshot() as snapshot:
        snapshot.meta["targets.json"].length = 7
    repo.do_timestamp(force=True)
    with pytest.raises(errors.ConsistencyError, match="but snapshot says 7"):
        _verify(repo)


def test_missing_root_in_the_chain_is_a_root_chain_error(repo):
    with repo.edit_root() as root:
        root.version  # noqa: B018 -- a new version, same keys
    (repo.metadata_dir / "2.root.json").rename(repo.metadata_dir / "3.root.json")
    with pytest.raises(errors.RootChainError, match="holds root v2, not v3|chain .* stops"):
        _verify(repo)


def test_root_json_ahead_of_the_chain_is_refused(repo):
    with repo.edit_root():
        pass
    (repo.metadata_dir / "2.root.json").unlink()
    with pytest.raises(errors.RootChainError, match="stops at v1"):
        _verify(repo)


def test_delegated_role_signed_by_the_wrong_key(repo):
    repo.signers["releases"] = repo.signers["targets"]
    repo.add_target("releases", "releases/v2.txt", b"two")
    repo.publish()
    with pytest.raises(errors.ThresholdError, match="targets's 'releases' keys"):
        _verify(repo)


def test_target_outside_delegated_paths_is_a_warning(repo):
    repo.add_target("releases", "elsewhere/x.txt", b"x")
    repo.publish()
    report = _verify(repo)
    assert any("outside the paths delegated" in w for w in report.warnings)


@pytest.mark.parametrize("content, code", [
    (b'{"signed": {}, "signatures": [], "signed": {}}', "format"),
    (b"[]", "format"),
    (b'{"signatures": [], "signed": {"_type": "timestamp", "version": 1.5}}', "format"),
])
def test_malformed_files_are_format_errors(repo, content, code):
    (repo.metadata_dir / "timestamp.json").write_bytes(content)
    with pytest.raises(errors.TufError) as info:
        _verify(repo)
    assert info.value.code == code
    assert "timestamp.json" in str(info.value)


# -- ceremony tuf sign refusals (real tokens, air-gapped) ----------------------------------

def test_sign_refuses_and_writes_nothing(offline, tmp_path):
    repo = PyTufRepository.create(tmp_path / "repo")
    proposed = tmp_path / "proposed.json"
    proposed.write_bytes(repo.propose_root(lambda root: None))
    out = tmp_path / "out.json"
    base = ["tuf", "sign", str(proposed), "--out", str(out), "--token", "tuf-a",
            *offline.pins("tuf-a")]

    # the root lists no key of this token
    r = offline.run(*base, "--trusted", str(repo.metadata_dir / "1.root.json"), "--yes")
    assert r.returncode == 1 and "none of the 1 key(s)" in r.stderr, r.output
    # not the next version of the trusted root
    r = offline.run(*base, "--yes")
    assert r.returncode == 1 and "give the trusted v1 with --trusted" in r.stderr, r.output
    # tampered proposal (a float)
    bad = tmp_path / "bad.json"
    bad.write_bytes(proposed.read_bytes().replace(b'"version": 2', b'"version": 2.0'))
    r = offline.run("tuf", "sign", str(bad), "--out", str(out), "--token", "tuf-a", "--yes")
    assert r.returncode == 1 and "fraction or exponent" in r.stderr, r.output
    # an existing output is not replaced without --force
    out.write_text("keep")
    r = offline.run(*base, "--trusted", str(repo.metadata_dir / "1.root.json"), "--yes")
    assert r.returncode == 1 and "--force" in r.stderr
    assert out.read_text() == "keep"
    # a network up: refused before anything else (run without the air-gap wrapper)
    from tests.conftest import run_cli
    r = run_cli(*base, "--trusted", str(repo.metadata_dir / "1.root.json"), "--yes",
                env=offline.env.env)
    assert r.returncode == 1 and "not air-gapped" in r.stderr
    offline.assert_no_pin()


def test_sign_not_confirmed_writes_nothing(offline, tmp_path):
    keys = offline.ok("tuf", "key", "--token", "tuf-b", "--label", "tuf-root")
    repo = PyTufRepository.create(tmp_path / "repo")
    from tests.tuf.pytuf_repo import token_key
    proposed = tmp_path / "proposed.json"
    proposed.write_bytes(repo.propose_root(lambda root: root.add_key(token_key(keys), "root")))
    out = tmp_path / "out.json"
    r = offline.run("tuf", "sign", str(proposed), "--trusted",
                    str(repo.metadata_dir / "1.root.json"), "--out", str(out), "--token",
                    "tuf-b", *offline.pins("tuf-b"), input="no\n")
    assert r.returncode == 1 and "not confirmed" in r.stderr
    assert not out.exists()
    # --signatures-only: only the new signature, which verifies over the proposal
    r = offline.ok("tuf", "sign", str(proposed), "--trusted",
                   str(repo.metadata_dir / "1.root.json"), "--out", str(out), "--token",
                   "tuf-b", *offline.pins("tuf-b"), "--yes", "--signatures-only")
    sigs = json.loads(out.read_bytes())
    assert [s["keyid"] for s in sigs["signatures"]] == [keys["keyid"]]
    from tuf.api.metadata import Metadata, Signature
    md = Metadata.from_bytes(proposed.read_bytes())
    md.signatures[keys["keyid"]] = Signature(keys["keyid"], sigs["signatures"][0]["sig"])
    md.signed.verify_delegate("root", md.signed_bytes, md.signatures)
    assert r["status"]["own_root"]["met"]


def test_sign_targets_made_by_python_tuf_with_a_token_targets_key(offline, tmp_path):
    from tests.tuf.peers import python_tuf, serve
    from tests.tuf.pytuf_repo import token_key
    key = offline.ok("tuf", "key", "--token", "tuf-a", "--label", "tuf-root")
    repo = PyTufRepository.create(tmp_path / "repo")
    old = repo.signers["targets"][0].public_key.keyid

    def targets_on_token(root) -> None:
        root.revoke_key(old, "targets")
        root.add_key(token_key(key), "targets")
    repo.store("root", repo.propose_root(targets_on_token))
    repo.signers["targets"] = []
    previous = repo.metadata_dir / "2.targets.json"
    repo.add_target("targets", "files/new.txt", b"signed on a token")  # unsigned v3
    proposed = repo.metadata_dir / "3.targets.json"
    out = tmp_path / "signed.json"
    r = offline.run("tuf", "sign", str(proposed), "--trusted",
                    str(repo.metadata_dir / "2.root.json"), "--previous", str(previous),
                    "--out", str(out), "--token", "tuf-a", *offline.pins("tuf-a"), "--yes")
    assert r.returncode == 0, r.output
    assert "TUF targets: version 2 -> 3" in r.stdout and "+ target files/new.txt" in r.stdout
    assert "targets threshold 1: met" in r.stdout
    repo.store("targets", out.read_bytes())
    repo.publish()
    assert verify_repository(repo.metadata_dir).roles["targets"]["version"] == 3
    with serve(repo.folder) as url:
        got = python_tuf((repo.metadata_dir / "1.root.json").read_bytes(), url,
                         tmp_path / "client", "files/new.txt")
    assert got.ok and got.content == b"signed on a token", got.error
    offline.assert_no_pin()


def test_verify_cli_names_the_problem(repo, tmp_path):
    from tests.conftest import run_cli
    r = run_cli("tuf", "verify", str(repo.folder))
    assert r.returncode == 1 and "has neither 1.root.json nor root.json" in r.stderr
    r = run_cli("tuf", "verify", str(repo.metadata_dir), "--at", "2100-01-01T00:00:00Z",
                "--json")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert json.loads(r.stdout)["error"]["code"] == "expired"
    r = run_cli("tuf", "verify", str(repo.metadata_dir), "--at", "soon")
    assert r.returncode == 2 and "--at" in r.stderr
    r = run_cli("tuf", "verify", str(repo.metadata_dir))
    assert r.returncode == 0 and r.stdout.startswith(f"OK {repo.metadata_dir}: root v1")


def test_sign_keeps_vendor_fields_of_tuf_on_ci(offline, tmp_path):
    """tuf-on-ci keeps its own fields in keys and roles; they are signed as found."""
    from tuf.api.metadata import Metadata

    from tests.tuf.pytuf_repo import token_key
    entry = offline.ok("tuf", "key", "--token", "tuf-c", "--label", "tuf-root")
    repo = PyTufRepository.create(tmp_path / "repo")

    def with_owner(root) -> None:
        key = token_key(entry)
        key.unrecognized_fields["x-tuf-on-ci-keyowner"] = "@alice"
        root.add_key(key, "root")
        root.roles["root"].unrecognized_fields["x-tuf-on-ci-expiry-period"] = 365
        root.unrecognized_fields["x-vendor"] = {"é": ["ü"]}
    proposed = tmp_path / "proposed.json"
    proposed.write_bytes(repo.propose_root(with_owner))
    out = tmp_path / "signed.json"
    offline.sign(proposed, repo.metadata_dir / "1.root.json", out, "tuf-c")
    md = Metadata.from_bytes(out.read_bytes())
    assert md.signed.keys[entry["keyid"]].unrecognized_fields == {"x-tuf-on-ci-keyowner": "@alice"}
    assert md.signed.roles["root"].unrecognized_fields == {"x-tuf-on-ci-expiry-period": 365}
    assert md.signed.unrecognized_fields == {"x-vendor": {"é": ["ü"]}}
    token_only = {entry["keyid"]: md.signatures[entry["keyid"]]}
    md.signed.verify_delegate("root", md.signed_bytes, token_only)  # the token's alone


def test_target_files_are_checked_where_clients_download_them(repo):
    report = verify_repository(repo.metadata_dir, targets_dir=repo.targets_dir)
    assert report.targets == 2
    [file] = (repo.targets_dir / "releases").glob("*.v1.txt")
    file.write_bytes(b"release 0ne\n")               # same length, other bytes
    with pytest.raises(errors.ConsistencyError, match="sha256 is .* but 'releases' says"):
        verify_repository(repo.metadata_dir, targets_dir=repo.targets_dir)
    file.unlink()
    with pytest.raises(errors.ConsistencyError, match="target releases/v1.txt .* is missing"):
        verify_repository(repo.metadata_dir, targets_dir=repo.targets_dir)


def test_rotated_timestamp_keys_reset_the_rollback_checks(repo, tmp_path):
    """Spec 5.3.11 (fast-forward attack recovery): a timestamp back at v1 is a rollback,
    unless the root rotated the timestamp keys since."""
    for i in range(3):
        repo.add_target("targets", f"files/{i}.txt", b"x")
        repo.publish()
    previous = Previous.from_dir(shutil.copytree(repo.metadata_dir, tmp_path / "previous"))
    assert previous.timestamp == 4
    repo.stored.pop("timestamp")                 # the repository starts timestamp afresh
    repo.do_timestamp(force=True)
    with pytest.raises(errors.RollbackError, match="timestamp v1 is older than the v4"):
        verify_repository(repo.metadata_dir, previous=previous)
    new_key = PyTufRepository.create(tmp_path / "other").signers["timestamp"][0]
    with repo.edit_root() as root:
        root.revoke_key(root.roles["timestamp"].keyids[0], "timestamp")
        root.add_key(new_key.public_key, "timestamp")
    repo.signers["timestamp"] = [new_key]
    repo.stored.pop("timestamp")
    repo.do_timestamp(force=True)
    report = verify_repository(repo.metadata_dir,
                               previous=Previous.from_dir(tmp_path / "previous"))
    assert report.roles["timestamp"]["version"] == 1
    assert any("spec 5.3.11" in w for w in report.warnings)
