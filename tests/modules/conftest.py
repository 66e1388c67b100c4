"""The same tests on three real PKCS#11 implementations: SoftHSM, openCryptoki's software token
and a TPM 2.0 (swtpm + tpm2-abrmd + tpm2-pkcs11). `case` is the module under test.

All tests here are in one xdist group (`scripts/test` runs with `--dist loadgroup`): the
openCryptoki daemon and its token are system-wide, one test process at a time may hold them
(others wait for its lock). Each implementation is started once per test process (a module
can be C_Initialize'd once per process, so its environment must outlive every test that
loaded it) and stopped at the end.
What each module offers is written down here as measured on Debian bookworm; the tests check
the tool's answers against it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from softhsm.moduleenv import ModuleEnv
from softhsm.opencryptoki import start_opencryptoki_env
from softhsm.tpm import start_tpm_env
from tests.conftest import AIRGAPPED, CliResult, run_cli

# tpm2 before opencryptoki: both modules export a function `object_create`, and once
# openCryptoki's software token library is loaded, a tpm2-pkcs11 C_CreateObject that was not
# yet bound runs openCryptoki's and fails (CKR_KEY_HANDLE_INVALID). See docs/hsm.md.
MODULES = ["softhsm", "tpm2", "opencryptoki"]

# What the module offers of this tool's algorithms (its mechanism lists, measured).
SUPPORTED = {
    "softhsm": ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-3072", "rsa-4096", "ed25519"],
    "opencryptoki": ["rsa-3072", "rsa-4096"],          # 3.8: no EC mechanisms at all
    "tpm2": ["ecdsa-p256", "ecdsa-p384", "rsa-3072"],  # RSA up to 3072 bits, no Ed25519
}
# Custody problems each module's keys really have (read back from the token).
CUSTODY_EXTRAS = {"softhsm": [], "opencryptoki": [], "tpm2": ["decrypt=true"]}
# The algorithm for root keys on each module (Notary root certificates: ECDSA or RSA).
ROOT_ALGORITHM = {"softhsm": "ecdsa-p256", "opencryptoki": "rsa-3072", "tpm2": "ecdsa-p256"}


@dataclass
class Case:
    """One module under test: its environment and the tokens to use for root and targets."""

    name: str
    env: Any                      # SoftHSMEnv or ModuleEnv: .env, .pin_source(), .pin()
    module: str
    root: str                     # token label for root keys
    targets: str                  # token label for targets keys (one token on openCryptoki)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def supported(self) -> list[str]:
        return SUPPORTED[self.name]

    @property
    def unsupported(self) -> list[str]:
        return [a for a in SUPPORTED["softhsm"] if a not in self.supported]

    @property
    def root_algorithm(self) -> str:
        return ROOT_ALGORITHM[self.name]

    def variables(self) -> dict[str, str]:
        return {**self.env.env, "CEREMONY_PKCS11_MODULE": self.module}

    def cli(self, *args: str, env: dict[str, str] | None = None, offline: bool = True,
            **kw: Any) -> CliResult:
        """`ceremony ARGS` with this module, by default on an air-gapped machine."""
        return run_cli(*args, env={**self.variables(), **(env or {})},
                       wrapper=AIRGAPPED if offline else (), **kw)

    def pool(self, token: str | None = None) -> Any:
        from hsm.session import TokenPool
        return TokenPool(module=self.module, pin_source=self.env.pin_source(token or self.root))


class Environments:
    """Module environments started on first use and stopped at the end of the session."""

    def __init__(self, tmp: pytest.TempPathFactory, softhsm_env: Any) -> None:
        self._tmp = tmp
        self._softhsm = softhsm_env
        self._cases: dict[str, Case] = {}

    def get(self, name: str) -> Case:
        if name not in self._cases:
            self._cases[name] = self._start(name)
        return self._cases[name]

    def _start(self, name: str) -> Case:
        if name == "softhsm":
            env = self._softhsm
            return Case(name, env, env.module, root="root-a", targets="targets")
        if name == "opencryptoki":
            env = start_opencryptoki_env(self._tmp.mktemp("opencryptoki"), "ock-token")
            return Case(name, env, env.module, root="ock-token", targets="ock-token")
        env = start_tpm_env(self._tmp.mktemp("tpm2"), ["tpm-root", "tpm-targets"])
        # tpm2-pkcs11 reads its store and TCTI from the environment at C_Initialize.
        os.environ.update(env.variables)
        return Case(name, env, env.module, root="tpm-root", targets="tpm-targets")

    def stop(self) -> None:
        for case in self._cases.values():
            if isinstance(case.env, ModuleEnv):
                case.env.stop()


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory,
                 softhsm_env: Any) -> Iterator[Environments]:
    envs = Environments(tmp_path_factory, softhsm_env)
    yield envs
    envs.stop()


@pytest.fixture(params=MODULES)
def case(request: pytest.FixtureRequest, environments: Environments) -> Case:
    return environments.get(request.param)


def unique(prefix: str) -> str:
    """A key label no other test on the shared tokens uses."""
    return f"{prefix}-{os.urandom(4).hex()}"


def error_line(result: CliResult, warning: str | None = None) -> str:
    """The one `error: ...` line of a refused command (exit 1, no traceback). tpm2-pkcs11
    writes its own `ERROR:` lines to stderr, which no setting switches off; the tool's own
    output is still exactly one line (after the one `warning:` line expected, if given)."""
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output
    ours = [line for line in result.stderr.splitlines()
            if not line.startswith(("ERROR:", "WARNING:"))]
    if warning is not None:
        assert ours and ours[0].startswith("warning: ") and warning in ours[0], result.stderr
        ours = ours[1:]
    assert len(ours) == 1 and ours[0].startswith("error: "), result.stderr
    return ours[0]


def folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
