"""Running one row: make its input, run the real CLI, and check the refusal and that nothing was
written (see tests/hardening/catalogue.py for the rule)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import CliResult
from tests.hardening.bounded import RSS_LIMIT, Measured, run_measured
from tests.hardening.cases.rows import Case, Inputs
from tests.hardening.snapshot import Listing, differences, tree

# Commands that show progress on stderr before their one error line.
PROGRESS_LINES = ("note: ", "received ", "warning: ")
PROGRESS_KINDS = ("qr-lines", "qr-images")


@dataclass
class Outcome:
    case: Case
    result: Measured
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_ceremony(args: tuple[str, ...], *, stdin: bytes, env: dict[str, str], cwd: Path,
                 timeout: float = 120, wrapper: tuple[str, ...] = ()) -> Measured:
    """`python -m ceremony ARGS` with bytes on stdin (scanners type anything), its peak RSS
    and time measured (tests/hardening/bounded.py)."""
    return run_measured(args, env=env, stdin=stdin, cwd=cwd, timeout=timeout, wrapper=wrapper)


def check(case: Case, r: CliResult | Measured, changed: list[str]) -> list[str]:
    problems = []
    if isinstance(r, Measured) and r.timed_out:
        problems.append("no answer within the time limit (a hang)")
    if isinstance(r, Measured) and not 0 < r.peak_rss < RSS_LIMIT:
        problems.append(f"peak RSS {r.peak_rss >> 20} MiB (limit {RSS_LIMIT >> 20} MiB)")
    if r.returncode not in (1, 2):
        problems.append(f"exit status {r.returncode} (expected 1, or 2 for a usage error)")
    if "Traceback" in r.output or "internal error" in r.output:
        problems.append("traceback or internal error")
    rows = r.stderr.splitlines()
    errors = [row for row in rows if row.startswith("error: ")]
    if len(errors) != 1 or not rows or rows[-1] != errors[0]:
        problems.append(f"not exactly one final 'error:' line on stderr: {r.stderr[-500:]!r}")
    else:
        allowed = PROGRESS_LINES if case.kind in PROGRESS_KINDS else ()
        stray = [row for row in rows[:-1] if not row.startswith(allowed) or not allowed]
        if stray:
            problems.append(f"other lines on stderr: {stray[:3]!r}")
        needles = (case.expect,) if isinstance(case.expect, str) else case.expect
        if not any(needle in errors[0] for needle in needles):
            problems.append(f"error does not name the problem ({case.expect!r}): "
                            f"{errors[0][:300]!r}")
        if len(errors[0]) > 2000:
            problems.append(f"error line is {len(errors[0])} characters long")
    if changed:
        problems.append(f"files written or changed: {changed[:5]}")
    return problems


# SoftHSM touches the mtime of these in its token store whenever a process looks at a token
# (`token list` does too): its own bookkeeping, compared by content only.
SOFTHSM_BOOKKEEPING = ("generation", "token.lock")


def _listing(path: Path, hsm: bool) -> Listing:
    found = tree(path)
    if hsm:
        for rel, (kind, mode, size, _, digest) in list(found.items()):
            if rel.rsplit("/", 1)[-1] in SOFTHSM_BOOKKEEPING:
                found[rel] = (kind, mode, size, 0, digest)
    return found


def run_case(case: Case, inputs: Inputs, work: Path) -> Outcome:
    """Make the case's input in `work` (empty), run it, and check everything (see module doc)."""
    invocation = case.make(inputs, work)
    watched = [(work, False)] + ([(inputs.hsm_root, True)] if invocation.hsm else [])
    before = [_listing(path, hsm) for path, hsm in watched]
    result = run_ceremony(invocation.args, stdin=invocation.stdin,
                          env=inputs.hsm_env if invocation.hsm else {}, cwd=work,
                          wrapper=invocation.wrapper)
    changed = [d for b, (path, hsm) in zip(before, watched, strict=True)
               for d in differences(b, _listing(path, hsm))]
    problems = []
    if invocation.transcript_in is not None:
        changed, problems = _allowed_transcript(case, invocation.transcript_in, work, changed)
    return Outcome(case, result, check(case, result, changed) + problems)


def _allowed_transcript(case: Case, folder: Path, work: Path, changed: list[str]
                        ) -> tuple[list[str], list[str]]:
    """The one change a refused --request may make: ONE new transcript in the workspace's
    transcripts folder (and so that folder's mtime), which verifies, ends `refused`, and
    records the refusal naming the problem. Everything else is still a change."""
    rel = folder.relative_to(work).as_posix()
    made = [d for d in changed if d.startswith(f"created {rel}/") and d.endswith(".jsonl")
            and "/" not in d[len(f"created {rel}/"):]]
    rest = [d for d in changed if d not in made and not d.startswith(f"changed {rel}: ")
            and not d.startswith((f"created {rel}/ANCHORS", f"changed {rel}/ANCHORS"))]
    if len(made) != 1:
        return changed, [f"expected exactly one new transcript recording the refusal, "
                         f"found {len(made)}"]
    path = work / made[0][len("created "):]
    r = run_ceremony(("transcript", "verify", str(path)), stdin=b"", env={}, cwd=work)
    problems = [] if r.returncode == 0 else [f"the refusal's transcript does not verify: "
                                             f"{r.stderr.strip()[:300]}"]
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    needles = (case.expect,) if isinstance(case.expect, str) else case.expect
    refusals = [e for e in entries if e["kind"] == "refusal"]
    if not refusals or not any(n in refusals[-1]["data"].get("reason", "") for n in needles):
        problems.append("the transcript does not record the refusal naming the problem")
    if entries[-1]["kind"] != "end" or entries[-1]["data"].get("outcome") != "refused":
        problems.append(f"the transcript does not end 'refused': {entries[-1]}")
    return rest, problems

