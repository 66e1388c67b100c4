"""Run one hostile case through the real CLI and measure what it cost (issue 12).

`run_measured` starts `python -m ceremony ...` with its output in files (no pipe to fill up)
and measures the command's own peak RSS: VmHWM of /proc/self/status, written at exit by a
`sitecustomize` put first on the command's PYTHONPATH. Not rusage: RUSAGE_CHILDREN is the
largest of every child this test ever had, and even wait4 (or GNU time) of one child counts
the pages of the test process it was forked from (a test holding 100 MB measured 100 MB more);
VmHWM belongs to the command's own address space, made new by exec. The command (and its
process group) is killed when the time limit passes. `assert_refused` then checks the issue's five
promises: one `error:` line, exit 1, peak RSS under 512 MiB, no hang, and nothing written or
changed in the watched folders (tests/hardening/snapshot.py) nor on the watched tokens (their
objects listed before and after with pkcs11-tool).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT
from tests.hardening.snapshot import differences, tree

RSS_LIMIT = 512 * 1024 * 1024
MEASURE_ENV = "CEREMONY_HARDENING_MEASURE"  # a file: each refusal appends its measurement
HWM_HOOK = """\
import atexit
import os


def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["CEREMONY_TEST_HWM"], "w") as out:
                    out.write(line.split()[1])


if os.environ.get("CEREMONY_TEST_HWM"):
    atexit.register(_peak)
"""
TIME_LIMIT = 60.0  # seconds: a refusal that takes longer is a hang


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int  # bytes
    seconds: float
    timed_out: bool = False

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_measured(args: Sequence[str], *, env: dict[str, str] | None = None,
                 stdin: str | os.PathLike[str] | bytes | None = None,
                 cwd: str | os.PathLike[str] | None = None, timeout: float = TIME_LIMIT,
                 wrapper: Sequence[str] = (), stdout: str | None = None) -> Measured:
    """`python -m ceremony ARGS`; `stdin` is a path to read from (a device, a FIFO) or bytes;
    `stdout` a path to write to (e.g. /dev/full)."""
    full = dict(os.environ)
    full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    full.pop("CEREMONY_DEBUG", None)
    full.update(env or {})
    with tempfile.TemporaryDirectory(prefix="measured-") as scratch:
        out_path = stdout or os.path.join(scratch, "stdout")
        err_path = os.path.join(scratch, "stderr")
        if isinstance(stdin, bytes):
            in_path = os.path.join(scratch, "stdin")
            Path(in_path).write_bytes(stdin)
        else:
            in_path = os.fspath(stdin) if stdin is not None else os.devnull
        with open(in_path, "rb") as fin, open(out_path, "wb") as fout, \
                open(err_path, "wb") as ferr:
            start = time.monotonic()
            rss_path = os.path.join(scratch, "rss")
            hook = os.path.join(scratch, "hook")
            os.mkdir(hook)
            Path(hook, "sitecustomize.py").write_text(HWM_HOOK)
            full["PYTHONPATH"] = hook + os.pathsep + full["PYTHONPATH"]
            full["CEREMONY_TEST_HWM"] = rss_path
            proc = subprocess.Popen([*wrapper, sys.executable, "-m", "ceremony", *args],
                                    stdin=fin, stdout=fout, stderr=ferr, env=full, cwd=cwd,
                                    start_new_session=True)
            timed_out = threading.Event()

            def kill() -> None:
                timed_out.set()
                os.killpg(proc.pid, signal.SIGKILL)

            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                _, status, _ = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            seconds = time.monotonic() - start
        out = "" if stdout else Path(out_path).read_bytes().decode("utf-8", "replace")
        err = Path(err_path).read_bytes().decode("utf-8", "replace")
        hwm = Path(rss_path).read_text().strip() if os.path.exists(rss_path) else ""
        peak = int(hwm) * 1024 if hwm.isdigit() else 0  # VmHWM is in kB
    return Measured(proc.returncode, out, err, peak, seconds, timed_out.is_set())


@dataclass
class Watch:
    """What must not change: folders (full listings) and tokens (objects listed)."""

    folders: list[Path] = field(default_factory=list)
    tokens: list[tuple[object, str]] = field(default_factory=list)  # (SoftHSMEnv, label)

    def take(self) -> tuple[list, list]:
        from tests.hsm.conftest import pkcs11_tool_objects
        # Objects first (pkcs11-tool logs in, and a login rewrites the token's own record),
        # then the files: a token store's bookkeeping files (lock, generation) are touched by
        # every login, so their mtimes are left out (as the catalogue does); key objects are
        # files of their own there, so a key made or removed still shows.
        objects = [pkcs11_tool_objects(env, label) for env, label in self.tokens]  # type: ignore[arg-type]
        stores = {env.root for env, _ in self.tokens}  # type: ignore[attr-defined]
        listings = [tree(f) for f in self.folders]
        for folder, listing in zip(self.folders, listings, strict=True):
            if folder not in stores:
                continue
            for rel, (kind, mode, size, _mtime, digest) in list(listing.items()):
                name = rel.rsplit("/", 1)[-1]
                if name in ("generation", "token.lock"):
                    listing[rel] = (kind, mode, size, 0, digest)
                elif name == "token.object":  # the token's own record: compared as objects
                    listing[rel] = (kind, mode, size, 0, "")
        return listings, objects


def assert_refused(args: Sequence[str], *needles: str, watch: Watch | None = None,
                   exits: tuple[int, ...] = (1,),
                   allow: Callable[[list[str]], list[str]] | None = None,
                   progress: bool = False, **kw: object) -> Measured:
    """Run ARGS and assert the issue's promises; returns the measurement for the report.
    `exits`: (1, 2) where click itself may refuse the argument first (a usage error);
    `progress`: a command that reports progress (`transfer receive`) may print `note:` and
    `received` lines before its one error line."""
    watch = watch or Watch()
    before = watch.take()
    r = run_measured(args, **kw)  # type: ignore[arg-type]
    after = watch.take()
    record = os.environ.get(MEASURE_ENV)
    if record:  # bench/robustness.py collects every refusal's cost
        with open(record, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
                                 "args": [a[:80] for a in args][:3], "returncode": r.returncode,
                                 "peak_rss": r.peak_rss, "seconds": round(r.seconds, 3)}) + "\n")
    assert not r.timed_out, f"no answer within {kw.get('timeout', TIME_LIMIT)} s: {args}"
    assert r.returncode in exits, (r.returncode, r.stderr[-3000:])
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr[-3000:]
    lines = r.error_lines
    if progress:
        assert all(line.startswith(("note: ", "received ")) for line in lines[:-1]), lines
        lines = lines[-1:]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert 0 < r.peak_rss < RSS_LIMIT, f"peak RSS {r.peak_rss >> 20} MiB: {args}"
    changed = [d for b, a in zip(before[0], after[0], strict=True) for d in differences(b, a)]
    if allow is not None:
        changed = allow(changed)
    assert not changed, changed
    assert before[1] == after[1], "token objects changed"
    return r


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space (a hole)."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
