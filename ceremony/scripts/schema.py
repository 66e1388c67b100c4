"""The ceremony script format (docs/runbooks.md has the reference for every key).

    format: notary-ceremony-script/1
    ceremony: {name: ..., purpose: ..., guns: [example.com/app]}  # guns: Notary v1 steps only
    participants: [{name: Alice, role: ceremony administrator}, ...]
    inputs: {init-request: {kind: request, path: app.req, sha256: <64 hex>}}
    tokens: {root-a: {uri: "pkcs11:token=root-a", pin-source: prompt}, ...}
    steps: [{id: init, do: init, request: init-request, root-tokens: [root-a], ...}, ...]
    checks: [{gun: example.com/app, root-version: 1}]
    rehearsal: {transfer: qr, setup: [...]}          # used by --dry-run only

`read_script` validates everything before anything runs: unknown keys, wrong types, missing
fields, references to inputs/steps/tokens that do not exist or have the wrong kind, GUNs not
declared, outputs written twice. Each problem is one ScriptError naming the field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.scripts import fields as f
from ceremony.scripts.actions_spec import ACTIONS, ActionSpec
from ceremony.scripts.yamlread import ScriptError, load_yaml
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_SCRIPT_BYTES

FORMAT = "notary-ceremony-script/1"
INPUT_KINDS = ("request", "response", "public-key", "certificate", "file", "frames")
MACHINES = ("offline", "online")


@dataclass(frozen=True)
class Participant:
    name: str
    role: str


@dataclass(frozen=True)
class Input:
    name: str
    kind: str
    path: str
    sha256: str | None
    description: str = ""


@dataclass(frozen=True)
class TokenSpec:
    name: str
    uri: str
    pin_source: str | None
    label: str  # the token label a rehearsal creates (the URI's token=, else the name)
    description: str = ""


@dataclass(frozen=True)
class Expect:
    sha256: str | None = None
    same_as: str | None = None
    complete: bool | None = None
    versions: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sha256:
            out["sha256"] = self.sha256
        if self.same_as:
            out["same-as"] = self.same_as
        if self.complete is not None:
            out["complete"] = self.complete
        if self.versions:
            out["versions"] = dict(self.versions)
        return out


@dataclass(frozen=True)
class Step:
    id: str
    do: str
    params: dict[str, Any]
    title: str
    machine: str
    expect: Expect
    setup: bool = False  # a rehearsal setup step

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self.do]

    @property
    def where(self) -> str:
        return f"{'rehearsal.setup' if self.setup else 'steps'} ({self.id})"

    @property
    def output_kind(self) -> str | None:
        if self.do == "transfer-receive":
            return self.params["kind"]
        return self.spec.output

    def record(self) -> dict[str, Any]:
        """The step as the transcript records it (parameters as written)."""
        params = {k: (str(v) if not isinstance(v, bool | int | list | str) else v)
                  for k, v in self.params.items()}
        return {"id": self.id, "do": self.do, "title": self.title, "machine": self.machine,
                "params": params, "expect": self.expect.to_json()}


@dataclass(frozen=True)
class Check:
    gun: str
    asserts: dict[str, Any]


@dataclass(frozen=True)
class Rehearsal:
    transfer: str = "file"
    setup: tuple[Step, ...] = ()
    tokens: dict[str, TokenSpec] = field(default_factory=dict)  # made only for a rehearsal


@dataclass(frozen=True)
class Script:
    path: Path
    data: bytes
    name: str
    purpose: str
    reference: str
    guns: tuple[str, ...]
    participants: tuple[Participant, ...]
    inputs: dict[str, Input]
    tokens: dict[str, TokenSpec]
    module: str | None
    steps: tuple[Step, ...]
    checks: tuple[Check, ...]
    rehearsal: Rehearsal

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def base(self) -> Path:
        """The folder relative input and output paths are read from and written to."""
        return self.path.parent

    @property
    def rehearsal_only(self) -> list[Step]:
        """Steps only a rehearsal can run (they play the online machine)."""
        return [s for s in self.steps if s.spec.online or s.machine == "online"]

    def step(self, step_id: str) -> Step:
        for s in (*self.rehearsal.setup, *self.steps):
            if s.id == step_id:
                return s
        raise KeyError(step_id)


# --- reading --------------------------------------------------------------------------------------

def read_script(path: str | Path, data: bytes | None = None) -> Script:
    """Read and validate a script file (or `data` given for it)."""
    path = Path(path)
    if data is None:
        try:
            data = read_limited(path, MAX_SCRIPT_BYTES, what="script")
        except GroundFloorError as exc:
            raise ScriptError(str(exc)) from None
    raw = load_yaml(data, path.name)
    try:
        return _script(path, data, raw)
    except ScriptError as exc:
        raise ScriptError(f"script {path.name}: {exc}") from None


def _script(path: Path, data: bytes, raw: Any) -> Script:
    top = f.mapping(raw, "", required=("format", "ceremony", "participants", "steps"),
                    optional=("inputs", "tokens", "module", "checks", "rehearsal"))
    if top["format"] != FORMAT:
        raise f.fail("format", f"expected {FORMAT!r}, got {top['format']!r}")
    cer = f.mapping(top["ceremony"], "ceremony", required=("name", "purpose"),
                    optional=("reference", "guns"))
    name = f.text(cer["name"], "ceremony.name")
    purpose = f.text(cer["purpose"], "ceremony.purpose", multiline=True)
    reference = f.text(cer["reference"], "ceremony.reference") if "reference" in cer else ""
    guns = tuple(f.listed(f.gun, minimum=1)(cer["guns"], "ceremony.guns")) \
        if "guns" in cer else ()
    people = _participants(top["participants"])
    inputs = _inputs(top.get("inputs", {}))
    tokens = _tokens(top.get("tokens", {}))
    module = f.path(top["module"], "module") if "module" in top else None
    rehearsal_raw = f.mapping(top.get("rehearsal", {}), "rehearsal",
                              optional=("transfer", "setup", "tokens"))
    extra_tokens = {}
    for i, label in enumerate(f.listed(f.name)(rehearsal_raw.get("tokens", []),
                                               "rehearsal.tokens")):
        if label in tokens or label in {t.label for t in tokens.values()}:
            raise f.fail(f"rehearsal.tokens[{i}]", f"{label!r} is already a token of the script")
        extra_tokens[label] = TokenSpec(label, f"pkcs11:token={label}", None, label,
                                        "made only for the rehearsal's setup")
    setup = _steps(rehearsal_raw.get("setup", []), "rehearsal.setup", setup=True)
    steps = _steps(top["steps"], "steps", setup=False)
    if not steps:
        raise f.fail("steps", "needs at least one step")
    ids: dict[str, str] = {}
    for step in (*setup, *steps):
        if step.id in ids or step.id in inputs:
            raise f.fail(f"{step.where}.id", f"{step.id!r} is already the name of "
                                             f"{'an input' if step.id in inputs else 'a step'}")
        ids[step.id] = step.do
    rehearsal = Rehearsal(f.choice(("file", "qr"))(rehearsal_raw["transfer"],
                                                   "rehearsal.transfer")
                          if "transfer" in rehearsal_raw else "file", tuple(setup),
                          extra_tokens)
    _guns_needed(guns, (*setup, *steps), top.get("checks", []))
    _resolve(setup, {}, {**tokens, **extra_tokens}, guns, setup=True)
    _resolve(steps, inputs, tokens, guns, setup=False)
    checks = _checks(top.get("checks", []), guns)
    return Script(path=path, data=data, name=name, purpose=purpose, reference=reference,
                  guns=guns, participants=people, inputs=inputs, tokens=tokens, module=module,
                  steps=tuple(steps), checks=checks, rehearsal=rehearsal)


def _participants(raw: Any) -> tuple[Participant, ...]:
    people = "a list of at least one person ({name: ..., role: ...})"
    if not f.READ.array(raw, "participants", what=people):
        raise f.fail("participants", f"expected {people}, got an empty list")
    out = []
    for i, item in enumerate(raw):
        where = f"participants[{i}]"
        m = f.mapping(item, where, required=("name", "role"))
        out.append(Participant(f.text(m["name"], f"{where}.name"),
                               f.text(m["role"], f"{where}.role")))
    return tuple(out)


def _inputs(raw: Any) -> dict[str, Input]:
    f.READ.mapping(raw, "inputs", what="a mapping of names to inputs")
    out = {}
    for key, item in raw.items():
        where = f"inputs.{key}"
        input_name = f.name(key, where)
        m = f.mapping(item, where, required=("kind", "path"),
                      optional=("sha256", "description"))
        kind = f.choice(INPUT_KINDS)(m["kind"], f"{where}.kind")
        if kind != "frames" and "sha256" not in m:
            raise f.fail(f"{where}.sha256", "missing (required: the digest the file must have, "
                                            "checked before anything else)")
        if kind == "frames" and "sha256" in m:
            raise f.fail(f"{where}.sha256", "frames are checked by the transfer-receive step "
                                            "that reads them (its expect.sha256), not here")
        digest = f.sha256(m["sha256"], f"{where}.sha256") if "sha256" in m else None
        out[input_name] = Input(input_name, kind, f.path(m["path"], f"{where}.path"), digest,
                                f.text(m["description"], f"{where}.description",
                                       multiline=True) if "description" in m else "")
    return out


def _tokens(raw: Any) -> dict[str, TokenSpec]:
    from hsm.errors import HSMError
    from hsm.uri import parse_uri
    f.READ.mapping(raw, "tokens", what="a mapping of names to tokens")
    out = {}
    labels: dict[str, str] = {}
    for key, item in raw.items():
        where = f"tokens.{key}"
        token_name = f.name(key, where)
        m = f.mapping(item, where, required=("uri",), optional=("pin-source", "description"))
        uri = f.text(m["uri"], f"{where}.uri", limit=2048)
        try:
            parsed = parse_uri(uri)
        except HSMError as exc:
            raise f.fail(f"{where}.uri", " ".join(str(exc).split())) from None
        if not parsed.selects_token:
            raise f.fail(f"{where}.uri", "selects no token (give token=LABEL or serial=...)")
        source = f.pin_source(m["pin-source"], f"{where}.pin-source") \
            if "pin-source" in m else None
        if source is not None and parsed.pin_source is not None:
            raise f.fail(f"{where}.pin-source", "the URI already has a pin-source; give it once")
        label = parsed.token or token_name
        if label in labels:
            raise f.fail(f"{where}.uri", f"token label {label!r} is also token "
                                         f"{labels[label]!r}")
        labels[label] = token_name
        out[token_name] = TokenSpec(token_name, uri, source, label,
                                    f.text(m["description"], f"{where}.description")
                                    if "description" in m else "")
    return out


def _steps(raw: Any, where: str, *, setup: bool) -> list[Step]:
    out = []
    for i, item in enumerate(f.READ.array(raw, where, what="a list of steps")):
        f.READ.mapping(item, f"{where}[{i}]", what="a step mapping")
        step_id = f.name(item.get("id"), f"{where}[{i}].id") if "id" in item else None
        if step_id is None:
            raise f.fail(f"{where}[{i}].id", "missing (required)")
        here = f"{where}[{i}] ({step_id})"
        if "do" not in item:
            raise f.fail(f"{here}.do", "missing (required)")
        do = f.choice(tuple(ACTIONS))(item["do"], f"{here}.do")
        spec = ACTIONS[do]
        required = tuple(k for k in spec.required if not (setup and k in spec.setup_optional))
        m = f.mapping(item, here, required=("id", "do", *required),
                      optional=("title", "machine", "expect", *spec.params))
        params = f.read_fields(m, here, spec.params)
        spec.validate(params, here, setup)
        machine = f.choice(MACHINES)(m["machine"], f"{here}.machine") if "machine" in m \
            else ("online" if spec.online else "offline")
        if machine not in spec.machines:
            raise f.fail(f"{here}.machine", f"'{do}' runs on the {spec.machines[0]} machine")
        expect = _expect(m.get("expect", {}), f"{here}.expect", spec)
        title = f.text(m["title"], f"{here}.title") if "title" in m else spec.summary
        out.append(Step(step_id, do, params, title, machine, expect, setup))
    return out


def _expect(raw: Any, where: str, spec: ActionSpec) -> Expect:
    m = f.mapping(raw, where, optional=spec.expect)
    return Expect(
        sha256=f.sha256(m["sha256"], f"{where}.sha256") if "sha256" in m else None,
        same_as=f.name(m["same-as"], f"{where}.same-as") if "same-as" in m else None,
        complete=f.boolean(m["complete"], f"{where}.complete") if "complete" in m else None,
        versions=f.versions(m["versions"], f"{where}.versions") if "versions" in m else {})


def _resolve(steps: list[Step], inputs: dict[str, Input], tokens: dict[str, TokenSpec],
             guns: tuple[str, ...], *, setup: bool) -> None:
    """Second pass: references, tokens and GUNs exist; outputs are written once."""
    kinds: dict[str, str | None] = {n: i.kind for n, i in inputs.items()}
    written: dict[str, str] = {}
    for step in steps:
        spec, here = step.spec, step.where
        for param, allowed in spec.refs.items():
            values = step.params.get(param)
            for j, ref in enumerate(values if isinstance(values, list) else
                                    ([values] if values is not None else [])):
                at = f"{here}.{param}" + (f"[{j}]" if isinstance(values, list) else "")
                if ref not in kinds:
                    known = ", ".join(kinds) or "none"
                    raise f.fail(at, f"{ref!r} is not an input or an earlier step "
                                     f"(known: {known})")
                if kinds[ref] not in allowed:
                    raise f.fail(at, f"{ref!r} is {kinds[ref] or 'a step without output'}; "
                                     f"expected {' or '.join(allowed)}")
        if step.expect.same_as is not None and step.expect.same_as not in kinds:
            raise f.fail(f"{here}.expect.same-as", f"{step.expect.same_as!r} is not an input "
                                                   "or an earlier step")
        for param in spec.tokens:
            values = step.params.get(param)
            for ref in values if isinstance(values, list) else \
                    ([values] if values is not None else []):
                if ref not in tokens:
                    known = ", ".join(tokens) or "none"
                    raise f.fail(f"{here}.{param}", f"unknown token {ref!r} (tokens: {known})")
        for gun in spec.guns_of(step.params):
            if gun not in guns:
                raise f.fail(here, f"GUN {gun} is not among ceremony.guns")
        for out_path in spec.paths_written(step.params):
            if out_path in written:
                raise f.fail(here, f"output {out_path!r} is also written by step "
                                   f"{written[out_path]!r}")
            written[out_path] = step.id
        if not setup and step.do == "transfer-receive" and step.expect.sha256 is None \
                and step.expect.same_as is None:
            raise f.fail(f"{here}.expect", "a transfer-receive step needs expect.sha256 (the "
                                           "digest the sender shows) or expect.same-as")
        kinds[step.id] = step.output_kind


def _guns_needed(guns: tuple[str, ...], steps: tuple[Step, ...], checks: Any) -> None:
    """ceremony.guns is for Notary v1 repositories: required when a step's action takes a GUN
    (or checks name one), refused in a TUF 1.0 or Notation script (it would name repositories
    the script does not touch); optional where every step serves any system (transfer-send,
    transfer-receive, merge: scripts written before TUF and notation keep reading)."""
    notary = [s for s in steps if "gun" in s.spec.params or "guns" in s.spec.params]
    if notary or checks:
        if not guns:
            what = f"step {notary[0].id!r} ({notary[0].do})" if notary else "checks"
            raise f.fail("ceremony.guns", f"missing (required: {what} works on Notary v1 "
                                          "repositories): list their GUNs, e.g. guns: "
                                          "[example.com/app]")
    elif guns and any(s.do.startswith(("tuf-", "notation-")) for s in steps):
        raise f.fail("ceremony.guns", "this script has no Notary v1 step (no action takes a "
                                      "GUN): remove ceremony.guns")


def _checks(raw: Any, guns: tuple[str, ...]) -> tuple[Check, ...]:
    f.READ.array(raw, "checks", what="a list")
    spec = {"root-version": f.integer, "targets-version": f.integer,
            "root-threshold": f.integer, "root-keys": f.integer,
            "delegations": f.listed(f.delegation_role),
            "no-delegations": f.listed(f.delegation_role),
            "root-expires-after": f.duration, "targets-expires-after": f.duration,
            "targets-key-changed": f.boolean}
    out = []
    for i, item in enumerate(raw):
        where = f"checks[{i}]"
        m = f.mapping(item, where, required=("gun",), optional=tuple(spec))
        gun = f.gun(m["gun"], f"{where}.gun")
        if gun not in guns:
            raise f.fail(f"{where}.gun", f"{gun} is not among ceremony.guns")
        asserts = f.read_fields(m, where, spec)
        if not asserts:
            raise f.fail(where, f"checks nothing (give one of {', '.join(spec)})")
        out.append(Check(gun, asserts))
    return tuple(out)
