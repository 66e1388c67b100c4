"""`ceremony run`: a ceremony script, step by step, in one transcript.

Order of a real run (nothing is written before step 6):
1. the script is read and validated completely (schema.py);
2. a script with rehearsal-only steps is refused (they play the online machine);
3. every input is checked: present, of its kind, with the expected SHA-256;
4. the machine is checked for a network (refused unless --allow-network, then recorded);
5. an interrupted run of the same ceremony must be resumed or abandoned first; outputs must
   not exist yet;
6. the plan is shown (participants, inputs with digests and words, tokens, steps) and
   confirmed (`yes` typed, or --yes, recorded); the transcript starts;
7. each step runs through the library (steps.py), its outputs' digests recorded;
8. the script's checks run against the workspace; the transcript closes; its final digest is
   printed as hex and words.
A dry run (rehearsal.py) does the same on throwaway tokens, workspace and outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceremony.notary.ceremonies.runner import Console
from ceremony.scripts import notation_steps, steps, tuf_steps
from ceremony.scripts.checks import check_inputs, run_checks, targets_keys_now
from ceremony.scripts.context import Context, Produced, StepFailed
from ceremony.scripts.record import RunState, open_runs, path_sha256
from ceremony.scripts.schema import Script, Step
from ceremony.scripts.steps import check_expect, words
from ceremony.scripts.yamlread import ScriptError
from ceremony.transcript import Transcript, verify_transcript
from groundfloor.errors import GroundFloorError
from groundfloor.faults import fault_point

# Every action's executor: the Notary v1 ones (steps.py), then each other trust system's.
EXECUTORS = {**steps.EXECUTORS, **notation_steps.EXECUTORS, **tuf_steps.EXECUTORS}


def _user_errors() -> tuple[type[BaseException], ...]:
    from ceremony.errors import CeremonyError
    from hsm.errors import HSMError
    return (CeremonyError, HSMError, GroundFloorError, OSError)


USER_ERRORS = _user_errors()


@dataclass
class RunOptions:
    script: str | None
    dry_run: bool = False
    yes: bool = False
    workspace: str | None = None
    allow_network: bool = False
    resume: bool = False
    abandon: bool = False
    rehearsal_dir: str | None = None
    out_dir: str | None = None
    module: str | None = None
    pin_sources: tuple[str, ...] = ()  # [LABEL=]SOURCE, over the script's pin-source


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "script"


def header(console: Console, text: str) -> None:
    console.show(f"\n== {text}")


def show_plan(console: Console, script: Script, inputs: dict[str, Produced],
              notes: list[str], *, dry_run: bool) -> None:
    header(console, f"Ceremony: {script.name}" + (" (REHEARSAL on throwaway tokens)"
                                                    if dry_run else ""))
    console.show(f"script  {script.path}\n  sha256 {script.sha256}\n  words  "
                 f"{words(script.sha256)}")
    if script.reference:
        console.show(f"reference {script.reference}")
    console.show("purpose " + " ".join(script.purpose.split()))
    console.show(f"repositories ({len(script.guns)}): {', '.join(script.guns[:8])}"
                 + (f" and {len(script.guns) - 8} more" if len(script.guns) > 8 else ""))
    console.show("participants:")
    for p in script.participants:
        console.show(f"  {p.name} ({p.role})")
    if script.inputs:
        console.show("inputs:")
        for name, spec in script.inputs.items():
            got = inputs.get(name)
            if got is None or got.sha256 is None:
                console.show(f"  {name} ({spec.kind}) {spec.path}"
                             + ("" if got else ": not present"))
                continue
            console.show(f"  {name} ({spec.kind}) {got.path}: sha256 matches the script\n"
                         f"    sha256 {got.sha256}\n    words  {words(got.sha256)}"
                         + (f"\n    bundle sha256 {got.bundle_sha256}" if got.bundle_sha256
                            else ""))
    for note in notes:
        console.show(f"  note: {note}")
    if script.tokens:
        console.show("tokens:")
        for t in script.tokens.values():
            console.show(f"  {t.name}: {t.uri}" + (f" (PIN: {t.pin_source})"
                                                   if t.pin_source else ""))
    steps = [*(script.rehearsal.setup if dry_run else ()), *script.steps]
    console.show(f"steps ({len(steps)}):")
    for i, s in enumerate(steps, start=1):
        console.show(f"  {i:2}. {s.id}: {s.do} [{s.machine}]"
                     + (" (rehearsal setup)" if s.setup else ""))


def confirm_start(ctx: Context, script: Script) -> tuple[str, bool]:
    question = f"Begin the ceremony '{script.name}' (script sha256 {script.sha256[:16]}...)?"
    if ctx.yes:
        return "yes", True
    answer = ctx.console.ask(f"{question} Type yes to begin: ")
    if answer is None or answer.strip() != "yes":
        raise ScriptError("not confirmed (the answer was not 'yes'); nothing was done")
    return answer.strip(), False


def start_transcript(ctx: Context, path: Path, inputs: dict[str, Produced],
                     findings: list[str], answer: tuple[str, bool], extra: dict[str, Any]
                     ) -> Transcript:
    s = ctx.script
    people = [{"name": p.name, "role": p.role} for p in s.participants]
    t = Transcript.create(path, ceremony="run", participants=people, data={
        "script": s.name, "script_path": str(s.path), "script_sha256": s.sha256,
        "purpose": s.purpose, "reference": s.reference, "guns": list(s.guns),
        "dry_run": ctx.dry_run, "steps": [st.id for st in s.steps], **extra})
    t.participants(people)
    t.input("script", s.data, path=str(s.path))
    for produced in inputs.values():
        t.append("input", produced.record())
    t.append("airgap", {"findings": findings, "allow_network": ctx.allow_network,
                        "offline": not findings})
    t.confirmation(f"Begin the ceremony '{s.name}'?", answer[0], via_yes=answer[1])
    return t


def _record_outputs(produced: Produced | None) -> list[dict[str, Any]]:
    return [produced.record()] if produced is not None and produced.path is not None else []


def _skip_done(ctx: Context, step: Step, state: RunState) -> bool:
    """On a resume: a step recorded as done whose outputs still match is skipped."""
    if step.id not in state.done:
        return False
    outputs = state.done[step.id]
    for out in outputs:
        path = Path(out["path"]) if out.get("path") else None
        if path is not None and path_sha256(path) != out.get("sha256"):
            raise ScriptError(f"resume: output {path} of step {step.id} is missing or changed "
                              "since it was recorded; nothing more was done (abandon the run "
                              "with --abandon)")
    if outputs:
        o = outputs[0]
        ctx.produced[step.id] = Produced(step.id, o.get("kind"),
                                         Path(o["path"]) if o.get("path") else None,
                                         o.get("sha256"), o.get("bundle_sha256"))
    else:
        ctx.produced[step.id] = Produced(step.id, step.output_kind, None)
    ctx.transcript.append("step-skipped", {"step": step.id, "reason": "done before the "
                                           "interruption; outputs verified", "outputs": outputs})
    ctx.say("  already done before the interruption; outputs verified: skipped")
    return True


def _recover(ctx: Context, step: Step, state: RunState) -> bool:
    """A ceremony step interrupted after writing its response: done if the workspace holds
    exactly its signed files; otherwise refuse (a person decides)."""
    out = step.params.get("out")
    if step.spec.operation is None or out is None:
        return False
    path = ctx.out_path(step, out)
    if not path.exists():
        return False
    from ceremony.workspace import Workspace
    from transfer.bundle import read_bundle
    ws = Workspace.open(ctx.workspace)
    bundle = read_bundle(path, kind="response")
    recorded = all(ws.last_signed(e.gun, f.role) is not None
                   and ws.last_signed(e.gun, f.role).data == f.data  # type: ignore[union-attr]
                   for e in bundle.entries for f in e.files) and bundle.complete
    if not recorded:
        raise ScriptError(f"resume: step {step.id} was interrupted after writing {path}, and the "
                          "workspace did not record it: move that file aside (do not publish "
                          "it), then --resume to redo the step, or --abandon")
    digest = path_sha256(path)
    produced = Produced(step.id, "response", path, digest, bundle.digest_hex)
    ctx.produced[step.id] = produced
    ctx.transcript.append("step-recovered", {"step": step.id, "outputs": [produced.record()],
                                             "reason": "response written and recorded in the "
                                                       "workspace before the interruption"})
    ctx.say(f"  recovered: {path} was written and recorded before the interruption")
    return True


def run_steps(ctx: Context, steps: list[Step], state: RunState | None) -> None:
    """Every step in order; one login per token for the whole script, not one per step."""
    from hsm.session import keep_logins

    with keep_logins():
        _run_steps(ctx, steps, state)


def _run_steps(ctx: Context, steps: list[Step], state: RunState | None) -> None:
    total = len(steps)
    for i, step in enumerate(steps, start=1):
        header(ctx.console, f"Step {i}/{total} [{step.machine}] {step.id}: {step.title}")
        if state is not None and (_skip_done(ctx, step, state) or
                                  (step.id in state.started and _recover(ctx, step, state))):
            continue
        ctx.transcript.append("step-start", {"step": step.id, "index": i,
                                             "setup": step.setup, **step.record()})
        fault_point("run.step.started")
        try:
            produced = EXECUTORS[step.do](ctx, step)
            check_expect(ctx, step, produced)
        except BaseException as exc:
            text = " ".join(str(exc).split()).removeprefix(f"step {step.id}: ")
            ctx.transcript.append("step-failed", {"step": step.id, "type": type(exc).__name__,
                                                  "message": text})
            if isinstance(exc, USER_ERRORS):
                hint = ("; the rehearsal stopped (nothing real was touched)" if ctx.dry_run else
                        "; the run is interrupted: fix the cause, then run the script again "
                        "with --resume (or close it with --abandon)")
                raise StepFailed(f"step {step.id} ({step.do}): {text}{hint}") from None
            raise
        if produced is not None:
            ctx.produced[step.id] = produced
            if produced.sha256 and produced.kind in ("request", "response", "public-key"):
                ctx.say(f"  {produced.kind} sha256 {produced.sha256}\n  {produced.kind} "
                        f"words  {words(produced.sha256)}")
        ctx.transcript.append("step-done", {"step": step.id, "outputs":
                                            _record_outputs(produced)})
        fault_point("run.step.done")


def finish(ctx: Context, before: dict[str, list[str]], extra: dict[str, Any]) -> dict[str, Any]:
    """Checks, the end entry, the transcript verified, the summary."""
    t = ctx.transcript
    if ctx.script.checks:
        header(ctx.console, "Checks")
        try:
            done = run_checks(ctx.workspace, ctx.script.checks, before)
        except StepFailed as exc:
            t.append("checks", {"ok": False, "error": str(exc)})
            t.close("checks-failed")
            raise
        t.append("checks", {"ok": True, "checked": done})
        for line in done:
            ctx.say(f"  OK {line}")
    outputs = [{**p.record(), "do": ctx.script.step(name).do}
               for name, p in ctx.produced.items()
               if name not in ctx.script.inputs and p.path is not None and not
               ctx.script.step(name).setup]
    digest = t.close("completed", outputs=outputs, verified=ctx.verified, **extra)
    check = verify_transcript(t.path)
    return {"ceremony": ctx.script.name, "script_sha256": ctx.script.sha256,
            "dry_run": ctx.dry_run, "outputs": outputs, "verified": ctx.verified,
            "transcript": str(t.path), "transcript_entries": len(check.entries),
            "transcript_sha256": digest, "transcript_words": words(digest), **extra}


def print_summary(console: Console, r: dict[str, Any]) -> None:
    """Short: what was signed (digests and words), what was verified, the transcript."""
    header(console, "Summary" + (" (rehearsal)" if r["dry_run"] else ""))
    console.show(f"{r['ceremony']}: completed (script sha256 {r['script_sha256'][:16]}...)")
    signed = [o for o in r["outputs"] if o["kind"] == "response"
              and o["do"] != "transfer-receive"]
    others = [o for o in r["outputs"] if o not in signed]
    if signed:
        console.show("signed:")
        for out in signed:
            console.show(f"  {out['name']}: {Path(out['path']).name}\n"
                         f"      sha256 {out['sha256']}\n      words  {words(out['sha256'])}")
    if others:
        folder = Path(others[0]["path"]).parent
        console.show(f"other outputs: {', '.join(Path(o['path']).name for o in others)}"
                     + (f" (in {folder})" if all(Path(o["path"]).parent == folder
                                                 for o in others) else ""))
    if r["verified"]:
        console.show("verified:")
        for line in r["verified"]:
            console.show(f"  - {line}")
    if r.get("rehearsal_dir"):
        console.show(f"rehearsal folder {r['rehearsal_dir']} (throwaway: tokens, workspace, "
                     "outputs)")
    console.show(f"transcript {r['transcript']}\n  {r['transcript_entries']} entries, chain "
                 f"verified\n  final sha256 {r['transcript_sha256']}\n  final words  "
                 f"{r['transcript_words']}")


def _workspace(opts: RunOptions) -> str:
    import os

    from ceremony.workspace import ENV
    ws = opts.workspace or os.environ.get(ENV)
    if not ws:
        raise ScriptError(f"no workspace: give --workspace DIR or set {ENV}")
    return ws


def real_run(opts: RunOptions, console: Console) -> dict[str, Any]:
    from ceremony.airgap import network_warning, require_offline
    from ceremony.scripts.schema import read_script
    from ceremony.workspace import Workspace
    from hsm.uri import format_uri, parse_uri
    if opts.script is None:
        raise ScriptError("give a SCRIPT (only a rehearsal, --dry-run, has a default script)")
    script = read_script(opts.script)
    rehearsal = script.rehearsal_only
    if rehearsal:
        raise ScriptError(f"script {script.path.name}: step {rehearsal[0].id} "
                          f"({rehearsal[0].do}) plays the online machine: this script is a "
                          "rehearsal; run it with --dry-run")
    if opts.resume and opts.abandon:
        raise ScriptError("--resume or --abandon, not both")
    ws_path = _workspace(opts)
    inputs, notes = check_inputs(script, dry_run=False) if not opts.abandon else ({}, [])
    findings = require_offline(opts.allow_network)
    if findings:  # recorded in the transcript below; said at once, as every command does
        console.warn(network_warning(findings))
    creates = any(s.do in ("init", "notation-ca-init", "tuf-init") for s in script.steps)
    folder = Path(ws_path).absolute()
    # An absent workspace is created only once the ceremony begins (after the confirmation).
    ws = Workspace.open(folder) if (folder / "workspace.json").exists() or not creates else None
    runs = open_runs(folder / "transcripts", script.name) if ws is not None else []
    if opts.abandon:
        return abandon(console, script, runs)
    outputs = Path(opts.out_dir) if opts.out_dir else script.base

    from ceremony.ceremonies.tokens import PinSources
    overrides = PinSources(opts.pin_sources)

    def token_uri(name: str) -> str:
        spec = script.tokens[name]
        source = overrides.per_token.get(spec.label) or overrides.default or spec.pin_source
        return format_uri(parse_uri(spec.uri), pin_source=source) if source else spec.uri

    ctx = Context(script=script, dry_run=False, workspace=str(folder), outputs=outputs,
                  setup_outputs=outputs, yes=opts.yes, allow_network=opts.allow_network,
                  module=opts.module or script.module, console=console, token_uri=token_uri)
    ctx.produced.update(inputs)
    state = None
    if opts.resume:
        same = [path for path, sha in runs if sha == script.sha256]
        if not same:
            raise ScriptError(f"nothing to resume: no interrupted run of this script (sha256 "
                              f"{script.sha256[:16]}...) in {folder / 'transcripts'}"
                              + (f"; an interrupted run of '{script.name}' with another "
                                 f"version of the script is in {runs[0][0]}" if runs else ""))
        state = RunState.read(same[-1])
    else:
        if runs:
            raise ScriptError(f"an interrupted run of '{script.name}' is recorded in {runs[-1][0]}"
                              ": finish it with --resume, or close it with --abandon")
        for step in script.steps:
            for rel in step.spec.paths_written(step.params):
                if (outputs / rel).exists():
                    raise ScriptError(f"output {outputs / rel} (step {step.id}) already exists: "
                                      "move it away, or --resume an interrupted run")
    show_plan(console, script, inputs, notes, dry_run=False)
    before = targets_keys_now(str(folder), script.guns) if ws is not None else {}
    if state is None:
        answer = confirm_start(ctx, script)
        ws = Workspace.open(folder, create=creates)
        ctx.transcript = start_transcript(
            ctx, ws.new_transcript_path(f"run-{slug(script.name)}"), inputs, findings, answer,
            {"workspace": str(ws.path), "outputs": str(outputs)})
    else:
        ctx.transcript = Transcript.resume(state.path, reason="ceremony run --resume")
        ctx.transcript.append("airgap", {"findings": findings,
                                         "allow_network": opts.allow_network,
                                         "offline": not findings})
        for produced in inputs.values():
            ctx.transcript.append("input", produced.record())
        before = state.before if state.before is not None else before
    if state is None:
        ctx.transcript.append("state", {"targets_keys_before": before})
    try:
        run_steps(ctx, list(script.steps), state)
    except BaseException:
        ctx.transcript.release()
        raise
    result = finish(ctx, before, {})
    print_summary(console, result)
    return result


def abandon(console: Console, script: Script, runs: list[tuple[Path, str]]) -> dict[str, Any]:
    if not runs:
        raise ScriptError(f"nothing to abandon: no interrupted run of '{script.name}'")
    path = runs[-1][0]
    state = RunState.read(path)
    t = Transcript.resume(path, reason="ceremony run --abandon")
    done = list(state.done)
    digest = t.close("abandoned", steps_done=done, abandoned_with_script_sha256=script.sha256)
    header(console, f"Abandoned: {script.name}")
    console.show(f"transcript {path}\n  steps done before: {', '.join(done) or 'none'}\n"
                 f"  final sha256 {digest}\n  final words  {words(digest)}")
    console.show("Outputs of the steps done remain as they are; a response that was not "
                 "published must not be published later without a new review.")
    return {"ceremony": script.name, "abandoned": True, "transcript": str(path),
            "steps_done": done, "transcript_sha256": digest, "transcript_words": words(digest)}
