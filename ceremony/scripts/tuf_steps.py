"""Executing the TUF 1.0 script actions described in tuf_spec.py."""

from __future__ import annotations

from collections.abc import Callable

from ceremony.scripts.context import Context, Produced, StepFailed
from ceremony.scripts.schema import Step


# -- tuf-sign (signing metadata made elsewhere, co-signing) -----------------------------------
def tuf_sign_step(ctx: Context, step: Step) -> Produced:
    """`tuf-sign`: the ceremony of `ceremony tuf sign-request`, recorded in the script's
    transcript. A TUF request has no rehearsal stand-in: a dry run refuses the step."""
    import hashlib

    from ceremony.ceremonies.session import Options
    from ceremony.scripts.record import step_transcript_factory
    from ceremony.tuf.signceremony import SignChoices, sign_request
    if ctx.dry_run:
        raise StepFailed(f"step {step.id}: tuf-sign has no rehearsal yet; run the script for "
                         "real on the offline machine")
    p = step.params
    out = ctx.out_path(step, p["out"])
    partial = ctx.ref(p["partial"]).path if "partial" in p else None
    options = Options(request=str(ctx.ref(p["request"]).path), out=str(out),
                      workspace=ctx.workspace, yes=ctx.yes, allow_network=ctx.allow_network,
                      module=ctx.module,
                      transcript_factory=step_transcript_factory(ctx.transcript, step.id))
    result = sign_request(options, ctx.console, SignChoices(
        tokens=tuple(ctx.token_uri(t) for t in p["tokens"]),
        partial=str(partial) if partial else None,
        signatures_only=p.get("signatures-only", False),
        trust_root_sha256=p.get("trust-root-sha256")))
    state = "complete" if result["complete"] else "PARTIAL (co-signing needed, not publishable)"
    ctx.say(f"  response {out} ({state}): {result['role']} v{result['version']} of "
            f"'{result['repository']}'")
    if step.expect.complete is not None and result["complete"] != step.expect.complete:
        raise StepFailed(f"step {step.id}: the response is "
                         f"{'complete' if result['complete'] else 'partial'}, the script "
                         f"expects it {'complete' if step.expect.complete else 'partial'}")
    return Produced(step.id, "response", out, hashlib.sha256(out.read_bytes()).hexdigest(),
                    result["response_sha256"], detail={"complete": result["complete"]})


EXECUTORS: dict[str, Callable[[Context, Step], Produced | None]] = {
    "tuf-sign": tuf_sign_step,
}
