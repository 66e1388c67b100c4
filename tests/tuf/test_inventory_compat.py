"""Workspaces made before the inventory had a `system` field keep reading, and Notary records
stay byte-identical.

fixtures/workspace-before-systems was made by the code of commit 9f38901 (before the field) with
fixtures/make_old_workspace.py: two Notary keys on a token, one retired. It reads as Notary keys;
adding a TUF key to it leaves the Notary records' files as they were; and the same Notary-only
flow run by today's code writes inventory files byte-identical to those of the old code."""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ceremony.inventory import InventoryError, KeyRecord, spki_sha256
from ceremony.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
OLD = FIXTURES / "workspace-before-systems"


def _files(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes()
            for p in sorted((ws / "inventory").rglob("*.json"))}


def _copy(tmp_path: Path) -> Path:
    """The old workspace: its files from the fixture, the empty folders and the commit link
    (which git does not keep) as the old code left them."""
    path = Path(shutil.copytree(OLD, tmp_path / "old"))
    for name in ("state/gen-00000001", "state/gen-00000002", "transcripts"):
        (path / name).mkdir(parents=True)
    (path / "current").symlink_to("state/gen-00000002")
    return path


def test_an_old_workspace_reads_as_notary_keys(tmp_path):
    ws = Workspace.open(_copy(tmp_path))
    (active,) = ws.keys()
    assert active.system == "notary" and active.role == "root"
    assert active.guns == ("example.com/app",) and "system" not in active.to_dict()
    (retired,) = ws.retired_keys()
    assert retired.key.system == "notary" and retired.reason == "old targets key rotated out"
    assert ws.keys_by_canonical_id(active.canonical_id) == [active]


def test_adding_a_tuf_key_leaves_the_old_records_alone(tmp_path):
    path = _copy(tmp_path)
    before = _files(path)
    public = ec.derive_private_key(7, ec.SECP256R1()).public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    rec = KeyRecord(key_id="ab" * 32, canonical_id=spki_sha256(public), role="firmware",
                    algorithm="ecdsa-p256", token_serial="0002", token_label="tuf-token",
                    key_label="tuf-firmware", pkcs11_id="01", public_key_pem=pem,
                    guns=("my-repo",), system="tuf")
    ws = Workspace.open(path)
    with ws.transaction() as tx:
        tx.add_key(rec)
    after = _files(path)
    for name, data in before.items():  # the old generation's files: still there, unchanged
        assert after[name] == data
    ws = Workspace.open(path)
    assert {(k.system, k.role) for k in ws.keys()} == {("notary", "root"), ("tuf", "firmware")}
    written = [after[n] for n in after if n not in before and n.startswith("inventory/keys/")]
    assert any(json.loads(d).get("ab" * 32, {}).get("system") == "tuf" for d in written)


def test_a_notary_only_flow_writes_byte_identical_inventory_files(tmp_path):
    new = tmp_path / "new"
    argv = sys.argv
    try:
        sys.argv = ["make_old_workspace.py", str(new)]
        runpy.run_path(str(FIXTURES / "make_old_workspace.py"), run_name="__main__")
    finally:
        sys.argv = argv
    old, made = _files(OLD), _files(new)
    assert sorted(made) == sorted(old)
    for name in old:
        if name.startswith("inventory/retired/"):  # retired_at is the time of the run
            a, b = json.loads(old[name]), json.loads(made[name])
            for entry in (*a.values(), *b.values()):
                entry.pop("retired_at")
            assert a == b
            assert b"system" not in made[name]
        else:
            assert made[name] == old[name], name


@pytest.mark.parametrize("system,role,names,message", [
    ("notary", "firmware", ("example.com/app",), "role"),
    ("notation", "targets", ("ca:root",), "notation role"),
    ("tuf", "root", ("bad\nname",), "printable"),
    ("x509", "root", (), "system must be one of"),
])
def test_roles_and_names_are_checked_per_system(system, role, names, message):
    public = ec.derive_private_key(9, ec.SECP256R1()).public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(InventoryError, match=message):
        KeyRecord(key_id="cd" * 32, canonical_id=spki_sha256(public), role=role,
                  algorithm="ecdsa-p256", token_serial="1", token_label="t", key_label="k",
                  pkcs11_id="01", public_key_pem=pem, guns=names, system=system)
