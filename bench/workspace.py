"""The workspace's commit cost: files (what the tool uses) against SQLite (what it could use).

    python bench/workspace.py [--repos 10000]

In a throwaway folder: a bulk commit of N repositories (each: root v1 pinned, root and targets
signed, ~2 KB files like a real rotation), then one commit changing one repository of those N,
then the same one-repository commit on a workspace of one. The same through SQLite (one table
of files, WAL, synchronous=FULL: durable like the files) for comparison. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _blob(tag: str) -> bytes:
    return (json.dumps({"signed": {"tag": tag}, "pad": "x" * 2000})).encode()


def _files(n: int, start: int = 0) -> dict[str, dict[str, bytes]]:
    return {f"registry.example.com/team/app-{i:05d}": {"root": _blob(f"r{i}"),
                                                        "targets": _blob(f"t{i}")}
            for i in range(start, start + n)}


def _file_store(top: Path, n: int) -> dict[str, float]:
    from ceremony.workspace import Workspace
    ws = Workspace.open(top / "ws", create=True)
    repos = _files(n)
    started = time.perf_counter()
    with ws.transaction() as tx:
        for gun, files in repos.items():
            tx.add_trusted_root(gun, 1, files["root"])
            tx.record_signed(gun, "root", 1, files["root"])
            tx.record_signed(gun, "targets", 1, files["targets"])
    bulk = time.perf_counter() - started
    gun = next(iter(repos))
    started = time.perf_counter()
    Workspace.open(ws.path).record_signed(gun, "targets", 2, _blob("t2"))
    one = time.perf_counter() - started
    return {"bulk_commit_s": round(bulk, 3), "one_repo_commit_s": round(one, 4)}


def _sqlite(top: Path, n: int) -> dict[str, float]:
    db = sqlite3.connect(top / "ws.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE files (gun TEXT, name TEXT, data BLOB, PRIMARY KEY (gun, name))")
    repos = _files(n)
    started = time.perf_counter()
    db.execute("BEGIN")
    for gun, files in repos.items():
        db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                       [(gun, "roots/1.root.json", files["root"]),
                        (gun, "signed/root.json", files["root"]),
                        (gun, "signed/targets.json", files["targets"])])
    db.execute("COMMIT")
    bulk = time.perf_counter() - started
    started = time.perf_counter()
    db.execute("BEGIN")
    db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
               (next(iter(repos)), "signed/targets.json", _blob("t2")))
    db.execute("COMMIT")
    one = time.perf_counter() - started
    db.close()
    return {"bulk_commit_s": round(bulk, 3), "one_repo_commit_s": round(one, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=10000)
    args = parser.parse_args(argv)
    report: dict = {"repos": args.repos}
    for name, fn in (("files", _file_store), ("sqlite", _sqlite)):
        for n in (1, args.repos):
            with tempfile.TemporaryDirectory(prefix="bench-ws-", dir=os.environ.get("TMPDIR")) \
                    as tmp:
                report.setdefault(name, {})[str(n)] = fn(Path(tmp), n)
    f, s = report["files"], report["sqlite"]
    big = str(args.repos)
    report["one_repo_commit_on_big_vs_one"] = {
        "files": round(f[big]["one_repo_commit_s"] / f["1"]["one_repo_commit_s"], 2),
        "sqlite": round(s[big]["one_repo_commit_s"] / s["1"]["one_repo_commit_s"], 2)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
