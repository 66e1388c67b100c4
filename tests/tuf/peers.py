"""The three TUF clients of the tests and the local HTTP server they fetch from.

Each client trusts a root.json, refreshes from http://127.0.0.1:PORT/metadata/, downloads a
target from .../targets/ and reports the root version it ended on; a refusal is an exception
(python-tuf) or a non-zero exit (go-tuf, tough). The Go and Rust programs are built by
scripts/tuf-peers (run by scripts/bootstrap) into the tool cache.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TOOLS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "notary-ceremony" / "tools"
GO_CLIENT = TOOLS / "tuf-go-client-2.4.2" / "tuf-go-client"
RUST_CLIENT = TOOLS / "tuf-rust-client-0.24.0" / "tuf-rust-client"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ClientResult:
    ok: bool
    root_version: int | None
    content: bytes | None
    error: str


def python_tuf(root: bytes, url: str, work: Path, target: str) -> ClientResult:
    from tuf.ngclient import Updater
    meta, out = work / "meta", work / "out"
    meta.mkdir(parents=True)
    out.mkdir()
    (meta / "root.json").write_bytes(root)
    try:
        updater = Updater(str(meta), f"{url}/metadata/", str(out), f"{url}/targets/",
                          bootstrap=root)
        updater.refresh()
        info = updater.get_targetinfo(target)
        if info is None:
            return ClientResult(False, None, None, f"target {target} not found")
        path = updater.download_target(info)
        version = updater._trusted_set.root.version  # noqa: SLF001 -- no public accessor
        return ClientResult(True, version, Path(path).read_bytes(), "")
    except Exception as exc:  # the client's refusal is the result
        return ClientResult(False, None, None, f"{type(exc).__name__}: {exc}")


def _program(binary: Path, root: bytes, url: str, work: Path, target: str) -> ClientResult:
    assert binary.is_file(), f"{binary} is missing: run scripts/bootstrap (scripts/tuf-peers)"
    cache, out = work / "cache", work / "out"
    cache.mkdir(parents=True)
    out.mkdir()
    (work / "root.json").write_bytes(root)
    proc = subprocess.run([str(binary), str(work / "root.json"), f"{url}/metadata/",
                           f"{url}/targets/", str(cache), str(out), target],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return ClientResult(False, None, None, proc.stderr.strip() or proc.stdout.strip())
    version = re.search(r"root_version=(\d+)", proc.stdout)
    downloaded = re.search(r"downloaded=(.+)", proc.stdout)
    content = Path(downloaded.group(1)).read_bytes() if downloaded else None
    return ClientResult(True, int(version.group(1)) if version else None, content, "")


def go_tuf(root: bytes, url: str, work: Path, target: str) -> ClientResult:
    return _program(GO_CLIENT, root, url, work, target)


def tough(root: bytes, url: str, work: Path, target: str) -> ClientResult:
    return _program(RUST_CLIENT, root, url, work, target)


CLIENTS = {"python-tuf": python_tuf, "go-tuf": go_tuf, "tough": tough}


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
