"""Runbook scripts run for real (offline, in a network namespace, SoftHSM tokens) between a
real `ceremony online fetch` and `ceremony online publish`, and the real notary client,
pinned to the root certificates the ceremony exported, verifies the published result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from softhsm.notary_server import NotaryClient
from tests.conftest import ROOT
from tests.runbooks.conftest import (
    ceremony,
    fetch,
    fill_digest,
    final_digest,
    no_secret_anywhere,
    pinned_client,
    publish,
    script_copy,
)
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary


def delegate_key(folder, name):
    """A delegate's key pair, made on the delegate's own machine."""
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def sha256_file(path):
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_ceremony_then_signer_add(server, site, tmp_path):
    gun = "example.com/app"
    room = tmp_path / "ceremony"
    # --- runbook 01: the online operator fetches; the script gets the digest; the room runs it
    script = script_copy("first-ceremony.yaml", room)
    digest = fetch(server, room / "app-init.request", gun)
    r = site.run(script)
    assert r.returncode == 1 and "placeholder sha256" in r.stderr  # unedited: refused
    assert r.stderr.count("\n") == 1 and not site.workspace.exists()
    fill_digest(script, digest)
    r = site.run(script)
    assert r.returncode == 0, r.output
    assert "VERIFIED root, targets" in r.stdout and "Checks" in r.stdout
    transcript = site.transcripts()[-1]
    v = ceremony("transcript", "verify", str(transcript), "--expect", final_digest(r.stdout))
    assert v.returncode == 0 and "closed (completed)" in v.stdout, v.output
    kinds = [e["kind"] for e in site.entries()]
    for kind in ("participants", "input", "airgap", "confirmation", "step-start", "custody",
                 "review", "signed", "output", "step-done", "checks", "end"):
        assert kind in kinds, kind
    start = site.entries()[0]["data"]
    assert start["script_sha256"] == sha256_file(script) and not start["dry_run"]
    assert {"name": "Wendy Witness", "role": "internal witness (reads and compares digests "
            "and words)"} in start["participants"]
    response = room / "to-online" / "app-init.response"
    assert response.read_bytes() == (room / "app-init.response").read_bytes()
    assert (room / "to-online" / "app-init.response.pdf").read_bytes()[:4] == b"%PDF"
    publish(server, response)
    pins = room / "app-pins" / "trust-pinning.json"
    assert len(json.loads(pins.read_text())["trust_pinning"]["certs"][gun]) == 2
    cached = pinned_client(server, tmp_path / "cached", pins)
    assert "No targets present" in cached.run("list", gun).stdout
    for role in ("root", "targets"):  # the server serves exactly the bytes signed
        served = server.get(f"/v2/{gun}/_trust/tuf/{role}.json")[1]
        signed = next(f.data for f in read_bundle(response, kind="response").entry(gun).files
                      if f.role == role)
        assert served == signed

    # --- runbook 02: signer add with the delegate's public key as a checked input
    room2 = tmp_path / "ceremony-2"
    script = script_copy("signer-add.yaml", room2)
    private, public = delegate_key(room2, "alice")
    digest = fetch(server, room2 / "app-signer-add.request", gun, operation="signer-add")
    fill_digest(script, digest, 1)
    fill_digest(script, "f" * 64, 1)  # a wrong digest for alice.pub: refused first
    r = site.run(script)
    assert r.returncode == 1 and "input alice-key" in r.stderr and "expects" in r.stderr
    assert not (room2 / "app-signer-add.response").exists()
    script.write_text(script.read_text().replace("f" * 64, sha256_file(public)))
    r = site.run(script)
    assert r.returncode == 0, r.output
    assert "targets/alice" in r.stdout and "targets/releases" in r.stdout
    publish(server, room2 / "to-online" / "app-signer-add.response")
    delegate = NotaryClient(server, tmp_path / "delegate",
                            pinned=json.loads(pins.read_text())["trust_pinning"]["certs"],
                            disable_tofu=True)
    delegate.run("key", "import", str(private), "--role", "targets/releases")
    artefact = tmp_path / "app.tar"
    artefact.write_bytes(b"release 1")
    delegate.run("add", gun, "v1", str(artefact), "--roles", "targets/releases", "--publish")
    fresh = pinned_client(server, tmp_path / "fresh", pins)
    listing = fresh.run("list", gun).stdout
    assert "v1" in listing and "targets/releases" in listing
    assert "v1" in cached.run("list", gun).stdout
    no_secret_anywhere(site, room, room2, site.workspace, text=r.output)


def test_bulk_targets_rotation(server, site, tmp_path):
    guns = ["example.com/team/app1", "example.com/team/app2", "example.com/team/app3"]
    # the repositories exist (made with the init command, as a first ceremony would)
    req = tmp_path / "init.request"
    fetch(server, req, *guns)
    resp = tmp_path / "init.response"
    r = site.cli("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
                 "--targets-token", "targets", *site.pins(), "--yes")
    assert r.returncode == 0, r.output
    publish(server, resp)
    bundle = read_bundle(resp, kind="response")
    roots = {g: json.loads(next(f.data for f in bundle.entry(g).files if f.role == "root"))[
        "signed"] for g in guns}
    pins = {g: list(root["roles"]["root"]["keyids"]) for g, root in roots.items()}
    old_targets = roots[guns[0]]["roles"]["targets"]["keyids"][0]
    assert all(root["roles"]["targets"]["keyids"] == [old_targets] for root in roots.values())
    cached = NotaryClient(server, tmp_path / "cached", pinned=pins, disable_tofu=True)
    for gun in guns:
        assert "No targets present" in cached.run("list", gun).stdout

    # runbook 03: one request for every GUN, one ceremony, one login per token
    room = tmp_path / "ceremony"
    script = script_copy("rotate-targets.yaml", room)
    team = room / "team.txt"
    team.write_text("".join(g + "\n" for g in guns))
    digest = fetch(server, room / "team-rotate-targets.request", operation="rotate-targets",
                   extra=("--guns-from", str(team)))
    fill_digest(script, digest)
    r = site.run(script)
    assert r.returncode == 0, r.output
    assert "logins 2, token signatures 6" in r.stdout
    assert r.stdout.count("VERIFIED root, targets") == 3
    publish(server, room / "to-online" / "team-rotate-targets.response")
    fresh = NotaryClient(server, tmp_path / "fresh", pinned=pins, disable_tofu=True)
    for gun in guns:
        served = json.loads(server.get(f"/v2/{gun}/_trust/tuf/root.json")[1])["signed"]
        assert served["version"] == 2 and old_targets not in served["keys"]
        assert cached.run("list", gun).returncode == 0  # followed the new root
        assert fresh.run("list", gun).returncode == 0
    done = [e for e in site.entries() if e["kind"] == "workspace"]
    assert done and done[0]["data"]["retired"] == [old_targets]


def test_air_gapped_root(server, site, tmp_path):
    """The request crosses as QR photographs; the air-gapped side verifies with the pins."""
    gun = "registry.airgap.example/app"
    room = tmp_path / "ceremony"
    script = script_copy("air-gapped-root.yaml", room)
    request = tmp_path / "airgap" / "init.request"
    request.parent.mkdir()
    fetch(server, request, gun, extra=("--snapshot-key", "never"))
    r = run_online("transfer", "send", str(request), "--png", str(room / "airgap-request-frames"))
    assert r.returncode == 0, r.output
    fill_digest(script, sha256_file(request))
    r = site.run(script)
    assert r.returncode == 0, r.output
    assert "matches the expected digest (the script)" in r.stdout
    assert "VERIFIED root, snapshot, targets" in r.stdout
    # the air-gapped side: receives the response from the QR frames, publishes it
    received = tmp_path / "airgap" / "init.response"
    r = run_online("transfer", "receive", str(room / "to-airgap" / "response-frames"), "--out",
                   str(received))
    assert r.returncode == 0, r.output
    assert received.read_bytes() == (room / "airgap-init.response").read_bytes()
    publish(server, received)
    pins = room / "to-airgap" / "pins"
    pinned = json.loads((pins / "trust-pinning.json").read_text())["trust_pinning"]["certs"]
    # its verification: `ceremony verify` of what its server serves, with --root-cert-id
    trust = tmp_path / "airgap" / "trust"
    trust.mkdir()
    for role in ("root", "targets", "snapshot", "timestamp", "1.root"):
        status, body = server.get(f"/v2/{gun}/_trust/tuf/{role}.json")
        assert status == 200
        (trust / f"{role}.json").write_bytes(body)
    assert (trust / "root.json").read_bytes() == \
        (pins / "registry.airgap.example+app" / "root.json").read_bytes()
    ids = [arg for kid in pinned[gun] for arg in ("--root-cert-id", kid)]
    v = run_online("verify", str(trust), "--gun", gun, *ids)
    assert v.returncode == 0 and "VERIFIED" in v.stdout and "pinned" in v.stdout, v.output
    wrong = run_online("verify", str(trust), "--gun", gun, "--root-cert-id", "a" * 64)
    assert wrong.returncode != 0
    client = pinned_client(server, tmp_path / "airgap-client", pins / "trust-pinning.json")
    assert "No targets present" in client.run("list", gun).stdout


def test_a_real_run_loads_no_network_code(server, site, tmp_path):
    """A whole real `ceremony run` (init, verify, pins, send) imports no network module and
    opens no socket -- it runs in a network namespace anyway; this shows it needs none."""
    room = tmp_path / "ceremony"
    script = script_copy("first-ceremony.yaml", room)
    fill_digest(script, fetch(server, room / "app-init.request", "example.com/probe"))
    script.write_text(script.read_text().replace("example.com/app", "example.com/probe"))
    args = ["run", str(script), "--yes", "--workspace", str(site.workspace), *site.pins()]
    code = (
        "import sys, json\n"
        "events = []\n"
        "sys.addaudithook(lambda e, a: events.append(e) if e.startswith('socket.') and "
        "e != 'socket.gethostname' else None)\n"
        "from ceremony.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "bad = [m for m in ('ceremony.notary.online', 'ceremony.scripts.world', 'http.client', "
        "'ssl',"
        " 'urllib.request', 'softhsm.notary_server') if m in sys.modules]\n"
        "print('REPORT ' + json.dumps({'exit': code, 'modules': bad, "
        "'sockets': sorted(set(events))}))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SOFTHSM2_CONF",
                                                            "CEREMONY_PKCS11_MODULE")}
    env.update(site.env.env, PYTHONPATH=str(ROOT))
    out = subprocess.run(["unshare", "--net", sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    report = json.loads(out.stdout.split("REPORT ", 1)[1])
    assert report == {"exit": 0, "modules": [], "sockets": []}, out.stdout[-2000:] + out.stderr


def run_online(*args):
    return ceremony(*args)


def test_notary_client_is_real():
    """Control: the client these tests trust is the real Notary binary."""
    out = subprocess.run(["notary", "version"], capture_output=True, text=True)
    assert out.returncode == 0 and "notary" in out.stdout.lower()
