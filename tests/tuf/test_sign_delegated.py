"""`ceremony tuf sign --role NAME --delegator FILE`: a delegated targets role made by
python-tuf, signed on a token with the key its delegator lists; python-tuf's client downloads
its target. Refusals: a delegator that does not verify, a role it does not delegate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ceremony.tuf.verify import verify_repository
from tests.tuf.pytuf_repo import PyTufRepository, token_key


@pytest.fixture
def delegated(offline, tmp_path):
    """A repository whose 'releases' role is delegated to the tuf-a token key, with an
    unsigned new version of 'releases' proposed."""
    key = offline.ok("tuf", "key", "--token", "tuf-a", "--label", "tuf-root")
    repo = PyTufRepository.create(tmp_path / "repo")
    with repo.edit_targets() as targets:
        old = targets.delegations.roles["releases"].keyids[0]
        targets.revoke_key(old, "releases")
        targets.add_key(token_key(key), "releases")
    repo.signers["releases"] = []          # its key lives on the token only
    delegator = repo.metadata_dir / f"{repo.targets().version}.targets.json"
    repo.add_target("releases", "releases/v2.txt", b"a release signed on a token\n")
    proposed = repo.metadata_dir / f"{repo.targets('releases').version}.releases.json"
    return repo, delegator, proposed, key


def _sign(offline, repo, proposed: Path, out: Path, *extra: str):
    return offline.run("tuf", "sign", str(proposed), "--trusted",
                       str(repo.metadata_dir / "root.json"), "--out", str(out),
                       "--token", "tuf-a", *offline.pins("tuf-a"), "--yes", *extra)


def test_delegated_role_signed_on_a_token_is_accepted_by_python_tuf(offline, delegated,
                                                                     tmp_path):
    from tests.tuf.peers import python_tuf, serve
    repo, delegator, proposed, key = delegated
    out = tmp_path / "signed.json"
    r = _sign(offline, repo, proposed, out, "--role", "releases", "--delegator",
              str(delegator), "--json")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["role"] == "releases" and result["signed_with"] == [key["keyid"]]
    assert result["status"]["releases"]["met"] and result["complete"]
    assert "(delegated role 'releases')" in r.stderr and "+ target releases/v2.txt" in r.stderr
    assert "delegated by  'targets': threshold 1 of 1 key(s)" in r.stderr
    repo.store("releases", out.read_bytes())
    repo.publish()
    report = verify_repository(repo.metadata_dir)
    assert report.roles["releases"]["signed_by"] == [key["keyid"]]
    with serve(repo.folder) as url:
        got = python_tuf((repo.metadata_dir / "1.root.json").read_bytes(), url,
                         tmp_path / "client", "releases/v2.txt")
    assert got.ok and got.content == b"a release signed on a token\n", got.error
    offline.assert_no_pin()


def test_signatures_only_for_a_delegated_role(offline, delegated, tmp_path):
    repo, delegator, proposed, key = delegated
    out = tmp_path / "sigs.json"
    r = _sign(offline, repo, proposed, out, "--role", "releases", "--delegator",
              str(delegator), "--signatures-only")
    assert r.returncode == 0, r.output
    sigs = json.loads(out.read_bytes())
    assert sigs["role"] == "releases" and [s["keyid"] for s in sigs["signatures"]] == \
        [key["keyid"]]


def _refused(r, out: Path, needle: str) -> None:
    assert r.returncode == 1, r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and needle in lines[-1], r.stderr
    assert not out.exists()


def test_delegator_that_does_not_verify_is_refused(offline, delegated, tmp_path):
    repo, delegator, proposed, _ = delegated
    forged = tmp_path / "forged-targets.json"
    data = json.loads(delegator.read_bytes())
    data["signed"]["expires"] = "2099-01-01T00:00:00Z"    # changed after signing
    forged.write_text(json.dumps(data))
    out = tmp_path / "signed.json"
    _refused(_sign(offline, repo, proposed, out, "--role", "releases", "--delegator",
                   str(forged)), out, "valid signature(s) of its delegator's 'targets' keys")


def test_role_not_delegated_and_missing_delegator_are_refused(offline, delegated, tmp_path):
    repo, delegator, proposed, _ = delegated
    out = tmp_path / "signed.json"
    _refused(_sign(offline, repo, proposed, out, "--role", "nightly", "--delegator",
                   str(delegator)), out, "'targets' does not delegate 'nightly'")
    _refused(_sign(offline, repo, proposed, out, "--role", "releases"), out,
             "needs the targets file that delegates it")
    _refused(_sign(offline, repo, proposed, out, "--delegator", str(delegator)), out,
             "give its name with --role")
    # without --role, the top-level targets keys (not on the token) are the ones asked for
    _refused(_sign(offline, repo, proposed, out), out, "none of the 1 key(s)")
