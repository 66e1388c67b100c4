"""Big files are read by faster paths (strings counted instead of a hook per object, target
entries checked a field at a time over all entries, FileMeta made on first look-up). Each must
give exactly what the plain path gives: the same model, bytes verdict, or error message."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from ceremony.errors import MetadataFormatError
from ceremony.notary.format import FileMeta, Targets, encoding, model, read_metadata
from ceremony.notary.format.serialization import write_metadata

GOOD = {"hashes": {"sha256": "x8XB1wxd7EQWq2FYr9CyI+9Awpsdwfl+2UKLlNTK2xw=",
                   "sha512": "FGl0QHAcOIX3yNX6pZ8za0ccqGMyA07/DT/dwC3JsYuDVuhA21SCPI/S8svQkGlpzx"
                             "Ms+Lucc9x2m0/9gXvSPQ=="}, "length": 8}


def document(entries: dict) -> bytes:
    signed = {"_type": "Targets", "delegations": {"keys": {}, "roles": []},
              "expires": "2030-01-01T00:00:00Z", "targets": entries, "version": 1}
    return json.dumps({"signed": signed, "signatures": []}, separators=(",", ":"),
                      ensure_ascii=False).encode()


def outcome(data: bytes):
    try:
        file = read_metadata(data, "t.json", Targets)
    except MetadataFormatError as exc:
        return str(exc)
    targets = file.signed.targets
    return (file.metadata, file.go_exact, file.signed_bytes, list(targets),
            {name: targets[name] for name in list(targets)[:3]}, write_metadata(file.metadata))


def all_ways(data: bytes) -> list:
    """Hook parse + bulk check; counted parse + bulk check with the parser's columns; each
    entry on its own."""
    results = []
    with mock.patch.object(encoding, "FAST_PARSE_MIN_BYTES", 1 << 62):
        results.append(outcome(data))
    with mock.patch.object(encoding, "FAST_PARSE_MIN_BYTES", 0):
        results.append(outcome(data))
        with mock.patch.object(model, "_plain_entries_valid", lambda *args: False):
            results.append(outcome(data))
    return results


BAD_ENTRIES = {
    "negative length": {**GOOD, "length": -1},
    "length 2**53": {**GOOD, "length": 2**53},
    "length over 2**53": {**GOOD, "length": 2**53 + 1},
    "boolean length": {**GOOD, "length": True},
    "string length": {**GOOD, "length": "8"},
    "null length": {**GOOD, "length": None},
    "zero length": {**GOOD, "length": 0},
    "hashes an array": {**GOOD, "hashes": []},
    "hashes a string": {**GOOD, "hashes": "x"},
    "hash a number": {**GOOD, "hashes": {"sha256": 3}},
    "hash not base64": {**GOOD, "hashes": {"sha256": "QQ="}},
    "hash with unclean bits": {**GOOD, "hashes": {"sha256": "QR=="}},
    "hash padded after a full group": {**GOOD, "hashes": {"sha256": "AAAA="}},
    "hash not ASCII": {**GOOD, "hashes": {"sha256": "QQ=é"}},
    "no hashes": {**GOOD, "hashes": {}},
    "other algorithms": {**GOOD, "hashes": {"md5": "QQ==", "sha256": "QUJD"}},
    "one algorithm": {**GOOD, "hashes": {"sha256": "QUJD"}},
    "missing hashes": {"length": 8},
    "missing length": {"hashes": GOOD["hashes"]},
    "custom": {**GOOD, "custom": {"a": [1, "b"]}},
    "custom null": {**GOOD, "custom": None},
    "unknown field": {**GOOD, "extra": 1},
    "fields in reverse order": {"length": 8, "hashes": GOOD["hashes"]},
    "hashes in reverse order": {**GOOD, "hashes": dict(reversed(GOOD["hashes"].items()))},
    "an array": [GOOD],
    "a string": "entry",
    "a number": 8,
    "null": None,
}


@pytest.mark.parametrize("where", [0, 17, 39])
@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
def test_every_way_of_reading_targets_agrees(case, where):
    entries = {f"releases/v{index}.tar.gz": GOOD for index in range(40)}
    entries[f"releases/v{where}.tar.gz"] = BAD_ENTRIES[case]
    first, *others = all_ways(document(entries))
    assert all(other == first for other in others), case


def test_duplicates_and_order_among_many_entries():
    entry = json.dumps(GOOD, separators=(",", ":"))
    names = [f'"t{index:02d}"' for index in range(40)]
    base = document({})
    for items in (names[:20] + [names[5]] + names[20:], names[::-1]):
        body = ",".join(f"{name}:{entry}" for name in items)
        data = base.replace(b'"targets":{}', f'"targets":{{{body}}}'.encode())
        first, *others = all_ways(data)
        assert all(other == first for other in others)
    assert first[1] is False  # names out of order: not what Go writes


def test_target_files_behave_like_a_dict():
    entries = {f"t{index:02d}": GOOD for index in range(40)}
    with mock.patch.object(encoding, "FAST_PARSE_MIN_BYTES", 0):
        targets = read_metadata(document(entries), "t.json", Targets).signed.targets
    assert type(targets).__name__ == "TargetFiles"
    plain = {name: targets[name] for name in entries}
    assert targets == plain and plain == targets and len(targets) == 40
    assert "t00" in targets and "nope" not in targets and targets.get("nope") is None
    meta = targets["t01"]
    assert isinstance(meta, FileMeta) and meta.length == 8 and targets["t01"] is meta
    assert meta.hashes["sha256"].hex().startswith("c7c5c1d7")
    targets["new"] = FileMeta(1, {"sha256": b"\0" * 32})
    del targets["t00"]
    assert list(targets)[-1] == "new" and "t00" not in targets and len(targets) == 40
    assert targets.copy() == dict(targets.items()) and "TargetFiles(" in repr(targets)


def test_the_fast_paths_are_taken_for_plain_entries():
    entries = {f"t{index:02d}": GOOD for index in range(40)}
    with mock.patch.object(encoding, "FAST_PARSE_MIN_BYTES", 0):
        parsed = encoding.parse_json(document(entries), "t.json")
    targets = parsed.value["signed"]["targets"]
    columns = parsed.columns_of(targets)
    assert columns is not None and columns.keys == ("hashes", "length")
    assert parsed.columns_of(columns.values["hashes"]).keys == ("sha256", "sha512")
    assert parsed.columns_of(dict(targets)) is None  # known by identity only
    assert not parsed.may_hold_zero and parsed.unsorted_objects == 1  # the envelope
    assert model._plain_entries_valid(targets, parsed.columns_of)
    assert model._plain_entries_valid(targets)
