"""Executing the Notary v2 (notation) script actions described in notation_spec.py: each calls
the same library function as its command, inside the session frame, recorded as a step of the
script's transcript (step_transcript_factory), and returns what it wrote. In a rehearsal
(--dry-run) the inputs made elsewhere are stood in for by notation_rehearsal.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ceremony.scripts.context import Context, Produced
from ceremony.scripts.record import path_sha256, step_transcript_factory
from ceremony.scripts.schema import Step
from groundfloor.files import DIR_MODE, atomic_write


def _options(ctx: Context, step: Step, out: Path, request: Path | None = None) -> Any:
    from ceremony.ceremonies.session import Options
    return Options(out=str(out), request=str(request) if request else "",
                   workspace=ctx.workspace, yes=ctx.yes, allow_network=ctx.allow_network,
                   module=ctx.module,
                   transcript_factory=step_transcript_factory(ctx.transcript, step.id))


def _say(ctx: Context, r: dict[str, Any]) -> None:
    for key in ("review_sha256", "response_sha256"):
        if key in r:
            from ceremony.scripts.steps import words
            ctx.say(f"  {key.replace('_', ' ')} {r[key]}\n  {key.split('_')[0]} words "
                    f"{words(r[key])}")
    if "logins" in r:
        ctx.say(f"  logins {r['logins']}")


def _response(ctx: Context, step: Step, out: Path, r: dict[str, Any]) -> Produced:
    _say(ctx, r)
    ctx.say(f"  response {out}")
    return Produced(step.id, "response", out, path_sha256(out), r["response_sha256"])


def _ceremony(ctx: Context, step: Step) -> Any:
    """The step's ceremony, from its table (ceremony/notation/tables.py) as its command's."""
    from ceremony.scripts.steps import step_ceremony
    return step_ceremony(ctx, step)


def ca_init_step(ctx: Context, step: Step) -> Produced:
    out = ctx.out_path(step, step.params["out"])
    r = _ceremony(ctx, step)(_options(ctx, step, out), ctx.console)
    ctx.say(f"  root CA '{r['ca']}': {r['certificate']['subject']}\n  certificate sha256 "
            f"{r['certificate']['sha256']}")
    _say(ctx, r)
    return Produced(step.id, "certificate", out, path_sha256(out))


def ca_intermediate_step(ctx: Context, step: Step) -> Produced:
    out = ctx.out_path(step, step.params["out"])
    r = _ceremony(ctx, step)(_options(ctx, step, out), ctx.console)
    ctx.say(f"  CA '{r['ca']}' issued by '{r['parent']}': {r['certificate']['subject']}")
    _say(ctx, r)
    return Produced(step.id, "certificate", out, path_sha256(out))


def ca_issue_step(ctx: Context, step: Step) -> Produced:
    out = ctx.out_path(step, step.params["out"])
    request = _request(ctx, step, "issue")
    r = _ceremony(ctx, step)(_options(ctx, step, out, request), ctx.console)
    for c in r["certificates"]:
        ctx.say(f"  issued {c['name']}: serial {c['serial']}")
    return _response(ctx, step, out, r)


def ca_crl_step(ctx: Context, step: Step) -> Produced:
    out = ctx.out_path(step, step.params["out"])
    ceremony = _ceremony(ctx, step)
    serials = ceremony.keywords.get("revoke", [])
    if ctx.dry_run and serials:
        from ceremony.scripts.notation_rehearsal import stand_in_serials
        ceremony = partial(ceremony, revoke=stand_in_serials(ctx, ceremony.keywords["ca"],
                                                             serials))
    r = ceremony(_options(ctx, step, out), ctx.console)
    ctx.say(f"  CRL #{r['crl_number']} (next update {r['next_update']}); revoked: "
            f"{', '.join(r['revoked']) or 'none'}")
    return _response(ctx, step, out, r)


def _request(ctx: Context, step: Step, kind: str) -> Path:
    """The request a step answers; in a rehearsal, a stand-in for a real input not given."""
    ref = step.params["request"]
    if ctx.dry_run and ref in ctx.script.inputs and ref not in ctx.produced:
        from ceremony.scripts.notation_rehearsal import stand_in_request
        ctx.produced[ref] = stand_in_request(ctx, step, kind)
    path = ctx.ref(ref).path
    assert path is not None
    return path


def csr_step(ctx: Context, step: Step) -> Produced:
    out = ctx.out_path(step, step.params["out"])
    r = _ceremony(ctx, step)(_options(ctx, step, out), ctx.console)
    ctx.say(f"  certificate request for {r['subject']}\n  key sha256 {r['key_sha256']}")
    _say(ctx, r)
    return Produced(step.id, "request", out, path_sha256(out), r["response_sha256"])


def sign_step(ctx: Context, step: Step) -> Produced:
    out = ctx.out_path(step, step.params["out"])
    request = _request(ctx, step, "sign")
    r = _ceremony(ctx, step)(_options(ctx, step, out, request), ctx.console)
    ctx.say(f"  signed {r['signed']} artifact(s) as {r['mediaType']} by {r['signer']}")
    if ctx.dry_run:
        from ceremony.scripts.notation_rehearsal import verify_signatures
        verify_signatures(ctx, out)
    return _response(ctx, step, out, r)


def export_step(ctx: Context, step: Step) -> Produced:
    from ceremony.workspace import Workspace
    folder = ctx.out_path(step, step.params["out"])
    folder.mkdir(mode=DIR_MODE, exist_ok=True)
    files = _ceremony(ctx, step)(Workspace.open(ctx.workspace))
    for name, data in files.items():
        atomic_write(folder / name, data, overwrite=True)
    digest = path_sha256(folder)
    ctx.say(f"  wrote {', '.join(sorted(files))} to {folder}")
    return Produced(step.id, "pins", folder, digest)


EXECUTORS: dict[str, Callable[[Context, Step], Produced | None]] = {
    "notation-ca-init": ca_init_step, "notation-csr": csr_step,
    "notation-ca-intermediate": ca_intermediate_step,
    "notation-ca-issue": ca_issue_step, "notation-ca-revoke": ca_crl_step,
    "notation-ca-crl": ca_crl_step, "notation-sign": sign_step, "notation-export": export_step,
}
