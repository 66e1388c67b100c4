"""verify_repository reads each file once and hands the verified files on (bulk ceremonies
verify thousands of repositories: parsing the same bytes again was a third of the checks)."""

from __future__ import annotations

import pytest

from ceremony.errors import RootChainError
from ceremony.notary.format import repository_check, verify_repository
from tests.metadata.factory import SoftRepo


@pytest.fixture
def reads(monkeypatch):
    """The names read_metadata is called with by the verifier (a spy on our own reader)."""
    names: list[str] = []
    real = repository_check.read_metadata

    def spy(data, name, expected=None):
        names.append(name)
        return real(data, name, expected)

    monkeypatch.setattr(repository_check, "read_metadata", spy)
    return names


def test_the_verified_files_are_handed_on():
    repo = SoftRepo.create()
    read: dict = {}
    report = verify_repository(repo.repository(), repo.gun, trusted_root=repo.files["root"],
                               read=read)
    assert report.ok, report.errors
    assert sorted(read) == ["root", "snapshot", "targets", "timestamp"]
    for role, file in read.items():
        assert file.name == f"{role}.json"
        assert file.raw == repo.files[role]
        # the very objects whose signatures were verified (their memo holds the verdicts)
        assert list(file.checked.values()) == [None], role


def test_a_root_already_read_is_not_parsed_again(reads):
    repo = SoftRepo.create()
    report = verify_repository(repo.repository(), repo.gun, trusted_root=repo.files["root"])
    assert report.ok, report.errors
    # 1.root.json once; root.json and the trusted root are the same bytes: not read again
    assert sorted(reads) == ["1.root.json", "snapshot.json", "targets.json", "timestamp.json"]


def test_a_trusted_root_with_other_bytes_is_still_read_and_compared(reads):
    repo = SoftRepo.create()
    trusted = repo.files["root"]
    repo.sign_root()  # version 1 again, signed anew: other bytes (ECDSA signatures differ)
    assert repo.files["root"] != trusted
    repo.refresh()
    report = verify_repository(repo.repository(), repo.gun, trusted_root=trusted)
    assert "trusted root" in reads
    assert isinstance(report.errors[0], RootChainError)
    assert "differs from the trusted root" in str(report.errors[0])
