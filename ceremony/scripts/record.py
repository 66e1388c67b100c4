"""The script run's single transcript: step views for ceremonies, open runs, what is done.

One run of a script = one transcript (`<workspace>/transcripts/<time>-run-<name>.jsonl`):

    start {ceremony: "run", script, script_sha256, dry_run, participants}
    participants, input (script, each input), airgap, confirmation
    step-start {step, do, params}           -- then the ceremony's own entries, each tagged
      ceremony-start, tokens, custody, review, confirmation, signed, output, workspace,
      step-end {step, outcome}              -- written by the ceremony (runner.perform)
    step-done {step, outputs: [{path, kind, sha256, bundle_sha256}]}
    ... one block per step; step-skipped on a resume for steps already done
    checks, end {outcome}

A run stopped by an error or killed leaves the transcript open (no `end`): `ceremony run
SCRIPT --resume` reopens it (torn tail repaired, `resume` recorded) and skips the steps it
records as done whose outputs still have the recorded digests; `--abandon` closes it with the
outcome `abandoned`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.transcript import Entry, Transcript, TranscriptError, parse_entries


class StepTranscript(Transcript):
    """What a ceremony (runner.perform) writes to, inside a script run: every entry goes to
    the run's transcript tagged with the step; the ceremony's end is `step-end`, and the file
    stays open for the next step."""

    def __init__(self, parent: Transcript, step_id: str):  # opens nothing of its own
        self.parent = parent
        self.step_id = step_id
        self.path = parent.path
        self._fd = -1
        self._closed = False

    @property
    def head(self) -> str:
        return self.parent.head

    @property
    def seq(self) -> int:
        return self.parent.seq

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, kind: str, data: Mapping[str, Any] | None = None) -> Entry:
        if kind == "start":
            kind = "ceremony-start"
        return self.parent.append(kind, {"step": self.step_id, **dict(data or {})})

    def close(self, outcome: str = "completed", **summary: Any) -> str:
        if not self._closed:
            self._closed = True
            self.parent.append("step-end", {"step": self.step_id, "outcome": outcome,
                                            **summary})
        return self.parent.head

    def release(self) -> None:
        pass

    def _release(self) -> None:
        pass


def step_transcript_factory(parent: Transcript, step_id: str) -> Callable[..., Transcript]:
    """A `Transcript.create` stand-in for runner.Options.transcript_factory."""
    def create(path: Any, *, ceremony: str, participants: Sequence[Any] = (),
               data: Mapping[str, Any] | None = None) -> Transcript:
        view = StepTranscript(parent, step_id)
        view.append("start", {"ceremony": ceremony, **dict(data or {})})
        return view
    return create


def tree_sha256(folder: Path) -> str:
    """Digest of a folder of outputs: SHA-256 over sorted `path NUL sha256 LF` lines."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{path.relative_to(folder).as_posix()}\0{digest}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def path_sha256(path: Path) -> str | None:
    """SHA-256 of a file, or the tree digest of a folder; None if absent."""
    if path.is_dir():
        return tree_sha256(path)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return None


@dataclass
class RunState:
    """What an open run transcript says: steps started, steps done and their outputs."""

    path: Path
    entries: tuple[Entry, ...]
    done: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by ceremonies
    before: dict[str, list[str]] | None = None  # targets keys when the run started

    @classmethod
    def read(cls, path: Path) -> RunState:
        entries, _ = parse_entries(path.read_bytes())
        state = cls(path, entries)
        for e in entries:
            step = e.data.get("step")
            if e.kind == "step-start":
                state.started.append(step)
            elif e.kind in ("step-done", "step-recovered"):
                state.done[step] = list(e.data.get("outputs", []))
            elif e.kind == "output" and step:
                state.outputs.setdefault(step, []).append(dict(e.data))
            elif e.kind == "state" and state.before is None:
                state.before = dict(e.data.get("targets_keys_before", {}))
        return state

    @property
    def start(self) -> Mapping[str, Any]:
        return self.entries[0].data


def _first_line(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            line = fh.readline(1 << 20)
        obj = json.loads(line)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) and obj.get("kind") == "start" else None


def open_runs(transcripts: Path, script_name: str) -> list[tuple[Path, str]]:
    """Run transcripts of this ceremony (by name) without an `end`: (path, script sha256)."""
    found = []
    if not transcripts.is_dir():
        return found
    for path in sorted(transcripts.glob("*-run-*.jsonl")):
        start = _first_line(path)
        if start is None or start.get("data", {}).get("ceremony") != "run" \
                or start["data"].get("script") != script_name:
            continue
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, path.stat().st_size - (4 << 20)))
                tail = fh.read()
        except OSError as exc:
            raise TranscriptError(f"cannot read transcript {path}: {exc.strerror}") from None
        lines = [line for line in tail.split(b"\n") if line.strip()]
        last = lines[-1] if lines else b""
        try:
            closed = json.loads(last).get("kind") == "end"
        except ValueError:  # a torn last line: the run was interrupted
            closed = False
        if not closed:
            found.append((path, str(start["data"].get("script_sha256", ""))))
    return found
