"""Runbook 13 (co-signing a TUF root made by another tool) executed as written: its two paired
scripts, edited as the runbook says (inputs and their sha256, the first-contact root digest),
run with `ceremony run` at two "sites" (two workspaces, each with its own token), on REAL
SoftHSM tokens; the online half with `ceremony tuf request-sign` / `apply`; python-tuf's own
client, trusting root v1, then follows the rotation."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml
from tuf.api.metadata import Metadata

from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.conftest import AIRGAPPED, run_cli
from tests.tuf.peers import python_tuf, serve
from tests.tuf.pytuf_repo import PyTufRepository, token_key

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks"
LABELS = {"tuf-root-a": "ecdsa-p256", "tuf-root-b": "ed25519", "tuf-root-c": "ecdsa-p256"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit(name: str, room: Path, inputs: dict[str, Path], first_root: str) -> Path:
    """The script as the runbook says to edit it: inputs' paths and digests, the root digest."""
    script = yaml.safe_load((RUNBOOKS / name).read_text())
    for key, path in inputs.items():
        script["inputs"][key]["path"] = str(path)
        script["inputs"][key]["sha256"] = _sha(path)
    script["steps"][0]["trust-root-sha256"] = first_root
    out = room / name
    out.write_text(yaml.safe_dump(script, sort_keys=False))
    return out


def test_runbook_09_two_sites_cosign_a_python_tuf_root(softhsm_factory, tmp_path):  # noqa: F811
    env = softhsm_factory("tuf-runbook", list(LABELS))
    keys: dict[str, dict[str, Any]] = {}
    for label, algorithm in LABELS.items():
        pin = ["--pin-source", env.pin_source(label)]
        r = run_cli("key", "generate", "--token", label, "--label", "root", "--algorithm",
                    algorithm, *pin, env=env.env, wrapper=AIRGAPPED)
        assert r.returncode == 0, r.output
        r = run_cli("tuf", "key", "--token", label, "--label", "root", *pin, "--json",
                    env=env.env, wrapper=AIRGAPPED)
        assert r.returncode == 0, r.output
        import json
        keys[label] = json.loads(r.stdout)

    # the other tool (python-tuf) proposes root v2: the root role on the three tokens, 2 of 3
    repo = PyTufRepository.create(tmp_path / "repo")
    first_root = _sha(repo.metadata_dir / "1.root.json")
    old = repo.signers["root"][0].public_key.keyid

    def to_tokens(root: Any) -> None:
        root.revoke_key(old, "root")
        for label in LABELS:
            root.add_key(token_key(keys[label]), "root")
        root.roles["root"].threshold = 2
    online = tmp_path / "online"
    online.mkdir()
    (online / "2.root.json").write_bytes(repo.propose_root(to_tokens))
    request = online / "demo-root-2.request"
    r = run_cli("tuf", "request-sign", "--repo", str(repo.metadata_dir), "--name", "demo",
                "--proposed", str(online / "2.root.json"), "--out", str(request))
    assert r.returncode == 0, r.output

    from ceremony.workspace import Workspace
    for site in ("a", "b"):  # each site's offline machine has its workspace already
        Workspace.open(str(tmp_path / f"ws-{site}"), create=True)

    def run(script: Path, site: str, label: str) -> str:
        r = run_cli("run", str(script), "--yes", "--workspace", str(tmp_path / f"ws-{site}"),
                    "--out-dir", str(script.parent / "out"),
                    "--pin-source", f"{label}={env.pin_source(label)}",
                    env=env.env, wrapper=AIRGAPPED)
        assert r.returncode == 0, r.output[-4000:]
        assert env.pin(label) not in r.output
        return r.stdout

    # site A
    room_a = tmp_path / "site-a"
    room_a.mkdir()
    shutil.copy(request, room_a / request.name)
    out_a = run(_edit("tuf-cosign-root-site-a.yaml", room_a,
                      {"sign-request": room_a / request.name}, first_root), "a", "tuf-root-a")
    assert "FIRST CONTACT" in out_a and "PARTIAL" in out_a
    partial = room_a / "out" / "to-site-b" / "demo-root-2.partial"
    assert partial.is_file()
    refused = run_cli("tuf", "apply", "--response", str(partial), "--repo",
                      str(repo.metadata_dir))
    assert refused.returncode == 1 and "partial" in refused.stderr
    assert not (repo.metadata_dir / "2.root.json").exists()

    # site B: the request and site A's partial, carried over
    room_b = tmp_path / "site-b"
    room_b.mkdir()
    for f in (request, partial):
        shutil.copy(f, room_b / f.name)
    out_b = run(_edit("tuf-cosign-root-site-b.yaml", room_b,
                      {"sign-request": room_b / request.name,
                       "partial-a": room_b / partial.name}, first_root), "b", "tuf-root-b")
    assert "signed already by 1" in out_b
    response = room_b / "out" / "to-online" / "demo-root-2.response"
    r = run_cli("tuf", "apply", "--response", str(response), "--repo", str(repo.metadata_dir),
                "--request", str(request))
    assert r.returncode == 0, r.output

    v2 = Metadata.from_bytes((repo.metadata_dir / "2.root.json").read_bytes())
    v1 = Metadata.from_bytes((repo.metadata_dir / "1.root.json").read_bytes())
    v1.signed.verify_delegate("root", v2.signed_bytes, v2.signatures)
    v2.signed.verify_delegate("root", v2.signed_bytes, v2.signatures)
    repo.store("root", (repo.metadata_dir / "2.root.json").read_bytes())
    repo.signers["root"] = []
    repo.add_target("targets", "files/runbook.txt", b"root co-signed by runbook 13\n")
    repo.publish()
    with serve(repo.folder) as url:
        result = python_tuf((repo.metadata_dir / "1.root.json").read_bytes(), url,
                            tmp_path / "client", "files/runbook.txt")
    assert result.ok and result.root_version == 2, result.error
    assert result.content == b"root co-signed by runbook 13\n"
