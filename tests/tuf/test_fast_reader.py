"""The fast read of TUF metadata (no per-object duplicate-key hook, duplicates proved absent by
counting colons; targets entries checked in bulk, built lazily) refuses everything the strict
reader refuses and gives the same canonical bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from securesystemslib.formats import encode_canonical as sslib_canonical

from ceremony.tuf.canonical import encode_canonical
from ceremony.tuf.errors import TufFormatError
from ceremony.tuf.model import Metadata
from ceremony.tuf.targetmap import TargetMap
from ceremony.tuf.targets import TargetFile

DIGEST = "ab" * 32


def targets_doc(entries: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    if entries is None:
        entries = {f"files/a-{i}.txt": {"length": i, "hashes": {"sha256": DIGEST}}
                   for i in range(5)}
    return {"signatures": [{"keyid": "11" * 32, "sig": "00"}],
            "signed": {"_type": "targets", "spec_version": "1.0.31", "version": 3,
                       "expires": "2030-01-01T00:00:00Z", "targets": entries, **extra}}


def pretty(doc: dict[str, Any]) -> bytes:
    """As python-tuf's JSONSerializer writes a file."""
    return json.dumps(doc, indent=1, separators=(",", ": "), sort_keys=True).encode()


def test_a_python_tuf_style_file_takes_the_fast_path_with_exact_canonical_bytes():
    doc = targets_doc(delegations={"keys": {}, "roles": [
        {"name": "a:b", "keyids": [], "threshold": 1, "terminating": False,
         "paths": ["x:*", ":"]}]}, **{"x-note": "time: 12:00\nnext line"})
    md = Metadata.from_bytes(pretty(doc))
    assert md._read_payload is not None
    assert md.signed_bytes() == encode_canonical(doc["signed"])
    assert md.signed_bytes() == sslib_canonical(doc["signed"]).encode()


@pytest.mark.parametrize("text", [
    # a duplicate target, the same value twice or another one
    lambda t: t.replace('"files/a-1.txt": {', '"files/a-1.txt": {"length": 1, "hashes": '
                        '{"sha256": "' + DIGEST + '"}},\n  "files/a-1.txt": {', 1),
    # a duplicate field inside an entry and inside its hashes
    lambda t: t.replace('"length": 2', '"length": 2, "length": 3', 1),
    lambda t: t.replace('"sha256": "', '"sha256": "' + DIGEST + '", "sha256": "', 1),
    # a duplicate of `signed` and of a top-level field of signed
    lambda t: t.replace('"version": 3', '"version": 2, "version": 3', 1),
    lambda t: t.replace('"signatures": [', '"signed": {}, "signatures": [', 1),
    # a duplicate whose key holds colons (each pair still has its one separator)
    lambda t: t.replace('"targets": {', '"targets": {"a:b": {"length": 1, "hashes": {"sha256": '
                        '"' + DIGEST + '"}}, "a:b": {"length": 1, "hashes": {"sha256": "'
                        + DIGEST + '"}},', 1),
])
def test_duplicate_keys_are_refused_as_by_the_strict_reader(text):
    data = text(pretty(targets_doc()).decode()).encode()
    assert data != pretty(targets_doc())
    with pytest.raises(TufFormatError, match="duplicate key"):
        Metadata.from_bytes(data, "1.targets.json")


def test_a_colon_written_as_an_escape_goes_to_the_strict_reader():
    doc = targets_doc({"a:b": {"length": 1, "hashes": {"sha256": DIGEST}}})
    data = pretty(doc).replace(b"a:b", b"a\\u003ab")
    md = Metadata.from_bytes(data)
    assert md._read_payload is None and md.signed_bytes() == encode_canonical(doc["signed"])
    dup = data.replace(b'"targets": {', b'"targets": {"a\\u003ab": 1, ', 1)
    with pytest.raises(TufFormatError, match="duplicate key"):
        Metadata.from_bytes(dup)


