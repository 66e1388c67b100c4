"""Shared fixtures. Everything real: SoftHSM tokens, the notary server/client, zxing-cpp."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Real SoftHSM tokens for every test folder: softhsm_env (one per test process), softhsm_factory.
pytest_plugins = ["softhsm.pytest_plugin"]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# Run a command as on an air-gapped machine: a fresh network namespace with only loopback up,
# and its own sysfs so that /sys/class/net shows that namespace (tests run as root).
AIRGAPPED = ("unshare", "--net", "--mount", "sh", "-c",
             'mount -t sysfs sysfs /sys && ip link set lo up && exec "$0" "$@"')


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            cwd: str | os.PathLike[str] | None = None, timeout: float = 300,
            wrapper: Sequence[str] = ()) -> CliResult:
    """Run `python -m ceremony ARGS` in a subprocess, exactly as a user would (`wrapper`: a
    command prefix such as AIRGAPPED)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.pop("CEREMONY_DEBUG", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [*wrapper, sys.executable, "-m", "ceremony", *args],
        env=full_env, input=input if input is not None else "", capture_output=True, text=True,
        cwd=cwd, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli
