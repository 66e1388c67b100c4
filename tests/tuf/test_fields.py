"""TUF's field readers: the type checks are the one strict reader's (groundfloor.strictjson),
each refusal a TufFormatError naming the path from the file down; unknown fields are kept."""

from __future__ import annotations

import json

import pytest

from ceremony.tuf import fields as f
from ceremony.tuf.errors import TufFormatError
from ceremony.tuf.model import Metadata

DIGEST = "ab" * 32


def targets_file(**signed_extra) -> dict:
    return {"signatures": [{"keyid": "11" * 32, "sig": "00"}],
            "signed": {"_type": "targets", "spec_version": "1.0.31", "version": 1,
                       "expires": "2030-01-01T00:00:00Z",
                       "targets": {"a": {"length": 1, "hashes": {"sha256": DIGEST}}},
                       **signed_extra}}


def role(**changes) -> dict:
    return {"name": "releases", "keyids": [], "threshold": 1, "terminating": False,
            "paths": ["r/*"], **changes}


@pytest.mark.parametrize(("signed_extra", "words"), [
    ({"delegations": {"keys": {}, "roles": [role(threshold="1")]}},
     "signed.delegations.roles[0].threshold: expected an integer >= 1, got a string"),
    ({"delegations": {"keys": {}, "roles": [role(threshold=0)]}},
     "signed.delegations.roles[0].threshold: must be at least 1, got 0"),
    ({"delegations": {"keys": {}, "roles": [role(keyids=["a", 5])]}},
     "signed.delegations.roles[0].keyids[1]: expected a string, got an integer"),
    ({"delegations": {"keys": {}, "roles": [role(keyids=["a", "a"])]}},
     "signed.delegations.roles[0].keyids: lists the same entry twice"),
    ({"delegations": {"keys": {}, "roles": [role(terminating=1)]}},
     "signed.delegations.roles[0].terminating: expected true or false, got an integer"),
    ({"delegations": {"keys": {}, "roles": [role(name=None)]}},
     "signed.delegations.roles[0].name: expected a string, got null"),
    ({"delegations": {"keys": {}, "roles": {}}},
     "signed.delegations.roles: expected an array, got an object"),
    ({"delegations": {"keys": {}, "roles": ["x"]}},
     "signed.delegations.roles[0]: expected an object, got a string"),
    ({"delegations": []}, "signed.delegations: expected an object, got an array"),
])
def test_a_wrong_type_is_named_by_its_path(signed_extra, words):
    with pytest.raises(TufFormatError) as err:
        Metadata.from_bytes(json.dumps(targets_file(**signed_extra)).encode(), "t.json")
    assert str(err.value) == f"t.json: {words}"


def test_the_envelope_and_signatures_are_typed_too():
    doc = targets_file()
    doc["signatures"] = {"keyid": "x"}
    with pytest.raises(TufFormatError, match="signatures: expected an array, got an object"):
        Metadata.from_dict(doc)
    doc["signatures"] = [{"keyid": 5, "sig": "00"}]
    with pytest.raises(TufFormatError, match=r"signatures\[0\].keyid: expected a string"):
        Metadata.from_dict(doc)


def test_fields_are_popped_and_unknown_ones_kept():
    data = {"version": 3, "flag": True, "names": ["a"], "x-vendor": {"n": 1}}
    assert f.take_int(data, "version", 1) == 3
    assert f.take_bool(data, "flag") is True
    assert f.take_str_list(data, "names", unique=True) == ["a"]
    assert f.take_int(data, "length", 0, None) is None  # absent, with a default
    assert f.take_dict(data, "meta", None) is None
    assert data == {"x-vendor": {"n": 1}}
    with pytest.raises(TufFormatError, match="missing required field 'version'"):
        f.take_int(data, "version", 1)
    doc = targets_file(**{"x-vendor": {"n": [1, "two"]}})
    doc["signatures"][0]["x-extra"] = "kept"
    md = Metadata.from_dict(doc)
    assert md.signed.unrecognized == {"x-vendor": {"n": [1, "two"]}}
    assert md.to_dict() == doc
