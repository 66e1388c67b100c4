"""Strict reading: every way a file can differ from Notary metadata gives an error naming the
file and the field."""

from __future__ import annotations

import json

import pytest

from ceremony.errors import KeyFormatError, MetadataFormatError, RoleTypeError
from ceremony.notary.format import Root, Snapshot, Targets, Timestamp, read_metadata
from tests.metadata.factory import SoftRepo


@pytest.fixture(scope="module")
def repo() -> SoftRepo:
    repo = SoftRepo.create()
    repo.add_delegation("targets/releases", paths=["a/"])
    repo.add_target("targets/releases", "a/x")
    repo.refresh()
    return repo


def doc(repo: SoftRepo, role: str) -> dict:
    return json.loads(repo.files[role])


def read_as(data: dict | str | bytes, cls: type = Root, name: str = "root.json"):
    if isinstance(data, dict):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    return read_metadata(data, name, cls)


def error(data, cls: type = Root, name: str = "root.json",
          kind: type[Exception] = MetadataFormatError) -> str:
    with pytest.raises(kind) as info:
        read_as(data, cls, name)
    return str(info.value)


def test_the_factory_files_read(repo):
    for role, cls in (("root", Root), ("targets", Targets), ("snapshot", Snapshot),
                      ("timestamp", Timestamp), ("targets/releases", Targets)):
        file = read_metadata(repo.files[role], f"{role}.json", cls)
        assert file.go_exact


def test_invalid_json(repo):
    assert error(b'{"signed": ') == \
        "root.json: invalid JSON at line 1 column 12: Expecting value"
    assert error(b"\xff{}") == "root.json: not valid UTF-8 (byte 0)"
    assert error(b"[]") == "root.json: expected a metadata object, got an array"
    assert error(b'{"signed":{}, "signatures":[]} trailing') .startswith(
        "root.json: invalid JSON at line 1 column 32: Extra data")
    assert "invalid JSON" in error("\ufeff{}")  # a BOM is not JSON


def test_duplicate_keys_name_the_object(repo):
    text = repo.files["root"].decode().replace('"threshold":1', '"threshold":1,"threshold":2',
                                               1)
    assert error(text) == 'root.json: signed.roles.root: duplicate key "threshold"'
    text = repo.files["timestamp"].decode().replace('{"signed":', '{"signed":{},"signed":', 1)
    assert error(text, Timestamp, "timestamp.json") == \
        'timestamp.json: (top level): duplicate key "signed"'


@pytest.mark.parametrize("literal", ["1.0", "1e3", "1E3", "-0.5", "NaN", "Infinity"])
def test_numbers_must_be_integers(repo, literal):
    data = doc(repo, "root")
    text = json.dumps(data).replace('"version": 1', f'"version": {literal}')
    message = error(text)
    assert message.startswith("root.json: signed.version: ")
    assert literal in message


def test_types_are_exact(repo):
    data = doc(repo, "root")
    data["signed"]["version"] = True
    assert error(data) == "root.json: signed.version: expected an integer, got a boolean"
    data = doc(repo, "root")
    data["signed"]["roles"]["root"]["threshold"] = 0
    assert error(data) == "root.json: signed.roles.root.threshold: must be at least 1, got 0"
    data = doc(repo, "root")
    data["signed"]["version"] = 2**53 + 1
    assert error(data) == ("root.json: signed.version: 9007199254740993 is larger than Notary "
                           "can verify (2**53)")
    data = doc(repo, "root")
    data["signed"]["consistent_snapshot"] = 0
    assert error(data) == ("root.json: signed.consistent_snapshot: expected a boolean, got an "
                           "integer")
    data = doc(repo, "targets")
    name = next(iter(data["signed"]["delegations"]["keys"]))
    data["signed"]["delegations"]["roles"][0]["keyids"] = [name, 7]
    assert error(data, Targets, "targets.json") == \
        "targets.json: signed.delegations.roles[0].keyids[1]: expected a string, got an integer"


def test_wrong_type_names_what_it_found(repo):
    assert error(repo.files["targets"], Snapshot, "snapshot.json", RoleTypeError) == (
        "snapshot.json: signed._type: is 'Targets', expected 'Snapshot' (a Targets file where "
        "snapshot belongs?)")
    data = doc(repo, "root")
    data["signed"]["_type"] = "root"
    assert error(data, kind=RoleTypeError) == "root.json: signed._type: is 'root', expected 'Root'"
    data["signed"]["_type"] = "Nonsense"
    with pytest.raises(MetadataFormatError, match=r"signed\._type: unknown _type 'Nonsense'"):
        read_metadata(json.dumps(data).encode(), "x.json")


def test_missing_and_unknown_fields(repo):
    data = doc(repo, "root")
    del data["signed"]["expires"]
    assert error(data) == "root.json: signed.expires: missing field"
    data = doc(repo, "root")
    data["signed"]["extra"] = 1
    assert error(data) == "root.json: signed.extra: unknown field (Notary does not write it)"
    data = doc(repo, "root")
    data["signatures"][0]["extra"] = "x"
    assert error(data) == "root.json: signatures[0].extra: unknown field (Notary does not " \
                          "write it)"
    data = doc(repo, "root")
    del data["signed"]["roles"]["snapshot"]
    assert error(data) == "root.json: signed.roles: missing the snapshot role"
    data = doc(repo, "root")
    data["signed"]["roles"]["targets/x"] = {"keyids": [], "threshold": 1}
    assert error(data) == ('root.json: signed.roles["targets/x"]: root lists only root, '
                           "targets, snapshot and timestamp")
    data = doc(repo, "root")
    data["signed"]["roles"]["root"]["keyids"].append("ab" * 32)
    assert error(data) == f"root.json: signed.roles.root.keyids: key ID {'ab' * 32} has no key " \
                          "in keys"


