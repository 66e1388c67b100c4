"""Checking a script's inputs before anything else, and its `checks:` after the last step."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from ceremony.scripts.context import Produced, StepFailed
from ceremony.scripts.schema import Check, Script
from ceremony.scripts.yamlread import ScriptError
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_SCRIPT_INPUT_BYTES


def input_path(script: Script, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else script.base / p


def check_inputs(script: Script, *, dry_run: bool) -> tuple[dict[str, Produced], list[str]]:
    """Every input: present, of its kind, with the expected SHA-256 (the file's, or for a
    bundle its own digest as `online fetch` prints it). A mismatch is refused. In a rehearsal
    an absent input is only noted: the rehearsal makes a stand-in for it."""
    produced: dict[str, Produced] = {}
    notes: list[str] = []
    for name, spec in script.inputs.items():
        path = input_path(script, spec.path)
        frames = spec.kind == "frames"  # a folder of images, not one file
        if not (path.exists() if frames else path.is_file()):
            notes.append(_absent(name, path, frames=frames, dry_run=dry_run))
            continue
        if frames:
            produced[name] = Produced(name, "frames", path)
            continue
        try:
            data = read_limited(path, MAX_SCRIPT_INPUT_BYTES, what=f"input {name}")
        except GroundFloorError as exc:
            raise ScriptError(str(exc)) from None
        digest = hashlib.sha256(data).hexdigest()
        if spec.sha256 == "0" * 64:
            raise ScriptError(f"input {name}: the script still has the placeholder sha256 (all "
                              "zeros): write in the digest the sender printed for this file "
                              "(`ceremony online fetch` prints it as 'bundle sha256'), read "
                              "out and checked by a second person")
        # The digest first: a file that is not the expected one is not even parsed.
        bundle_digest = _own_digest(spec.kind, data, spec.sha256) if spec.sha256 != digest else None
        if spec.sha256 not in (digest, bundle_digest):
            raise ScriptError(f"input {name}: {path} has sha256 {digest}"
                              + (f" (bundle sha256 {bundle_digest})" if bundle_digest else "")
                              + f", the script expects {spec.sha256}: refusing to go on")
        bundle_digest = _bundle_digest(name, spec.kind, data, path)
        produced[name] = Produced(name, spec.kind, path, digest, bundle_digest)
    _check_requests(script, produced)
    return produced, notes


def _absent(name: str, path: Path, *, frames: bool, dry_run: bool) -> str:
    """An input that is not there: refused, or in a rehearsal only noted (it makes its own)."""
    if not dry_run:
        raise ScriptError(f"input {name}: {path} does not exist"
                          + ("" if frames else " or is not a file"))
    made = "its own frames" if frames else "a stand-in"
    return f"input {name}: {path} is not here yet (the rehearsal makes {made})"


def _own_digest(kind: str, data: bytes, expected: str) -> str | None:
    """A bundle's own digest (what `online fetch` prints), or None if it is not one."""
    from transfer.errors import TransferError
    from transfer.systembundle import parse_any_bundle as parse_bundle  # notation's too
    if kind not in ("request", "response"):
        return None
    if b'"sha256":"' + expected.encode() + b'"' not in data:
        return None  # it does not even claim that digest: not parsed at all
    try:
        return parse_bundle(data).digest_hex
    except TransferError:
        return None


def _bundle_digest(name: str, kind: str, data: bytes, path: Path) -> str | None:
    from transfer.errors import TransferError
    from transfer.systembundle import parse_any_bundle as parse_bundle  # notation's too
    if kind in ("request", "response"):
        try:
            bundle = parse_bundle(data)
        except TransferError as exc:
            raise ScriptError(f"input {name}: {path}: {exc}") from None
        if bundle.kind != kind:
            raise ScriptError(f"input {name}: {path} is a {bundle.kind} bundle, the script "
                              f"says {kind}")
        return bundle.digest_hex
    if kind == "public-key":
        from ceremony.errors import CeremonyError
        from ceremony.notary.ceremonies.build import read_public_key
        try:
            read_public_key(path)
        except CeremonyError as exc:
            raise ScriptError(f"input {name}: {exc}") from None
    return None


