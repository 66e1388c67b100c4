"""Offline commands open no socket: every one of them, run for real, under an audit hook.

tests/bundle/test_offline_imports.py imports every offline module and runs --help and
`transcript verify` in one process. This runs each offline command end to end, as a user does,
with real tokens, real files and real QR codes, in its own process with the hook of
tests/hardening/audit_hook.py installed as sitecustomize: the first socket created, connected,
bound or name looked up ends the process (status 99), and the network modules loaded are
reported at exit. Controls prove the hook is in every process and does catch a socket.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import AIRGAPPED, ROOT, run_cli
from tests.metadata.factory import SoftRepo

GUN = "example.com/nosocket/app"


@pytest.fixture(scope="module")
def hooked(tmp_path_factory, softhsm_factory):
    base = tmp_path_factory.mktemp("nosocket")
    hook = base / "hook"
    hook.mkdir()
    shutil.copy(Path(__file__).with_name("audit_hook.py"), hook / "sitecustomize.py")
    report = base / "report.jsonl"
    hsm = softhsm_factory("nosocket", ["root-a"])
    env = {**hsm.env, "PYTHONPATH": f"{hook}:{ROOT}", "NO_SOCKET_REPORT": str(report)}
    return base, report, env, hsm.pin_source("root-a")


def records(report: Path) -> list[dict]:
    return [json.loads(line) for line in report.read_text().splitlines()]


def test_offline_commands_open_no_socket(hooked):
    base, report, env, pin = hooked
    repo = SoftRepo.create(GUN)
    (base / "repo").mkdir()
    for role, data in repo.files.items():
        (base / "repo" / f"{role}.json").write_bytes(data)
    for n, data in repo.root_history.items():
        (base / "repo" / f"{n}.root.json").write_bytes(data)
    from ceremony.transcript import Transcript
    with Transcript.create(base / "t.jsonl", ceremony="no sockets") as t:
        t.append("note", {"text": "offline"})
    bundle = base / "b.bundle"
    bundle.write_bytes(repo.files["root"])

    def run(*args, wrapper=(), stdin=None):
        r = run_cli(*args, env=env, wrapper=wrapper, input=stdin, cwd=base)
        assert r.returncode == 0, (args, r.output)
        return r

    run("token", "list")
    run("token", "keys", "root-a", "--pin-source", pin)
    run("key", "generate", "--token", "root-a", "--label", "root", "--pin-source", pin,
        wrapper=AIRGAPPED)
    run("key", "export", "--token", "root-a", "--label", "root", "--out", str(base / "k.pem"))
    run("key", "cert", "--token", "root-a", "--label", "root", "--gun", GUN, "--out",
        str(base / "root.crt"), "--pin-source", pin, wrapper=AIRGAPPED)
    run("verify", str(base / "repo"), "--gun", GUN)
    text = run("transfer", "send", str(bundle), "--text", "--out", str(base / "copy.bundle"),
               "--png", str(base / "frames"), "--frame-bytes", "300").stdout
    run("transfer", "receive", "--stdin", "--out", str(base / "r1.bundle"), stdin=text)
    run("transfer", "receive", "--images", str(base / "frames"), "--out",
        str(base / "r2.bundle"))
    run("transcript", "verify", str(base / "t.jsonl"))
    assert (base / "r1.bundle").read_bytes() == (base / "r2.bundle").read_bytes() == \
        bundle.read_bytes()

    rows = records(report)
    armed = {r["pid"] for r in rows if r.get("armed")}
    exits = [r for r in rows if r.get("exit")]
    commands = [r["argv"][1] for r in exits if r["argv"][0].endswith("ceremony/__main__.py")]
    assert len(armed) == len(exits) == 10, rows  # the hook was in every process, to the end
    assert commands == ["token", "token", "key", "key", "key", "verify", "transfer", "transfer",
                        "transfer", "transcript"]
    assert [r for r in rows if "socket_event" in r] == []
    assert [r for r in exits if r["network_modules"]] == []


def test_the_hook_catches_a_socket(hooked):
    """Controls: plain Python opening a socket, and the online command trying to connect."""
    base, report, env, _ = hooked
    before = len(records(report)) if report.exists() else 0
    proc = subprocess.run([sys.executable, "-c", "import socket; socket.socket()"],
                          env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True)
    assert proc.returncode == 99
    from tests.bundle.helpers import sample_response
    (base / "resp.bundle").write_bytes(sample_response().to_bytes())
    r = run_cli("online", "publish", str(base / "resp.bundle"), "--server",
                "https://127.0.0.1:9", env=env)
    assert r.returncode == 99, r.output
    events = [row["socket_event"] for row in records(report)[before:] if "socket_event" in row]
    assert events[0] == "socket.__new__" and len(events) == 2


@pytest.mark.notary
def test_key_ceremonies_open_no_socket(tmp_path_factory, softhsm_factory):
    """init, signer add, rotate targets and status, each under the hook (loopback only);
    the requests are fetched and the responses published by the online side, unhooked."""
    from tests.ceremonies.sites import fetch, notary_server, published
    base = tmp_path_factory.mktemp("nosocket-ceremonies")
    hook = base / "hook"
    hook.mkdir()
    shutil.copy(Path(__file__).with_name("audit_hook.py"), hook / "sitecustomize.py")
    report = base / "report.jsonl"
    hsm = softhsm_factory("nosocket-ceremonies", ["root-a", "targets"])
    env = {**hsm.env, "PYTHONPATH": f"{hook}:{ROOT}", "NO_SOCKET_REPORT": str(report),
           "CEREMONY_WORKSPACE": str(base / "workspace")}
    pins = [x for label in ("root-a", "targets")
            for x in ("--pin-source", f"{label}={hsm.pin_source(label)}")]
    gun = "example.com/nosocket/ceremonies"
    pub = base / "alice.pub"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    pub.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def run(*args):
        r = run_cli(*args, env=env, wrapper=AIRGAPPED, cwd=base)
        assert r.returncode == 0, (args, r.output)
        return r

    for notary in notary_server(tmp_path_factory):
        req = fetch(notary, gun, base / "init.req")
        run("init", "--request", str(req), "--out", str(base / "init.resp"), "--root-token",
            "root-a", "--targets-token", "targets", *pins, "--yes")
        published(notary, base / "init.resp")
        req = fetch(notary, gun, base / "signer.req", operation="signer-add")
        run("signer", "add", gun, "alice", "--key", str(pub), "--request", str(req), "--out",
            str(base / "signer.resp"), "--targets-token", "targets", *pins, "--yes")
        published(notary, base / "signer.resp")
        req = fetch(notary, gun, base / "rotate.req", operation="rotate-targets")
        run("rotate", "targets", gun, "--request", str(req), "--out", str(base / "rotate.resp"),
            "--targets-token", "targets", "--root-token", "root-a", "--label", "targets-2",
            *pins, "--yes")
        run("status", str(base / "rotate.resp"))
        published(notary, base / "rotate.resp")

    rows = records(report)
    armed = {r["pid"] for r in rows if r.get("armed")}
    exits = [r for r in rows if r.get("exit")]
    assert len(armed) == len(exits) == 4, rows
    assert [r["argv"][1] for r in exits] == ["init", "signer", "rotate", "status"]
    assert [r for r in rows if "socket_event" in r] == []
    assert [r for r in exits if r["network_modules"]] == []
