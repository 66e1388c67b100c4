"""Succinct hash-bin delegations (TAP 15) as python-tuf writes them: the tool verifies every
bin with the delegation's keys and knows which bin a target belongs to."""

from __future__ import annotations

import shutil

import pytest
from tuf.api.metadata import Delegations, SuccinctRoles

from ceremony.tuf import errors
from ceremony.tuf.verify import verify_repository
from tests.tuf.peers import python_tuf, serve
from tests.tuf.pytuf_repo import PyTufRepository, new_signer


def _binned(folder) -> PyTufRepository:
    repo = PyTufRepository.create(folder)
    signer = new_signer("p256")
    succinct = SuccinctRoles([signer.public_key.keyid], 1, 3, "bin")
    with repo.edit_targets() as targets:
        targets.delegations = Delegations(keys={signer.public_key.keyid: signer.public_key},
                                          succinct_roles=succinct)
    for name in succinct.get_roles():
        repo.signers[name] = [signer]
        with repo.edit_targets(name):
            pass
    for i in range(6):
        path = f"packages/p{i}.tar"
        repo.add_target(succinct.get_role_for_target(path), path, f"package {i}".encode())
    repo.publish()
    return repo


def test_every_bin_is_verified_and_python_tuf_downloads(tmp_path):
    repo = _binned(tmp_path / "repo")
    report = verify_repository(repo.metadata_dir)
    bins = sorted(r for r in report.roles if r.startswith("bin-"))
    assert bins == [f"bin-{i}" for i in range(8)]
    # files/hello.txt and the six packages; `releases` lost its delegation to the bins
    assert report.targets == 1 + 6
    assert report.warnings == ["snapshot lists releases.json, which no delegation reaches"]
    with serve(repo.folder) as url:
        got = python_tuf((repo.metadata_dir / "1.root.json").read_bytes(), url,
                         tmp_path / "client", "packages/p3.tar")
    assert got.ok and got.content == b"package 3", got.error


def test_a_bin_signed_by_another_key_is_refused(tmp_path):
    repo = _binned(tmp_path / "repo")
    name = "bin-5"
    repo.signers[name] = [new_signer("ed25519")]
    with repo.edit_targets(name):
        pass
    repo.publish()
    with pytest.raises(errors.ThresholdError, match="'bin-5' keys"):
        verify_repository(repo.metadata_dir)


def test_a_target_in_the_wrong_bin_is_a_warning(tmp_path):
    repo = _binned(tmp_path / "repo")
    path = "packages/p0.tar"
    right = repo.open("targets").signed.delegations.succinct_roles.get_role_for_target(path)
    wrong = "bin-0" if right != "bin-0" else "bin-1"
    repo.add_target(wrong, path, b"elsewhere")
    repo.publish()
    report = verify_repository(repo.metadata_dir)
    assert any(f"'{wrong}' lists target {path}" in w for w in report.warnings)
    shutil.rmtree(tmp_path / "repo")
