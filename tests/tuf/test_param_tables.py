"""Each TUF ceremony's parameters come from one table (ceremony/tuf/tables.py): its click
command and its script action offer the same parameters with the same defaults, hand the
ceremony the same choices, and read every duration with the same rule and the same refusal.

In process, no token: the table's `make` is replaced by one that returns the ceremony's choices
(`Choices`, `SignChoices`), so what the command line and a script would hand the ceremony can be
compared. The last tests run the real command and the real script where the two copies used to
disagree, and the script actions the table made cheap (rotate-key, delegation add/remove)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from ceremony.ceremonies import params
from ceremony.cli.common import build_ceremony
from ceremony.scripts.actions_spec import ACTIONS
from ceremony.scripts.tuf_steps import EXECUTORS, build
from ceremony.scripts.yamlread import ScriptError
from ceremony.tuf import tables
from ceremony.tuf.cli import tuf
from ceremony.tuf.context import Choices
from ceremony.tuf.signceremony import SignChoices
from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.ceremonies.test_param_tables import (
    ACCEPTED,
    REFUSED,
    option_problem,
    script_problem,
)
from tests.conftest import AIRGAPPED, ROOT, run_cli
from tests.tuf.ceremony_world import OfflineSite, OnlineService

COMMANDS: dict[str, click.Command] = {
    "tuf-init": tuf.commands["init"], "tuf-rotate-root": tuf.commands["rotate-root"],
    "tuf-rotate-key": tuf.commands["rotate-key"], "tuf-renew": tuf.commands["renew"],
    "tuf-delegation-add": tuf.commands["delegation"].commands["add"],  # type: ignore[attr-defined]
    "tuf-delegation-remove": tuf.commands["delegation"].commands["remove"],  # type: ignore[attr-defined]
    "tuf-sign": tuf.commands["sign-request"],
}
# The session frame: every command declares it, a script step gives `out`/`request` (and
# `repository`, which the response must be for).
FRAME = {"out", "request", "workspace", "yes", "participants", "pin_sources", "module",
         "allow_network", "force", "as_json", "partial"}
SCRIPT_FRAME = {"out", "request", "repository"}
URIS = {"a": "pkcs11:token=a", "b": "pkcs11:token=b", "t": "pkcs11:token=t"}
KEYID = "0123456789abcdef" * 4


def minimal(action: str) -> tuple[list[str], dict[str, Any]]:
    """The same ceremony asked for on the command line and in a script step."""
    return {
        "tuf-init": (["--root-token", URIS["a"], "--root-token", URIS["b"], "--root-threshold",
                      "2", "--targets-token", URIS["t"], "--algorithm", "ed25519"],
                     {"root-tokens": ["a", "b"], "root-threshold": 2, "targets-token": "t",
                      "algorithm": "ed25519"}),
        "tuf-rotate-root": (["--token", URIS["a"], "--remove-key", KEYID[:12], "--root-expires",
                             "2y"],
                            {"tokens": ["a"], "remove-keys": [KEYID[:12]],
                             "root-expires": "2y"}),
        "tuf-rotate-key": (["--token", URIS["a"], "--targets-token", URIS["t"],
                            "--targets-label", "tuf-targets-2"],
                           {"tokens": ["a"], "targets-token": "t",
                            "targets-label": "tuf-targets-2"}),
        "tuf-renew": (["--token", URIS["a"], "--targets-expires", "120d"],
                      {"tokens": ["a"], "targets-expires": "120d"}),
        "tuf-delegation-add": (["--token", URIS["t"], "--delegate-token", URIS["b"],
                                "--delegate-label", "fw"],
                               {"tokens": ["t"], "delegate-tokens": ["b"],
                                "delegate-label": "fw"}),
        "tuf-delegation-remove": (["--token", URIS["t"]], {"tokens": ["t"]}),
        "tuf-sign": (["--token", URIS["a"], "--partial", "site-a.resp", "--signatures-only",
                      "--trust-root-sha256", KEYID],
                     {"tokens": ["a"], "partial": "site-a", "signatures-only": True,
                      "trust-root-sha256": KEYID}),
    }[action]


def choices_table(table: params.Table) -> params.Table:
    """The table, making the ceremony's choices instead of the ceremony."""
    return dataclasses.replace(table, make=table.make.choices)  # type: ignore[attr-defined]