def _check_requests(script: Script, produced: dict[str, Produced]) -> None:
    """A request input answers what the steps reading it do: same operation, their GUNs."""
    from transfer.bundle import read_bundle
    for step in script.steps:
        ref = step.params.get("request")
        if ref not in produced or not step.spec.operation:
            continue
        request = read_bundle(produced[ref].path, kind="request")  # type: ignore[arg-type]
        wanted = [step.params["gun"]] if "gun" in step.params else step.params.get("guns", [])
        missing = [g for g in wanted if g not in request.guns]
        if missing:
            raise ScriptError(f"input {ref}: the request has no repository "
                              f"{', '.join(missing)} (step {step.id} works on it)")
        entries = [e for e in request.entries if not wanted or e.gun in wanted]
        for entry in entries:
            if entry.operation != step.spec.operation:
                raise ScriptError(f"input {ref}: {entry.gun} asks for '{entry.operation}', but "
                                  f"step {step.id} is '{step.spec.operation}'")


def _expires_after(expires: Any, lifetime: dt.timedelta) -> bool:
    return expires.to_datetime() >= dt.datetime.now(dt.UTC) + lifetime


def run_checks(workspace: str, checks: tuple[Check, ...],
               before: dict[str, list[str]]) -> list[str]:
    """The script's `checks:` against the workspace now; returns what was checked, or raises
    StepFailed naming the first check that does not hold. `before` holds each GUN's targets
    key IDs as the run started (for targets-key-changed)."""
    from ceremony.notary.format.model import Root, Targets
    from ceremony.notary.format.serialization import read_metadata
    from ceremony.workspace import Workspace
    ws = Workspace.open(workspace)
    done = []
    for i, check in enumerate(checks):
        gun, a = check.gun, check.asserts
        where = f"checks[{i}] ({gun})"
        history = ws.trusted_root_history(gun)
        if not history:
            raise StepFailed(f"{where}: this workspace trusts no root for {gun}")
        root = read_metadata(history[max(history)], "root.json", Root).signed
        last = ws.last_signed(gun, "targets")
        targets = read_metadata(last.data, "targets.json", Targets).signed if last else None
        facts: dict[str, Any] = {
            "root-version": root.version, "root-threshold": root.roles["root"].threshold,
            "root-keys": len(root.roles["root"].keyids),
            "targets-version": targets.version if targets else None}
        for key in ("root-version", "root-threshold", "root-keys", "targets-version"):
            if key in a and facts[key] != a[key]:
                raise StepFailed(f"{where}: {key} is {facts[key]}, the script expects {a[key]}")
        roles = {r.name for r in targets.delegations.roles} if targets else set()
        for role in a.get("delegations", []):
            if role not in roles:
                raise StepFailed(f"{where}: delegation {role} is missing")
        for role in a.get("no-delegations", []):
            if role in roles:
                raise StepFailed(f"{where}: delegation {role} is still there")
        if "root-expires-after" in a and not _expires_after(root.expires,
                                                            a["root-expires-after"]):
            raise StepFailed(f"{where}: root expires {root.expires}, sooner than required")
        if "targets-expires-after" in a and (targets is None or not _expires_after(
                targets.expires, a["targets-expires-after"])):
            raise StepFailed(f"{where}: targets expires sooner than required")
        if "targets-key-changed" in a:
            changed = set(root.roles["targets"].keyids).isdisjoint(before.get(gun, []))
            if changed != a["targets-key-changed"]:
                raise StepFailed(f"{where}: the targets key "
                                 f"{'changed' if changed else 'did not change'}")
        done.append(f"{gun}: " + ", ".join(f"{k} {v}" if not isinstance(v, list | bool)
                                           else k for k, v in a.items()))
    return done


def targets_keys_now(workspace: str, guns: tuple[str, ...]) -> dict[str, list[str]]:
    """Each GUN's targets key IDs in its newest trusted root (empty if none)."""
    from ceremony.notary.format.model import Root
    from ceremony.notary.format.serialization import read_metadata
    from ceremony.workspace import Workspace, WorkspaceError
    try:
        ws = Workspace.open(workspace)
    except WorkspaceError:
        return {}
    out = {}
    for gun in guns:
        history = ws.trusted_root_history(gun)
        if history:
            root = read_metadata(history[max(history)], "root.json", Root).signed
            out[gun] = list(root.roles["targets"].keyids)
    return out
