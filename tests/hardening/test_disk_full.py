"""Disk full, for real (tests/hardening/disk_full.py): every durable write of the tool meets
ENOSPC on a 64 KiB tmpfs in a private mount namespace. Each time: one clear error naming the
full disk, the old state byte for byte intact, no temp file or partial output left, and (where
the scenario frees the space) the same write succeeding afterwards.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import AIRGAPPED, run_cli
from tests.hardening.disk_full import NEEDS_TOKEN, SCENARIOS, run


@pytest.fixture(scope="module")
def token_env(softhsm_factory):
    """A token with a root key, for the key export/cert scenarios."""
    hsm = softhsm_factory("disk-full", ["root-a"])
    r = run_cli("key", "generate", "--token", "root-a", "--label", "root", "--pin-source",
                hsm.pin_source("root-a"), env=hsm.env, wrapper=AIRGAPPED)
    assert r.returncode == 0, r.output
    return {**hsm.env, "DISK_FULL_PIN_SOURCE": hsm.pin_source("root-a")}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_disk_full(name, tmp_path, request):
    env = request.getfixturevalue("token_env") if name in NEEDS_TOKEN else None
    report = run(name, tmp_path, env)
    assert report["problems"] == [], json.dumps(report, indent=1)
    assert "No space left on device" in report["error"]
