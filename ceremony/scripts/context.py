"""The state a script run hands to its steps: where things go, what was produced, the world."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.notary.ceremonies.runner import Console
from ceremony.scripts.schema import Script, Step
from ceremony.scripts.yamlread import ScriptError
from ceremony.transcript import Transcript
from groundfloor.files import make_dirs


class StepFailed(ScriptError):
    """A step did not do what the script says (an expectation failed, a check refused)."""


def inside(base: Path, path: Path, step_id: str) -> None:
    """Refuse `path` unless it stays inside `base` with every symlink resolved."""
    top = base.resolve()
    real = path.resolve()
    if real != top and top not in real.parents:
        raise StepFailed(f"step {step_id}: output {path} resolves to {real}, outside the "
                         f"outputs folder {top} (a symbolic link?): refusing to write there")


@dataclass
class Produced:
    """An input or a step's output: what it is, where, and its digest."""

    name: str
    kind: str | None
    path: Path | None
    sha256: str | None = None  # of the file, or the tree digest of a folder
    bundle_sha256: str | None = None  # a bundle's own digest (what `describe` shows)
    auto: bool = False  # made by the rehearsal for a real input (dry run)
    detail: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind,
                               "path": str(self.path) if self.path else None,
                               "sha256": self.sha256}
        if self.bundle_sha256:
            out["bundle_sha256"] = self.bundle_sha256
        if self.auto:
            out["rehearsal_stand_in"] = True
        return out


@dataclass
class Context:
    script: Script
    dry_run: bool
    workspace: str
    outputs: Path  # where the main steps' outputs go
    setup_outputs: Path  # where rehearsal setup steps' outputs go
    yes: bool
    allow_network: bool
    module: str | None
    console: Console
    token_uri: Callable[[str], str]
    transcript: Transcript = None  # type: ignore[assignment]
    produced: dict[str, Produced] = field(default_factory=dict)
    world: Any = None  # rehearsal.World in a dry run
    verified: list[str] = field(default_factory=list)  # what a rehearsal proved, for the summary

    def out_path(self, step: Step, relative: str) -> Path:
        """Where a step's output goes: inside the outputs folder once symlinks are resolved
        (the name passed a lexical check, but `out/link -> /elsewhere` would not)."""
        base = self.setup_outputs if step.setup else self.outputs
        path = (base / relative)
        inside(base, path, step.id)
        make_dirs(path.parent)
        inside(base, path, step.id)  # again: make_dirs went through what is there now
        return path

    def ref(self, name: str) -> Produced:
        return self.produced[name]

    def say(self, text: str) -> None:
        self.console.show(text)
