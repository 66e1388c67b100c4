"""A throwaway TPM 2.0 token: swtpm + tpm2-abrmd + tpm2-pkcs11, all state in one folder.

    env = start_tpm_env("/tmp/t", ["tpm-root", "tpm-targets"])
    ... CEREMONY_PKCS11_MODULE / TPM2_PKCS11_* from env.env ...
    env.stop()

- `swtpm` (a software TPM 2.0) listens on a UNIX socket in the folder only (no port),
  state in FOLDER/tpm-state.
- `tpm2-abrmd` is the resource manager between the TPM and its clients: without it
  tpm2-pkcs11 runs the TPM out of object slots (`Esys_Create(0x902) - tpm:warn(2.0): out of
  memory for object contexts`). It talks to clients over a private D-Bus (`dbus-daemon` with a
  socket FILE in the folder, so commands run in a network namespace without a network, as key
  commands must, still reach it).
- The token store (sqlite) is FOLDER/store (TPM2_PKCS11_STORE). Tokens are made with Debian's
  `tpm2_ptool` (a module of the system python3): `init` once, then `addtoken` per label.
  `addtoken` runs tpm2-tools with a PIN-derived authorisation (a salted hash of the PIN, which
  unseals the token's wrapping key) on their command lines, so it is given one-time PINs,
  which are then changed to the real ones through PKCS#11 (C_SetPIN, softhsm.inittoken, PINs
  on stdin): the real PINs never reach a command line. (Tokens made with C_InitToken on the
  module's empty slot avoid tpm2_ptool, but the module then offers fewer mechanisms: no
  RSA-PSS.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from softhsm.moduleenv import (
    ModuleEnv,
    ModuleEnvError,
    find_module,
    random_pin,
    stop_process,
    wait_ready,
)

TPM_MODULE_NAMES = ["libtpm2_pkcs11.so", "libtpm2_pkcs11.so.1"]
SYSTEM_PYTHON = "/usr/bin/python3"
# The user PIN: tpm2-pkcs11 accepts any length; 8 keeps one PIN policy across the modules.
PIN_LENGTH = 8

# Runs inside Debian's python3: sets tpm2_ptool's arguments in-process (so the PINs, read from
# stdin, never appear in a process's argv) and runs its `addtoken`.
_ADDTOKEN = """
import json, sys
req = json.loads(sys.stdin.read())
sys.argv = ["tpm2_ptool", "addtoken", "--pid=1", "--label=" + req["label"],
            "--sopin=" + req["so_pin"], "--userpin=" + req["pin"], "--path=" + req["store"]]
from tpm2_pkcs11.tpm2_ptool import main
main()
"""

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def find_tpm_module() -> str:
    return find_module(TPM_MODULE_NAMES)


def _wait_for(check: Callable[[], bool], what: str, proc: subprocess.Popen[bytes],
              timeout: float = 20) -> None:
    started = wait_ready(proc, check, timeout)
    if started is False:
        raise ModuleEnvError(f"{what} exited with {proc.returncode} while starting")
    if started is None:
        raise ModuleEnvError(f"{what} did not come up within {timeout:.0f} s")


def _tail(path: Path) -> str:
    try:
        return " ".join(path.read_text(errors="replace").split())[-400:]
    except OSError:
        return "(unreadable)"


def _set_pins(module: str, changes: list[dict[str, str]], variables: dict[str, str]) -> None:
    """The real PINs, through PKCS#11 C_SetPIN in a child process (PINs on its stdin)."""
    child = {**os.environ, **variables}
    child["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent)]
        + [p for p in child.get("PYTHONPATH", "").split(os.pathsep) if p])
    r = subprocess.run([sys.executable, "-m", "softhsm.inittoken"],
                       input=json.dumps({"module": module, "changes": changes}), env=child,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise ModuleEnvError(f"setting the TPM tokens' PINs failed: {' '.join(r.stderr.split())}")


def _start_swtpm(root: Path, logs: Any) -> tuple[subprocess.Popen[bytes], Path]:
    """swtpm on a private UNIX socket (its control channel beside it, SOCKET.ctrl, where the
    swtpm TCTI looks for it). No TCP port: a port picked as free can be taken by another
    process before swtpm binds it, and a check that the port answers then finds the other
    process. The socket path must fit sun_path (108 bytes): a long folder gets a short
    private directory under /tmp, removed with the environment."""
    folder = root
    if len(str(root / "swtpm.sock.ctrl")) > 100:
        folder = Path(tempfile.mkdtemp(prefix="swtpm-"))
    sock = folder / "swtpm.sock"
    swtpm = subprocess.Popen(
        ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={root / 'tpm-state'}",
         "--server", f"type=unixio,path={sock},mode=0600",
         "--ctrl", f"type=unixio,path={sock}.ctrl,mode=0600",
         "--flags", "not-need-init,startup-clear"], stdout=logs, stderr=logs)
    try:
        _wait_for(lambda: sock.exists() and Path(f"{sock}.ctrl").exists(), "swtpm", swtpm)
    except BaseException:
        stop_process(swtpm)
        raise
    return swtpm, sock


