"""Each Notary ceremony's parameters come from one table (ceremonies/params.py): its click
command and its script action offer the same parameters with the same defaults, build the same
Ceremony, and read every duration and expiry with the same grammar and the same refusals.

In process, no token: the ceremony's constructor is replaced by one that returns its keyword
arguments, so what the command line and a script would hand the ceremony can be compared."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.ceremonies import params
from ceremony.cli.common import build_ceremony, common_options
from ceremony.notary.cli.adopt import adopt
from ceremony.notary.cli.ceremonies import delegation, init, rotate, signer
from ceremony.notary.cli.renew import renew
from ceremony.scripts.actions_spec import ACTIONS, TABLES
from ceremony.scripts.yamlread import ScriptError
from tests.conftest import AIRGAPPED, run_cli

COMMANDS: dict[str, click.Command] = {
    "init": init, "signer-add": signer.commands["add"],
    "signer-remove": signer.commands["remove"], "delegation-add": delegation.commands["add"],
    "delegation-remove": delegation.commands["remove"],
    "rotate-targets": rotate.commands["targets"], "rotate-root": rotate.commands["root"],
    "renew": renew, "adopt": adopt.commands["repository"],
}
COMMON = {"workspace", "request", "out", "force", "yes", "participants", "allow_network",
          "pin_sources", "module", "partial", "as_json"}  # cli/common.ceremony_options
SCRIPT_COMMON = {"request", "out", "partial"}
TOKENS = {"root-a": "pkcs11:token=root-a", "targets": "pkcs11:token=targets"}
KEY_IDS = ["ab" * 32]


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path_factory.mktemp("keys") / "delegate.pem"
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


def minimal(action: str, pem: str) -> tuple[list[str], dict[str, Any]]:
    """The same ceremony asked for on the command line and in a script step."""
    uri, gun = TOKENS, "example.com/app"
    return {
        "init": (["--root-token", uri["root-a"], "--targets-token", uri["targets"], gun],
                 {"root-tokens": ["root-a"], "targets-token": "targets", "guns": [gun]}),
        "signer-add": ([gun, "alice", "--key", pem, "--targets-token", uri["targets"]],
                       {"gun": gun, "name": "alice", "keys": ["delegate"],
                        "targets-token": "targets"}),
        "signer-remove": ([gun, "alice", "--targets-token", uri["targets"]],
                          {"gun": gun, "name": "alice", "targets-token": "targets"}),
        "delegation-add": ([gun, "targets/ci", "--key", pem, "--path", "ci/", "--all-paths",
                            "--targets-token", uri["targets"], "--targets-expires", "90d"],
                           {"gun": gun, "role": "targets/ci", "keys": ["delegate"],
                            "paths": ["ci/"], "all-paths": True, "targets-token": "targets",
                            "targets-expires": "90d"}),
        "delegation-remove": ([gun, "targets/ci", "--key-id", KEY_IDS[0], "--targets-token",
                               uri["targets"]],
                              {"gun": gun, "role": "targets/ci", "key-ids": KEY_IDS,
                               "targets-token": "targets"}),
        "rotate-targets": ([gun, "--root-token", uri["root-a"], "--targets-token",
                            uri["targets"], "--label", "targets-2", "--root-expires", "6m"],
                           {"guns": [gun], "root-tokens": ["root-a"], "targets-token": "targets",
                            "label": "targets-2", "root-expires": "6m"}),
        "rotate-root": (["--all", "--root-token", uri["root-a"], "--remove-key", KEY_IDS[0],
                         "--snapshot-expires", "52w"],
                        {"all": True, "root-tokens": ["root-a"], "remove-keys": KEY_IDS,
                         "snapshot-expires": "52w"}),
        "renew": ([gun, "--role", "targets", "--targets-token", uri["targets"],
                   "--reissue-within", "0"],
                  {"guns": [gun], "role": "targets", "targets-token": "targets",
                   "reissue-within": "0"}),
        "adopt": ([gun, "--root-key-file", pem, "--root-token", uri["root-a"], "--keep-targets",
                   "--targets-expires", "3y"],
                  {"gun": gun, "root-key-files": ["delegate"], "root-tokens": ["root-a"],
                   "keep-targets": True, "targets-expires": "3y"}),
    }[action]


def kwargs_table(action: str) -> params.Table:
    """The action's table, making the ceremony's keyword arguments instead of the ceremony."""
    return dataclasses.replace(TABLES[action], make=lambda **kwargs: kwargs)


def from_cli(action: str, args: list[str]) -> dict[str, Any]:
    """What the command hands the ceremony (cli/common: the options parsed by click)."""
    command = COMMANDS[action]
    ctx = command.make_context(action, [*args, "--request", "r.req", "--out", "r.resp"])
    values = dict(ctx.params)
    common_options(values)
    return build_ceremony(kwargs_table(action), values)


def from_script(action: str, step: dict[str, Any], pem: str) -> dict[str, Any]:
    """What a script step hands the ceremony: read by the action's readers, tokens and files
    resolved as steps._build does."""
    spec = ACTIONS[action]
    read = {key: spec.params[key](value, f"steps[0] ({action}).{key}")
            for key, value in step.items()}
    table = TABLES[action]
    for param in table.script_params():
        if param.key in read and (param.token or param.ref):
            resolve = TOKENS.get if param.token else (lambda _ref: pem)
            read[param.key] = ([resolve(v) for v in read[param.key]] if param.multiple
                               else resolve(read[param.key]))
    return kwargs_table(action).build(read, cli=False)


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_command_and_script_offer_the_same_parameters(action: str) -> None:
    table, command, spec = TABLES[action], COMMANDS[action], ACTIONS[action]
    by_option = {p.option: p for p in table.params} | {p.dest: p for p in table.params
                                                       if p.argument}
    cli_keys, cli_only = set(), {p.key for p in table.params if p.cli_only}
    for click_param in command.params:
        if click_param.name in COMMON:
            continue
        names = click_param.opts if isinstance(click_param, click.Option) else [click_param.name]
        param = next((by_option[n] for n in names if n in by_option), None)
        assert param is not None, f"{action}: {names} is not in its parameter table"
        cli_keys.add(param.key)
        if isinstance(click_param, click.Option) and not click_param.is_flag \
                and param.default is not None:
            assert click_param.default == param.default, f"{action}: {param.key} default"
    assert set(spec.params) - SCRIPT_COMMON == cli_keys - cli_only
    assert set(spec.tokens) == {p.key for p in table.params if p.token}
    assert set(spec.required) - {"request", "out"} >= {p.key for p in table.params
                                                       if p.required and not p.cli_only}


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_command_and_script_build_the_same_ceremony(action: str, pem: str) -> None:
    """Same values, same defaults for everything not given, same conversions."""
    args, step = minimal(action, pem)
    cli, script = from_cli(action, args), from_script(action, step, pem)
    assert cli == script
    for param in TABLES[action].params:  # what was not given: the table's default
        if param.keyword is not None and param.key not in step and not param.cli_only:
            assert cli[param.keyword] == param.value(None, param.key), param.key


# --- one duration grammar ----------------------------------------------------------------------

ACCEPTED = {  # kind -> values every option of that kind takes, on both sides
    params.DURATION: ["6m", "90d", "10y", "52w", "12h"],
    params.WINDOW: ["6m", "90d", "0", "0d"],
    params.EXPIRY: ["6m", "90d", "2031-06-30", "2031-06-30T12:00:00Z"],
}
REFUSED = {
    params.DURATION: ["2031-06-30", "0", "6x", "-1d", "1.5y", "10y10d", "", "101y", "forever"],
    params.WINDOW: ["2031-06-30", "6x", "-1d", "1.5y", "", "101y"],
    params.EXPIRY: ["2020-01-01", "2031-02-30", "0", "6x", "-1d", "1.5y", "", "9999-12-31"],
}
GRAMMAR_PARAMS = [(action, p) for action in sorted(COMMANDS) for p in TABLES[action].params
                  if p.kind in ACCEPTED]


def option_problem(call: Callable[[], Any], option: str, *, named: bool = False) -> str | None:
    """The refusal of `call()` (a command line giving `option`) without the option's name, or
    None when it is accepted. A click usage error is not a value's refusal: it is raised.
    `named`: the refusal must start with the option. (The notation and TUF tables' tests use
    it too.)"""
    try:
        call()
    except click.ClickException:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        if named:
            assert text.startswith(f"{option} "), text
        return text.removeprefix(option).strip()
    return None


def script_problem(action: str, param: params.Param, value: Any) -> str | None:
    """The refusal of `value` by the script action's reader of `param` (an item of a list
    where the parameter is repeatable), without the field's path; None when it is accepted."""
    where = f"steps[0] ({action}).{param.key}"
    try:
        ACTIONS[action].params[param.key]([value] if param.multiple else value, where)
    except ScriptError as exc:
        at = f"{where}[0]:" if param.multiple else f"{where}:"
        return str(exc).removeprefix(at).strip()
    return None


