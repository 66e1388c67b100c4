"""The TUF 1.0 byte format against python-tuf and securesystemslib themselves: canonical JSON,
key IDs, signatures of every scheme, and model round trips that keep unknown fields."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.formats import encode_canonical as sslib_canonical
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    SuccinctRoles,
    TargetFile,
    Targets,
)
from tuf.api.serialization.json import JSONSerializer

from ceremony.tuf.canonical import encode_canonical, encode_canonical_parsed, load_json
from ceremony.tuf.errors import TufFormatError
from ceremony.tuf.keys import Key, key_from_public
from ceremony.tuf.model import Metadata as OurMetadata
from ceremony.tuf.targets import DelegatedRole as OurDelegatedRole
from ceremony.tuf.targets import SuccinctRoles as OurSuccinct

SAMPLES = [
    {"b": 1, "a": [True, False, None, -5, 0], "é": "ünïcode \" \\ \n\t\u2028 ☃ 𝄞"},
    {"nested": {"z": {"y": [], "x": {}}, "A": "B"}, "": ""},
    {"10": 1, "9": 2, "a": 3, "B": 4, "_type": "root"},
]


@pytest.mark.parametrize("value", SAMPLES + [
    {"c": "\x00\x01\x1f\x7f \b\f\r / \\n \\\\\" \\u0041", "k\n": ["\\", "\""]}])
def test_canonical_json_is_securesystemslibs(value):
    expected = sslib_canonical(value).encode("utf-8")
    assert encode_canonical(value) == expected
    assert encode_canonical_parsed(value) == expected  # the fast path for files read


def test_reader_refuses_floats_duplicates_and_bad_utf8():
    with pytest.raises(TufFormatError, match="fraction or exponent"):
        load_json(b'{"version": 1.0}')
    with pytest.raises(TufFormatError, match="duplicate key 'a'"):
        load_json(b'{"a": 1, "a": 2}')
    with pytest.raises(TufFormatError, match="not UTF-8"):
        load_json(b'{"a": "\xff"}')
    with pytest.raises(TufFormatError, match="no canonical JSON form"):
        encode_canonical({"a": 1.5})


PRIVATE_KEYS = {
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "rsa": lambda: rsa.generate_private_key(65537, 2048),
}


@pytest.mark.parametrize("kind", sorted(PRIVATE_KEYS))
def test_key_ids_and_signatures_match_securesystemslib(kind):
    private = PRIVATE_KEYS[kind]()
    theirs = SSlibKey.from_crypto(private.public_key())
    ours = key_from_public(private.public_key())
    assert (ours.keyid, ours.keytype, ours.scheme, ours.keyval) == \
        (theirs.keyid, theirs.keytype, theirs.scheme, theirs.keyval)
    assert ours.default_keyid() == ours.keyid
    payload = encode_canonical({"_type": "targets", "version": 1})
    sig = CryptoSigner(private, theirs).sign(payload)
    assert ours.verify(sig.signature, payload)
    assert not ours.verify(sig.signature, payload + b" ")
    assert not ours.verify("zz" + sig.signature[2:], payload)


def test_old_ecdsa_keytype_spelling_verifies():
    private = ec.generate_private_key(ec.SECP256R1())
    theirs = SSlibKey.from_crypto(private.public_key())
    old = Key.from_dict("x", {"keytype": "ecdsa-sha2-nistp256", "scheme": "ecdsa-sha2-nistp256",
                              "keyval": theirs.keyval})
    sig = CryptoSigner(private, theirs).sign(b"payload")
    assert old.verify(sig.signature, b"payload")


def _round_trip(md: Metadata) -> None:
    data = md.to_bytes(JSONSerializer())
    ours = OurMetadata.from_bytes(data, "f.json")
    assert ours.to_dict() == json.loads(data)
    assert ours.signed_bytes() == md.signed_bytes
    assert ours.to_bytes() == data


def test_python_tuf_repository_round_trips(tmp_path):
    from tests.tuf.pytuf_repo import PyTufRepository
    repo = PyTufRepository.create(tmp_path)
    for path in sorted(repo.metadata_dir.iterdir()):
        _round_trip(Metadata.from_file(str(path)))


def test_unknown_fields_are_kept_and_signed():
    md = Metadata(Targets(expires=None))
    md.signed.unrecognized_fields["x-vendor"] = {"note": "kept"}
    md.signed.targets["a.txt"] = TargetFile(3, {"sha256": "00" * 32}, "a.txt",
                                            unrecognized_fields={"custom": {"k": [1, 2]}})
    md.unrecognized_fields["x-envelope"] = True
    _round_trip(md)


def test_delegations_paths_prefixes_and_succinct_bins_as_python_tuf():
    explicit = Delegations(keys={}, roles={
        "a": DelegatedRole("a", [], 1, False, paths=["files/*", "deep/*/x.txt"]),
        "b": DelegatedRole("b", [], 1, True, path_hash_prefixes=["0", "8f"]),
    })
    succinct = Delegations(keys={}, succinct_roles=SuccinctRoles([], 1, 6, "bin"))
    paths = ["files/a.txt", "files/sub/a.txt", "deep/q/x.txt", "deep/x.txt", "x", "é/ü.bin"]
    for name in ("a", "b"):
        theirs = explicit.roles[name]
        ours = OurDelegatedRole.from_dict(theirs.to_dict())
        assert ours.to_dict() == theirs.to_dict()
        for p in paths + [f"t{i}" for i in range(64)]:
            assert ours.is_delegated_path(p) == theirs.is_delegated_path(p), (name, p)
    theirs_s = succinct.succinct_roles
    ours_s = OurSuccinct.from_dict(theirs_s.to_dict())
    assert list(ours_s.roles()) == list(theirs_s.get_roles())
    for p in paths + [f"t{i}" for i in range(200)]:
        assert ours_s.role_for_target(p) == theirs_s.get_role_for_target(p)
    md = Metadata(Targets(expires=None, delegations=succinct))
    _round_trip(md)


@pytest.mark.parametrize("change, match", [
    (lambda s: s.update(spec_version="2.0.0"), "not 1.x"),
    (lambda s: s.update(version=0), "version: must be at least 1, got 0"),
    (lambda s: s.update(version=True), "expected an integer >= 1, got a boolean"),
    (lambda s: s.update(expires="2030-01-01T00:00:00+00:00"), "YYYY-MM-DDTHH:MM:SSZ"),
    (lambda s: s["roles"].pop("timestamp"), "must list exactly"),
    (lambda s: s["roles"]["root"]["keyids"].append("f" * 64), "not in root's keys"),
    (lambda s: s["roles"]["root"].update(threshold=0), "threshold: must be at least 1"),
    (lambda s: s.update(_type="targets"), "missing required field 'targets'"),
])
def test_bad_roots_are_refused_naming_the_field(tmp_path, change, match):
    from tests.tuf.pytuf_repo import PyTufRepository
    repo = PyTufRepository.create(tmp_path)
    raw = json.loads((repo.metadata_dir / "1.root.json").read_bytes())
    change(raw["signed"])
    with pytest.raises(TufFormatError, match=match) as info:
        OurMetadata.from_bytes(json.dumps(raw).encode(), "1.root.json")
    assert str(info.value).startswith("1.root.json: ")
