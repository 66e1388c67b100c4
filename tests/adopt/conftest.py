"""Adoption tests: the REAL notary-server and client (run under non-UTC timezones), the REAL
Docker CLI, SoftHSM tokens; offline commands in a network namespace of their own (Site)."""

from __future__ import annotations

import pytest

from tests.ceremonies.sites import Site, notary_server

TOKENS = ["root-a", "root-b", "targets", "spare"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real notary-server per test module."""
    yield from notary_server(tmp_path_factory)


@pytest.fixture
def site(softhsm_factory, tmp_path) -> Site:
    return Site(softhsm_factory("adopt", TOKENS), tmp_path / "offline")
