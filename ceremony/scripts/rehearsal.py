"""`ceremony run --dry-run`: rehearse a script on a throwaway world.

- a rehearsal folder (`--rehearsal-dir DIR`, else a fresh temporary folder) holds everything;
  the real workspace, tokens and output paths are never written;
- throwaway SoftHSM tokens with the labels the script's token URIs name (`token=`; else the
  token's name in the script), random PINs in files (0600), no PIN on any command line;
- a throwaway workspace (empty, or a copy of `--workspace DIR` when one is given);
- the online side is played by a real notary-server on 127.0.0.1, with notary-signer holding
  the server's ECDSA keys (as Docker Hub runs it), and the real notary client
  (world.py): a request input is replaced by a request the rehearsal's server makes for the
  same GUNs and operation, and the response of that step is published and checked by a client
  pinned to the root certificates; `rehearsal.setup` steps build the state the script starts
  from (e.g. an existing repository with a signer); `rehearsal.transfer: qr` makes every
  such request and response cross as QR frames (PNG files written and read back);
- when the machine has a network, the rehearsal re-runs itself in a new network namespace
  (`unshare --net`) with only a loopback interface, so the offline steps pass the air-gap check
  for real; if that is impossible it goes on with --allow-network, recorded and shown;
- one transcript, in the throwaway workspace; a rehearsal is not resumable (its server kept
  everything in memory): run it again.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ceremony.notary.ceremonies.runner import Console
from ceremony.scripts.checks import check_inputs, targets_keys_now
from ceremony.scripts.context import Context
from ceremony.scripts.run import (
    RunOptions,
    confirm_start,
    finish,
    header,
    print_summary,
    run_steps,
    show_plan,
    slug,
    start_transcript,
)
from ceremony.scripts.schema import Script, read_script
from ceremony.scripts.yamlread import ScriptError

ISOLATED = "CEREMONY_REHEARSAL_NETNS"
DEFAULT_SCRIPT = "rehearsal.yaml"


def default_script() -> tuple[Path, bytes]:
    """The embedded rehearsal script (package data)."""
    resource = importlib.resources.files("ceremony.scripts") / DEFAULT_SCRIPT
    return Path(str(resource)), resource.read_bytes()


def load(opts: RunOptions) -> Script:
    if opts.script is None:
        path, data = default_script()
        return read_script(path, data)
    return read_script(opts.script)


# --- a network namespace with only a loopback interface ------------------------------------------

def isolation_command(argv: list[str]) -> list[str] | None:
    """The command that re-runs this rehearsal in its own network namespace, or None when the
    machine is offline already, this is that re-run, or namespaces are not available."""
    from ceremony.airgap import network_findings
    if os.environ.get(ISOLATED) or not network_findings():
        return None
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    base = [unshare, "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    try:
        probe = subprocess.run([*base, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        return None
    return [*base, sys.executable, "-m", "ceremony", *argv]


def run_isolated(argv: list[str]) -> int | None:
    """Re-run in a new network namespace; its exit status, or None if not possible."""
    command = isolation_command(argv)
    if command is None:
        return None
    env = dict(os.environ, **{ISOLATED: "1"})
    return subprocess.run(command, env=env).returncode


def loopback_up() -> None:
    """Bring `lo` up in this (new) network namespace: the rehearsal server listens there."""
    import fcntl
    import socket
    import struct
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, request))[1]
        if not flags & iff_up:
            fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


# --- the rehearsal -------------------------------------------------------------------------------

def _folder(opts: RunOptions) -> Path:
    if opts.rehearsal_dir:
        folder = Path(opts.rehearsal_dir).absolute()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ScriptError(f"--rehearsal-dir {folder} exists and is not empty")
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return Path(tempfile.mkdtemp(prefix="ceremony-rehearsal-"))


def dry_run(opts: RunOptions, console: Console) -> dict[str, Any]:
    from ceremony.airgap import network_findings
    from ceremony.workspace import Workspace
    from hsm.uri import format_uri
    from softhsm.env import SoftHSMError, TokenSpec, create_env
    if opts.pin_sources:
        raise ScriptError("--pin-source: a rehearsal makes its own tokens and PIN files")
    if opts.resume or opts.abandon:
        raise ScriptError("a rehearsal cannot be resumed or abandoned (its server kept "
                          "everything in memory): run the rehearsal again")
    script = load(opts)
    inputs, notes = check_inputs(script, dry_run=True)
    for step in script.steps:
        for param in step.spec.refs:
            values = step.params.get(param)
            for ref in values if isinstance(values, list) else [values]:
                spec = script.inputs.get(ref)
                if spec is not None and (spec.kind == "response" or (
                        spec.kind == "certificate" and ref not in inputs)):
                    raise ScriptError(f"step {step.id} reads the {spec.kind} input {ref!r}, "
                                      "made at another site: a rehearsal cannot stand in for "
                                      "it; rehearse the script that makes it")
    isolated = bool(os.environ.get(ISOLATED))
    if isolated:
        loopback_up()
    findings = network_findings()
    allow_network = bool(findings)
    folder = _folder(opts)
    show_plan(console, script, inputs, notes, dry_run=True)
    header(console, "Rehearsal set-up")
    console.show(f"rehearsal folder {folder}")
    if isolated:
        console.show("network: own network namespace, loopback only (unshare --net): the "
                     "offline steps pass the air-gap check")
    elif findings:
        console.show("network: PRESENT (" + "; ".join(findings) + "); unshare --net is not "
                     "available here, so the rehearsal goes on with --allow-network "
                     "(recorded in the transcript)")
    every = {**script.tokens, **script.rehearsal.tokens}
    labels = [t.label for t in every.values()]
    try:
        env = create_env(folder / "softhsm", [TokenSpec(label) for label in labels])
    except SoftHSMError as exc:
        raise ScriptError(f"rehearsal tokens: {exc}") from None
    os.environ.update(env.env)
    console.show(f"throwaway SoftHSM tokens: {', '.join(labels) or 'none'} (random PINs in "
                 f"{env.pin_dir}, mode 0600)")

    def token_uri(name: str) -> str:
        label = every[name].label
        return format_uri(None, token=label, pin_source=f"file:{env.pin_file(label)}")

    workspace = folder / "workspace"
    if opts.workspace:
        shutil.copytree(opts.workspace, workspace, symlinks=True,
                        ignore=shutil.ignore_patterns(".lock"))
        console.show(f"workspace: a throwaway copy of {opts.workspace}")
    ws = Workspace.open(workspace, create=True)
    ctx = Context(script=script, dry_run=True, workspace=str(ws.path),
                  outputs=folder / "outputs", setup_outputs=folder / "setup", yes=opts.yes,
                  allow_network=allow_network, module=env.module, console=console,
                  token_uri=token_uri)
    ctx.outputs.mkdir()
    ctx.produced.update(inputs)
    from ceremony.scripts.world import World
    ctx.world = World(folder, script.rehearsal.transfer)
    try:
        for name, spec in script.inputs.items():
            if name not in inputs and spec.kind == "public-key":
                ctx.produced[name] = ctx.world.make_key(ctx, name, folder / "stand-ins" /
                                                        f"{name}.pub", name)
        answer = confirm_start(ctx, script)
        ctx.transcript = start_transcript(
            ctx, ws.new_transcript_path(f"run-{slug(script.name)}"), inputs, findings, answer,
            {"rehearsal_dir": str(folder), "isolated_network": isolated,
             "tokens": labels, "transfer": script.rehearsal.transfer})
        before = targets_keys_now(str(ws.path), script.guns)
        ctx.transcript.append("state", {"targets_keys_before": before})
        try:
            steps = [*script.rehearsal.setup, *script.steps]
            run_steps(ctx, steps, None)
            result = finish(ctx, before, {"rehearsal_dir": str(folder)})
        except BaseException as exc:
            if not ctx.transcript.closed:
                ctx.transcript.error(exc)
                ctx.transcript.close("rehearsal-failed")
            raise
    finally:
        ctx.world.stop()
    print_summary(console, result)
    return result
