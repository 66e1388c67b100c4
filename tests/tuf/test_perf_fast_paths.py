"""The shortcuts that keep TUF verification near its floor (bench/verify.py) refuse what the
strict reader refuses: integers bounded where the model read them (a big targets map's
lengths, then a walk of the rest) instead of by a pass over the bytes; colons counted in the
parse-cost pass; the targets map written by one %-format per entry; a role's usual shape
read in one step; an expiry parsed once per distinct text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.formats import encode_canonical as sslib_canonical

from ceremony.tuf.canonical import check_cost, encode_canonical, parse_strict
from ceremony.tuf.errors import TufFormatError
from ceremony.tuf.model import Metadata, Root
from ceremony.tuf.signed import Role
from ceremony.tuf.targetmap import TargetMap
from ceremony.tuf.verify import RepositoryVerifier
from groundfloor.jsonlimits import check_parse_cost
from groundfloor.strictjson import integers_within, long_integer_in_text

DIGEST = "ab" * 32
LONG = 12345678901234567890  # 20 digits: one over the strict reader's bound


def targets_doc(**extra: Any) -> dict[str, Any]:
    entries = {f"files/a-{i}.txt": {"length": i, "hashes": {"sha256": DIGEST}}
               for i in range(50)}
    return {"signatures": [{"keyid": "11" * 32, "sig": "00"}],
            "signed": {"_type": "targets", "spec_version": "1.0.31", "version": 3,
                       "expires": "2030-01-01T00:00:00Z", "targets": entries, **extra}}


def pretty(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=1, separators=(",", ": "), sort_keys=True).encode()


def strict_refusal(data: bytes) -> str:
    with pytest.raises(TufFormatError) as err:
        Metadata.from_dict(parse_strict(data, "1.targets.json"), "1.targets.json")
    return str(err.value)


def test_a_clean_big_map_takes_the_model_bound_and_gives_exact_bytes():
    doc = targets_doc(delegations={"keys": {}, "roles": [
        {"name": "r", "keyids": [], "threshold": 1, "terminating": False, "paths": ["x/*"]}]},
        **{"x-n": [10**19 - 1, -(10**19 - 1), {"deep": [[9999999999999999999]]}]})
    md = Metadata.from_bytes(pretty(doc))
    assert md._read_payload is not None  # the fast read, not the strict fallback
    assert isinstance(md.signed.targets, TargetMap)
    assert md.signed.targets.integers_as_read() is not None  # the model's bound applied
    assert md.signed_bytes() == encode_canonical(doc["signed"])
    assert md.signed_bytes() == sslib_canonical(doc["signed"]).encode()


@pytest.mark.parametrize("place", [
    lambda doc, n: doc["signed"].update({"x-unknown": n}),
    lambda doc, n: doc["signed"].update({"x-unknown": {"a": [1, [2, n]]}}),
    lambda doc, n: doc.update({"x-envelope": n}),
    lambda doc, n: doc["signatures"][0].update({"x": [n]}),
    lambda doc, n: doc["signed"].update({"delegations": {"keys": {}, "roles": [
        {"name": "r", "keyids": [], "threshold": n, "terminating": False, "paths": ["x"]}]}}),
    lambda doc, n: doc["signed"]["targets"]["files/a-7.txt"].update({"length": n}),
])
@pytest.mark.parametrize("number", [LONG, -LONG, 10**19, -(10**19)])
def test_a_20_digit_integer_anywhere_is_refused_as_by_the_strict_reader(place, number):
    doc = targets_doc()
    place(doc, number)
    data = pretty(doc)
    words = strict_refusal(data)
    assert "too large" in words
    with pytest.raises(TufFormatError) as err:
        Metadata.from_bytes(data, "1.targets.json")
    assert str(err.value) == words


@pytest.mark.parametrize(("old", "new", "words"), [
    (b'"length": 7\n', b'"length": 7, "length": 7\n', "duplicate key"),
    (b'"files/a-7.txt": {', b'"files/a-7.txt": {"length": 1, "hashes": {"sha256": "'
     + DIGEST.encode() + b'"}}, "files/a-7.txt": {', "duplicate key"),
    (b'"version": 3', b'"version": 3, "x": 1, "x": ' + str(LONG).encode(), "too large"),
    (b'"length": 7\n', b'"length": 7.0\n', "fraction or exponent"),
    (b'"length": 7\n', b'"length": 7, "x": [1.5]\n', "fraction or exponent"),
    (b'"version": 3', b'"version": 3, "x": NaN', "not a JSON number"),
    (b'"version": 3', b'"version": 3, "x": Infinity', "not a JSON number"),
    (b'"version": 3', b'"version": 3, "x": 1e2', "fraction or exponent"),
])
def test_hostile_numbers_and_duplicates_are_refused_with_the_strict_words(old, new, words):
    data = pretty(targets_doc()).replace(old, new, 1)
    assert data != pretty(targets_doc())
    with pytest.raises(TufFormatError, match=words) as err:
        Metadata.from_bytes(data, "1.targets.json")
    assert str(err.value) == strict_refusal(data)


def test_integers_within_is_the_digit_bound():
    assert integers_within({"a": [9999999999999999999, -9999999999999999999, 0, True]})
    for bad in (10**19, -(10**19), 10**40):
        assert not integers_within({"a": {"b": [1, bad]}})
        assert integers_within({"a": {"b": [1, bad]}, "c": 1},
                               skip=None) is False
    inner = {"b": [10**19]}
    assert integers_within({"a": inner}, skip=inner)  # the caller bounds that one itself
    assert not integers_within([inner], skip={"b": [10**19]})  # by identity, not equality
    assert not integers_within({"a": 1000}, 3) and integers_within({"a": 999}, 3)


def test_long_integer_in_text_over_estimates_never_under():
    assert long_integer_in_text(b'{"a": ' + str(LONG).encode() + b"}")
    assert long_integer_in_text(b" -" + str(LONG).encode())
    assert long_integer_in_text(b'{"a": "x ' + str(LONG).encode() + b'"}')  # loads decides
    assert not long_integer_in_text(b'{"a": 9999999999999999999, "b": "x12345678901234567890"}')


def test_the_parse_cost_pass_counts_every_colon():
    data = pretty(targets_doc(**{"x-note": "time: 12:00 a:b::c"}))
    assert check_parse_cost(data, "metadata") == data.count(b":")
    assert check_cost(data) == data.count(b":")
    big = b"[" + b'"a:b",' * 3_000_000 + b'"::"]'  # over the 4 MiB pieces the pass reads
    assert check_parse_cost(big, "metadata", budget=1 << 40) == big.count(b":")


@pytest.mark.parametrize("entries", [
    {"b/%s%d%%.txt": {"length": 1, "hashes": {"sha256": DIGEST}},
     "a/100%.txt": {"length": 0, "hashes": {"sha256": DIGEST}}},
    {f"z/{i}": {"length": 10**19 - i, "hashes": {"sha512": "cd" * 64, "sha256": DIGEST}}
     for i in range(30, 0, -1)},
    {"caf\u00e9/\u2603:x": {"length": 5, "hashes": {"sha256": DIGEST}}},
])
def test_the_formatted_map_is_the_canonical_form(entries):
    doc = targets_doc()
    doc["signed"]["targets"] = entries
    data = json.dumps(doc, indent=1, ensure_ascii=False).encode()  # keys not sorted
    md = Metadata.from_bytes(data)
    assert md._read_payload is not None
    assert md.signed.targets.canonical_pieces() is not None  # the formatted path wrote it
    assert md.signed_bytes() == sslib_canonical(doc["signed"]).encode()


@pytest.mark.parametrize(("role", "words"), [
    ({"keyids": ["a", "a"], "threshold": 1}, "lists the same entry twice"),
    ({"keyids": ["a"], "threshold": 0}, "must be at least 1"),
    ({"keyids": ["a"], "threshold": True}, "expected an integer"),
    ({"keyids": ["a"], "threshold": "1"}, "expected an integer"),
    ({"keyids": [1], "threshold": 1}, "expected a string"),
    ({"keyids": "a", "threshold": 1}, "expected an array"),
    ({"keyids": ["a"]}, "missing required field 'threshold'"),
])
def test_a_role_in_a_wrong_shape_is_refused_as_before(role, words):
    with pytest.raises(TufFormatError, match=words):
        Role.from_dict(role)


def test_a_role_in_the_usual_shape_is_read_in_one_step_and_owns_its_lists():
    data = {"keyids": ["a", "b"], "threshold": 2}
    role = Role.from_dict(data)
    assert (role.keyids, role.threshold, role.unrecognized) == (["a", "b"], 2, {})
    role.keyids.append("c")
    assert data["keyids"] == ["a", "b"]
    extra = Role.from_dict({"keyids": ["a"], "threshold": 1, "x": 1})
    assert extra.unrecognized == {"x": 1}


def test_a_bad_expiry_is_refused_every_time_not_cached():
    signed = {"_type": "root", "spec_version": "1.0.31", "version": 1,
              "expires": "2030-13-01T00:00:00Z", "consistent_snapshot": True, "keys": {},
              "roles": {r: {"keyids": [], "threshold": 1}
                        for r in ("root", "targets", "snapshot", "timestamp")}}
    for _ in range(2):
        with pytest.raises(TufFormatError, match="is not a time"):
            Root.from_dict(dict(signed))
    good = Root.from_dict({**signed, "expires": "2030-12-01T00:00:00Z"})
    assert good.expires_at.year == 2030 and good.expires_at.tzinfo is not None


@pytest.mark.parametrize("folder", [".", "meta", "meta/", "/abs/meta", "./meta"])
def test_the_verifier_names_files_as_pathlib_would(folder):
    assert RepositoryVerifier(folder)._path("1.root.json") == str(Path(folder) / "1.root.json")


@pytest.mark.parametrize(("key", "words"), [
    ({"keytype": "ed25519", "scheme": "ed25519"}, "key is missing 'keyval'"),
    ({"keytype": 1, "scheme": "ed25519", "keyval": {"public": "ab"}}, "must be strings"),
    ({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": 1}}, "string 'public'"),
    ({"keytype": "ed25519", "scheme": "ed25519", "keyval": ["ab"]}, "string 'public'"),
    ([], "must be an object"),
])
def test_a_key_in_a_wrong_shape_is_refused_as_before(key, words):
    from ceremony.tuf.keys import Key
    with pytest.raises(TufFormatError, match=words):
        Key.from_dict("k1", key)


def test_keys_and_signatures_in_the_usual_shape_keep_what_they_hold():
    from ceremony.tuf.keys import Key
    from ceremony.tuf.model import Signature
    usual = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ab" * 32}}
    key = Key.from_dict("k1", usual)
    assert key.to_dict() == usual and key.unrecognized == {}
    assert Key.from_dict("k1", {**usual, "x": [1]}).unrecognized == {"x": [1]}
    assert Signature.from_dict({"keyid": "k1", "sig": "00"}).to_dict() == \
        {"keyid": "k1", "sig": "00"}
    assert Signature.from_dict({"keyid": "k1", "sig": "00", "x": 1}).unrecognized == {"x": 1}
    for bad in ({"keyid": "k1", "sig": 0}, {"keyid": 1, "sig": "00"}, {"keyid": "k1"}, []):
        with pytest.raises(TufFormatError):
            Signature.from_dict(bad)


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.mkdir()])
def test_a_missing_role_file_or_a_folder_in_its_place_is_named_missing(tmp_path, make):
    from ceremony.tuf.errors import ConsistencyError
    make(tmp_path / "timestamp.json")
    with pytest.raises(ConsistencyError, match="is missing") as err:
        RepositoryVerifier(tmp_path)._load("timestamp.json", "timestamp")
    assert err.value.file == str(tmp_path / "timestamp.json")


def test_an_unreadable_role_file_keeps_the_readers_words(tmp_path):
    (tmp_path / "timestamp.json").write_bytes(b"{")
    with pytest.raises(TufFormatError, match="not JSON"):
        RepositoryVerifier(tmp_path)._load("timestamp.json", "timestamp")
