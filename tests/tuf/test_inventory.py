"""TUF keys in the workspace's key inventory: after init the root and targets keys on tokens
(system "tuf", key IDs as root.json lists them, the repository's name, custody evidence read
back from the token); after rotate-root the removed key RETIRED with the reason and the new one
added; after rotate-key the old targets key retired; a delegated key made with
--delegate-token recorded under its delegation's name. Online keys are never recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ceremony.inventory import spki_sha256
from ceremony.workspace import Workspace
from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.tuf.ceremony_world import TOKENS, OfflineSite, OnlineService

REPO_FILE = b"hello\n"


def _inventory(ws_path: Path) -> dict[str, Any]:
    ws = Workspace.open(ws_path)
    return {"active": {k.key_id: k for k in ws.keys()},
            "retired": {r.key.key_id: r for r in ws.retired_keys()}}


@pytest.fixture(scope="module")
def story(softhsm_factory, tmp_path_factory) -> dict[str, Any]:  # noqa: F811
    env = softhsm_factory("tufinv", list(TOKENS))
    folder = tmp_path_factory.mktemp("tuf-inventory")
    site = OfflineSite(env, folder / "workspace")
    service = OnlineService(folder / "repo")
    snap = service.public_pem(service.signers["snapshot"][0], "snapshot")
    ts = service.public_pem(service.signers["timestamp"][0], "timestamp")
    hello = folder / "hello.txt"
    hello.write_bytes(REPO_FILE)
    out: dict[str, Any] = {"site": site}

    def step(name: str, operation: str, command: list[str], request_args: tuple[str, ...],
             offline_args: tuple[str, ...]) -> None:
        req = service.request(operation, folder / f"{name}.req.json", *request_args)
        out[name] = site.ok(command, req, folder / f"{name}.resp.json", *offline_args)
        service.apply(folder / f"{name}.resp.json", req)
        out[f"inv-{name}"] = _inventory(site.workspace)
        out[f"root-{name}"] = json.loads(
            max(service.metadata_dir.glob("*.root.json"),
                key=lambda p: int(p.name.split(".")[0])).read_bytes())

    step("init", "init", ["init"],
         ("--online-key", f"snapshot={snap}", "--online-key", f"timestamp={ts}",
          "--target", f"files/hello.txt={hello}"),
         ("--root-token", "root-a", "--root-token", "root-b", "--root-token", "root-c",
          "--root-threshold", "2", "--targets-token", "targets-1"))
    out["root_c"] = _keyid_on(site, "root-c")
    step("rotate-root", "rotate-root", ["rotate-root"], (),
         ("--token", "root-a", "--token", "root-b", "--root-token", "root-d",
          "--remove-key", out["root_c"][:12]))
    step("rotate-targets", "rotate-key", ["rotate-key"], ("--role", "targets"),
         ("--token", "root-b", "--token", "root-d", "--targets-token", "targets-2",
          "--algorithm", "ed25519"))
    step("delegation-add-token", "delegation-add", ["delegation", "add"],
         ("--role", "firmware", "--path", "firmware/*"),
         ("--token", "targets-2", "--delegate-token", "targets-1", "--delegate-label",
          "tuf-firmware"))
    shutil.rmtree(folder / "repo", ignore_errors=True)
    return out


def _keyid_on(site: OfflineSite, label: str) -> str:
    r = site.run("tuf", "key", "--token", label, "--label", "tuf-root", *site.pins(label),
                 "--json")
    assert r.returncode == 0, r.output
    return str(json.loads(r.stdout)["keyid"])


def _roles(root: dict[str, Any], role: str) -> list[str]:
    return list(root["signed"]["roles"][role]["keyids"])


def test_init_records_the_root_and_targets_keys_on_tokens(story):
    inv, root = story["inv-init"], story["root-init"]
    keys = inv["active"]
    root_ids, targets_ids = _roles(root, "root"), _roles(root, "targets")
    assert sorted(keys) == sorted(root_ids + targets_ids)  # online keys are not on tokens
    assert {keys[k].token_label for k in root_ids} == {"root-a", "root-b", "root-c"}
    assert keys[targets_ids[0]].token_label == "targets-1"
    for kid in root_ids + targets_ids:
        rec = keys[kid]
        assert rec.system == "tuf"
        assert rec.role == ("root" if kid in root_ids else "targets")
        assert rec.guns == (story["init"]["repository"],)
        assert rec.evidence["local"] is True and rec.evidence["never_extractable"] is True
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        assert rec.canonical_id == spki_sha256(load_pem_public_key(rec.public_key_pem.encode()))
        assert rec.to_dict()["system"] == "tuf"
    assert not inv["retired"]
    assert story["init"]["workspace"]["inventory"]["keys_recorded"] == sorted(keys)


def test_rotate_root_retires_the_removed_key_with_its_reason(story):
    inv = story["inv-rotate-root"]
    gone = story["root_c"]
    assert gone not in inv["active"] and gone in inv["retired"]
    retired = inv["retired"][gone]
    assert retired.key.token_label == "root-c" and retired.key.system == "tuf"
    assert "removed from root" in retired.reason and "2.root.json" in retired.reason
    assert "rotate-root" in retired.reason
    new = [k for k in _roles(story["root-rotate-root"], "root")
           if k not in _roles(story["root-init"], "root")]
    assert len(new) == 1 and inv["active"][new[0]].token_label == "root-d"
    assert story["rotate-root"]["workspace"]["inventory"]["keys_retired"] == [
        {"key_id": gone, "reason": retired.reason}]


def test_rotate_key_retires_the_old_targets_key(story):
    inv = story["inv-rotate-targets"]
    old = _roles(story["root-init"], "targets")[0]
    new = _roles(story["root-rotate-targets"], "targets")[0]
    assert old in inv["retired"] and "removed from targets" in inv["retired"][old].reason
    assert inv["active"][new].token_label == "targets-2"
    assert inv["active"][new].algorithm == "ed25519" and inv["active"][new].role == "targets"
    assert set(inv["retired"]) == {story["root_c"], old}


def test_a_delegated_key_made_on_a_token_is_recorded_under_its_role(story):
    inv = story["inv-delegation-add-token"]
    firmware = [k for k in inv["active"].values() if k.role == "firmware"]
    assert len(firmware) == 1
    assert firmware[0].token_label == "targets-1" and firmware[0].key_label == "tuf-firmware"
    assert firmware[0].evidence["local"] is True


def test_the_inventory_listing_shows_the_system(story):
    site = story["site"]
    r = site.run("token", "keys", "--workspace", str(site.workspace), "--retired",
                 "--json")
    assert r.returncode == 0, r.output
    rows = json.loads(r.stdout)["keys"]
    assert {row["system"] for row in rows} == {"tuf"}
    assert any(row["retired"] and "removed from root" in row["reason"] for row in rows)
