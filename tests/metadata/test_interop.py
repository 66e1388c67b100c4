"""`ceremony verify` against trust data the real notary client and server made (see notary_real).

Everything here reads files the Go code wrote: they must verify, round-trip byte for byte, and
every tampered copy must be rejected with a message that says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from ceremony.errors import (
    ExpiredError,
    MixAndMatchError,
    RoleTypeError,
    RollbackError,
    RootChainError,
    SignatureThresholdError,
)
from ceremony.notary.format import (
    Instant,
    Role,
    Root,
    key_from_certificate,
    read_metadata,
    read_repository,
    sign_metadata,
    verify_repository,
    write_metadata,
)
from ceremony.notary.format.encoding import canonical_json, parse_json
from tests.conftest import run_cli
from tests.metadata.factory import ec_key, notary_certificate, tamper_signature
from tests.metadata.software_signer import SoftwareSigner

pytestmark = pytest.mark.notary


def verify_cli(real_repo, path: Path, *args: str):
    return run_cli("verify", str(path), "--gun", real_repo.gun, *args)


def pins(real_repo) -> list[str]:
    return [arg for kid in real_repo.facts["root_cert_ids"] for arg in ("--root-cert-id", kid)]


# --- accepted -----------------------------------------------------------------------------------

def test_every_layout_of_real_trust_data_verifies(real_repo):
    layouts = [real_repo.download, real_repo.owner, real_repo.delegate,
               real_repo.metadata_dir(real_repo.owner)]
    for path in layouts:
        result = verify_cli(real_repo, path, *pins(real_repo))
        assert result.returncode == 0, result.output
        assert "VERIFIED" in result.stdout
        assert "Targets: 7 in verified roles" in result.stdout


def test_every_real_file_round_trips_byte_for_byte(real_repo):
    files = real_repo.all_files()
    assert len(files) >= 20
    for path in files:
        data = path.read_bytes()
        file = read_metadata(data, path.name)
        assert file.go_exact, path
        assert write_metadata(file.metadata) == data, path
        # the fast path (bytes already canonical) agrees with re-encoding, as Go's verifier does
        assert file.signed_bytes == canonical_json(parse_json(data, path.name).value["signed"])


def test_real_files_exercise_the_escaping_rules(real_repo):
    releases = (real_repo.download / "targets" / "releases.json").read_bytes()
    # Go's json.Marshal HTML-escapes inside the signed part, and U+2028; non-ASCII stays raw.
    assert b"v1\\u003c\\u0026\\u003e.tar" in releases
    assert "ünïcode\\u2028name".encode() in releases
    file = read_metadata(releases, "releases.json")
    assert "v1<&>.tar" in file.signed.targets and "ünïcode\u2028name" in file.signed.targets
    # ...but the signature is over the unescaped canonical bytes
    assert b"v1<&>.tar" in file.signed_bytes
    top = read_metadata((real_repo.download / "targets.json").read_bytes(), "targets.json")
    assert top.signed.targets["top-level"].custom == {"build": 7, "labels": ["a", "b"],
                                                      "signed": True}
    expires = [read_metadata(p.read_bytes(), p.name).signed.expires.ns % 10**9
               for p in real_repo.download.glob("*.json")]
    assert any(ns for ns in expires)  # nanosecond expiries survive the round trip


def test_both_key_ids_match_what_notary_lists(real_repo):
    report = verify_repository(read_repository(real_repo.download, real_repo.gun),
                               real_repo.gun, root_cert_ids=real_repo.facts["root_cert_ids"])
    assert report.ok, report.errors
    listed = {role: kid for role, kid in real_repo.facts["owner_key_list"] if role != "root"}
    root_ids = {kid for role, kid in real_repo.facts["owner_key_list"] if role == "root"}
    root = report.role("root")
    (root_key,) = root.keys
    assert root_key.key_id == real_repo.facts["root_cert_ids"][0]  # cert key ID: root.json
    assert root_key.canonical_key_id in root_ids  # canonical key ID: `notary key list`
    assert root_key.key_id != root_key.canonical_key_id
    (targets_key,) = report.role("targets").keys
    assert targets_key.key_id == targets_key.canonical_key_id == listed["targets"]
    (delegate_role, delegate_id), = real_repo.facts["delegate_key_list"]
    (releases_key,) = report.role("targets/releases").keys
    assert releases_key.canonical_key_id == delegate_id
    assert releases_key.key_id != delegate_id


def test_json_report_carries_everything(real_repo):
    result = verify_cli(real_repo, real_repo.download, *pins(real_repo), "--json")
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["errors"] == []
    assert data["trust"] == {"mode": "pinned", "anchor_version": 4,
                             "pinned_cert_ids": real_repo.facts["root_cert_ids"]}
    assert [r["version"] for r in data["root_chain"]] == [4]
    roles = {r["role"]: r for r in data["roles"]}
    assert set(roles) == {"root", "targets", "snapshot", "timestamp", "targets/releases",
                          "targets/qa"}
    assert roles["targets/qa"]["delegation"] == {"parent": "targets", "paths": ["qa/", "dir/"]}
    assert roles["targets/releases"]["signed_by"] == [roles["targets/releases"]["keys"][0]
                                                      ["key_id"]]
    assert data["targets_count"] == 7
    for role in roles.values():
        assert role["verified"] and role["go_exact"]
        for key in role["keys"]:
            assert re.fullmatch("[0-9a-f]{64}", key["key_id"])
            assert re.fullmatch("[0-9a-f]{64}", key["canonical_key_id"])


def test_whole_root_history_is_walked_and_tofu_is_reported(real_repo):
    result = verify_cli(real_repo, real_repo.download)
    assert result.returncode == 0, result.output
    assert "root chain    1 -> 2 -> 3 -> 4" in result.stdout
    assert "trusting root version 1 (1.root.json) on first use" in result.stdout
    assert "canonical" in result.stdout and "cert key ID" in result.stdout


def test_pins_behave_like_the_real_client(real_repo):
    facts = real_repo.facts
    # The real client pinned to the first root certificate refuses the rotated root...
    assert facts["pinned_old"]["returncode"] != 0
    assert "unable to match any certificates to trust_pinning config" in \
        facts["pinned_old"]["output"]
    assert facts["pinned_new"]["returncode"] == 0
    # ...ceremony verify walks the chain from that pin, and says so.
    old = verify_cli(real_repo, real_repo.download, "--root-cert-id",
                     facts["first_root_cert_ids"][0])
    assert old.returncode == 0, old.output
    assert "a Notary client with these IDs in trust_pinning.certs rejects the current root" in \
        old.stdout
    new = verify_cli(real_repo, real_repo.download, *pins(real_repo))
    assert "rejects the current root" not in new.stdout
    wrong = verify_cli(real_repo, real_repo.download, "--root-cert-id", "0" * 64)
    assert wrong.returncode == 1
    assert "no usable root certificate matches the pinned IDs" in wrong.stderr


# --- rejected -----------------------------------------------------------------------------------

def _verify(real_repo, folder: Path, **kwargs):
    return verify_repository(read_repository(folder, real_repo.gun), real_repo.gun,
                             root_cert_ids=real_repo.facts["root_cert_ids"], **kwargs)


def test_flipped_bit_in_a_signature(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    path = folder / "timestamp.json"
    path.write_bytes(tamper_signature(path.read_bytes()))
    result = verify_cli(real_repo, folder, *pins(real_repo))
    assert result.returncode == 1
    assert re.search(r"error: timestamp\.json: 0 of threshold 1 valid signature from distinct "
                     r"timestamp keys; signature by [0-9a-f]{64}: signature does not verify",
                     result.stderr), result.stderr
    report = _verify(real_repo, folder)
    assert [type(e) for e in report.errors] == [SignatureThresholdError]


def test_flipped_bit_in_the_signed_part(real_repo, tmp_path):
    folder = tmp_path / "metadata"
    shutil.copytree(real_repo.metadata_dir(real_repo.owner), folder)
    data = bytearray((folder / "root.json").read_bytes())
    position = data.index(b'"expires":"') + len(b'"expires":"') + 3  # a digit of the year
    data[position] ^= 0x01
    (folder / "root.json").write_bytes(bytes(data))
    result = verify_cli(real_repo, folder, *pins(real_repo))
    assert result.returncode == 1
    assert "error: root.json: root version 4 is not signed by its own root keys: 0 of " \
           "threshold 1" in result.stderr
    assert "signature does not verify" in result.stderr


def test_flipped_bit_in_a_delegation(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    path = folder / "targets" / "releases.json"
    path.write_bytes(path.read_bytes().replace(b'"length":18', b'"length":19', 1))
    report = _verify(real_repo, folder)
    messages = [str(e) for e in report.errors]
    assert any(m.startswith("targets/releases.json: sha256 ") and "snapshot.json" in m
               for m in messages), messages
    assert any("targets/releases.json: 0 of threshold 1" in m and "does not verify" in m
               for m in messages), messages


def test_role_swapped(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    shutil.copy(folder / "targets.json", folder / "snapshot.json")
    result = verify_cli(real_repo, folder, *pins(real_repo))
    assert result.returncode == 1
    assert "error: snapshot.json: signed._type: is 'Targets', expected 'Snapshot' (a Targets " \
           "file where snapshot belongs?)" in result.stderr
    assert isinstance(_verify(real_repo, folder).errors[0], RoleTypeError)


def test_expired_role_as_of_a_later_time(real_repo, tmp_path):
    timestamp = read_metadata((real_repo.download / "timestamp.json").read_bytes(), "t")
    later = timestamp.signed.expires + dt.timedelta(days=1)
    result = verify_cli(real_repo, real_repo.download, *pins(real_repo), "--at", str(later))
    assert result.returncode == 1
    assert f"error: timestamp.json: timestamp expired on {timestamp.signed.expires}" in \
        result.stderr
    report = _verify(real_repo, real_repo.download, at=later)
    assert [type(e) for e in report.errors] == [ExpiredError]
    # ten years on, the root certificate itself has expired: that is what is reported
    much_later = verify_cli(real_repo, real_repo.download, *pins(real_repo), "--at",
                            "2040-01-01T00:00:00Z")
    assert "cannot be trusted: root key" in much_later.stderr
    assert "certificate expired on" in much_later.stderr


def test_rolled_back_root(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    shutil.copy(folder / "3.root.json", folder / "root.json")
    result = verify_cli(real_repo, folder, *pins(real_repo))
    assert result.returncode == 1
    assert "error: root.json: root.json is version 3, older than 4.root.json" in result.stderr
    assert isinstance(_verify(real_repo, folder).errors[0], RollbackError)


def test_rolled_back_timestamp(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    current = read_metadata((folder / "timestamp.json").read_bytes(), "t").signed.version
    shutil.copy(real_repo.folder / "older" / "timestamp.json", folder / "timestamp.json")
    result = verify_cli(real_repo, folder, *pins(real_repo), "--trusted-version",
                        f"timestamp={current}")
    assert result.returncode == 1
    assert f"error: timestamp.json: timestamp is version {current - 1}, older than the " \
           f"trusted version {current}" in result.stderr
    errors = _verify(real_repo, folder, trusted_versions={"timestamp": current}).errors
    assert [type(e) for e in errors] == [RollbackError, MixAndMatchError]


def test_snapshot_hash_mismatch(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    shutil.copy(real_repo.folder / "older" / "targets.json", folder / "targets.json")
    result = verify_cli(real_repo, folder, *pins(real_repo))
    assert result.returncode == 1
    assert re.search(r"error: targets\.json: sha256 [0-9a-f]{64} does not match [0-9a-f]{64} "
                     r"listed in snapshot\.json \(version \d+\)", result.stderr), result.stderr
    assert [type(e) for e in _verify(real_repo, folder).errors] == [MixAndMatchError]


def test_root_signed_by_the_new_key_only(real_repo, tmp_path):
    folder = real_repo.copy_download(tmp_path / "repo")
    current = read_metadata((folder / "root.json").read_bytes(), "root.json", Root).signed
    new_key = ec_key()
    cert_key = key_from_certificate(notary_certificate(new_key, real_repo.gun))
    for keyid in current.roles["root"].keyids:
        del current.keys[keyid]
    current.keys[cert_key.key_id] = cert_key
    current.roles["root"] = Role([cert_key.key_id], 1)
    current.version += 1
    data = sign_metadata(current, [SoftwareSigner(new_key)])
    (folder / "5.root.json").write_bytes(data)
    (folder / "root.json").write_bytes(data)
    result = verify_cli(real_repo, folder, *pins(real_repo))
    assert result.returncode == 1
    assert "error: root.json: root version 5 is not signed by the threshold of the root keys " \
           "of version 4: 0 of threshold 1" in result.stderr
    assert isinstance(_verify(real_repo, folder).errors[0], RootChainError)


def test_every_file_at_once_is_rejected_when_out_of_order(real_repo, tmp_path):
    """Files that are not Go's bytes for their content are flagged even when signatures hold."""
    folder = real_repo.copy_download(tmp_path / "repo")
    data = json.loads((folder / "timestamp.json").read_bytes())
    (folder / "timestamp.json").write_text(json.dumps(data, indent=2))
    report = _verify(real_repo, folder, at=Instant.now())
    assert report.ok, report.errors
    assert any(w.startswith("timestamp.json: bytes differ from what Notary writes")
               for w in report.warnings)
