"""The offline machine as the TUF tests drive it: SoftHSM tokens, every command air-gapped,
each output kept; `Offline` (conftest.py) and `OfflineSite` (ceremony_world.py) add their
commands on top."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from softhsm.env import SoftHSMEnv
from tests.conftest import AIRGAPPED, CliResult, run_cli


@dataclass
class AirgappedTokens:
    env: SoftHSMEnv
    outputs: list[str] = field(default_factory=list, init=False)
    tokens: ClassVar[Iterable[str]] = ()  # the labels `pins()` names when given none

    def pins(self, *labels: str) -> list[str]:
        out = []
        for label in labels or self.tokens:
            out += ["--pin-source", f"{label}={self.env.pin_source(label)}"]
        return out

    def run(self, *args: str, input: str | None = None) -> CliResult:
        result = run_cli(*args, env=self.env.env, input=input, wrapper=AIRGAPPED)
        self.outputs.append(result.output)
        return result
