"""`python -m softhsm.notary_server --dir DIR`: a lab Notary service for a first ceremony.

Starts notary-signer and notary-server (ECDSA server keys, as Docker Hub and Harbor run them;
`--trust-service local` for in-process Ed25519 keys) on 127.0.0.1 in the background, each in its
own session, and returns. On stdout, for `eval`:

    export SERVER_URL=https://localhost:4443
    export SERVER_CA=/abs/DIR/tls/ca.pem

and on stderr what it is, where its logs are and how to stop it
(`python -m softhsm.notary_server --dir DIR --stop`). DIR/lab-server.json records the process
IDs; `--stop` ends exactly those processes, after checking that each still runs the
configuration in DIR. A lab service keeps everything in memory: stopping it loses every
repository on it. It is for labs and first-ceremony practice, never for production.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

from softhsm.notary_server import DEFAULT_TRUST_SERVICE, TRUST_SERVICES, NotaryServer

STATE = "lab-server.json"
DEFAULT_PORT = 4443


class LabError(Exception):
    """The lab service cannot be started or stopped as asked."""


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _ours(pid: int, config: str) -> bool:
    """Whether `pid` is still a notary process started with `config` (not a reused PID)."""
    args = _cmdline(pid)
    return bool(args) and Path(args[0]).name in ("notary-server", "notary-signer") \
        and config in args


def _running(state: dict) -> list[tuple[int, str]]:
    return [(p["pid"], p["config"]) for p in state.get("processes", [])
            if _ours(p["pid"], p["config"])]


def _read_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATE).read_text())
    except (OSError, ValueError):
        return None


def stop_command(folder: Path) -> str:
    return (f"{shlex.quote(sys.executable)} -m softhsm.notary_server --dir "
            f"{shlex.quote(str(folder))} --stop")


def start(folder: Path, port: int, trust_service: str) -> dict:
    state = _read_state(folder)
    if state and _running(state):
        raise LabError(f"a lab server already runs from {folder} at {state['url']}; stop it "
                       f"first: {stop_command(folder)}")
    server = NotaryServer(folder, trust_service=trust_service, port=port)
    try:
        server.start(detach=True)
    except RuntimeError as exc:
        raise LabError(str(exc)) from None
    processes = [p for p in (server.signer_process, server.process) if p is not None]
    state = {"url": server.url, "ca": str(server.ca), "trust_service": trust_service,
             "server_key_algorithm": server.key_algorithm,
             "processes": [{"pid": p.pid, "config": str(p.args[-1])}  # type: ignore[index]
                           for p in processes]}
    (folder / STATE).write_text(json.dumps(state, indent=2) + "\n")
    return state


def stop(folder: Path) -> list[int]:
    state = _read_state(folder)
    if state is None:
        raise LabError(f"no lab server state in {folder / STATE}: nothing to stop")
    stopped = []
    # the server before its signer, the reverse of the start order
    for pid, _config in reversed(_running(state)):
        os.kill(pid, signal.SIGTERM)
        stopped.append(pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(state):
        time.sleep(0.1)
    for pid, _config in _running(state):
        os.kill(pid, signal.SIGKILL)
    (folder / STATE).unlink()
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m softhsm.notary_server",
        description="Start (or --stop) a lab Notary service on 127.0.0.1: notary-server with "
                    "notary-signer (ECDSA server keys), TLS from a throwaway CA, memory storage. "
                    "For labs and first-ceremony practice only.")
    parser.add_argument("--dir", required=True, type=Path,
                        help="folder for its configuration, TLS files, logs and state")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"HTTPS port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--trust-service", choices=TRUST_SERVICES, default=DEFAULT_TRUST_SERVICE,
                        help="signer: notary-signer, ECDSA keys (default); local: in-process "
                             "Ed25519 keys (Docker Hub never uses those)")
    parser.add_argument("--stop", action="store_true", help="stop the lab server started in DIR")
    parser.add_argument("--json", action="store_true", help="print JSON instead of exports")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    folder = args.dir.absolute()
    try:
        if args.stop:
            pids = stop(folder)
            if args.json:
                print(json.dumps({"stopped": pids}))
            else:
                print(f"lab server in {folder} stopped (processes {pids or 'already gone'})",
                      file=sys.stderr)
            return 0
        state = start(folder, args.port, args.trust_service)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**state, "stop": stop_command(folder)}, indent=2))
        return 0
    print(f"export SERVER_URL={shlex.quote(state['url'])}")
    print(f"export SERVER_CA={shlex.quote(state['ca'])}")
    what = ("notary-server with notary-signer (ECDSA timestamp and snapshot keys)"
            if args.trust_service == "signer" else
            "notary-server with in-process Ed25519 server keys (trust_service local)")
    for line in (f"lab server: {what}",
                 f"  URL:          {state['url']}",
                 f"  CA to trust:  {state['ca']}",
                 f"  logs:         {folder}/server.log"
                 + (f", {folder}/signer/signer.log" if args.trust_service == "signer" else ""),
                 "  storage:      memory: every repository is lost when it stops",
                 f"  stop it with: {stop_command(folder)}"):
        print(line, file=sys.stderr)
    return 0