def test_keys_are_checked(repo):
    data = doc(repo, "root")
    keyid = data["signed"]["roles"]["timestamp"]["keyids"][0]
    data["signed"]["keys"][keyid]["keytype"] = "dsa"
    message = error(data, kind=KeyFormatError)
    assert message.startswith(f"root.json: signed.keys.{keyid}.keytype: unknown key type 'dsa'")
    data = doc(repo, "root")
    data["signed"]["keys"][keyid]["keyval"]["private"] = "c2VjcmV0"
    assert "a public key object must have \"private\": null" in error(data)
    data = doc(repo, "root")
    data["signed"]["keys"][keyid]["keyval"]["public"] = "AAAA"
    assert "an ed25519 public key is 32 bytes, not 3" in error(data, kind=KeyFormatError)


def test_base64_and_times_must_be_written_the_go_way(repo):
    data = doc(repo, "timestamp")
    meta = data["signed"]["meta"]["snapshot"]["hashes"]
    meta["sha256"] = meta["sha256"].rstrip("=")
    assert error(data, Timestamp, "timestamp.json") == \
        "timestamp.json: signed.meta.snapshot.hashes.sha256: not valid standard base64"
    for bad, why in (("2030-01-01T00:00:00+00:00", "written Z by Go"),
                     ("2030-01-01T00:00:00.120Z", "trailing zeros"),
                     ("2030-01-01T00:00:00.5+02:00:00", "not an RFC 3339 time"),
                     ("2030-01-01T00:00:00+24:00", "not a valid UTC offset"),
                     ("2030-01-01T00:00:00+0200", "not an RFC 3339 time"),
                     ("2030-01-01 00:00:00Z", "not an RFC 3339 time"),
                     ("2030-02-30T00:00:00Z", "not a valid time"),
                     ("2030-01-01T00:00:60Z", "not a valid time")):
        data = doc(repo, "timestamp")
        data["signed"]["expires"] = bad
        message = error(data, Timestamp, "timestamp.json")
        assert message.startswith(f"timestamp.json: signed.expires: {bad!r}: ")
        assert why in message
    data = doc(repo, "root")
    data["signatures"][0]["sig"] = "QR=="  # non-zero padding bits: Go never writes them
    assert error(data) == ("root.json: signatures[0].sig: not base64 as Notary writes it "
                           "(padding or trailing bits)")


def test_strings_go_cannot_encode_are_refused(repo):
    data = doc(repo, "targets")
    data["signed"]["targets"]["a\nb"] = data["signed"]["targets"].get(
        "x", {"hashes": {"sha256": "A" * 43 + "="}, "length": 1})
    message = error(data, Targets, "targets.json")
    assert message.startswith("targets.json: signed: ")
    assert "control character" in message
    text = json.dumps(doc(repo, "targets")).replace('"targets": {}', '"targets": {"\\ud800": '
                                                    '{"hashes": {}, "length": 1}}')
    assert "unpaired UTF-16 surrogate" in error(text, Targets, "targets.json")


def test_go_never_writes_empty_paths_or_null_custom(repo):
    data = doc(repo, "targets")
    data["signed"]["delegations"]["roles"][0]["paths"] = []
    assert error(data, Targets, "targets.json") == (
        'targets.json: signed.delegations.roles[0].paths: "paths": [] is never written by '
        "Notary (it omits the field)")
    data = doc(repo, "targets/releases")
    data["signed"]["targets"]["a/x"]["custom"] = None
    assert error(data, Targets, "releases.json") == (
        'releases.json: signed.targets["a/x"].custom: "custom": null is never written by Notary')
    data = doc(repo, "targets/releases")
    data["signed"]["targets"]["a/x"]["custom"] = {"n": 2**60}
    assert "is larger than Notary can verify" in error(data, Targets, "releases.json")


def test_snapshot_and_timestamp_hash_rules(repo):
    data = doc(repo, "snapshot")
    del data["signed"]["meta"]["targets"]
    assert error(data, Snapshot, "snapshot.json") == \
        "snapshot.json: signed.meta: missing the targets entry"
    data = doc(repo, "snapshot")
    data["signed"]["meta"]["root"]["hashes"]["sha256"] = "AAAA"
    assert error(data, Snapshot, "snapshot.json") == \
        "snapshot.json: signed.meta.root.hashes.sha256: a sha256 hash is 32 bytes, not 3"
    data = doc(repo, "timestamp")
    del data["signed"]["meta"]["snapshot"]["hashes"]["sha256"]
    assert error(data, Timestamp, "timestamp.json") == \
        "timestamp.json: signed.meta.snapshot.hashes: missing the sha256 hash Notary requires"
    data = doc(repo, "timestamp")
    data["signed"]["meta"]["root"] = data["signed"]["meta"]["snapshot"]
    assert error(data, Timestamp, "timestamp.json") == \
        'timestamp.json: signed.meta: expected exactly one entry, "snapshot"'


def test_method_is_lower_cased_like_go(repo):
    data = doc(repo, "root")
    data["signatures"][0]["method"] = "ECDSA"
    file = read_as(data)
    assert file.signatures[0].method == "ecdsa"
    assert not file.go_exact  # Go would write it back lower-cased


def test_deep_nesting_is_an_error_not_a_crash(repo):
    base = repo.files["targets/releases"]
    for depth in (50, 100_000):
        data = base.replace(b'"length":7}', b'"custom":' + b"[" * depth + b"]" * depth +
                            b',"length":7}', 1)
        assert data != base
        if depth == 50:
            assert read_as(data, Targets, "r.json").signed.targets["a/x"].custom
        else:
            assert error(data, Targets, "r.json") == "r.json: JSON nested too deeply"
