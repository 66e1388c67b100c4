"""Fixtures for the hsm/ layer: real SoftHSM tokens, real pkcs11-tool and openssl, no mocks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest

from softhsm.env import SoftHSMEnv
from tests.conftest import AIRGAPPED, CliResult, run_cli

ALL_ALGORITHMS = ["ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096", "ed25519"]


def assert_one_line_error(result: CliResult, *needles: str) -> str:
    """A user error: non-zero exit, exactly one stderr line `error: ...`, no traceback."""
    assert result.returncode != 0, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def pkcs11_tool_objects(env: SoftHSMEnv, token: str) -> list[dict[str, str]]:
    """`pkcs11-tool --list-objects` after login, parsed into one dict per object.
    The PIN goes through the environment (`--pin env:NAME`), not argv."""
    proc = subprocess.run(
        ["pkcs11-tool", "--module", env.module, "--token-label", token, "--login",
         "--pin", "env:TEST_TOKEN_PIN", "--list-objects"],
        env={**os.environ, **env.env, "TEST_TOKEN_PIN": env.pin(token)},
        capture_output=True, text=True, timeout=60, check=True)
    objects: list[dict[str, str]] = []
    for line in proc.stdout.splitlines():
        if line and not line.startswith(" "):
            kind, _, detail = line.partition(";")
            objects.append({"kind": kind.strip(), "detail": detail.strip()})
        elif objects and ":" in line:
            name, _, value = line.strip().partition(":")
            objects[-1][name.strip()] = value.strip()
    return objects


@pytest.fixture(scope="module")
def cli_env(softhsm_factory: Callable[..., SoftHSMEnv]) -> SoftHSMEnv:
    """A SoftHSM environment for CLI tests (separate from the in-process one)."""
    return softhsm_factory("cli", ["root-a", "targets", "pins"])


@pytest.fixture(scope="module")
def ceremony(cli_env: SoftHSMEnv) -> Callable[..., CliResult]:
    """run_cli with the CLI environment's SOFTHSM2_CONF and module; `offline=True` runs it in a
    network namespace with only loopback (key generate/cert refuse a machine with a network)."""
    def run(*args: str, env: dict[str, str] | None = None, offline: bool = False,
            **kw: object) -> CliResult:
        return run_cli(*args, env={**cli_env.env, **(env or {})},  # type: ignore[arg-type]
                       wrapper=AIRGAPPED if offline else (), **kw)
    return run



@pytest.fixture(scope="session")
def keyring(softhsm_env: SoftHSMEnv):
    """Token 'root-a' of the in-process environment with one key per algorithm, generated
    once per test session (RSA-4096 generation is the slow part). Yields (pool, token, keys)."""
    from hsm.session import TokenPool
    with TokenPool(pin_source=softhsm_env.pin_source("root-a")) as pool:
        token = pool.open("pkcs11:token=root-a")
        keys = {alg: token.generate_key(f"k-{alg}", alg) for alg in ALL_ALGORITHMS}
        yield pool, token, keys
