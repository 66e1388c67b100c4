"""Fixtures of the metadata tests: real Notary trust data, made once per test session.

With pytest-xdist every worker runs session fixtures; the real repository is built once, by the
first worker that gets the lock, in the run's shared base directory, and read by all.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.metadata.notary_real import build_real_repository


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class RealRepository:
    folder: Path
    facts: dict

    @property
    def gun(self) -> str:
        return self.facts["gun"]

    @property
    def download(self) -> Path:
        """Files as served: current roles plus N.root.json history."""
        return self.folder / "download"

    @property
    def owner(self) -> Path:
        """The repository owner's notary client trust dir."""
        return self.folder / "owner"

    @property
    def delegate(self) -> Path:
        """The delegate's notary client trust dir."""
        return self.folder / "delegate"

    def metadata_dir(self, trust_dir: Path) -> Path:
        return trust_dir / "tuf" / self.gun / "metadata"

    def copy_download(self, destination: Path) -> Path:
        shutil.copytree(self.download, destination)
        return destination

    def all_files(self) -> list[Path]:
        """Every metadata file the real client and server wrote."""
        files = sorted(self.download.rglob("*.json"))
        for trust_dir in (self.owner, self.delegate):
            files += sorted(self.metadata_dir(trust_dir).rglob("*.json"))
        return files


@pytest.fixture(scope="session")
def real_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> RealRepository:
    base = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        base = base.parent  # shared by all workers of this run
    folder = base / "real-notary-repository"
    with _locked(base / "real-notary-repository.lock"):
        if not (folder / "facts.json").exists():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            build_real_repository(folder)
    return RealRepository(folder, json.loads((folder / "facts.json").read_text()))
