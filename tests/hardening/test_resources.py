"""Resources (issue 12): every reader is bounded and refuses what is not a regular file.

Each reader of an input file -- bundles, partial bundles, requests, PEM keys, PIN files,
ceremony scripts, transcripts, --guns-from lists, metadata files -- is given a FIFO with no
writer (opening it would block for ever), a character device (/dev/zero: endless), a folder,
a socket and a sparse file of 2 GiB (over every cap, costing no disk). Each must be one
`error:` line, exit 1, under 512 MiB, within the time limit, nothing written or changed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AIRGAPPED
from tests.hardening.bounded import Watch, assert_refused, fifo, sparse
from tests.hardening.catalogue import GUN

HUGE = 2 << 30


def make_fifo(work: Path) -> Path:
    return fifo(work / "input")


def make_device(work: Path) -> Path:
    return Path("/dev/zero")


def make_folder(work: Path) -> Path:
    (work / "input").mkdir()
    return work / "input"


def make_socket(work: Path) -> Path:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # the test's own, not the CLI's
    s.bind(str(work / "input"))
    s.close()
    return work / "input"


def make_sparse(work: Path) -> Path:
    return sparse(work / "input", HUGE)


KINDS: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "fifo": (make_fifo, ("FIFO",)),
    "device": (make_device, ("character device",)),
    "folder": (make_folder, ("director",)),
    "socket": (make_socket, ("socket",)),
    "sparse-2GiB": (make_sparse, ("larger than the limit",)),
}


def allow_refusal_record(ws: Path) -> Callable[[list[str]], list[str]]:
    """Drop from the differences ONE new transcript in the workspace (and that folder's
    mtime, and the ANCHORS line that records its final digest) if it verifies and ends
    `refused`; anything else stays a difference."""
    def allow(changed: list[str]) -> list[str]:
        from ceremony.transcript import verify_transcript
        rel = ws.name + "/transcripts"
        made = [d for d in changed if d.startswith(f"created {rel}/") and d.endswith(".jsonl")]
        if len(made) != 1:
            return changed
        path = ws / "transcripts" / made[0].rsplit("/", 1)[1]
        result = verify_transcript(path)
        if result.outcome != "refused":
            return changed
        return [d for d in changed if d not in made and not d.startswith(f"changed {rel}:")
                and not d.startswith((f"created {rel}/ANCHORS", f"changed {rel}/ANCHORS"))]
    return allow


def workspace(work: Path) -> Path:
    from ceremony.workspace import Workspace
    Workspace.open(work / "ws", create=True)
    return work / "ws"


# reader -> (argv from (input path, case folder), needs the token store, wrapper)
READERS: dict[str, Callable[[Path, Path], list[str]]] = {
    "bundle (transfer send)": lambda p, w: ["transfer", "send", str(p), "--text"],
    "bundle (online publish)": lambda p, w: ["online", "publish", str(p), "--server",
                                             "https://127.0.0.1:9"],
    "partial bundle (status)": lambda p, w: ["status", str(p), "--workspace",
                                             str(workspace(w))],
    "partial bundles (merge)": lambda p, w: ["merge", str(p), str(p), "--out",
                                             str(w / "out.bundle"), "--workspace",
                                             str(workspace(w))],
    "request (pin --request)": lambda p, w: ["pin", GUN, "--request", str(p), "--workspace",
                                             str(workspace(w))],
    "script (run)": lambda p, w: ["run", str(p)],
    "transcript (transcript verify)": lambda p, w: ["transcript", "verify", str(p)],
    "GUN list (online fetch --guns-from)": lambda p, w: [
        "online", "fetch", "--guns-from", str(p), "--server", "http://127.0.0.1:9",
        "--allow-http", "--out", str(w / "request.bundle")],
}

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", READERS)
def test_reader_refuses_unbounded_or_irregular_input(reader, kind, tmp_path):
    work = tmp_path / "case"
    work.mkdir()
    path = KINDS[kind][0](work)
    args = READERS[reader](path, work)
    wrapper = AIRGAPPED if reader.startswith(("request", "partial bundles")) else ()
    # `pin` and `merge` have started their transcript when they read (as every ceremony does):
    # one change allowed is that transcript, recording the refusal (see allow_refusal_record).
    allow = (allow_refusal_record(work / "ws")
             if reader.startswith(("request", "partial bundles")) else None)
    # A folder where a file is expected: click's own check (usage error, exit 2) may come first.
    assert_refused(args, *KINDS[kind][1], watch=Watch([work]), cwd=work, wrapper=wrapper,
                   exits=(1, 2) if kind == "folder" else (1,), allow=allow)


@pytest.mark.parametrize("kind", ["fifo", "sparse-2GiB", "device"])
def test_signer_key_reader(kind, tmp_path, signer_case):
    """`signer add --key PEM`: the PEM reader, before any token or transcript."""
    work = tmp_path / "case"
    work.mkdir()
    ws, request = signer_case(work)
    pem = KINDS[kind][0](work)
    assert_refused(["signer", "add", GUN, "alice", "--key", str(pem), "--targets-token",
                    "targets", "--request", str(request), "--out", str(work / "out.bundle"),
                    "--workspace", str(ws), "--yes"], *KINDS[kind][1], watch=Watch([work]),
                   cwd=work, wrapper=AIRGAPPED)


@pytest.fixture(scope="module")
def good_request(tmp_path_factory, softhsm_factory) -> bytes:
    from tests.hardening.catalogue import make_inputs
    hsm = softhsm_factory("resources-inputs", ["root-a"])
    return make_inputs(tmp_path_factory.mktemp("inputs"), hsm.env, hsm.root,
                       hsm.pin_source("root-a")).request


@pytest.fixture
def signer_case(good_request):
    def make(work: Path) -> tuple[Path, Path]:
        ws = workspace(work)
        request = work / "request.bundle"
        request.write_bytes(good_request)
        return ws, request
    return make


def test_metadata_folder_with_irregular_and_huge_files(tmp_path):
    """`verify DIR`: a FIFO, a device link and a dozen sparse 2 GiB delegation files."""
    repo = tmp_path / "repo"
    (repo / "targets").mkdir(parents=True)
    fifo(repo / "root.json")
    (repo / "snapshot.json").symlink_to("/dev/zero")
    for n in range(12):
        sparse(repo / "targets" / f"d{n}.json", HUGE)
    sparse(repo / "targets.json", HUGE)
    assert_refused(["verify", str(repo), "--gun", GUN], watch=Watch([tmp_path]), cwd=tmp_path)


def test_metadata_folder_nested_1500_deep(tmp_path):
    """1,500 nested folders under a metadata folder: no RecursionError, one line. (Made with
    folder descriptors: the path is longer than PATH_MAX. The listing watches the top only.)"""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "root.json").write_bytes(b"{}")
    fd = os.open(repo, os.O_RDONLY)
    for _ in range(1500):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(repo)), os.stat(repo).st_mtime_ns
    assert_refused(["verify", str(repo), "--gun", GUN], "levels deep", cwd=tmp_path)
    try:
        assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(repo)),
                os.stat(repo).st_mtime_ns) == before
    finally:  # pytest's own clean-up would recurse 1,500 levels: undo the chain by hand
        fds = [os.open(repo, os.O_RDONLY)]
        for _ in range(1499):
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        os.rmdir("d", dir_fd=fds[-1])
        while len(fds) > 1:
            os.close(fds.pop())
            os.rmdir("d", dir_fd=fds[-1])
        os.close(fds.pop())


def test_endless_stdin_for_scanner_lines(tmp_path):
    assert_refused(["transfer", "receive", "--stdin", "--out", str(tmp_path / "out.bundle")],
                   "characters", stdin="/dev/zero", watch=Watch([tmp_path]), cwd=tmp_path)


def test_endless_stdin_for_a_confirmation(tmp_path, signer_case):
    """A ceremony's `yes` read from an endless stdin (no newline ever): read with a limit.
    Refused before any token is touched (the transcript that starts is the only write)."""
    work = tmp_path / "case"
    work.mkdir()
    r_args = ["transcript", "verify", "/dev/stdin"]
    assert_refused(r_args, stdin="/dev/zero", watch=Watch([work]), cwd=work)
