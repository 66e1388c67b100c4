"""docs/first-ceremony.md as a list of steps, and a room that runs them as a person would.

The page marks each command block it wants run with `<!-- step NAME on MACHINE -->` right
before a ```sh fence. `Room.run` executes one block with bash (`set -euo pipefail`) in one
working folder shared by every machine (the files "cross" the gap by being there); the shell
variables a block exports carry over to the next block, as in one terminal per machine.
Blocks on the `offline` machine run air-gapped (a fresh network namespace with only loopback,
tests/conftest.AIRGAPPED). `ceremony` and `python` on PATH are this checkout's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import AIRGAPPED, ROOT

DOC = ROOT / "docs" / "first-ceremony.md"
MACHINES = ("any", "online", "offline", "verifier", "delegate")
_STEP = re.compile(r"^[ \t]*<!-- step (?P<name>[a-z0-9-]+) on (?P<machine>[a-z]+) -->\n"
                   r"(?P<indent>[ \t]*)```sh\n(?P<code>.*?)\n(?P=indent)```", re.M | re.S)


@dataclass(frozen=True)
class Step:
    name: str
    machine: str
    code: str


def doc_steps(text: str | None = None) -> list[Step]:
    """The marked command blocks of the page, in order."""
    text = DOC.read_text() if text is None else text
    steps = [Step(m["name"], m["machine"], textwrap.dedent(m["code"]))
             for m in _STEP.finditer(text)]
    markers = re.findall(r"^[ \t]*<!-- step ", text, re.M)
    assert len(markers) == len(steps), "a step marker without a ```sh block right after it"
    return steps


@dataclass
class Output:
    step: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


class Room:
    """One folder for every machine of the page, a HOME of its own, the exported variables."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.home = folder / ".home"
        self.bin = folder / ".bin"
        self.state = folder / ".exports"
        for d in (self.home, self.bin):
            d.mkdir(parents=True)
        for name, target in (("ceremony", f"{shlex.quote(sys.executable)} -m ceremony"),
                             ("python", shlex.quote(sys.executable))):
            shim = self.bin / name
            shim.write_text(f"#!/bin/sh\nexec {target} \"$@\"\n")
            shim.chmod(0o755)
        self.state.write_text("")
        self.outputs: list[Output] = []

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CEREMONY_", "SOFTHSM", "DOCKER_", "NOTARY_"))}
        env.update(HOME=str(self.home), PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}",
                   PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
        return env

    def run(self, step: Step, input: str = "", timeout: float = 300) -> Output:
        script = (f"set -euo pipefail\ncd {shlex.quote(str(self.folder))}\n"
                  f". {shlex.quote(str(self.state))}\n{step.code}\n"
                  f"export -p > {shlex.quote(str(self.state))}.new\n")
        wrapper = list(AIRGAPPED) if step.machine == "offline" else []
        proc = subprocess.run([*wrapper, "bash", "-c", script], env=self.base_env(),
                              input=input, capture_output=True, text=True, timeout=timeout,
                              cwd=self.folder)
        out = Output(step.name, proc.returncode, proc.stdout, proc.stderr)
        self.outputs.append(out)
        assert proc.returncode == 0, (f"step {step.name} (on {step.machine}) failed, exit "
                                      f"{proc.returncode}:\n{step.code}\n--- stdout\n"
                                      f"{proc.stdout}\n--- stderr\n{proc.stderr}")
        new = Path(f"{self.state}.new")
        # keep what the page exported; drop the shell's own bookkeeping
        lines = [line for line in new.read_text().splitlines()
                 if not re.match(r"declare -x (OLDPWD|PWD|SHLVL|_)(=|$)", line)]
        self.state.write_text("\n".join(lines) + "\n")
        new.unlink()
        return out

    def var(self, name: str) -> str:
        """The value of a variable the page exported so far."""
        script = f". {shlex.quote(str(self.state))}; printf %s \"${{{name}:-}}\""
        return subprocess.run(["bash", "-c", script], env=self.base_env(), capture_output=True,
                              text=True, check=True).stdout