def from_cli(action: str, args: list[str]) -> Any:
    ctx = COMMANDS[action].make_context(action, [*args, "--request", "x.req", "--out", "x.resp"])
    return build_ceremony(choices_table(tables.TABLES[action]), dict(ctx.params))


def from_script(action: str, step: dict[str, Any]) -> Any:
    """What a script step hands the ceremony: read by the action's readers, then built by the
    executor's own `tuf_steps.build` (tokens as URIs, the partial response as its path)."""
    spec = ACTIONS[action]
    read = {key: spec.params[key](value, f"steps[0] ({action}).{key}")
            for key, value in step.items()}
    return build(choices_table(tables.TABLES[action]), read, URIS.__getitem__,
                 lambda key, ref: "site-a.resp")


def test_every_tuf_action_has_a_table_and_an_executor() -> None:
    tuf_actions = {name for name in ACTIONS if name.startswith("tuf-")}
    assert tuf_actions == set(COMMANDS) == set(tables.TABLES) == set(EXECUTORS)


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_command_and_script_offer_the_same_parameters(action: str) -> None:
    table, command, spec = tables.TABLES[action], COMMANDS[action], ACTIONS[action]
    by_option = {p.option: p for p in table.params}
    cli_keys = set()
    for click_param in command.params:
        param = next((by_option[n] for n in click_param.opts if n in by_option), None)
        if param is None:
            assert click_param.name in FRAME, f"{action}: {click_param.opts} is not in its table"
            continue
        cli_keys.add(param.key)
        assert click_param.help == param.help, (action, param.key)
        assert click_param.required == param.required, (action, param.key)
        if param.default is not None and param.kind != params.FLAG:  # a flag: off unless given
            assert click_param.default == param.default, (action, param.key)
    assert cli_keys == {p.key for p in table.params}
    assert set(spec.params) - SCRIPT_FRAME == {p.key for p in table.script_params()}
    assert set(spec.tokens) == {p.key for p in table.params if p.token}
    assert set(spec.required) - SCRIPT_FRAME == {
        p.key for p in table.script_params() if p.required or p.script_required}
    assert {k: v for k, v in spec.refs.items() if k != "request"} == {
        p.key: p.ref for p in table.script_params() if p.ref}


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_command_and_script_build_the_same_choices(action: str) -> None:
    """Same values, the same defaults for everything not given, the same conversions."""
    args, step = minimal(action)
    cli, script = from_cli(action, args), from_script(action, step)
    assert cli == script
    assert type(cli) is (SignChoices if action == "tuf-sign" else Choices)


def test_the_choices_are_what_the_ceremony_takes() -> None:
    init = from_cli("tuf-init", minimal("tuf-init")[0])
    assert init.root_tokens == (URIS["a"], URIS["b"]) and init.targets_token == URIS["t"]
    assert init.root_threshold == 2 and init.algorithm == "ed25519"
    assert init.root_expires == dt.timedelta(days=365)
    assert init.targets_expires == dt.timedelta(days=90)
    rotate = from_script("tuf-rotate-root", minimal("tuf-rotate-root")[1])
    assert rotate.root_expires == dt.timedelta(days=730) and rotate.remove_keys == (KEYID[:12],)
    sign = from_cli("tuf-sign", minimal("tuf-sign")[0])
    assert sign == SignChoices(tokens=(URIS["a"],), partial="site-a.resp",
                               signatures_only=True, trust_root_sha256=KEYID)
    # what the table builds is the ceremony itself, a function of the options and console
    from ceremony.tuf.ceremonies import perform
    made = tables.RENEW.build({"tokens": [URIS["a"]]}, cli=False)
    assert made.func is perform and made.args[0] == "renew"


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_the_table_and_the_ceremony_agree_on_defaults(action: str) -> None:
    """Choices made in code get what a command and a script get when nothing is said."""
    kind = SignChoices if action == "tuf-sign" else Choices
    fields = {f.name: f for f in dataclasses.fields(kind)}
    for param in tables.TABLES[action].params:
        if param.keyword is None:
            continue
        assert param.keyword in fields, (action, param.keyword)
        field = fields[param.keyword]
        if field.default is dataclasses.MISSING:  # the ceremony needs it: so does the table
            assert param.required, (action, param.key)
            continue
        default = field.default
        value = param.value(None, param.key)
        assert (tuple(value) if isinstance(value, list) else value) == default, param.key


