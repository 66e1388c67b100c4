"""A request whose review would hide a change: for random mutations of ANY field of the new
signed model (root or targets), the review's change list names every leaf that differs.

tests/ceremonies/test_core.py checks ten hand-picked fields; this walks every leaf of
`to_dict()` independently of review.diff, mutates one (or adds/removes a member), lets the model
take it back (what it accepts is what gets signed), and checks that every differing leaf is
covered by a Change, that the rendered line shows the new value, and that a change exists
exactly when the signed bytes differ.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ceremony.errors import CeremonyError
from ceremony.notary.ceremonies.build import add_delegation, new_root, new_targets
from ceremony.notary.ceremonies.review import diff, render_changes
from ceremony.notary.format import FileMeta, Instant, key_from_public_key
from ceremony.notary.format.model import Root, Targets
from ceremony.notary.format.serialization import signed_bytes
from transfer.escaping import shown

LATER = Instant.from_datetime(dt.datetime(2035, 1, 1, tzinfo=dt.UTC))


def _key():
    return key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())


def _base() -> tuple[Root, Targets]:
    root = new_root(root_keys=[_key(), _key()], root_threshold=1, targets_key=_key(),
                    snapshot_key=_key(), timestamp_key=_key(), expires=LATER)
    targets = new_targets(LATER)
    add_delegation(targets, "targets/qa", [_key()], paths=["qa/"])
    add_delegation(targets, "targets/releases", [_key(), _key()], paths=[""], threshold=2)
    targets.targets["app"] = FileMeta(3, {"sha256": b"\x01" * 32})
    return root, targets


BASE = _base()


def leaves(tree, path=()):
    """Every leaf of a JSON tree: (path tuple, value). Lists are walked by index."""
    if isinstance(tree, dict) and tree:
        for k, v in tree.items():
            yield from leaves(v, (*path, k))
    elif isinstance(tree, list) and tree:
        for i, v in enumerate(tree):
            yield from leaves(v, (*path, i))
    else:
        yield path, tree


def _get(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def _norm(change_path: str) -> list[str]:
    """review.diff's path (a.b[name].c) as components, the delegation name dropped."""
    return [p for p in re.sub(r"\[[^\]]*\]", "", change_path).split(".") if p]


def _covered(leaf: tuple, changes) -> bool:
    names = [p for p in leaf if isinstance(p, str)]
    for c in changes:
        norm = _norm(c.path)
        n = min(len(norm), len(names))
        if norm[:n] == names[:n]:
            return True
    return False


scalars = st.one_of(st.integers(-3, 10**6), st.text(max_size=12), st.booleans(), st.none(),
                    st.lists(st.text(max_size=4), max_size=2))


@st.composite
def mutation(draw):
    which = draw(st.sampled_from([0, 1]))
    tree = json.loads(json.dumps(BASE[which].to_dict()))
    paths = [p for p, _ in leaves(tree) if p]
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["set", "set", "add", "remove"]))
    parent = _get(tree, path[:-1])
    if action == "remove" and isinstance(parent, (dict, list)):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(scalars)
    elif action == "add" and isinstance(parent, list):
        parent.append(draw(scalars) if not parent or not isinstance(parent[0], str)
                      else draw(st.text(max_size=8)))
    else:
        old = parent[path[-1]]
        if isinstance(old, bool):
            new = not old
        elif isinstance(old, int):
            new = draw(st.integers(0, 10**6))
        elif isinstance(old, str):
            new = draw(st.one_of(st.text(max_size=20), st.just(old[:-1]),
                                 st.just(old[:-1] + ("0" if old[-1:] != "0" else "1"))))
        else:
            new = draw(scalars)
        parent[path[-1]] = new
    return which, tree


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutation())
def test_every_change_of_any_field_is_in_the_review(m):
    which, tree = m
    old = BASE[which]
    try:
        new = type(old).from_dict(tree)
        new_bytes = signed_bytes(new)
    except (CeremonyError, ValueError, TypeError, KeyError, AttributeError):
        assume(False)  # the model refuses it: it can never be signed
        return
    before, after = old.to_dict(), new.to_dict()
    changes = diff(before, after)
    assert bool(changes) == (signed_bytes(old) != new_bytes)
    old_leaves, new_leaves = dict(leaves(before)), dict(leaves(after))
    differing = [p for p in set(old_leaves) | set(new_leaves)
                 if old_leaves.get(p, object()) != new_leaves.get(p, object())]
    for leaf in differing:
        assert _covered(leaf, changes), (leaf, [c.path for c in changes])
    lines = render_changes(changes)
    assert len(lines) == len(changes)
    for c, line in zip(changes, lines, strict=True):
        assert shown(c.path) in line  # a path from input is shown escaped (issue 12)
        if c.kind == "~" and isinstance(c.new, (int, str)) and not isinstance(c.new, bool):
            assert json.dumps(c.new) in line or str(c.new) in line, (c, line)
