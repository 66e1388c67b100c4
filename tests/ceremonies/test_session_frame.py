"""The one session frame: every ceremony, co-signing step, pin and import behaves the same way
where the copies used to differ.

- `--allow-network` on a machine with a network up warns, in the one wording, and is recorded;
- Ctrl-C ends the transcript "interrupted" (pin and adopt import used to say "failed").

Proved in a real network namespace with an interface up and a default route (unshare), so the
air-gap check really finds a network. The Ctrl-C is a real SIGINT the process sends itself
while the network warning is shown: the one moment every command shares before it reads its
own input, so one request-free driver covers them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ceremony.transcript import verify_transcript
from tests.conftest import ROOT, run_cli

ROUTED = ("unshare", "--net", "--mount", "sh", "-c",
          "mount -t sysfs sysfs /sys && ip link set lo up && "
          "ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
          "ip addr add 192.0.2.10/24 dev veth0 && ip route add default via 192.0.2.1 && "
          'exec "$0" "$@"')
GUN = "example.com/frame/app"
CERT_ID = "ab" * 32

# The commands through their library entry points; {ws}, {out}, {req} filled in per test.
CALLS = {
    "rotate-targets": "from ceremony.notary.ceremonies.rotate import RotateTargets\n"
                      "from ceremony.notary.ceremonies.runner import perform\n"
                      "perform(RotateTargets(guns=[GUN], targets_token='t', root_tokens=['r']), "
                      "Options(request=REQ, out=OUT, workspace=WS, allow_network=True), "
                      "console)",
    "sign": "from ceremony.notary.ceremonies.cosign import sign_response\n"
            "sign_response(REQ, ['t'], Options(out=OUT, workspace=WS, allow_network=True), "
            "console)",
    "merge": "from ceremony.notary.ceremonies.cosign import merge_responses\n"
             "merge_responses(REQ, REQ, Options(out=OUT, workspace=WS, allow_network=True), "
             "console)",
    "pin": "from ceremony.notary.ceremonies.pin import pin_repository\n"
           "pin_repository(GUN, REQ, [CERT], workspace=WS, allow_network=True, "
           "console=console)",
    "adopt-import": "from ceremony.notary.ceremonies.adoptimport import import_repository\n"
                    "import_repository(request=REQ, gun=GUN, root_cert_ids=[CERT], "
                    "workspace=WS, allow_network=True, console=console)",
}

DRIVER = """
import os, signal, sys
from ceremony.ceremonies.session import Console, Options
from ceremony.workspace import Workspace
WS, OUT, REQ, GUN, CERT = sys.argv[1:6]
Workspace.open(WS, create=True)

def ctrl_c(message):
    print("warning: " + message, file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered while the warning shows

console = Console(show=print, warn=ctrl_c, ask=lambda q: None)
try:
%s
except KeyboardInterrupt:
    sys.exit(130)
"""


def transcripts(ws) -> list:
    return sorted((ws / "transcripts").glob("*.jsonl"))


@pytest.mark.parametrize("command", sorted(CALLS))
def test_ctrl_c_is_interrupted_and_network_warned(command, tmp_path):
    ws, out, req = tmp_path / "ws", tmp_path / "out.resp", tmp_path / "never-read.req"
    body = "\n".join("    " + line for line in CALLS[command].splitlines())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([*ROUTED, sys.executable, "-c", DRIVER % body, str(ws), str(out),
                           str(req), GUN, CERT_ID], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.startswith("warning: the machine is not air-gapped (")
    assert "interface veth0 is up" in proc.stderr and "--allow-network" in proc.stderr
    [path] = transcripts(ws)
    result = verify_transcript(path)
    assert result.outcome == "interrupted", (command, result.outcome)
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert "airgap" in kinds and kinds[-1] == "end", kinds
    assert not out.exists()


@pytest.mark.parametrize("command", ["pin", "adopt import"])
def test_allow_network_warns_in_pin_and_import(command, tmp_path):
    """pin and adopt import used to run silently with a network up under --allow-network."""
    ws = tmp_path / "ws"
    r = run_cli(*command.split(), GUN, "--request", str(tmp_path / "missing.req"),
                "--root-cert-id", CERT_ID, "--workspace", str(ws), "--allow-network",
                wrapper=ROUTED)
    assert r.returncode == 1, r.output
    lines = r.stderr.splitlines()
    assert lines[0].startswith("warning: the machine is not air-gapped (")
    assert "interface veth0 is up" in lines[0]
    assert lines[-1].startswith("error: ") and "missing.req" in lines[-1]
    [path] = transcripts(ws)
    result = verify_transcript(path)
    assert result.outcome == "refused"
    airgap = [json.loads(line) for line in path.read_text().splitlines()
              if json.loads(line)["kind"] == "airgap"]
    assert airgap and airgap[0]["data"]["allow_network"] is True


def test_key_command_refused_on_a_network_is_recorded_refused(tmp_path):
    """The key commands' custody transcripts end as the frame's do: a refusal is "refused"
    (it used to be recorded as a failure), the air gap recorded when it is allowed."""
    ws = tmp_path / "ws"
    args = ("key", "generate", "--token", "root-a", "--label", "root", "--workspace", str(ws))
    r = run_cli(*args, wrapper=ROUTED)
    assert r.returncode == 1 and "not air-gapped" in r.stderr, r.output
    [path] = transcripts(ws)
    assert verify_transcript(path).outcome == "refused"
