"""The workspace's TUF root history can start at any version (first contact with a repository
met at root vN), recorded as a first pin; trust.py pins through state.py."""

from __future__ import annotations

import hashlib
import json

import pytest

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.tuf import state, trust
from ceremony.workspace import Workspace
from tests.tuf.pytuf_repo import PyTufRepository


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict[int, bytes]:
    """Roots v1..v3 of a python-tuf repository, each signed by the one before and itself."""
    repo = PyTufRepository.create(tmp_path_factory.mktemp("first-pin") / "repo")
    roots = {1: repo.stored["root"]}
    for version in (2, 3):
        roots[version] = repo.propose_root(lambda root: None)
        repo.store("root", roots[version])
    return roots


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_first_pin_at_a_later_version_starts_the_history_there(chain, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with ws.transaction() as tx:
        assert state.pin_first_root(tx, "demo", chain[2]) == 2
    s = state.TufState.load(Workspace.open(tmp_path / "ws"), "demo")
    assert s.roots == {2: chain[2]} and s.signed["root"] == chain[2]
    assert s.first_pin == {"version": 2, "sha256": _sha(chain[2]), "how": "first contact"}
    assert state.describe(s)["first_pin"]["version"] == 2
    # the history goes on from the pinned root, one version at a time
    with pytest.raises(state.TufStateError, match="expected v3"):
        with ws.transaction() as tx:
            state.stage_root(tx, "demo", chain[1])
    with ws.transaction() as tx:
        assert state.stage_root(tx, "demo", chain[3]) == 3
    s = state.TufState.load(ws, "demo")
    assert sorted(s.roots) == [2, 3] and s.first_pin["version"] == 2


def test_a_first_pin_is_refused_once_the_workspace_trusts_a_root(chain, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with ws.transaction() as tx:
        state.stage_root(tx, "demo", chain[1])
    with pytest.raises(state.TufStateError, match="already trusts root v1"):
        with ws.transaction() as tx:
            state.pin_first_root(tx, "demo", chain[3])
    s = state.TufState.load(ws, "demo")
    assert s.roots == {1: chain[1]} and s.first_pin is None


def test_a_root_made_here_is_not_recorded_as_a_first_pin(chain, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with ws.transaction() as tx:
        state.stage_root(tx, "demo", chain[1])
    assert state.TufState.load(ws, "demo").first_pin is None
    assert "first_pin" not in state.describe(state.TufState.load(ws, "demo"))


def test_first_contact_at_v2_pins_through_the_state_and_follows_the_chain(chain, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    warnings: list[str] = []
    offered = {"2.root.json": chain[2], "3.root.json": chain[3]}
    with ws.transaction() as tx:
        trusted = trust.trusted_root(tx, "demo", offered, _sha(chain[2]), warnings.append)
    assert trusted.first_contact and trusted.pinned == (2, 3) and trusted.version == 3
    assert any("first contact" in w for w in warnings)
    s = state.TufState.load(ws, "demo")
    assert sorted(s.roots) == [2, 3]
    assert s.first_pin == {"version": 2, "sha256": _sha(chain[2]), "how": "first contact"}
    assert json.loads(s.signed["root"])["signed"]["version"] == 3


def test_a_digest_matching_no_offered_root_pins_nothing(chain, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with pytest.raises(CeremonyRefused, match="no root in the request has SHA-256"):
        with ws.transaction() as tx:
            trust.trusted_root(tx, "demo", {"2.root.json": chain[2]}, _sha(chain[1]),
                               lambda _: None)
    assert not state.TufState.load(ws, "demo").exists
