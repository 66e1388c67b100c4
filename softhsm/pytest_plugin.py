"""Pytest fixtures for throwaway SoftHSM tokens, reusable by any test folder.

In a conftest.py:

    from softhsm.pytest_plugin import softhsm_env, softhsm_factory  # noqa: F401

`softhsm_env` is ONE environment per test process (per xdist worker), with the tokens in
`DEFAULT_TOKENS`; its variables (SOFTHSM2_CONF, CEREMONY_PKCS11_MODULE) are put in os.environ so
that in-process PKCS#11 code and CLI subprocesses see it. SoftHSM reads its configuration once
per process, so every folder importing this fixture gets the same environment, even from
different conftest files. Tokens added later (`env.add_tokens`) are not visible to code that
has already loaded SoftHSM in this process; use `softhsm_factory(name, labels)` for separate
environments driven through the CLI in subprocesses.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from softhsm.env import SoftHSMEnv, TokenSpec, create_env

DEFAULT_TOKENS = ["root-a", "root-b", "targets", "spare"]

_PROCESS_ENV: SoftHSMEnv | None = None


@pytest.fixture(scope="session")
def softhsm_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., SoftHSMEnv]:
    def make(name: str = "softhsm", labels: list[str] | None = None) -> SoftHSMEnv:
        folder = tmp_path_factory.mktemp(name)
        return create_env(folder, [TokenSpec(label) for label in (labels or DEFAULT_TOKENS)])
    return make


@pytest.fixture(scope="session")
def softhsm_env(tmp_path_factory: pytest.TempPathFactory) -> SoftHSMEnv:
    global _PROCESS_ENV
    if _PROCESS_ENV is None:
        folder = tmp_path_factory.mktemp("softhsm-session")
        _PROCESS_ENV = create_env(folder, [TokenSpec(label) for label in DEFAULT_TOKENS])
        os.environ.update(_PROCESS_ENV.env)
    return _PROCESS_ENV
