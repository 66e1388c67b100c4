"""Properties: read(write(x)) == x for generated models; the strict reader and the verifier never
fail with anything but a CeremonyError, whatever the bytes."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.errors import CeremonyError
from ceremony.notary.format import (
    DelegatedRole,
    Delegations,
    FileMeta,
    Instant,
    Key,
    Metadata,
    RepositoryFiles,
    Role,
    Root,
    Signature,
    Snapshot,
    Targets,
    Timestamp,
    read_metadata,
    signed_bytes,
    verify_repository,
    write_metadata,
)
from ceremony.notary.format.encoding import parse_time
from ceremony.notary.format.keys import KEY_TYPES
from tests.metadata.factory import SoftRepo

FIRST_NS, LAST_NS = parse_time("0001-01-01T00:00:00Z"), parse_time("9999-12-31T23:59:59Z")

# Strings Notary can encode: anything but control characters and lone surrogates, with the
# characters Go escapes in the file (<, >, &, U+2028, U+2029) made likely.
text = st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=0x20)
               | st.sampled_from("<>&\u2028\u2029\"\\é𝄞/"), max_size=10)
instants = st.builds(Instant, st.integers(FIRST_NS, LAST_NS + 999_999_999))
json_values = st.recursive(
    st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda children: st.lists(children | st.none(), max_size=3)
    | st.dictionaries(text, children | st.none(), max_size=3),
    max_leaves=8)


@st.composite
def keys(draw):
    keytype = draw(st.sampled_from(KEY_TYPES))
    size = st.just(32) if keytype == "ed25519" else st.integers(0, 90)
    return Key(keytype, draw(st.binary(min_size=draw(size), max_size=draw(size) if keytype ==
                                       "ed25519" else 90)))


@st.composite
def key_maps(draw, min_size=0):
    return draw(st.dictionaries(text | st.text("0123456789abcdef", min_size=64, max_size=64),
                                keys(), min_size=min_size, max_size=4))


def hashes(required: bool):
    free = st.dictionaries(text, st.binary(max_size=70), max_size=3)
    if not required:
        return free
    return st.builds(lambda sha256, sha512, extra: {**extra, "sha256": sha256,
                                                    **({"sha512": sha512} if sha512 else {})},
                     st.binary(min_size=32, max_size=32),
                     st.none() | st.binary(min_size=64, max_size=64),
                     free.map(lambda d: {k: v for k, v in d.items()
                                         if k not in ("sha256", "sha512")}))


@st.composite
def file_metas(draw, required_hashes: bool = False, custom: bool = True):
    meta = FileMeta(draw(st.integers(0, 2**53)), draw(hashes(required_hashes)))
    if custom and draw(st.booleans()):
        meta.custom = draw(json_values)
    return meta


@st.composite
def roots(draw):
    key_map = draw(key_maps(min_size=1))
    ids = list(key_map)
    roles = {name: Role(draw(st.lists(st.sampled_from(ids), max_size=3)),
                        draw(st.integers(1, 2**53)))
             for name in ("root", "targets", "snapshot", "timestamp")}
    return Root(draw(st.integers(1, 2**53)), draw(instants), key_map, roles, draw(st.booleans()))


@st.composite
def targets_models(draw):
    key_map = draw(key_maps())
    ids = list(key_map)
    roles = [DelegatedRole(draw(text), draw(st.lists(st.sampled_from(ids), max_size=3))
                           if ids else [], draw(st.integers(1, 9)),
                           draw(st.lists(text, max_size=3)))
             for _ in range(draw(st.integers(0, 3)))]
    return Targets(draw(st.integers(1, 2**53)), draw(instants),
                   draw(st.dictionaries(text, file_metas(), max_size=4)),
                   Delegations(key_map, roles))


@st.composite
def snapshots(draw):
    meta = draw(st.dictionaries(text, file_metas(True, False), max_size=3))
    meta["root"] = draw(file_metas(True, False))
    meta["targets"] = draw(file_metas(True, False))
    return Snapshot(draw(st.integers(1, 2**53)), draw(instants), meta)


timestamps = st.builds(lambda v, e, m: Timestamp(v, e, {"snapshot": m}),
                       st.integers(1, 2**53), instants, file_metas(True, False))
signatures = st.lists(st.builds(
    Signature, text, st.sampled_from(["ecdsa", "rsapss", "rsapkcs1v15", "eddsa"])
    | text.filter(lambda t: t == t.lower()), st.binary(max_size=80)), max_size=3)
models = st.builds(Metadata, roots() | targets_models() | snapshots() | timestamps, signatures)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models)
def test_read_of_write_is_identity(metadata):
    data = write_metadata(metadata)
    file = read_metadata(data, "generated.json", type(metadata.signed))
    assert file.metadata == metadata
    assert file.go_exact
    assert file.signed_bytes == signed_bytes(metadata.signed)
    assert write_metadata(file.metadata) == data


# --- the strict reader and the verifier under random damage --------------------------------------

REPO = SoftRepo.create()
REPO.add_delegation("targets/releases", paths=["a/"])
REPO.add_target("targets/releases", "a/<b>&\u2028")
REPO.refresh()
ROLES = ["root", "targets", "snapshot", "timestamp", "targets/releases"]


def mutate_bytes(data: bytes, rnd: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rnd.randint(1, 3)):
        choice = rnd.randrange(4)
        position = rnd.randrange(len(data) + 1)
        if choice == 0 and data:
            data[min(position, len(data) - 1)] ^= 1 << rnd.randrange(8)
        elif choice == 1:
            del data[position:position + rnd.randint(1, 20)]
        elif choice == 2:
            data[position:position] = rnd.choice([b"{", b"}", b'"', b",", b"1.5", b"null",
                                                  b"\\u0000", b"\xff", b" ", b"[]", b"-0"])
        else:
            del data[position:]
    return bytes(data)


def mutate_json(data: bytes, rnd: random.Random, replacement) -> bytes:
    document = json.loads(data)
    nodes = [document]
    containers = []
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            containers += [(node, k) for k in node]
            nodes += node.values()
        elif isinstance(node, list):
            containers += [(node, i) for i in range(len(node))]
            nodes += node
    container, key = rnd.choice(containers)
    action = rnd.randrange(3)
    if action == 0 or isinstance(container, list):
        container[key] = replacement
    elif action == 1:
        del container[key]
    else:
        container[f"{key}x"] = replacement
    return json.dumps(document, ensure_ascii=rnd.random() < 0.5,
                      indent=rnd.choice([None, 1])).encode()


any_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c,
                                                                             max_size=3),
                        max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ROLES), st.randoms(use_true_random=False), any_json, st.booleans())
def test_damaged_files_only_ever_raise_ceremony_errors(role, rnd, replacement, structural):
    original = REPO.files[role]
    data = mutate_json(original, rnd, replacement) if structural else mutate_bytes(original, rnd)
    try:
        read_metadata(data, f"{role}.json")
    except CeremonyError:
        pass
    files = REPO.repository()
    files.roles[role] = data
    report = verify_repository(files, REPO.gun)
    json.dumps(report.to_dict())
    if data != original:
        assert report.errors or report.warnings or role == "targets/releases"


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(ROLES + ["1.root.json"]), st.binary(max_size=200),
                       max_size=5))
def test_garbage_repositories_are_reported_not_crashed(garbage):
    files = RepositoryFiles(roles={k: v for k, v in garbage.items() if k in ROLES},
                            root_history={1: garbage["1.root.json"]}
                            if "1.root.json" in garbage else {})
    report = verify_repository(files, REPO.gun)
    assert not report.ok
