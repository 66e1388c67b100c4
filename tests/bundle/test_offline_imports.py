"""Offline code never imports the network code, and offline commands open no socket.

Modules are discovered, not listed: every module under groundfloor/, ceremony/, hsm/,
transfer/ and softhsm/ that lands later is covered automatically. Only the online module, the
online CLI and the loopback test-server harness are exempt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PROBE = Path(__file__).with_name("offline_probe.py")


def run_probe(*argvs: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(PROBE), json.dumps(list(argvs))], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    marker = proc.stdout.rindex("PROBE-REPORT ")
    return json.loads(proc.stdout[marker + len("PROBE-REPORT "):])


def test_offline_modules_and_commands_never_load_network_code(tmp_path):
    from ceremony.transcript import Transcript

    log = tmp_path / "t.jsonl"
    with Transcript.create(log, ceremony="probe", participants=["A"]) as t:
        t.append("note", {"text": "offline"})
    report = run_probe(["transcript", "verify", str(log)],
                       ["transcript", "verify", str(log), "--json"])
    assert report["errors"] == []
    assert report["forbidden_loaded"] == [], report["forbidden_loaded"]
    assert report["socket_events"] == [], report["socket_events"]
    # the discovery really saw the whole tree, including what it must leave alone
    assert {"ceremony.notary.online", "ceremony.notary.cli.online", "ceremony.scripts.world"} <= \
        set(report["online_modules_found"])
    for expected in ("ceremony.workspace", "ceremony.transcript", "ceremony.cli.transcript",
                     "transfer.bundle", "groundfloor.files", "hsm.signer"):
        assert expected in report["modules"]
    assert "transcript verify" in report["commands"]
    assert "online" not in {c.split()[0] for c in report["commands"]}


def test_the_check_would_catch_the_online_module():
    """Control: importing ceremony.notary.online does load what the offline check forbids."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ("import sys, ceremony.notary.online; "
            "print(all(m in sys.modules for m in ('http.client', 'ssl')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "True"