# --- one duration grammar, on both sides --------------------------------------------------------

GRAMMAR_PARAMS = [(action, p) for action in sorted(COMMANDS)
                  for p in tables.TABLES[action].params if p.kind in ACCEPTED]


def cli_problem(action: str, param: params.Param, value: str) -> str | None:
    args, _ = minimal(action)
    return option_problem(lambda: from_cli(action, [*args, param.option, value]), param.option)


def test_every_duration_is_compared() -> None:
    compared = {(a, p.key) for a, p in GRAMMAR_PARAMS}
    for action in COMMANDS:
        for p in tables.TABLES[action].params:
            if p.key.endswith("-expires"):
                assert (action, p.key) in compared


@pytest.mark.parametrize(("action", "param"), GRAMMAR_PARAMS,
                         ids=[f"{a}:{p.key}" for a, p in GRAMMAR_PARAMS])
def test_a_duration_reads_the_same_on_the_command_line_and_in_a_script(
        action: str, param: params.Param) -> None:
    for value in ACCEPTED[param.kind]:
        assert cli_problem(action, param, value) is None, (param.option, value)
        assert script_problem(action, param, value) is None, (param.key, value)
    for value in REFUSED[param.kind]:
        cli, script = cli_problem(action, param, value), script_problem(action, param, value)
        assert cli is not None and script is not None, (param.key, value)
        assert cli == script, (param.key, value)


# --- where the two copies disagreed: the stricter rule, on both sides ---------------------------

@pytest.mark.parametrize("action", ["tuf-init", "tuf-rotate-root"])
def test_a_root_threshold_out_of_range_is_refused_by_both(action: str) -> None:
    """The command took 1 to 100, a script any whole number (0, 1000) and the ceremony went on
    to refuse or make a root nobody can sign. Now both refuse it when read."""
    param = next(p for p in tables.TABLES[action].params if p.key == "root-threshold")
    for value in (0, 101):
        assert script_problem(action, param, value) is not None
        with pytest.raises(click.BadParameter):
            from_cli(action, [*minimal(action)[0], "--root-threshold", str(value)])
    assert script_problem(action, param, 100) is None


@pytest.mark.parametrize("action", ["tuf-init", "tuf-rotate-root", "tuf-rotate-key",
                                    "tuf-delegation-add"])
def test_an_algorithm_tuf_keys_cannot_be_is_refused_by_both(action: str) -> None:
    """A script refused ecdsa-p521 and other names; the command passed any text on and the token
    made a key that TUF metadata cannot list. Now both refuse it before a token is opened."""
    param = next(p for p in tables.TABLES[action].params if p.key == "algorithm")
    for value in ("ecdsa-p521", "rsa-2048", "ECDSA-P256"):
        assert script_problem(action, param, value) is not None
        with pytest.raises(click.BadParameter):
            from_cli(action, [*minimal(action)[0], "--algorithm", value])


def test_the_command_refuses_an_algorithm_before_anything_is_written(tmp_path: Path) -> None:
    out, workspace = tmp_path / "init.resp", tmp_path / "ws"
    r = run_cli("tuf", "init", "--request", str(tmp_path / "init.req"), "--out", str(out),
                "--workspace", str(workspace), "--root-token", URIS["a"], "--targets-token",
                URIS["t"], "--algorithm", "ecdsa-p521", cwd=tmp_path, wrapper=AIRGAPPED)
    assert r.returncode == 2
    assert "Invalid value for '--algorithm'" in r.stderr and "ecdsa-p521" in r.stderr
    assert not out.exists() and not workspace.exists()


# --- the script actions the tables made: rotate-key, delegation add and remove, for real -------

TOKENS = ("root-a", "root-b", "targets-1", "targets-2")


def _script(env: Any, room: Path, request: Path, step: dict[str, Any]) -> Path:
    """A one-step script answering `request`, with the runbook's frame."""
    doc = yaml.safe_load((ROOT / "runbooks" / "tuf-root-ceremony.yaml").read_text())
    digest = hashlib.sha256(request.read_bytes()).hexdigest()
    doc["inputs"] = {"request": {"kind": "file", "path": request.name, "sha256": digest}}
    doc["tokens"] = {label: {"uri": f"pkcs11:token={label}", "pin-source": "prompt"}
                     for label in TOKENS}
    doc["steps"] = [{"id": step["do"].removeprefix("tuf-"), "repository": "demo",
                     "request": "request", "out": f"{request.stem}.resp", **step}]
    script = room / f"{request.stem}.yaml"
    script.write_text(yaml.safe_dump(doc, sort_keys=False))
    return script