def test_a_pair_the_model_drops_goes_to_the_strict_reader():
    # an explicit null is read as absent, so the model's bytes lack the pair: not "proved"
    doc = targets_doc(delegations=None)
    md = Metadata.from_bytes(pretty(doc))
    assert md._read_payload is None
    assert b"delegations" not in md.signed_bytes()


def test_floats_and_bad_json_are_refused_with_the_strict_readers_words():
    with pytest.raises(TufFormatError, match="fraction or exponent"):
        Metadata.from_bytes(pretty(targets_doc()).replace(b'"length": 2', b'"length": 2.0'))
    with pytest.raises(TufFormatError, match="not JSON"):
        Metadata.from_bytes(pretty(targets_doc())[:-3])


BAD_ENTRIES = [
    ("../x", {"length": 1, "hashes": {"sha256": DIGEST}}, "'.' or '..' part"),
    ("/abs", {"length": 1, "hashes": {"sha256": DIGEST}}, "empty or absolute"),
    ("", {"length": 1, "hashes": {"sha256": DIGEST}}, "empty or absolute"),
    ("a/./b", {"length": 1, "hashes": {"sha256": DIGEST}}, "'.' or '..' part"),
    ("a\\b", {"length": 1, "hashes": {"sha256": DIGEST}}, "backslash or a control"),
    ("a\x07b", {"length": 1, "hashes": {"sha256": DIGEST}}, "backslash or a control"),
    ("ok", {"length": -1, "hashes": {"sha256": DIGEST}}, "must be at least 0, got -1"),
    ("ok", {"length": True, "hashes": {"sha256": DIGEST}}, "integer >= 0, got a boolean"),
    ("ok", {"length": 1, "hashes": {}}, "at least one algorithm"),
    ("ok", {"length": 1, "hashes": {"sha256": "xyz"}}, "not a hex digest"),
    ("ok", {"length": 1, "hashes": {"sha256": ""}}, "not a hex digest"),
    ("ok", {"length": 1, "hashes": {"sha256": 5}}, "sha256: expected a string, got an integer"),
    ("ok", {"length": 1}, "missing required field 'hashes'"),
    ("ok", [], "ok: expected an object, got an array"),
]


@pytest.mark.parametrize(("path", "entry", "words"), BAD_ENTRIES)
def test_every_bad_entry_is_refused_among_many_good_ones(path, entry, words):
    entries = {f"good/{i}.txt": {"length": i, "hashes": {"sha256": DIGEST}} for i in range(50)}
    entries[path] = entry
    with pytest.raises(TufFormatError, match="targets") as err:
        Metadata.from_bytes(pretty(targets_doc(entries)))
    assert words in str(err.value)


def test_names_the_bulk_check_sends_to_the_exact_rule_are_accepted():
    # a "/." that is no '.' part, and a non-ASCII name: the per-entry rule decides
    entries = {"a/.well-known/x": {"length": 1, "hashes": {"sha256": DIGEST}},
               "caf\u00e9/x": {"length": 2, "hashes": {"sha256": DIGEST},
                               "custom": {"note": "kept"}}}
    md = Metadata.from_bytes(pretty(targets_doc(entries)))
    assert md.signed.targets["caf\u00e9/x"].unrecognized == {"custom": {"note": "kept"}}
    assert md.signed_bytes() == encode_canonical(targets_doc(entries)["signed"])


def test_the_lazy_map_builds_on_use_and_keeps_changes():
    raw = {f"f{i}": {"length": i, "hashes": {"sha256": DIGEST}} for i in range(3)}
    targets = TargetMap.read(raw)
    assert len(targets) == 3 and list(targets) == ["f0", "f1", "f2"] and "f1" in targets
    assert targets["f2"] == TargetFile(2, {"sha256": DIGEST}, {})
    assert targets == {k: TargetFile(v["length"], v["hashes"], {}) for k, v in raw.items()}
    targets["f1"].length = 10
    targets["f9"] = TargetFile(9, {"sha512": "cd" * 64}, {})
    del targets["f0"]
    assert targets.raw() == {"f1": {"length": 10, "hashes": {"sha256": DIGEST}},
                             "f2": {"length": 2, "hashes": {"sha256": DIGEST}},
                             "f9": {"length": 9, "hashes": {"sha512": "cd" * 64}}}
    assert list(targets.raw()) == ["f1", "f2", "f9"]


