"""Session fixtures for transfer tests: bundles and their rendered frames are made once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transfer.helpers import targets_bundle

SIZES = {"1k": 1024, "5k": 5 * 1024, "30k": 30 * 1024, "100k": 100 * 1024}


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    paths = {}
    for name, size in SIZES.items():
        path = root / f"{name}.json"
        path.write_bytes(targets_bundle(size, seed=size))
        paths[name] = path
    return paths