def _run_script(env: Any, site: OfflineSite, script: Path) -> Any:
    return run_cli("run", str(script), "--yes", "--workspace", str(site.workspace),
                   *site.pins(*TOKENS), env=env.env, wrapper=AIRGAPPED)


def test_rotate_key_and_delegations_run_as_script_steps(softhsm_factory, tmp_path):  # noqa: F811
    env = softhsm_factory("tuf-tables", list(TOKENS))
    room = tmp_path / "room"
    room.mkdir()
    site = OfflineSite(env, tmp_path / "workspace")
    service = OnlineService(tmp_path / "repo")
    snap = service.public_pem(service.signers["snapshot"][0], "snapshot")
    ts = service.public_pem(service.signers["timestamp"][0], "timestamp")
    init = service.request("init", room / "init.req", "--online-key", f"snapshot={snap}",
                           "--online-key", f"timestamp={ts}")
    site.ok(["init"], init, room / "init.resp", "--root-token", "root-a", "--root-token",
            "root-b", "--root-threshold", "1", "--targets-token", "targets-1")
    service.apply(room / "init.resp", init)

    def step(name: str, operation: str, request_args: tuple[str, ...],
             params: dict[str, Any]) -> dict[str, Any]:
        request = service.request(operation, room / f"{name}.req", *request_args)
        r = _run_script(env, site, _script(env, room, request, params))
        assert r.returncode == 0, r.output[-3000:]
        assert "completed" in r.stdout
        service.apply(room / f"{name}.resp", request)
        return _newest(service, "targets")

    targets = step("delegate", "delegation-add", ("--role", "firmware", "--path", "firmware/*"),
                   {"do": "tuf-delegation-add", "tokens": ["targets-1"],
                    "delegate-tokens": ["targets-2"], "delegate-label": "tuf-firmware",
                    "targets-expires": "120d"})
    roles = targets["delegations"]["roles"]
    assert [r["name"] for r in roles] == ["firmware"] and roles[0]["paths"] == ["firmware/*"]

    old_targets_keys = _root_role_keys(service, "targets")
    step("rotate-key", "rotate-key", ("--role", "targets"),
         {"do": "tuf-rotate-key", "tokens": ["root-a", "targets-1"],
          "targets-token": "targets-2", "targets-label": "tuf-targets-2",
          "algorithm": "ed25519", "allow-shorter": True})  # targets: 120d -> 90d, the default
    new_targets_keys = _root_role_keys(service, "targets")
    assert new_targets_keys and new_targets_keys != old_targets_keys
    root = _newest(service, "root")
    assert root["keys"][new_targets_keys[0]]["keytype"] == "ed25519"

    targets = step("undelegate", "delegation-remove", ("--role", "firmware"),
                   {"do": "tuf-delegation-remove", "tokens": ["targets-2"]})
    assert not (targets.get("delegations") or {}).get("roles")
    transcript = next((site.workspace / "transcripts").glob("*-run-*.jsonl"))
    assert run_cli("transcript", "verify", str(transcript)).returncode == 0
    output = " ".join(site.outputs)
    for label in TOKENS:
        assert env.pin(label) not in output


def _newest(service: OnlineService, role: str) -> dict[str, Any]:
    """The `signed` part of the newest N.ROLE.json the service holds."""
    path = max(service.metadata_dir.glob(f"*.{role}.json"),
               key=lambda p: int(p.name.split(".")[0]))
    return json.loads(path.read_bytes())["signed"]


def _root_role_keys(service: OnlineService, role: str) -> list[str]:
    return list(_newest(service, "root")["roles"][role]["keyids"])


def test_a_script_step_refuses_a_missing_token_list_when_read() -> None:
    """A script must name the tokens that sign (reproducible); the command may leave them out."""
    spec = ACTIONS["tuf-delegation-remove"]
    assert "tokens" in spec.required
    with pytest.raises(ScriptError, match=re.escape("needs at least 1 item")):
        spec.params["tokens"]([], "steps[0] (tuf-delegation-remove).tokens")
