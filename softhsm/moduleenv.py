"""What every throwaway token environment offers tests, whatever the PKCS#11 module behind it.

SoftHSM (softhsm.env), a software TPM 2.0 (softhsm.tpm) and openCryptoki's software token
(softhsm.opencryptoki) each make a `ModuleEnv`: the module path, the environment variables the
module and the ceremony tool need, the token labels, and a PIN file per token (mode 0600, never
on a command line). `stop()` ends the daemons the environment started, and only those.
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from softhsm.env import PinFiles


class ModuleEnvError(Exception):
    """A throwaway token environment could not be set up; the message says why."""


def wait_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool],
                timeout: float) -> bool | None:
    """True once `ready()` holds with `process` still running after it; False if `process`
    exited first (a daemon on a port picked as free most likely lost the port); None
    at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if ready() and process.poll() is None:
            return True
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """End a daemon this code started (and only that one, by its handle): terminate, and kill
    it if it has not gone within 10 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def random_pin(length: int) -> str:
    """A random PIN of exactly `length` characters (letters and digits: every module takes
    them; openCryptoki's software token accepts at most 8)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")


@dataclass
class ModuleEnv(PinFiles):
    """A running token environment: `name` is softhsm, opencryptoki or tpm2."""

    name: str
    root: Path
    module: str
    variables: dict[str, str]
    labels: list[str] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """Variables that point the module and the ceremony tool at this environment."""
        return {**self.variables, "CEREMONY_PKCS11_MODULE": self.module}

    def save_pins(self, label: str, pin: str, so_pin: str) -> None:
        self.pin_dir.mkdir(mode=0o700, exist_ok=True)
        write_secret(self.pin_file(label), pin)
        write_secret(self.so_pin_file(label), so_pin)
        self.labels.append(label)

    def stop(self) -> None:
        """Stop what this environment started, last started first."""
        while self.stoppers:
            self.stoppers.pop()()


def find_module(names: list[str]) -> str:
    """The first existing file among `names` under the usual library folders."""
    import sysconfig
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    tried = []
    for folder in (f"/usr/lib/{multiarch}/pkcs11", f"/usr/lib/{multiarch}", "/usr/lib64",
                   "/usr/lib", "/usr/local/lib"):
        for name in names:
            path = f"{folder}/{name}"
            tried.append(path)
            if os.path.isfile(path):
                return path
    raise ModuleEnvError(f"PKCS#11 module not found; tried: {', '.join(tried)}; run "
                         "scripts/bootstrap")
