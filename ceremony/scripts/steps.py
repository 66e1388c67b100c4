"""Executing a step: each action calls the same library functions as its command (no shell).

Ceremonies (`init`, `signer-add`, ... `rotate-targets`) build the same Ceremony objects as the
CLI and run them through `runner.perform`, recording into the script's transcript. `verify`,
`export-pins` and `transfer-send|receive` use the metadata verifier and the QR library.
Online actions (rehearsals only) are handed to the rehearsal world.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ceremony.scripts.context import Context, Produced, StepFailed
from ceremony.scripts.record import path_sha256, step_transcript_factory
from ceremony.scripts.schema import Step
from groundfloor.files import DIR_MODE, atomic_write
from groundfloor.words import digest_words


def words(hex_digest: str) -> str:
    return digest_words(bytes.fromhex(hex_digest))


def step_guns(ctx: Context, step: Step) -> list[str]:
    """The GUNs a step works on (for a rehearsal's requests and checks)."""
    p = step.params
    if "gun" in p:
        return [p["gun"]]
    return list(p.get("guns") or ctx.script.guns)


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- ceremonies ----------------------------------------------------------------------------------

def _build(ctx: Context, step: Step) -> Any:
    """The step's Ceremony, built from its parameter table as the command line builds it:
    token names become the tokens' URIs, references the files' paths."""
    from ceremony.scripts.actions_spec import TABLES
    table = TABLES[step.do]
    values: dict[str, Any] = {}
    for param in table.script_params():
        if param.key not in step.params:
            continue
        given = step.params[param.key]
        if param.token:
            convert: Callable[[str], str] = ctx.token_uri
        elif param.ref:
            convert = _file_of(ctx, step, param.key)
        else:
            values[param.key] = given
            continue
        values[param.key] = [convert(g) for g in given] if param.multiple else convert(given)
    values["partial"] = step.params.get("partial", False)  # a rule of the table may read it
    if step.do == "adopt" and _stands_in(ctx):
        values["root-passphrase-source"] = values["targets-passphrase-source"] = \
            ctx.world.passphrase_source()
    return table.build(values, cli=False)


def step_ceremony(ctx: Context, step: Step) -> Any:
    """The step's ceremony made from its action's parameter table (any trust system's)."""
    return _build(ctx, step)


def _stands_in(ctx: Context) -> bool:
    return ctx.dry_run and ctx.world is not None


def _file_of(ctx: Context, step: Step, key: str) -> Callable[[str], str]:
    """A file reference's path. In a rehearsal of `adopt`, the key file the rehearsal's notary
    client made stands in for each key-file input, with the passphrase the rehearsal gave it."""
    def path(ref: str) -> str:
        if step.do == "adopt" and _stands_in(ctx) and ref in ctx.script.inputs:
            role = "root" if key == "root-key-files" else "targets"
            return str(ctx.world.key_file(step.params["gun"], role))
        return str(ctx.ref(ref).path)
    return path


def _request(ctx: Context, step: Step) -> Produced:
    """The request a ceremony reads. In a rehearsal, a real input (or none, in a setup step) is
    replaced by a request the rehearsal's own server makes for the same GUNs and operation."""
    ref = step.params.get("request")
    if ref is not None and not (ctx.dry_run and ref in ctx.script.inputs):
        return ctx.ref(ref)
    guns = step_guns(ctx, step)
    dest = ctx.out_path(step, f"{step.id}.request")
    offline_snapshot = step.do == "init" and "snapshot-token" in step.params
    produced = ctx.world.request(ctx, guns, step.spec.operation, dest, step.id,
                                 snapshot_key="never" if offline_snapshot else "auto")
    if ref is not None:
        ctx.say(f"  rehearsal: input {ref!r} is replaced by a request from the rehearsal's own "
                "Notary server (same GUNs and operation)")
    return produced


def _expect_response(step: Step, result: dict[str, Any]) -> None:
    exp = step.expect
    if exp.complete is not None and result["complete"] != exp.complete:
        raise StepFailed(f"step {step.id}: the response is "
                         f"{'complete' if result['complete'] else 'partial'}, the script "
                         f"expects it {'complete' if exp.complete else 'partial'}")
    for repo in result["repositories"]:
        signed = {f["role"]: f["version"] for f in repo["files"]}
        for role, version in exp.versions.items():
            if signed.get(role) != version:
                got = f"version {signed[role]}" if role in signed else "nothing"
                raise StepFailed(f"step {step.id}: {repo['gun']} {role}: signed {got}, the "
                                 f"script expects version {version}")


def ceremony_step(ctx: Context, step: Step) -> Produced:
    from ceremony.notary.ceremonies.runner import Options, perform
    request = _request(ctx, step)
    out = ctx.out_path(step, step.params.get("out") or f"{step.id}.resp")
    options = Options(request=str(request.path), out=str(out), workspace=ctx.workspace,
                      yes=ctx.yes, allow_network=ctx.allow_network, module=ctx.module,
                      partial=step.params.get("partial", False),
                      allow_shorter=step.params.get("allow-shorter", False),
                      transcript_factory=step_transcript_factory(ctx.transcript, step.id))
    result = perform(_build(ctx, step), options, ctx.console)
    return _response(ctx, step, out, result, request.auto)


def _response(ctx: Context, step: Step, out: Path, result: dict[str, Any],
              auto: bool) -> Produced:
    produced = Produced(step.id, "response", out, file_sha(out), result["response_sha256"],
                        auto=auto, detail={"complete": result["complete"]})
    state = "complete" if result["complete"] else "PARTIAL (co-signing needed)"
    ctx.say(f"  response {out} ({state})")
    for repo in result["repositories"]:
        files = ", ".join(f"{f['role']} v{f['version']}" for f in repo["files"])
        ctx.say(f"    {repo['gun']}: {files}")
    if "logins" in result:
        ctx.say(f"  logins {result['logins']}, token signatures {result['signatures']}")
    _expect_response(step, result)
    if auto and result["complete"] and ctx.world is not None:
        ctx.world.after_response(ctx, step, produced)
    return produced


def cosign_step(ctx: Context, step: Step) -> Produced:
    """`sign` and `merge`: the co-signing library functions, recorded in this transcript."""
    from ceremony.notary.ceremonies.cosign import CosignOptions, merge_responses, sign_response
    p = step.params
    out = ctx.out_path(step, p["out"])
    opts = CosignOptions(out=str(out), workspace=ctx.workspace, yes=ctx.yes,
                         allow_network=ctx.allow_network, module=ctx.module,
                         transcript_factory=step_transcript_factory(ctx.transcript, step.id))
    if step.do == "sign":
        source = ctx.ref(p["response"])
        result = sign_response(str(source.path), [ctx.token_uri(t) for t in p["tokens"]],
                               opts, ctx.console)
        auto = source.auto
    else:
        a, b = ctx.ref(p["a"]), ctx.ref(p["b"])
        result = merge_responses(str(a.path), str(b.path), opts, ctx.console)
        auto = a.auto and b.auto
    return _response(ctx, step, out, result, auto)


# --- verification and pins -----------------------------------------------------------------------

SERVER_MADE = "timestamp.json"


def _verify_one(ctx: Context, step: Step, gun: str, entry: Any) -> dict[str, Any]:
    from ceremony.errors import MissingMetadataError
    from ceremony.notary.format.repository import RepositoryFiles
    from ceremony.notary.format.repository_check import verify_repository
    from ceremony.workspace import Workspace
    ws = Workspace.open(ctx.workspace)
    history = ws.trusted_root_history(gun)
    if not history:
        raise StepFailed(f"step {step.id}: {gun}: this workspace trusts no root for it")
    roles = {f.role: f.data for f in entry.files}
    chain = dict(history)
    if "root" in roles:  # the new root continues the chain this workspace trusts
        from ceremony.notary.format.model import Root
        from ceremony.notary.format.serialization import read_metadata
        version = read_metadata(roles["root"], "root.json", Root).signed.version
        if chain.get(version, roles["root"]) != roles["root"]:
            raise StepFailed(f"step {step.id}: {gun}: the response's root.json v{version} "
                             "differs from the trusted root of that version")
        chain[version] = roles["root"]
    files = RepositoryFiles(roles={"root": chain[max(chain)]}, root_history=chain,
                            source=f"response of step {step.params['bundle']}")
    targets = roles.get("targets") or (ws.last_signed(gun, "targets") or None)
    if targets is not None:
        files.roles["targets"] = targets if isinstance(targets, bytes) else targets.data
    if "snapshot" in roles:
        files.roles["snapshot"] = roles["snapshot"]
    pins = step.params.get("root-cert-ids", [])
    report = verify_repository(files, gun, root_cert_ids=pins,
                               trusted_root=None if pins else history[min(history)])
    made_later = {SERVER_MADE} | ({"snapshot.json"} if "snapshot" not in files.roles else set())
    errors = [e for e in report.errors
              if not (isinstance(e, MissingMetadataError) and e.file in made_later)]
    if errors:
        raise StepFailed(f"step {step.id}: {gun}: verification failed: {errors[0]}")
    verified = [r.name for r in report.roles if r.verified]
    anchor = ("pinned root certificate ID(s) " + ", ".join(p[:16] + "..." for p in pins)
              if pins else f"trusted root version {min(history)} of this workspace")
    ctx.say(f"  {gun}: VERIFIED {', '.join(verified)} (anchored at {anchor}); "
            f"{', '.join(sorted(made_later))} made by the server after publication")
    for warning in report.warnings:
        ctx.say(f"    warning: {warning}")
    return {"gun": gun, "verified": verified, "pinned": pins, "warnings": report.warnings,
            "root_chain": [r.version for r in report.root_chain]}


def verify_step(ctx: Context, step: Step) -> Produced:
    from transfer.bundle import read_bundle
    source = ctx.ref(step.params["bundle"])
    bundle = read_bundle(source.path, kind="response")
    guns = step.params.get("guns") or bundle.guns
    results = []
    for gun in guns:
        entry = bundle.entry(gun)
        if not entry.complete:
            raise StepFailed(f"step {step.id}: {gun}: the response is partial; verify it once "
                             "it is co-signed")
        results.append(_verify_one(ctx, step, gun, entry))
    out = step.params.get("out")
    path = None
    if out:
        path = ctx.out_path(step, out)
        atomic_write(path, json.dumps({"verified": results}, indent=2, sort_keys=True)
                     .encode() + b"\n", overwrite=True)
    return Produced(step.id, "report", path, file_sha(path) if path else None,
                    detail={"verified": [r["gun"] for r in results]})


def export_pins_step(ctx: Context, step: Step) -> Produced:
    """root.json, N.root.json and trust-pinning.json per GUN, for clients and air-gapped
    environments to pin (public data only)."""
    from ceremony.notary.format.model import Root
    from ceremony.notary.format.serialization import read_metadata
    from ceremony.workspace import Workspace
    from groundfloor.names import gun_dirname
    ws = Workspace.open(ctx.workspace)
    folder = ctx.out_path(step, step.params["out"])
    folder.mkdir(mode=DIR_MODE, exist_ok=True)
    pins: dict[str, list[str]] = {}
    for gun in step.params.get("guns") or ctx.script.guns:
        history = ws.trusted_root_history(gun)
        if not history:
            raise StepFailed(f"step {step.id}: {gun}: this workspace trusts no root for it")
        sub = folder / gun_dirname(gun)
        sub.mkdir(mode=DIR_MODE, exist_ok=True)
        for version, data in history.items():
            atomic_write(sub / f"{version}.root.json", data, overwrite=True)
        latest = history[max(history)]
        atomic_write(sub / "root.json", latest, overwrite=True)
        root = read_metadata(latest, "root.json", Root).signed
        pins[gun] = list(root.roles["root"].keyids)
        ctx.say(f"  {gun}: root.json v{root.version}, sha256 {hashlib.sha256(latest).hexdigest()}"
                f"\n    pinned root certificate ID(s): {', '.join(pins[gun])}")
    config = {"trust_pinning": {"certs": pins, "disable_tofu": True}}
    atomic_write(folder / "trust-pinning.json",
                 json.dumps(config, indent=2, sort_keys=True).encode() + b"\n", overwrite=True)
    return Produced(step.id, "pins", folder, path_sha256(folder), detail={"pins": pins})


# --- transfer ------------------------------------------------------------------------------------

def transfer_send_step(ctx: Context, step: Step) -> Produced:
    from transfer.qr.encoder import default_extra, plan_series
    from transfer.qr.outputs import write_image_frames, write_sheet
    from transfer.qr.render import DENSITIES, symbol_for
    from transfer.qr.sheet import SheetInfo
    p = step.params
    source = ctx.ref(p["bundle"])
    assert source.path is not None
    data = source.path.read_bytes()
    made: dict[str, Path] = {}
    if "copy" in p:
        made["copy"] = atomic_write(ctx.out_path(step, p["copy"]), data, overwrite=True)
    if any(k in p for k in ("png", "svg", "sheet", "text")):
        series = plan_series(data, DENSITIES[p.get("density", "default")])
        symbol = symbol_for(series.key, p.get("ecc", "M"))
        extra = default_extra(series.count)
        for fmt in ("png", "svg"):
            if fmt in p:
                made[fmt] = ctx.out_path(step, p[fmt])
                write_image_frames(series, symbol, made[fmt], extra, fmt, True)
        if "sheet" in p:
            made["sheet"] = ctx.out_path(step, p["sheet"])
            write_sheet(series, symbol, made["sheet"], extra, SheetInfo(
                source.path.name, series.msg_id, series.digest, series.count, len(data)),
                "a4", True)
        if "text" in p:
            made["text"] = atomic_write(ctx.out_path(step, p["text"]), "".join(
                series.frame(i) + "\n" for i in range(1, series.count + extra + 1)).encode(),
                overwrite=True)
        ctx.say(f"  {series.count} QR frame(s) + {extra} extra, message {series.msg_id}, for "
                f"{source.path.name}")
    digest = file_sha(source.path)
    ctx.say(f"  sent sha256 {digest}\n  sent words  {words(digest)}")
    main = made.get("png") or made.get("svg") or made.get("text") or made.get("sheet") \
        or made["copy"]
    return Produced(step.id, "frames", main, path_sha256(main),
                    detail={"outputs": {k: str(v) for k, v in made.items()},
                            "bundle_file_sha256": digest})


def transfer_receive_step(ctx: Context, step: Step) -> Produced:
    from transfer.bundle import BundleError
    from transfer.qr.capture import iter_images, iter_lines
    from transfer.qr.receiver import Receiver, receive_from
    from transfer.systembundle import parse_any_bundle
    p = step.params
    ref = p.get("images") or p.get("lines")
    if ctx.dry_run and ref in ctx.script.inputs:
        source = ctx.world.frames_for(ctx, step, "images" in p)
    else:
        source = ctx.ref(ref)
    assert source.path is not None
    receiver = Receiver()
    if "images" in p:
        received = receive_from(iter_images([source.path]), receiver)
    else:
        with open(source.path, encoding="ascii", errors="replace") as fh:
            received = receive_from(iter_lines(fh), receiver)
    # any trust system's bundle, checked before anything is written
    bundle = parse_any_bundle(received.data)
    if bundle.kind != p["kind"]:
        raise BundleError(f"step {step.id}: received a {bundle.kind} bundle, the step expects a "
                          f"{p['kind']}")
    out = ctx.out_path(step, p["out"])
    atomic_write(out, received.data, overwrite=True)
    produced = Produced(step.id, p["kind"], out, received.hex, bundle.digest_hex,
                        auto=source.auto)
    ctx.say(f"  received {len(received.data)} bytes -> {out}\n  received sha256 "
            f"{received.hex}\n  received words  {received.words}")
    return produced


def online_step(ctx: Context, step: Step) -> Produced | None:
    return ctx.world.action(ctx, step)


EXECUTORS: dict[str, Callable[[Context, Step], Produced | None]] = {
    "init": ceremony_step, "signer-add": ceremony_step, "signer-remove": ceremony_step,
    "delegation-add": ceremony_step, "delegation-remove": ceremony_step,
    "rotate-targets": ceremony_step, "rotate-root": ceremony_step, "renew": ceremony_step,
    "adopt": ceremony_step,
    "sign": cosign_step, "merge": cosign_step, "verify": verify_step,
    "export-pins": export_pins_step,
    "transfer-send": transfer_send_step, "transfer-receive": transfer_receive_step,
    "online-fetch": online_step, "online-publish": online_step, "client-verify": online_step,
    "delegate-key": online_step, "delegate-publish": online_step,
    "client-repository": online_step,
}


def check_expect(ctx: Context, step: Step, produced: Produced | None) -> None:
    """expect.sha256 / expect.same-as: the output's digest (a bundle's file or own digest)."""
    exp = step.expect
    wanted = []
    if exp.sha256:
        wanted.append(("the script", exp.sha256))
    if exp.same_as:
        other = ctx.ref(exp.same_as)
        wanted.append((exp.same_as, other.sha256))
    if not wanted:
        return
    if produced is None or produced.sha256 is None:
        raise StepFailed(f"step {step.id}: no output to compare with expect")
    have = {produced.sha256, produced.bundle_sha256} - {None}
    for who, digest in wanted:
        if who == "the script" and ctx.dry_run and produced.auto:
            ctx.say("  rehearsal: expect.sha256 is the real bundle's digest; compared with the "
                    "rehearsal's own bundle instead")
            continue
        if digest not in have:
            raise StepFailed(f"step {step.id}: output sha256 {produced.sha256} is not the "
                             f"expected {digest} (from {who}): do not use it")
        ctx.say(f"  matches the expected digest ({who})")
