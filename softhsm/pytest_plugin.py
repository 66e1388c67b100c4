"""Pytest fixtures for throwaway SoftHSM tokens, reusable by any test folder.

In a conftest.py:

    from softhsm.pytest_plugin import softhsm_env, softhsm_factory  # noqa: F401

`softhsm_env` (session-scoped, one per xdist worker) is an environment with the tokens in
`DEFAULT_TOKENS`, whose variables (SOFTHSM2_CONF, CEREMONY_PKCS11_MODULE) are also set in
os.environ so that in-process PKCS#11 code sees it. SoftHSM reads its configuration once per
process, so in-process code must use this one environment; `softhsm_factory(name, labels)`
makes further, separate environments for tests that drive the CLI in a subprocess.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from softhsm.env import SoftHSMEnv, TokenSpec, create_env

DEFAULT_TOKENS = ["root-a", "root-b", "targets", "spare"]


@pytest.fixture(scope="session")
def softhsm_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., SoftHSMEnv]:
    def make(name: str = "softhsm", labels: list[str] | None = None) -> SoftHSMEnv:
        folder = tmp_path_factory.mktemp(name)
        return create_env(folder, [TokenSpec(label) for label in (labels or DEFAULT_TOKENS)])
    return make


@pytest.fixture(scope="session")
def softhsm_env(softhsm_factory: Callable[..., SoftHSMEnv]) -> Iterator[SoftHSMEnv]:
    env = softhsm_factory("softhsm-session", DEFAULT_TOKENS)
    saved = {k: os.environ.get(k) for k in env.env}
    os.environ.update(env.env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
