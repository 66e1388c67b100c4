"""openCryptoki's software token for tests: pkcsslotd started and stopped by the environment.

    env = start_opencryptoki_env("/tmp/o", "ock-root")
    ... CEREMONY_PKCS11_MODULE from env.env ...
    env.stop()

openCryptoki (Debian bookworm: 3.8) keeps its state in SYSTEM-WIDE places that no variable
moves: the configuration /etc/opencryptoki/opencryptoki.conf, the software token's store
/var/lib/opencryptoki/swtok, the daemon's socket and pid file /run/pkcsslotd.*, and shared
memory (/dev/shm/var.lib.opencryptoki.*, a SysV segment). So this environment:
- takes an exclusive lock (/run/lock/ceremony-opencryptoki-test.lock; a second test process
  waits for it) and refuses to run when a pkcsslotd it did not start is running;
- empties the software token's store, starts pkcsslotd, initialises the one software token
  (slot 3) through PKCS#11: C_InitToken with the factory SO PIN 87654321, then a random SO PIN
  and user PIN (8 characters: the token takes 4-8), written to FOLDER/pins, never on a command
  line;
- on stop, ends that pkcsslotd, empties the store again and removes the shared memory files, so
  nothing of the test is left behind. Never run it on a machine whose openCryptoki holds keys.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from softhsm.moduleenv import ModuleEnv, ModuleEnvError, find_module, random_pin

OCK_MODULE_NAMES = ["libopencryptoki.so", "opencryptoki/libopencryptoki.so.0"]
SWTOK = Path("/var/lib/opencryptoki/swtok")
PID_FILE = Path("/run/pkcsslotd.pid")
SOCKET = Path("/run/pkcsslotd.socket")
LOCK_FILE = Path("/run/lock/ceremony-opencryptoki-test.lock")
FACTORY_SO_PIN = "87654321"  # openCryptoki's documented default SO PIN before C_InitToken
PIN_LENGTH = 8               # the software token accepts PINs of 4 to 8 characters
LOCK_WAIT = 3600.0  # another test process may hold it for its whole session


def find_opencryptoki_module() -> str:
    return find_module(OCK_MODULE_NAMES)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _running_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _wipe_state() -> None:
    if SWTOK.is_dir():
        for entry in SWTOK.iterdir():
            if entry.name == "TOK_OBJ":
                for obj in entry.iterdir():
                    obj.unlink()
            elif entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    for shm in Path("/dev/shm").glob("var.lib.opencryptoki.*"):
        shm.unlink(missing_ok=True)


def _lock() -> int:
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise ModuleEnvError(f"openCryptoki is held by another test process "
                                     f"({LOCK_FILE}) for more than {LOCK_WAIT:.0f} s") from None
            time.sleep(0.5)


def start_opencryptoki_env(folder: str | os.PathLike[str], label: str) -> ModuleEnv:
    """Start pkcsslotd and initialise the software token as `label` (see the module text)."""
    root = Path(folder).resolve()
    if root.exists() and any(root.iterdir()):
        raise ModuleEnvError(f"{root} is not empty; give a fresh folder")
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    module = find_opencryptoki_module()
    if not SWTOK.is_dir():
        raise ModuleEnvError(f"openCryptoki's software token store {SWTOK} is missing; "
                             "install opencryptoki (scripts/bootstrap)")
    env = ModuleEnv(name="opencryptoki", root=root, module=module, variables={})
    lock_fd = _lock()
    env.stoppers.append(lambda: os.close(lock_fd))
    try:
        other = _running_pid()
        if other is not None:
            raise ModuleEnvError(f"pkcsslotd is already running (pid {other}) and this test "
                                 "environment did not start it; stop it first (its state is "
                                 "system-wide)")
        _wipe_state()
        env.stoppers.append(_wipe_state)
        r = subprocess.run(["pkcsslotd"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise ModuleEnvError(f"pkcsslotd failed to start: {' '.join(r.stderr.split())}")
        deadline = time.monotonic() + 20
        while (_running_pid() is None or not SOCKET.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = _running_pid()
        if pid is None:
            raise ModuleEnvError("pkcsslotd did not come up (no live pid in /run/pkcsslotd.pid)")
        env.stoppers.append(lambda: _stop_daemon(pid))
        pin, so_pin = random_pin(PIN_LENGTH), random_pin(PIN_LENGTH)
        _init_token(module, label, pin, so_pin)
        env.save_pins(label, pin, so_pin)
    except BaseException:
        env.stop()
        raise
    return env


def _stop_daemon(pid: int) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    SOCKET.unlink(missing_ok=True)
    PID_FILE.unlink(missing_ok=True)


def reset_user_pin(env: ModuleEnv, label: str) -> None:
    """Unblock a locked user PIN as its security officer would (SO login, C_InitPIN), setting
    it to the PIN in the environment's PIN file."""
    _run_init({"module": env.module, "resets": [
        {"label": label, "pin": env.pin(label),
         "so_pin": env.so_pin_file(label).read_text().rstrip("\n")}]})


def _init_token(module: str, label: str, pin: str, so_pin: str) -> None:
    _run_init({"module": module, "tokens": [{"label": label, "pin": pin, "so_pin": so_pin,
                                             "factory_so_pin": FACTORY_SO_PIN}]})


def _run_init(request: dict[str, object]) -> None:
    child = dict(os.environ)
    child["CEREMONY_OPENCRYPTOKI_THROWAWAY"] = str(LOCK_FILE)
    child["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent)]
        + [p for p in child.get("PYTHONPATH", "").split(os.pathsep) if p])
    r = subprocess.run([sys.executable, "-m", "softhsm.inittoken"], input=json.dumps(request),
                       env=child, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise ModuleEnvError(f"PKCS#11 set-up of the openCryptoki software token failed: "
                             f"{' '.join(r.stderr.split())}")