@pytest.mark.parametrize("entries", [
    {"b": {"length": 1, "hashes": {"sha512": "cd" * 64, "sha256": DIGEST}},
     "a": {"length": 0, "hashes": {"sha256": DIGEST, "sha512": "cd" * 64}}},
    {"a": {"length": 1, "hashes": {"sha256": DIGEST}},
     "b": {"length": 2, "hashes": {"sha512": "cd" * 64}}},
    {"say \"hi\"/{x}.txt": {"length": 1, "hashes": {"sha256": DIGEST}}},
    {"{}/caf\u00e9 \u2603/x:y.txt": {"length": 12, "hashes": {"sha256": DIGEST}},
     "Z/x": {"length": 10**18, "hashes": {"sha256": DIGEST}}},
    {"a": {"length": 1, "hashes": {"odd{alg}": DIGEST}}},
    {f"r/{i:05d}": {"length": i, "hashes": {"sha256": DIGEST, "blake2b": "ef" * 64}}
     for i in range(2000, 0, -7)},
])
def test_the_targets_map_written_directly_is_the_canonical_form(entries):
    doc = targets_doc(entries, delegations={"keys": {}, "roles": []})
    data = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False).encode()
    md = Metadata.from_bytes(data)
    assert md._read_payload is not None
    assert md.signed_bytes() == encode_canonical(doc["signed"])
    assert md.signed_bytes() == sslib_canonical(doc["signed"]).encode()
    md.signed.targets[next(iter(entries))].length = 99  # changed: the general encoder writes it
    doc["signed"]["targets"][next(iter(entries))]["length"] = 99
    assert Metadata(md.signed, [], strictly_read=True).signed_bytes() == \
        encode_canonical(doc["signed"])


def test_the_bulk_check_accepts_only_what_the_per_entry_rules_accept():
    import random

    from ceremony.tuf.files import check_target_path
    from ceremony.tuf.targetmap import _common_and_valid
    rng = random.Random(14)
    names = ["a", "a/b.txt", ".x", "a/.x", "a/../b", "/a", "", "a//b", "a/", "a\\b", "a\tb",
             "caf\u00e9", "a\x7fb", "a\u2028b", "x/./y", "q\"uote", "..", "a/b/.."]
    lengths = [0, 1, 10**20, -1, True, None, "1", 1.5]
    digests = [DIGEST, "AB" * 8, "", "xy", 5, None, "\u0661\u0662"]

    def per_entry(raw: dict) -> bool:
        try:
            for path, value in raw.items():
                check_target_path(path)
                TargetFile.from_dict(value)
        except TufFormatError:
            return False
        return True

    for _ in range(3000):
        raw = {}
        for _ in range(rng.randint(1, 4)):
            entry = {"length": rng.choice(lengths),
                     "hashes": {rng.choice(["sha256", "sha512"]): rng.choice(digests)}}
            if rng.random() < 0.1:
                entry.pop(rng.choice(["length", "hashes"]))
            if rng.random() < 0.1:
                entry["hashes"] = {}
            raw[rng.choice(names) if rng.random() < 0.5 else f"ok/{rng.randint(0, 99)}"] = entry
        accepted = per_entry(raw)
        if _common_and_valid(raw) is not None:
            assert accepted, raw
        try:
            TargetMap.read(raw)
            assert accepted, raw
        except TufFormatError:
            assert not accepted, raw


def test_a_replaced_signed_part_is_never_given_the_bytes_read() -> None:
    """The canonical bytes kept from reading stand for the `signed` read: put another `signed`
    in its place and signed_bytes() encodes that one, so a signature never covers stale bytes."""
    import dataclasses

    data = json.dumps({"signed": {"_type": "timestamp", "spec_version": "1.0.31",
                                  "version": 3, "expires": "2030-01-01T00:00:00Z",
                                  "meta": {"snapshot.json": {"version": 3}}},
                       "signatures": []}).encode()
    md = Metadata.from_bytes(data)
    before = md.signed_bytes()
    md.signed = dataclasses.replace(md.signed, version=4)
    after = md.signed_bytes()
    assert b'"version":4' in after and after != before


