"""`ceremony verify` tells Notary v1 from TUF 1.0 metadata (or takes --format) and runs the
verifier of that flavour; a wrong --format is refused by the other verifier, cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ceremony.tuf.flavour import NOTARY, TUF, detect_flavour
from tests.conftest import run_cli
from tests.metadata.factory import GUN, SoftRepo
from tests.tuf.pytuf_repo import PyTufRepository


@pytest.fixture(scope="module")
def tuf_dir(tmp_path_factory) -> Path:
    repo = PyTufRepository.create(tmp_path_factory.mktemp("flavour-tuf") / "repo")
    return repo.metadata_dir


@pytest.fixture(scope="module")
def notary_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("flavour-notary")
    soft = SoftRepo.create()
    for role, data in soft.files.items():
        (folder / f"{role}.json").write_bytes(data)
    for version, data in soft.root_history.items():
        (folder / f"{version}.root.json").write_bytes(data)
    return folder


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_detection(tuf_dir, notary_dir, tmp_path):
    assert detect_flavour(tuf_dir) == TUF
    assert detect_flavour(notary_dir) == NOTARY
    assert detect_flavour(tmp_path) is None          # empty: the caller decides
    (tmp_path / "root.json").write_bytes(b"[1, 2")   # broken: neither, not an exception
    assert detect_flavour(tmp_path) is None


def test_tuf_folder_detected(tuf_dir):
    result = run_cli("verify", str(tuf_dir), "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["root_chain"][0]["version"] == 1
    assert set(report["roles"]) >= {"timestamp", "snapshot", "targets"}
    human = run_cli("verify", str(tuf_dir))
    assert human.returncode == 0 and human.stdout.startswith(f"OK {tuf_dir}: root v1")


def test_tuf_folder_with_format_and_trusted_root(tuf_dir):
    result = run_cli("verify", str(tuf_dir), "--format", "tuf", "--trusted-root",
                     str(tuf_dir / "1.root.json"), "--json")
    assert result.returncode == 0, result.output
    assert json.loads(result.stdout)["ok"]


def test_notary_folder_detected(notary_dir):
    result = run_cli("verify", str(notary_dir), "--gun", GUN, "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["gun"] == GUN
    assert run_cli("verify", str(notary_dir), "--format", "notary", "--gun",
                   GUN).returncode == 0


def test_tampered_tuf_folder_fails_through_ceremony_verify(tuf_dir, tmp_path):
    import shutil
    copy = shutil.copytree(tuf_dir, tmp_path / "copy")
    data = json.loads((copy / "timestamp.json").read_bytes())
    data["signed"]["expires"] = "2099-01-01T00:00:00Z"
    (copy / "timestamp.json").write_text(json.dumps(data))
    result = run_cli("verify", str(copy))
    assert result.returncode == 1
    assert "timestamp.json" in _one_error_line(result)


def test_wrong_format_tuf_on_notary(notary_dir):
    result = run_cli("verify", str(notary_dir), "--format", "tuf")
    assert result.returncode == 1
    line = _one_error_line(result)
    assert "'Root', expected 'root'" in line


def test_wrong_format_notary_on_tuf(tuf_dir):
    result = run_cli("verify", str(tuf_dir), "--format", "notary", "--gun", GUN)
    assert result.returncode == 1
    _one_error_line(result)


def test_unknown_format_and_mixed_options_are_usage_errors(tuf_dir, notary_dir):
    assert run_cli("verify", str(tuf_dir), "--format", "xml").returncode == 2
    mixed = run_cli("verify", str(tuf_dir), "--gun", GUN)
    assert mixed.returncode == 2 and "is TUF 1.0" in mixed.stderr
    no_gun = run_cli("verify", str(notary_dir))
    assert no_gun.returncode == 2 and "needs --gun" in no_gun.stderr
    pinned = run_cli("verify", str(notary_dir), "--gun", GUN, "--trusted-root",
                     str(tuf_dir / "1.root.json"))
    assert pinned.returncode == 2 and "--root-cert-id" in pinned.stderr
