"""Executing the TUF 1.0 script actions described in tuf_spec.py: each step's ceremony is built
from its action's table (ceremony/tuf/tables.py), the one its command is built from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ceremony.ceremonies.params import Table
from ceremony.scripts.context import Context, Produced, StepFailed
from ceremony.scripts.schema import Step
from ceremony.scripts.tuf_spec import TABLES


def build(table: Table, given: Mapping[str, Any], token_uri: Callable[[str], str],
          ref_path: Callable[[str, str], str | None]) -> Any:
    """A step's ceremony from its action's table (ceremony/tuf/tables.py), as the command line
    builds it: token names become the tokens' URIs, references the files' paths
    (`ref_path(key, ref)`; None: not here, as a partial response a rehearsal stands in for)."""
    values: dict[str, Any] = {}
    for param in table.script_params():
        if param.key not in given:
            continue
        value = given[param.key]
        if param.token:
            value = [token_uri(v) for v in value] if param.multiple else token_uri(value)
        elif param.ref:
            value = ref_path(param.key, value)
        values[param.key] = value
    return table.build(values, cli=False)


def _ref_path(ctx: Context) -> Callable[[str, str], str | None]:
    def path(key: str, ref: str) -> str | None:
        return str(ctx.ref(ref).path) if ref in ctx.produced or ref in ctx.script.inputs \
            else None
    return path


def tuf_ceremony_step(ctx: Context, step: Step) -> Produced:
    """A TUF ceremony, built from its table as its command's is and run through the same
    function, recorded in the script's transcript."""
    from ceremony.ceremonies.session import Options
    from ceremony.scripts.record import step_transcript_factory
    from ceremony.scripts.steps import file_sha
    p = step.params
    if ctx.dry_run and p["request"] not in ctx.produced:
        request = _stand_in_request(ctx, step)
    else:
        request = ctx.ref(p["request"])
    out = ctx.out_path(step, p["out"])
    run = build(TABLES[step.do], p, ctx.token_uri, _ref_path(ctx))
    options = Options(request=str(request.path), out=str(out), workspace=ctx.workspace,
                      yes=ctx.yes, allow_network=ctx.allow_network, module=ctx.module,
                      allow_shorter=p.get("allow-shorter", False),
                      transcript_factory=step_transcript_factory(ctx.transcript, step.id))
    result = run(options, ctx.console)
    if "repository" in p and result["repository"] != p["repository"]:
        raise StepFailed(f"step {step.id}: the response is for repository "
                         f"'{result['repository']}', the script names '{p['repository']}'")
    ctx.say(f"  response {out}: " + ", ".join(f"{f['role']} v{f['version']}"
                                               for f in result["files"]))
    return Produced(step.id, "response", out, file_sha(out), result["response_sha256"])


def _stand_in_request(ctx: Context, step: Step) -> Produced:
    """A rehearsal's request in place of the real input that is not here yet: an init request
    with throwaway online snapshot/timestamp keys (public halves only)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from ceremony.scripts.context import StepFailed
    from ceremony.scripts.steps import file_sha
    from ceremony.tuf.bundles import OnlineRole, TufRequest, request_bundle
    from ceremony.tuf.keys import key_from_public
    from transfer.systembundle import write_system_bundle
    if step.do != "tuf-init":
        raise StepFailed(f"step {step.id}: a rehearsal makes a stand-in request for tuf-init "
                         "only; rehearse this step with a real request as input")
    online = {}
    for role in ("snapshot", "timestamp"):
        key = key_from_public(ed25519.Ed25519PrivateKey.generate().public_key())
        online[role] = OnlineRole({key.keyid: key}, 1)
    name = step.params.get("repository", "rehearsal")
    bundle = request_bundle(TufRequest(name, "init", {}, {}, online,
                                       summary=(f"rehearsal stand-in: TUF init for '{name}'",)))
    dest = ctx.out_path(step, f"{step.id}.request")
    write_system_bundle(dest, bundle, overwrite=True)
    ctx.say(f"  rehearsal: input {step.params['request']!r} is replaced by a stand-in TUF init "
            "request (throwaway online snapshot/timestamp keys)")
    return Produced(step.id, "file", dest, file_sha(dest), bundle.digest_hex, auto=True)


# -- tuf-sign (signing metadata made elsewhere, co-signing) -----------------------------------
def tuf_sign_step(ctx: Context, step: Step) -> Produced:
    """`tuf-sign`: the ceremony of `ceremony tuf sign-request`, recorded in the script's
    transcript. In a rehearsal, a request (and a partial response) that is not here yet is
    replaced by a stand-in of the same shape (ceremony/tuf/standin.py)."""
    import hashlib

    from ceremony.ceremonies.session import Options
    from ceremony.scripts.record import step_transcript_factory
    p = dict(step.params)
    out = ctx.out_path(step, p["out"])
    uris = tuple(ctx.token_uri(t) for t in p["tokens"])
    partial = ctx.ref(p["partial"]).path if p.get("partial") in ctx.produced else None
    if ctx.dry_run and p["request"] not in ctx.produced:
        from ceremony.tuf.standin import make_stand_ins
        stand = make_stand_ins(ctx.out_path(step, f"{step.id}-stand-in/x").parent, uris,
                               ctx.module, with_partial="partial" in p and partial is None)
        request = stand.request
        partial = stand.partial or partial
        p["trust-root-sha256"] = stand.first_root_sha256
        ctx.say("  rehearsal: the request" + (" and the partial response" if stand.partial
                                               else "")
                + " are replaced by stand-ins: a throwaway repository whose root v2 lists a "
                  "key made on each of this step's tokens and one of another site")
    else:
        request = ctx.ref(p["request"]).path
    run = build(TABLES[step.do], p, ctx.token_uri,
                lambda key, ref: str(partial) if key == "partial" and partial else None)
    options = Options(request=str(request), out=str(out),
                      workspace=ctx.workspace, yes=ctx.yes, allow_network=ctx.allow_network,
                      module=ctx.module,
                      transcript_factory=step_transcript_factory(ctx.transcript, step.id))
    result = run(options, ctx.console)
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
    "tuf-init": tuf_ceremony_step,
    "tuf-rotate-root": tuf_ceremony_step,
    "tuf-renew": tuf_ceremony_step,
    "tuf-rotate-key": tuf_ceremony_step,
    "tuf-delegation-add": tuf_ceremony_step,
    "tuf-delegation-remove": tuf_ceremony_step,
    "tuf-sign": tuf_sign_step,
}
