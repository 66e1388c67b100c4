"""Disk full, for real: scenarios run on a tiny tmpfs in a private mount namespace.

    unshare --mount sh -c 'mount -t tmpfs -o size=64k tmpfs DIR && python -m \
        tests.hardening.disk_full SCENARIO DIR'

Each scenario builds some state on DIR, fills DIR to the last byte, runs one write through the
real code path (the CLI in a subprocess, or the workspace/transcript API), and prints a JSON
report: the problems found (empty when the write failed cleanly: one typed error or one
`error:` line, old state byte for byte intact, no temp file left), and the error text. Most
scenarios then free the space and run the write again, to show that nothing left behind blocks
it. The mount lives only as long as the namespace: everything is checked from inside.

Used by tests/hardening/test_disk_full.py and bench/robustness.py (SCENARIOS counts them).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.hardening.snapshot import differences, tree  # noqa: E402

FILLER = ".filler"


def fill(top: Path) -> int:
    """Write until the file system says ENOSPC; returns the bytes written."""
    fd = os.open(top / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    written = 0
    try:
        for size in (65536, 4096, 512, 64, 8, 1):
            while True:
                try:
                    written += os.write(fd, b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


def free(top: Path) -> None:
    (top / FILLER).unlink()


def listing(top: Path, *, mtimes: bool = True) -> dict:
    # Directory mtimes change when a temp file is made and removed: allowed after a failed
    # write, as long as the temp file is gone (every entry is compared). `mtimes=False` also
    # ignores file mtimes: a transcript append that was cut back to the last whole entry
    # leaves the same bytes with a new mtime.
    found = tree(top, dir_mtimes=False)
    found.pop(FILLER, None)
    found.pop(".", None)
    if not mtimes:
        found = {k: (kind, mode, size, 0, digest)
                 for k, (kind, mode, size, _, digest) in found.items()}
    return found


def ceremony(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PYTHONPATH=str(ROOT))
    full.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "ceremony", *args], input=stdin,
                          capture_output=True, env=full, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode(errors="replace"),
                                       proc.stderr.decode(errors="replace"))


def one_line_error(r: subprocess.CompletedProcess[str], problems: list[str],
                   allowed: tuple[str, ...] = ()) -> str:
    rows = r.stderr.splitlines()
    errors = [row for row in rows if row.startswith("error: ")]
    if r.returncode != 1:
        problems.append(f"exit status {r.returncode}")
    if "Traceback" in r.stderr or "internal error" in r.stderr:
        problems.append("traceback or internal error")
    stray = [row for row in rows[:-1] if not (allowed and row.startswith(allowed))]
    if len(errors) != 1 or rows[-1] != errors[0] or stray:
        problems.append(f"not one final error line: {r.stderr[-400:]!r}")
    if errors and "No space left on device" not in errors[0]:
        problems.append(f"the error does not say the disk is full: {errors[0]!r}")
    return errors[0] if errors else ""


def unchanged(before: dict, after: dict, problems: list[str]) -> None:
    problems += differences(before, after)


# --- scenarios -----------------------------------------------------------------------------------

def copy_over_existing(top: Path, work: Path) -> dict:
    """`transfer send --out FILE --force` replacing a file: ENOSPC while writing the temp file."""
    (top / "response.bundle").write_bytes(b"the old bundle\n" * 50)
    source = work / "big.bundle"
    source.write_bytes(os.urandom(40_000))
    before = listing(top)
    fill(top)
    problems: list[str] = []
    r = ceremony("transfer", "send", str(source), "--out", str(top / "response.bundle"),
                 "--force")
    error = one_line_error(r, problems)
    unchanged(before, listing(top), problems)
    free(top)
    again = ceremony("transfer", "send", str(source), "--out", str(top / "response.bundle"),
                     "--force")
    if again.returncode != 0 or (top / "response.bundle").read_bytes() != source.read_bytes():
        problems.append(f"the same command fails once there is space: {again.stderr!r}")
    return {"problems": problems, "error": error}


def receive_new_file(top: Path, work: Path) -> dict:
    """`transfer receive --stdin --out NEW`: the whole bundle arrives, the disk is full."""
    from transfer.qr.encoder import plan_series
    data = os.urandom(30_000)
    frames = "\n".join(plan_series(data, 700).frames(0)).encode()
    before = listing(top)
    fill(top)
    problems: list[str] = []
    r = ceremony("transfer", "receive", "--stdin", "--out", str(top / "in.bundle"),
                 stdin=frames)
    error = one_line_error(r, problems, allowed=("received ", "note: "))
    unchanged(before, listing(top), problems)
    return {"problems": problems, "error": error}


def png_frames(top: Path, work: Path) -> dict:
    """`transfer send --png DIR`: the disk fills after some frames; none may be left behind."""
    source = work / "big.bundle"
    source.write_bytes(os.urandom(20_000))
    before = listing(top)
    fill(top)
    free_some(top, 12_000)  # room for a few frames, not all
    problems: list[str] = []
    r = ceremony("transfer", "send", str(source), "--png", str(top / "frames"))
    error = one_line_error(r, problems, allowed=("bundle ", "frames ", "file sha256 ",
                                                 "file words ", "not a bundle ",
                                                 "writing PNG"))
    unchanged(before, listing(top), problems)
    return {"problems": problems, "error": error}


def free_some(top: Path, nbytes: int) -> None:
    size = (top / FILLER).stat().st_size
    os.truncate(top / FILLER, max(0, size - nbytes))


def _workspace(top: Path):
    from ceremony.workspace import Workspace
    ws = Workspace.open(top / "ws", create=True)
    ws.add_trusted_root("example.com/app", 1, b'{"root": 1}' * 40)
    ws.record_signed("example.com/app", "targets", 1, b'{"targets": 1}' * 40)
    return ws


def workspace_commit(top: Path, work: Path) -> dict:
    """A workspace transaction (root v2 and targets v2) committed on a full disk."""
    from ceremony.workspace import Workspace, WorkspaceError
    ws = _workspace(top)
    link = os.readlink(ws.path / "current")
    before = listing(top)
    fill(top)
    problems: list[str] = []
    error = ""
    try:
        with ws.transaction() as tx:
            tx.add_trusted_root("example.com/app", 2, b'{"root": 2}' * 400)
            tx.record_signed("example.com/app", "targets", 2, b'{"targets": 2}' * 400)
        problems.append("the commit succeeded on a full disk")
    except WorkspaceError as exc:
        error = str(exc)
        if "No space left on device" not in error or "unchanged" not in error:
            problems.append(f"unclear error: {error!r}")
    unchanged(before, listing(top), problems)
    if os.readlink(ws.path / "current") != link:
        problems.append("current moved")
    fresh = Workspace.open(ws.path)
    if fresh.latest_root_version("example.com/app") != 1:
        problems.append("the old state does not read back")
    free(top)
    ws.add_trusted_root("example.com/app", 2, b'{"root": 2}' * 400)
    if Workspace.open(ws.path).latest_root_version("example.com/app") != 2:
        problems.append("the commit fails once there is space")
    return {"problems": problems, "error": error}


def workspace_create(top: Path, work: Path) -> dict:
    """Creating a workspace on a full disk."""
    from ceremony.workspace import Workspace, WorkspaceError
    before = listing(top)
    fill(top)
    problems: list[str] = []
    error = ""
    try:
        Workspace.open(top / "ws", create=True)
        problems.append("a workspace was created on a full disk")
    except WorkspaceError as exc:
        error = str(exc)
        if "No space left on device" not in error:
            problems.append(f"unclear error: {error!r}")
    unchanged(before, listing(top), problems)
    free(top)
    Workspace.open(top / "ws", create=True)
    return {"problems": problems, "error": error}


def _transcript(top: Path) -> Path:
    from ceremony.transcript import Transcript
    path = top / "t.jsonl"
    with Transcript.create(path, ceremony="disk full") as t:
        t.append("note", {"n": 1})
        t._release()  # leave it open (no end entry), as a ceremony in progress
    return path


def transcript_append(top: Path, work: Path) -> dict:
    """An append that only partly fits: the page in hand takes part of the line, then ENOSPC."""
    from ceremony.transcript import Transcript, TranscriptError, verify_transcript
    path = _transcript(top)
    t = Transcript.resume(path, reason="disk full test")
    before = listing(top, mtimes=False)  # the resume entry is part of the old state
    fill(top)
    problems: list[str] = []
    error = ""
    try:
        t.append("note", {"text": "x" * 20_000})
        problems.append("an append succeeded on a full disk")
    except TranscriptError as exc:
        error = str(exc)
        if "No space left on device" not in error:
            problems.append(f"unclear error: {error!r}")
    unchanged(before, listing(top, mtimes=False), problems)
    verify_transcript(path, allow_open=True)  # the chain still verifies, no torn tail
    free(top)
    t.append("note", {"text": "after the disk was freed"})
    t.close()
    result = verify_transcript(path)
    if [e.kind for e in result.entries][-2:] != ["note", "end"]:
        problems.append("appending fails once there is space")
    return {"problems": problems, "error": error}


def transcript_create(top: Path, work: Path) -> dict:
    """Starting a transcript on a full disk: no half-made transcript file is left."""
    from ceremony.transcript import Transcript, TranscriptError
    before = listing(top)
    fill(top)
    problems: list[str] = []
    error = ""
    try:
        Transcript.create(top / "new.jsonl", ceremony="disk full")
        problems.append("a transcript was started on a full disk")
    except TranscriptError as exc:
        error = str(exc)
        if "No space left on device" not in error:
            problems.append(f"unclear error: {error!r}")
    unchanged(before, listing(top), problems)
    free(top)
    with Transcript.create(top / "new.jsonl", ceremony="disk full"):
        pass
    return {"problems": problems, "error": error}


def transcript_repair(top: Path, work: Path) -> dict:
    """Resuming a transcript with a torn tail on a full disk: the fragment's sidecar cannot be
    written, so nothing is cut."""
    from ceremony.errors import CeremonyError
    from ceremony.transcript import Transcript
    from groundfloor.errors import GroundFloorError
    path = _transcript(top)
    with open(path, "ab") as fh:
        fh.write(b'{"data":{"half')
    before = listing(top)
    fill(top)
    problems: list[str] = []
    error = ""
    try:
        Transcript.resume(path)
        problems.append("resumed on a full disk")
    except (CeremonyError, GroundFloorError) as exc:
        error = str(exc)
        if "No space left on device" not in error:
            problems.append(f"unclear error: {error!r}")
    unchanged(before, listing(top), problems)
    free(top)
    Transcript.resume(path).close()
    return {"problems": problems, "error": error}


def key_export(top: Path, work: Path) -> dict:
    """`key export --out FILE` (real SoftHSM token outside the full disk)."""
    before = listing(top)
    fill(top)
    problems: list[str] = []
    r = ceremony("key", "export", "--token", "root-a", "--label", "root", "--out",
                 str(top / "root.pem"))
    error = one_line_error(r, problems)
    unchanged(before, listing(top), problems)
    return {"problems": problems, "error": error}


def key_cert(top: Path, work: Path) -> dict:
    """`key cert --out FILE`: the token signs, the certificate cannot be written."""
    before = listing(top)
    fill(top)
    problems: list[str] = []
    r = ceremony("key", "cert", "--token", "root-a", "--label", "root", "--gun",
                 "example.com/app", "--out", str(top / "root.crt"), "--pin-source",
                 os.environ["DISK_FULL_PIN_SOURCE"])
    error = one_line_error(r, problems)
    unchanged(before, listing(top), problems)
    return {"problems": problems, "error": error}


SCENARIOS: dict[str, Callable[[Path, Path], dict]] = {
    "copy-over-existing": copy_over_existing,
    "receive-new-file": receive_new_file,
    "png-frames": png_frames,
    "workspace-commit": workspace_commit,
    "workspace-create": workspace_create,
    "transcript-append": transcript_append,
    "transcript-create": transcript_create,
    "transcript-repair": transcript_repair,
    "key-export": key_export,
    "key-cert": key_cert,
}
NEEDS_TOKEN = ("key-export", "key-cert")


def run(name: str, base: Path, env: dict[str, str] | None = None, size: str = "64k") -> dict:
    """Run scenario `name` in a private mount namespace on a fresh tmpfs of `size` under
    `base` (key scenarios also in a loopback-only network namespace: they use the token)."""
    disk, work = base / f"{name}-disk", base / f"{name}-work"
    disk.mkdir()
    work.mkdir()
    setup = (f"mount -t tmpfs -o size={size} tmpfs \"$0\" && "
             f"exec {sys.executable} -m tests.hardening.disk_full \"$1\" \"$0\" \"$2\"")
    if name in NEEDS_TOKEN:
        setup = "mount -t sysfs sysfs /sys && ip link set lo up && " + setup
        prefix = ["unshare", "--net", "--mount"]
    else:
        prefix = ["unshare", "--mount"]
    proc = subprocess.run([*prefix, "sh", "-c", setup, str(disk), name, str(work)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"scenario": name, "problems": [f"driver failed ({proc.returncode}): "
                                               f"{proc.stderr[-1000:]}"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    name, top, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    try:
        report = SCENARIOS[name](top, work)
    except Exception as exc:  # noqa: BLE001 - reported, the test fails on it
        import traceback
        report = {"problems": [f"scenario crashed: {exc!r}"],
                  "traceback": traceback.format_exc()}
    print(json.dumps({"scenario": name, **report}))


if __name__ == "__main__":
    main()
