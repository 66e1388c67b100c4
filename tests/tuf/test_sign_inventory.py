"""Signing metadata made elsewhere keeps the workspace's key inventory, as every other ceremony
does, seen through `ceremony token keys --workspace` as an officer would look, with REAL
SoftHSM token keys and roots made by python-tuf's own repository code:

python-tuf proposes root v2 (root role: token keys a and b, threshold 2); site A signs it with
token a (partial), site B co-signs it from A's partial with token b: each site's inventory shows
its key (system tuf, repository 'demo', role root, token, first seen = last used). A wrong token
at site A for v3 is refused and records nothing. python-tuf proposes v3 removing key b; site A
signs it (its record of key a is updated, not duplicated: first seen kept), site B co-signs it
with b: the root no longer lists b, so site B retires it with the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.conftest import CliResult, run_cli
from tests.tuf.conftest import KEY_LABEL, Offline
from tests.tuf.pytuf_repo import PyTufRepository, token_key

TOKENS = {"inv-a": "ecdsa-p256", "inv-b": "ed25519", "inv-x": "ecdsa-p256"}


@dataclass
class World:
    folder: Path
    offline: Offline
    keys: dict[str, dict[str, Any]]
    runs: dict[str, dict[str, Any]]          # sign-request --json results, by step
    listings: dict[str, dict[str, Any]]      # `token keys --workspace --retired --json`, by step
    human: dict[str, str]                    # the same listing for people, by step
    refused: CliResult
    inventory_files: tuple[dict[str, bytes], dict[str, bytes]]  # site A's: before/after refusal

    def kid(self, label: str) -> str:
        return self.keys[label]["keyid"]


def _sign(off: Offline, folder: Path, site: str, request: Path, out: Path, token: str,
          *extra: str) -> CliResult:
    return off.run("tuf", "sign-request", "--request", str(request), "--out", str(out),
                   "--workspace", str(folder / f"ws-{site}"), "--participant",
                   f"officer {site}", *off.pins(token), "--token", token, *extra)


def _listing(off: Offline, folder: Path, site: str) -> tuple[dict[str, Any], str]:
    ws = str(folder / f"ws-{site}")
    r = off.run("token", "keys", "--workspace", ws, "--retired", "--json")
    assert r.returncode == 0, r.output
    h = off.run("token", "keys", "--workspace", ws, "--retired")
    assert h.returncode == 0, h.output
    return json.loads(r.stdout), h.stdout


def _inventory_files(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes()
            for p in sorted(ws.rglob("*")) if p.is_file() and "inventory" in p.parts}


def _request(repo: PyTufRepository, folder: Path, version: int) -> Path:
    out = folder / f"req{version}.json"
    r = run_cli("tuf", "request-sign", "--repo", str(repo.metadata_dir), "--name", "demo",
                "--proposed", str(folder / f"{version}.root.json"), "--out", str(out))
    assert r.returncode == 0, r.output
    return out


def _apply(repo: PyTufRepository, response: Path, version: int) -> None:
    r = run_cli("tuf", "apply", "--response", str(response), "--repo", str(repo.metadata_dir))
    assert r.returncode == 0, r.output
    repo.store("root", (repo.metadata_dir / f"{version}.root.json").read_bytes())


@pytest.fixture(scope="module")
def world(softhsm_factory, tmp_path_factory) -> World:  # noqa: F811
    env = softhsm_factory("tuf-sign-inventory", list(TOKENS))
    off = Offline(env)
    for label, algorithm in TOKENS.items():
        r = off.run("key", "generate", "--token", label, "--label", KEY_LABEL, "--algorithm",
                    algorithm, "--pin-source", env.pin_source(label), "--json")
        assert r.returncode == 0, r.output
    keys = {label: off.ok("tuf", "key", "--token", label, "--label", KEY_LABEL,
                          *off.pins(label)) for label in TOKENS}
    folder = tmp_path_factory.mktemp("tuf-sign-inventory")
    repo = PyTufRepository.create(folder / "repo")
    first_sha = hashlib.sha256(repo.metadata_dir.joinpath("1.root.json").read_bytes()).hexdigest()
    old_root = repo.signers["root"][0].public_key.keyid
    runs: dict[str, dict[str, Any]] = {}
    listings: dict[str, dict[str, Any]] = {}
    human: dict[str, str] = {}

    def step(name: str, site: str, r: CliResult) -> None:
        assert r.returncode == 0, r.output
        runs[name] = json.loads(r.stdout)
        listings[name], human[name] = _listing(off, folder, site)

    def to_tokens(root: Any) -> None:
        root.revoke_key(old_root, "root")
        for label in ("inv-a", "inv-b"):
            root.add_key(token_key(keys[label]), "root")
        root.roles["root"].threshold = 2
    (folder / "2.root.json").write_bytes(repo.propose_root(to_tokens))
    req2 = _request(repo, folder, 2)
    pin = ("--trust-root-sha256", first_sha)
    step("a2", "a", _sign(off, folder, "a", req2, folder / "resp-a2.json", "inv-a", *pin,
                          "--yes", "--json"))
    step("b2", "b", _sign(off, folder, "b", req2, folder / "resp-b2.json", "inv-b", *pin,
                          "--partial", str(folder / "resp-a2.json"), "--yes", "--json"))
    _apply(repo, folder / "resp-b2.json", 2)
    repo.signers["root"] = []  # the root keys live on the tokens only now

    def drop_b(root: Any) -> None:
        root.revoke_key(keys["inv-b"]["keyid"], "root")
        root.roles["root"].threshold = 1
    (folder / "3.root.json").write_bytes(repo.propose_root(drop_b))
    req3 = _request(repo, folder, 3)
    before = _inventory_files(folder / "ws-a")
    refused = _sign(off, folder, "a", req3, folder / "resp-x3.json", "inv-x", "--yes")
    after = _inventory_files(folder / "ws-a")
    listings["x3"], human["x3"] = _listing(off, folder, "a")
    step("a3", "a", _sign(off, folder, "a", req3, folder / "resp-a3.json", "inv-a", "--yes",
                          "--json"))
    b3 = _sign(off, folder, "b", req3, folder / "resp-b3.json", "inv-b", "--partial",
               str(folder / "resp-a3.json"), "--yes")  # as an officer reads it on screen
    assert b3.returncode == 0, b3.output
    human["b3-sign"] = b3.stdout
    listings["b3"], human["b3"] = _listing(off, folder, "b")
    _apply(repo, folder / "resp-b3.json", 3)
    return World(folder, off, keys, runs, listings, human, refused, (before, after))


def _rows(listing: dict[str, Any]) -> list[dict[str, Any]]:
    return listing["keys"]


def test_each_site_records_the_token_key_it_signed_with(world):
    for step, label in (("a2", "inv-a"), ("b2", "inv-b")):
        rows = _rows(world.listings[step])
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["system"] == "tuf" and row["role"] == "root"
        assert row["key_id"] == world.kid(label) and row["names"] == ["demo"]
        assert row["token"] == label and row["key_label"] == KEY_LABEL
        assert row["retired"] is False
        assert row["added"] and row["last_used"] == row["added"]
        assert row["custody"].get("local") is True, row["custody"]  # generated on the token
        assert world.runs[step]["inventory"]["keys_recorded"] == [world.kid(label)]
        text = world.human[step]
        assert f"[tuf] root {world.kid(label)}" in text and f"token '{label}'" in text
        assert "serves: demo" in text and "last used " in text
    assert world.runs["a2"]["complete"] is False and world.runs["b2"]["complete"] is True


def test_a_refused_sign_records_nothing(world):
    r = world.refused
    assert r.returncode == 1, r.output
    assert r.stderr.strip().splitlines()[-1].startswith("error: "), r.stderr
    assert "inv-x" in r.stderr
    before, after = world.inventory_files
    assert before and before == after
    assert world.listings["x3"] == world.listings["a2"]
    assert world.kid("inv-x") not in json.dumps(world.listings["x3"])


def test_signing_the_next_version_updates_the_record_not_duplicates_it(world):
    first, = _rows(world.listings["a2"])
    rows = _rows(world.listings["a3"])
    assert [r["key_id"] for r in rows] == [world.kid("inv-a")]
    row = rows[0]
    assert row["added"] == first["added"] and row["last_used"]  # first seen kept
    assert row["last_used"] >= first["last_used"]
    assert world.runs["a3"]["inventory"] == {"keys_recorded": [],
                                             "keys_updated": [world.kid("inv-a")],
                                             "keys_retired": [], "keys_skipped": []}
    assert world.runs["a3"]["complete"] is False  # root v2's threshold 2 needs site B too


def test_a_rotation_made_elsewhere_retires_the_key_it_removed(world):
    screen = world.human["b3-sign"]
    assert "(root v3 of 'demo', complete)" in screen, screen
    assert f"signed here with 1 key(s): {world.kid('inv-b')[:16]}" in screen
    reason = ("removed from root of TUF repository 'demo' by root v3 made elsewhere "
              "(tuf sign-request)")
    assert f"inventory: RETIRED key {world.kid('inv-b')}: {reason}" in screen
    rows = _rows(world.listings["b3"])
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["retired"] is True and row["key_id"] == world.kid("inv-b")
    assert row["reason"] == reason
    assert row["last_used"] >= _rows(world.listings["b2"])[0]["last_used"]
    assert f"RETIRED {row['retired_at']}: removed from root" in world.human["b3"]
    # site A's key stays active: the new root still lists it
    assert [(r["key_id"], r["retired"]) for r in _rows(world.listings["a3"])] == \
        [(world.kid("inv-a"), False)]


def test_no_pin_in_any_output_or_workspace(world):
    for label in TOKENS:
        pin = world.offline.env.pin(label)
        assert all(pin not in text for text in world.offline.outputs), label
        for site in ("a", "b"):
            for path in (world.folder / f"ws-{site}").rglob("*"):
                assert not path.is_file() or pin.encode() not in path.read_bytes(), path
