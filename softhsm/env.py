"""Throwaway SoftHSM environments for tests, demos and rehearsals.

    env = create_env("/tmp/reh", [TokenSpec("root-a"), TokenSpec("targets")])
    subprocess.run(["ceremony", "token", "list"], env={**os.environ, **env.env})

A folder of the caller's choosing gets a `softhsm2.conf`, a `tokens/` directory and, for each
token, PIN files `pins/<label>.pin` and `pins/<label>.so-pin` (mode 0600; random PINs unless
given). Tokens are initialised through PKCS#11 (C_InitToken/C_InitPIN, see inittoken.py), so no
PIN ever appears on a command line. The system token store (/etc/softhsm, /var/lib/softhsm)
is never touched: everything happens under SOFTHSM2_CONF pointing into the folder.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SOFTHSM_MODULES = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
]
CONF_NAME = "softhsm2.conf"


class SoftHSMError(Exception):
    """Setting up a throwaway SoftHSM environment failed."""


def find_softhsm_module() -> str:
    """Path of libsofthsm2.so ($SOFTHSM2_MODULE first), or an error naming every path tried."""
    candidates = ([os.environ["SOFTHSM2_MODULE"]] if os.environ.get("SOFTHSM2_MODULE") else []) \
        + SOFTHSM_MODULES
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise SoftHSMError("SoftHSM module not found; tried: " + ", ".join(candidates)
                       + ". Install it with: apt-get install softhsm2")


def random_pin(nbytes: int = 12) -> str:
    return secrets.token_urlsafe(nbytes)


@dataclass
class TokenSpec:
    """A token to create; PINs are random unless given."""

    label: str
    pin: str = field(default_factory=random_pin, repr=False)
    so_pin: str = field(default_factory=random_pin, repr=False)


class PinFiles:
    """The throwaway PINs of an environment's tokens, one file each under `root/pins` (never on
    a command line): shared by the SoftHSM environment and the other modules' (moduleenv)."""

    root: Path

    @property
    def pin_dir(self) -> Path:
        return self.root / "pins"

    def pin_file(self, label: str) -> Path:
        return self.pin_dir / f"{label}.pin"

    def so_pin_file(self, label: str) -> Path:
        return self.pin_dir / f"{label}.so-pin"

    def pin_source(self, label: str) -> str:
        """A `--pin-source` value for the token's user PIN."""
        return f"file:{self.pin_file(label)}"

    def pin(self, label: str) -> str:
        return self.pin_file(label).read_text().rstrip("\n")


@dataclass
class SoftHSMEnv(PinFiles):
    root: Path
    module: str
    labels: list[str] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / CONF_NAME

    @property
    def token_dir(self) -> Path:
        return self.root / "tokens"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point SoftHSM and the ceremony tool at this folder."""
        return {"SOFTHSM2_CONF": str(self.conf), "CEREMONY_PKCS11_MODULE": self.module}

    def add_tokens(self, tokens: list[TokenSpec]) -> None:
        """Initialise more tokens here. A process that has already loaded SoftHSM sees them
        only after re-initialising the module (SoftHSM scans its token folder at C_Initialize)."""
        for spec in tokens:
            _check_label(spec.label)
            if spec.label in self.labels:
                raise SoftHSMError(f"token {spec.label!r} already exists in {self.root}")
        self.pin_dir.mkdir(mode=0o700, exist_ok=True)
        request = {"module": self.module,
                   "tokens": [{"label": t.label, "pin": t.pin, "so_pin": t.so_pin}
                              for t in tokens]}
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("SOFTHSM2_")}
        child_env["SOFTHSM2_CONF"] = str(self.conf)
        child_env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent)]
            + [p for p in child_env.get("PYTHONPATH", "").split(os.pathsep) if p])
        proc = subprocess.run([sys.executable, "-m", "softhsm.inittoken"],
                              input=json.dumps(request), env=child_env, capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            detail = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
            raise SoftHSMError(f"initialising SoftHSM tokens in {self.root} failed: {detail}")
        for spec in tokens:
            _write_secret(self.pin_file(spec.label), spec.pin)
            _write_secret(self.so_pin_file(spec.label), spec.so_pin)
            self.labels.append(spec.label)
        _save_manifest(self)


def _check_label(label: str) -> None:
    if not label or len(label.encode()) > 32 or "/" in label or label.startswith("."):
        raise SoftHSMError(f"invalid token label {label!r}: 1-32 bytes, no '/', not starting "
                           "with '.'")


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")


def _save_manifest(env: SoftHSMEnv) -> None:
    (env.root / "env.json").write_text(json.dumps(
        {"module": env.module, "conf": str(env.conf), "tokens": env.labels}, indent=2) + "\n")


def create_env(folder: str | os.PathLike[str], tokens: list[TokenSpec] | None = None, *,
               module: str | None = None) -> SoftHSMEnv:
    """Create a fresh SoftHSM environment in `folder` (which must be empty or absent)."""
    root = Path(folder).resolve()
    if root.exists() and any(root.iterdir()):
        raise SoftHSMError(f"{root} is not empty; give a fresh folder for a throwaway SoftHSM "
                           "environment")
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / "tokens").mkdir(mode=0o700)
    (root / CONF_NAME).write_text(
        "# Throwaway SoftHSM configuration (created by softhsm.env; safe to delete)\n"
        f"directories.tokendir = {root / 'tokens'}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
        "slots.mechanisms = ALL\n"
        "library.reset_on_fork = false\n")
    env = SoftHSMEnv(root=root, module=module or find_softhsm_module())
    _save_manifest(env)
    if tokens:
        env.add_tokens(tokens)
    return env


def load_env(folder: str | os.PathLike[str]) -> SoftHSMEnv:
    """Reopen an environment made by `create_env` (reads its env.json)."""
    root = Path(folder).resolve()
    try:
        data = json.loads((root / "env.json").read_text())
    except (OSError, ValueError):
        raise SoftHSMError(f"{root} is not a SoftHSM environment made by this tool (no "
                           "readable env.json)") from None
    return SoftHSMEnv(root=root, module=data["module"], labels=list(data["tokens"]))