# The one strict reader's rules (groundfloor.strictjson) hold on both paths: the fast one
# (no escapes: colons counted) and the strict one (a `\u` escape sends the file there).


def _both_paths(data: bytes) -> list[bytes]:
    escaped = data.replace(b'"version": 3', b'"version": 3, "x-note": "caf\\u00e9"', 1)
    assert escaped != data
    return [data, escaped]


@pytest.mark.parametrize(("old", "new", "words"), [
    (b'"length": 2', b'"length": 12345678901234567890', "is too large"),  # 20 digits
    (b'"length": 2', b'"length": -12345678901234567890', "is too large"),
    (b'"length": 2', b'"length": 2, "custom": {"n": [1, 12345678901234567890]}', "is too large"),
    (b'"length": 2', b'"length": 1' + b"0" * 5000, "is too large"),
    (b'"length": 2', b'"length": NaN', "not a JSON number"),
    (b'"length": 2', b'"length": -Infinity', "not a JSON number"),
    (b'"length": 2', b'"length": 2e0', "fraction or exponent"),
])
def test_numbers_are_refused_alike_on_both_paths(old, new, words):
    data = pretty(targets_doc()).replace(old, new, 1)
    for variant in _both_paths(data):
        with pytest.raises(TufFormatError, match=words) as err:
            Metadata.from_bytes(variant, "1.targets.json")
        assert str(err.value).startswith("1.targets.json: ")


def test_the_longest_integers_and_digit_runs_in_strings_are_accepted():
    entries = {"a:12345678901234567890123": {"length": 10**19 - 1, "hashes": {"sha256": DIGEST},
                                             "custom": {"n": -(10**19 - 1)}},
               "b/ 123456789012345678901": {"length": 0, "hashes": {"sha256": DIGEST}}}
    doc = targets_doc(entries)
    for data in _both_paths(pretty(doc)):
        md = Metadata.from_bytes(data)
        assert md.signed.targets["a:12345678901234567890123"].length == 10**19 - 1
    assert Metadata.from_bytes(pretty(doc)).signed_bytes() == encode_canonical(doc["signed"])


def test_a_document_too_costly_to_parse_is_refused_before_either_reader_runs():
    from ceremony.tuf.canonical import load_json
    data = b'{"signatures": [], "signed": {"x": [' + b"[]," * 1_200_000 + b'[]]}}'
    for read in (lambda: Metadata.from_bytes(data, "1.targets.json"),
                 lambda: load_json(data, "1.targets.json")):
        with pytest.raises(TufFormatError, match="refused before parsing") as err:
            read()
        assert str(err.value).startswith("1.targets.json: ")


def test_the_unhooked_parse_defers_to_the_strict_one_only_where_a_long_number_may_be():
    from groundfloor.strictjson import loads_without_key_check
    assert loads_without_key_check(b'{"a": [1, -1234567890123456789], "b": "x"}') == \
        {"a": [1, -1234567890123456789], "b": "x"}
    assert loads_without_key_check(b'{"a": 12345678901234567890}') is None
    assert loads_without_key_check(b' -12345678901234567890') is None
    assert loads_without_key_check(b'1234567890123456789') == 1234567890123456789
    assert loads_without_key_check(b'{"a":\n12345678901234567890}') is None
    assert loads_without_key_check(b'{"a": "-12345678901234567890"}') is None  # loads decides
    assert loads_without_key_check(b'{"a": "ab12345678901234567890"}') == \
        {"a": "ab12345678901234567890"}  # no number starts there: no second parse
    assert loads_without_key_check(b'{"a": 1, "a": 2}') == {"a": 2}  # the caller's to prove
    for bad in (b'{"a": 1.5}', b'{"a": NaN}', b'{"a": ', b'{"a": "\xff"}'):
        with pytest.raises(ValueError):
            loads_without_key_check(bad)