def cli_problem(action: str, param: params.Param, value: str, pem: str) -> str | None:
    args, _ = minimal(action, pem)
    return option_problem(lambda: from_cli(action, [*args, param.option, value]), param.option,
                          named=True)


def test_every_duration_parameter_is_in_the_grammar() -> None:
    keys = {(action, p.key) for action, p in GRAMMAR_PARAMS}
    assert ("init", "root-expires") in keys and ("renew", "reissue-within") in keys
    assert ("rotate-root", "root-expires") in keys and ("adopt", "targets-expires") in keys
    for action in COMMANDS:  # nothing named like a duration is left outside the grammar
        for p in TABLES[action].params:
            assert not (p.key.endswith(("-expires", "-within")) or p.key == "expires") \
                or p.kind in ACCEPTED, (action, p.key)


@pytest.mark.parametrize(("action", "param"), GRAMMAR_PARAMS,
                         ids=[f"{a}:{p.key}" for a, p in GRAMMAR_PARAMS])
def test_a_duration_reads_the_same_on_the_command_line_and_in_a_script(
        action: str, param: params.Param, pem: str) -> None:
    for value in ACCEPTED[param.kind]:
        assert cli_problem(action, param, value, pem) is None, (param.option, value)
        assert script_problem(action, param, value) is None, (param.key, value)
    for value in REFUSED[param.kind]:
        cli, script = cli_problem(action, param, value, pem), script_problem(action, param, value)
        assert cli is not None and script is not None, (param.key, value)
        assert cli == script, (param.key, value)  # the same words after the option's name


