"""Runbook 08's script (runbooks/tuf-root-ceremony.yaml), run for real with `ceremony run`
as the runbook says: the online operator's request, the digest written into the script, the
ceremony on SoftHSM tokens, the response applied online; python-tuf, go-tuf and tough trusting
the new root download a target. A wrong input digest is refused before anything is signed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.conftest import AIRGAPPED, ROOT, run_cli
from tests.tuf.ceremony_world import OnlineService
from tests.tuf.peers import CLIENTS, serve

SCRIPT = ROOT / "runbooks" / "tuf-root-ceremony.yaml"
TOKENS = ["root-a", "root-b", "root-c", "targets"]
CONTENT = b"app 1.0, listed by the first targets\n"


def _prepare(tmp_path: Path) -> tuple[Path, OnlineService, Path]:
    room = tmp_path / "room"
    room.mkdir()
    script = Path(shutil.copy(SCRIPT, room / SCRIPT.name))
    service = OnlineService(tmp_path / "repo")
    app = tmp_path / "app-1.0.tar.gz"
    app.write_bytes(CONTENT)
    r = run_cli("tuf", "request", "--repo", str(service.metadata_dir), "--name", "updates",
                "--operation", "init", "--online-key",
                f"snapshot={service.public_pem(service.signers['snapshot'][0], 'snapshot')}",
                "--online-key",
                f"timestamp={service.public_pem(service.signers['timestamp'][0], 'timestamp')}",
                "--target", f"app/1.0.tar.gz={app}", "--out", str(room / "updates-init.request"))
    assert r.returncode == 0, r.output
    digest = re.search(r"file sha256\s+([0-9a-f]{64})", r.stdout)
    assert digest, r.stdout
    script.write_text(script.read_text().replace("0" * 64, digest.group(1)))
    return script, service, room


def _run(env, script: Path, workspace: Path):
    pins = [arg for label in TOKENS
            for arg in ("--pin-source", f"{label}={env.pin_source(label)}")]
    return run_cli("run", str(script), "--yes", "--workspace", str(workspace), *pins,
                   env=env.env, wrapper=AIRGAPPED)


def test_the_runbook_script_makes_a_root_clients_follow(softhsm_factory, tmp_path):  # noqa: F811
    env = softhsm_factory("tuf-runbook", TOKENS)
    script, service, room = _prepare(tmp_path)
    r = _run(env, script, tmp_path / "workspace")
    assert r.returncode == 0, r.output[-3000:]
    assert "completed" in r.stdout and "review words" in r.stdout
    response = room / "updates-init.response"
    a = run_cli("tuf", "apply", "--response", str(response), "--request",
                str(room / "updates-init.request"), "--repo", str(service.metadata_dir),
                "--json")
    assert a.returncode == 0, a.output
    for name in json.loads(a.stdout)["written"]:
        if name != "root.json":
            service.store(name.split(".", 1)[1][:-5], (service.metadata_dir / name).read_bytes())
    service.put_target_file("app/1.0.tar.gz", CONTENT)
    service.publish()
    root = json.loads((service.metadata_dir / "1.root.json").read_bytes())["signed"]
    assert root["roles"]["root"]["threshold"] == 2 and len(root["roles"]["root"]["keyids"]) == 3
    with serve(service.folder) as url:
        for name, client in sorted(CLIENTS.items()):
            result = client((service.metadata_dir / "1.root.json").read_bytes(), url,
                            tmp_path / name, "app/1.0.tar.gz")
            assert result.ok and result.content == CONTENT, (name, result.error)
    transcript = next((tmp_path / "workspace" / "transcripts").glob("*-run-*.jsonl"))
    v = run_cli("transcript", "verify", str(transcript))
    assert v.returncode == 0, v.output
    for label in TOKENS:
        assert env.pin(label) not in r.output

    # a later script: root-c's key out (tuf-rotate-root), then python-tuf follows to root v2
    _rotate_by_script(env, service, room, tmp_path, root["roles"]["root"]["keyids"])
    with serve(service.folder) as url:
        result = CLIENTS["python-tuf"]((service.metadata_dir / "1.root.json").read_bytes(),
                                       url, tmp_path / "after", "app/1.0.tar.gz")
    assert result.ok and result.root_version == 2, result.error


def _rotate_by_script(env, service: OnlineService, room: Path, tmp_path: Path,
                      root_keyids: list[str]) -> None:
    import yaml
    r = run_cli("tuf", "request", "--repo", str(service.metadata_dir), "--name", "updates",
                "--operation", "rotate-root", "--out", str(room / "rotate.request"))
    assert r.returncode == 0, r.output
    digest = re.search(r"file sha256\s+([0-9a-f]{64})", r.stdout).group(1)
    key_c = run_cli("tuf", "key", "--token", "root-c", "--label", "tuf-root", "--pin-source",
                    env.pin_source("root-c"), "--json", env=env.env, wrapper=AIRGAPPED)
    assert key_c.returncode == 0, key_c.output
    keyid_c = json.loads(key_c.stdout)["keyid"]
    assert keyid_c in root_keyids
    doc = yaml.safe_load(SCRIPT.read_text())
    doc["inputs"] = {"rotate-request": {"kind": "file", "path": "rotate.request",
                                        "sha256": digest}}
    doc["steps"] = [{"id": "rotate", "do": "tuf-rotate-root", "repository": "updates",
                     "request": "rotate-request", "tokens": ["root-a", "root-b"],
                     "remove-keys": [keyid_c[:12]], "out": "rotate.response"}]
    script = room / "rotate.yaml"
    script.write_text(yaml.safe_dump(doc, sort_keys=False))
    r = _run(env, script, tmp_path / "workspace")
    assert r.returncode == 0, r.output[-3000:]
    a = run_cli("tuf", "apply", "--response", str(room / "rotate.response"), "--request",
                str(room / "rotate.request"), "--repo", str(service.metadata_dir), "--json")
    assert a.returncode == 0, a.output
    service.store("root", (service.metadata_dir / "2.root.json").read_bytes())
    service.publish()
    root2 = json.loads((service.metadata_dir / "2.root.json").read_bytes())["signed"]
    assert keyid_c not in root2["roles"]["root"]["keyids"]


@pytest.mark.parametrize("edit", ["digest", "request"])
def test_a_wrong_input_is_refused_before_anything_is_signed(softhsm_factory, tmp_path, edit):  # noqa: F811
    env = softhsm_factory("tuf-runbook-bad", TOKENS)
    script, _service, room = _prepare(tmp_path)
    if edit == "digest":
        script.write_text(re.sub(r'sha256: "[0-9a-f]{64}"', 'sha256: "' + "1" * 64 + '"',
                                 script.read_text()))
    else:
        request = room / "updates-init.request"
        request.write_bytes(request.read_bytes().replace(b"updates", b"updatez"))
    r = _run(env, script, tmp_path / "workspace")
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "has sha256" in r.stderr
    assert not (room / "updates-init.response").exists()