def start_tpm_env(folder: str | os.PathLike[str], labels: list[str]) -> ModuleEnv:
    """Start swtpm, a private D-Bus and tpm2-abrmd, make a token store in `folder` (empty or
    absent) with one token per label (random PINs in pins/)."""
    root = Path(folder).resolve()
    if root.exists() and any(root.iterdir()):
        raise ModuleEnvError(f"{root} is not empty; give a fresh folder for a throwaway TPM")
    for sub in ("tpm-state", "store"):
        (root / sub).mkdir(parents=True, mode=0o700)
    env = ModuleEnv(name="tpm2", root=root, module=find_tpm_module(), variables={})
    logs = open(root / "daemons.log", "ab")  # noqa: SIM115 (kept open for the daemons)
    env.stoppers.append(logs.close)
    try:
        swtpm, sock = _start_swtpm(root, logs)
        env.stoppers.append(partial(stop_process, swtpm))
        if sock.parent != root:
            env.stoppers.append(lambda: shutil.rmtree(sock.parent, ignore_errors=True))

        bus = root / "bus"
        (root / "bus.conf").write_text(_BUS_CONFIG.format(socket=bus))
        dbus = subprocess.Popen(["dbus-daemon", f"--config-file={root / 'bus.conf'}",
                                 "--nofork"], stdout=logs, stderr=logs)
        env.stoppers.append(partial(stop_process, dbus))
        _wait_for(bus.exists, "dbus-daemon", dbus)
        bus_address = f"unix:path={bus}"

        abrmd = subprocess.Popen(
            ["tpm2-abrmd", "--session", "--allow-root",
             f"--tcti=swtpm:path={sock}"],
            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus_address},
            stdout=logs, stderr=logs)
        env.stoppers.append(partial(stop_process, abrmd))
        env.variables = {
            "DBUS_SESSION_BUS_ADDRESS": bus_address,
            "TPM2_PKCS11_TCTI": "tabrmd:bus_type=session",
            "TPM2TOOLS_TCTI": "tabrmd:bus_type=session",
            "TPM2_PKCS11_STORE": str(root / "store"),
            # The module and the TSS print to stderr; a ceremony's errors are its own lines.
            "TPM2_PKCS11_LOG_LEVEL": "0",
            "TSS2_LOG": "all+NONE",
        }
        child = {**os.environ, **env.variables}
        child.pop("PYTHONPATH", None)  # Debian's python3 with its own packages only

        last_error: list[str] = []

        def ptool_init() -> bool:
            r = subprocess.run([SYSTEM_PYTHON, "-m", "tpm2_pkcs11.tpm2_ptool", "init",
                                f"--path={root / 'store'}"], env=child, capture_output=True,
                               text=True, timeout=60)
            last_error[:] = [" ".join(r.stderr.split())[-300:]]
            return r.returncode == 0
        try:
            _wait_for(ptool_init, "tpm2-abrmd (tpm2_ptool init)", abrmd, timeout=60)
        except ModuleEnvError as e:
            raise ModuleEnvError(f"{e}; tpm2_ptool said: {''.join(last_error)}; daemons' log: "
                                 f"{_tail(root / 'daemons.log')}") from None
        changes = []
        for label in labels:
            once, so_once = random_pin(PIN_LENGTH), random_pin(PIN_LENGTH)
            r = subprocess.run([SYSTEM_PYTHON, "-c", _ADDTOKEN], env=child, text=True,
                               input=json.dumps({"label": label, "pin": once, "so_pin": so_once,
                                                 "store": str(root / "store")}),
                               capture_output=True, timeout=120)
            if r.returncode != 0:
                detail = " ".join(r.stderr.split())[-300:]
                raise ModuleEnvError(f"tpm2_ptool addtoken {label!r} failed: {detail}")
            changes.append({"label": label, "old_pin": once, "old_so_pin": so_once,
                            "pin": random_pin(PIN_LENGTH), "so_pin": random_pin(PIN_LENGTH)})
        _set_pins(env.module, changes, env.variables)
        for change in changes:
            env.save_pins(change["label"], change["pin"], change["so_pin"])
    except BaseException:
        env.stop()
        raise
    return env