def test_a_refused_duration_is_one_error_line_naming_the_option(tmp_path: Path) -> None:
    """The real command, on an air-gapped machine: refused before anything is opened or
    written."""
    out = tmp_path / "r.resp"
    result = run_cli("rotate", "targets", "example.com/app", "--request",
                     str(tmp_path / "none.req"), "--out", str(out), "--root-token",
                     TOKENS["root-a"], "--targets-token", TOKENS["targets"], "--root-expires",
                     "2031-06-30", "--workspace", str(tmp_path / "ws"), cwd=tmp_path,
                     wrapper=AIRGAPPED)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: --root-expires '2031-06-30': use a whole number with a unit, e.g. 10y, 6m "
        "(30 days), 90d, 52w or 12h"]
    assert not out.exists() and not (tmp_path / "ws").exists()


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_the_table_and_the_ceremony_class_agree_on_defaults(action: str) -> None:
    """A ceremony made in code (tests, other ceremonies) gets the defaults a command gets."""
    signature = inspect.signature(TABLES[action].make)
    for param in TABLES[action].params:
        if param.keyword is None:
            continue
        assert param.keyword in signature.parameters, (action, param.keyword)
        default = signature.parameters[param.keyword].default
        if param.default is not None:
            assert default == param.value(None, param.key), (action, param.key)
        elif default is not inspect.Parameter.empty:
            assert default in (None, ()), (action, param.key)
