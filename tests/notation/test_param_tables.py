"""Each notation ceremony's parameters come from one table (ceremony/notation/tables.py): its
click command and its script action offer the same parameters with the same defaults, hand the
ceremony the same arguments, and read every duration, subject, CA name and serial with the same
rule and the same refusal.

In process, no token: the table's `make` is replaced by one that returns the ceremony's keyword
arguments, so what the command line and a script would hand the ceremony can be compared. The
last tests run the real command where the two copies used to disagree."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from pathlib import Path
from typing import Any

import click
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ceremony.ceremonies import params
from ceremony.cli.common import build_ceremony
from ceremony.notation import tables
from ceremony.notation.ca_ceremonies import ca_crl
from ceremony.notation.ca_cli import ca
from ceremony.notation.cli import csr_command
from ceremony.notation.sign_cli import sign_descriptors
from ceremony.scripts.actions_spec import ACTIONS, TABLES
from ceremony.scripts.schema import read_script
from ceremony.scripts.yamlread import ScriptError
from tests.ceremonies.test_param_tables import (
    ACCEPTED,
    REFUSED,
    option_problem,
    script_problem,
)
from tests.conftest import AIRGAPPED, run_cli

COMMANDS: dict[str, click.Command] = {
    "notation-ca-init": ca.commands["init"],
    "notation-ca-intermediate": ca.commands["intermediate"],
    "notation-ca-issue": ca.commands["issue"], "notation-ca-revoke": ca.commands["revoke"],
    "notation-ca-crl": ca.commands["crl"], "notation-export": ca.commands["export"],
    "notation-csr": csr_command, "notation-sign": sign_descriptors,
}
# The session frame: every command declares it, a script step gives `out` (and `request`).
FRAME = {"out", "out_dir", "request", "workspace", "yes", "participants", "pin_sources",
         "pin_source", "module", "allow_network", "force", "as_json"}
SCRIPT_FRAME = {"out", "request"}
# `notation csr` is the csr ceremony (with --workspace): the command takes every parameter.
SCRIPT_ONLY: dict[str, set[str]] = {}
TOKENS = {"ca": "pkcs11:token=ca", "issuing": "pkcs11:token=issuing",
          "signer": "pkcs11:token=signer"}
SUBJECT = "C=US, O=Example, CN=Example Root CA"


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A certificate file (what `--cert`, `--chain` and a script's file reference name)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(0x1F2E)
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    path = tmp_path_factory.mktemp("certs") / "signer.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def minimal(action: str, pem: str) -> tuple[list[str], dict[str, Any]]:
    """The same ceremony asked for on the command line and in a script step."""
    uri = TOKENS
    return {
        "notation-ca-init": (["--token", uri["ca"], "--label", "root-ca", "--subject", SUBJECT,
                              "--path-length", "0"],
                             {"token": "ca", "label": "root-ca", "subject": SUBJECT,
                              "path-length": 0}),
        "notation-ca-intermediate": (
            ["--parent-token", uri["ca"], "--token", uri["issuing"], "--label", "issuing-ca",
             "--subject", SUBJECT, "--valid-for", "5y", "--algorithm", "ecdsa-p384"],
            {"parent-token": "ca", "token": "issuing", "label": "issuing-ca",
             "subject": SUBJECT, "valid-for": "5y", "algorithm": "ecdsa-p384"}),
        "notation-ca-issue": (["--ca-token", uri["ca"], "--crl-url", "http://crl.example/c.crl",
                               "--out", "r.resp"],
                              {"ca-token": "ca", "crl-url": "http://crl.example/c.crl"}),
        "notation-ca-revoke": (["--ca-token", uri["ca"], "--cert", pem, "--serial", "0xAB12"],
                               {"ca-token": "ca", "certificates": ["signer-cert"],
                                "serials": ["0xAB12"]}),
        "notation-ca-crl": (["--ca-token", uri["ca"], "--valid-for", "7d"],
                            {"ca-token": "ca", "valid-for": "7d"}),
        "notation-export": (["--ca", "issuing", "--out-dir", "public"], {"ca": "issuing"}),
        "notation-csr": (["--token", uri["signer"], "--label", "release", "--subject", SUBJECT,
                          "--out", "r.csr"],
                         {"token": "signer", "label": "release", "subject": SUBJECT}),
        "notation-sign": (["--token", uri["signer"], "--label", "release", "--chain", pem,
                           "--envelope", "cose", "--expiry", "30d"],
                          {"token": "signer", "label": "release", "chain": "signer-cert",
                           "envelope": "cose", "expiry": "30d"}),
    }[action]


def kwargs_table(table: params.Table) -> params.Table:
    """The table, making the ceremony's keyword arguments instead of the ceremony."""
    return dataclasses.replace(table, make=lambda **kwargs: kwargs)


def command_table(action: str) -> params.Table:
    """The table the command is built from."""
    return TABLES[action]


def from_cli(action: str, args: list[str]) -> dict[str, Any]:
    ctx = COMMANDS[action].make_context(action, list(args))
    return build_ceremony(kwargs_table(command_table(action)), dict(ctx.params))


def from_script(action: str, step: dict[str, Any], pem: str) -> dict[str, Any]:
    """What a script step hands the ceremony: read by the action's readers, tokens and files
    resolved as steps._build does."""
    spec = ACTIONS[action]
    read = {key: spec.params[key](value, f"steps[0] ({action}).{key}")
            for key, value in step.items()}
    for param in TABLES[action].script_params():
        if param.key in read and (param.token or param.ref):
            resolve = TOKENS.get if param.token else (lambda _ref: pem)
            read[param.key] = ([resolve(v) for v in read[param.key]] if param.multiple
                               else resolve(read[param.key]))
    return kwargs_table(TABLES[action]).build(read, cli=False)


def test_every_notation_action_with_a_ceremony_has_a_table() -> None:
    notation = {name for name in ACTIONS if name.startswith("notation-")}
    assert notation == set(COMMANDS) == set(tables.TABLES)
    assert all(TABLES[name] is tables.TABLES[name] for name in notation)


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_command_and_script_offer_the_same_parameters(action: str) -> None:
    table, command, spec = TABLES[action], COMMANDS[action], ACTIONS[action]
    by_option = {p.option: p for p in table.params}
    cli_keys, cli_only = set(), {p.key for p in table.params if p.cli_only}
    for click_param in command.params:
        param = next((by_option[n] for n in click_param.opts if n in by_option), None)
        if param is None:
            assert click_param.name in FRAME, f"{action}: {click_param.opts} is not in its table"
            continue
        cli_keys.add(param.key)
        assert click_param.help == param.help, (action, param.key)
        assert click_param.required == param.required, (action, param.key)
        if param.default is not None:
            assert click_param.default == param.default, (action, param.key)
    script_keys = set(spec.params) - SCRIPT_FRAME
    assert script_keys == cli_keys - cli_only | SCRIPT_ONLY.get(action, set())
    assert set(spec.tokens) == {p.key for p in table.params if p.token}
    assert set(spec.required) - SCRIPT_FRAME == {
        p.key for p in table.script_params() if p.required or p.script_required}
    assert {k: v for k, v in spec.refs.items() if k != "request"} == {
        p.key: p.ref for p in table.script_params() if p.ref}


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_command_and_script_build_the_same_arguments(action: str, pem: str) -> None:
    """Same values, the same defaults for everything not given, the same conversions."""
    args, step = minimal(action, pem)
    cli, script = from_cli(action, args), from_script(action, step, pem)
    script = {k: v for k, v in script.items() if k not in SCRIPT_ONLY.get(action, set())}
    assert cli == script
    for param in TABLES[action].params:
        if param.keyword is not None and param.key not in step and not param.cli_only \
                and param.key not in SCRIPT_ONLY.get(action, set()):
            assert script[param.keyword] == param.value(None, param.key), param.key


def test_the_arguments_are_what_the_ceremony_takes(pem: str) -> None:
    cli = from_cli("notation-ca-revoke", minimal("notation-ca-revoke", pem)[0])
    assert cli["serials"] == ["ab12"]  # 0x and capitals as `ca show` may print them
    assert [chain[0].serial_number for chain in cli["certificates"]] == [0x1F2E]
    revoke = tables.CA_REVOKE.build(
        {"certificates": [pem], "serials": ["AB12"], "ca-token": TOKENS["ca"]}, cli=False)
    assert revoke.keywords["revoke"] == ["1f2e", "ab12"]
    assert revoke.keywords["valid_for"] == dt.timedelta(days=30)
    init = from_cli("notation-ca-init", minimal("notation-ca-init", pem)[0])
    assert init["valid_for"] == dt.timedelta(days=20 * 365) and init["ca"] == "root"


@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_the_table_and_the_ceremony_agree_on_defaults(action: str) -> None:
    """A ceremony called in code gets what a command and a script get when nothing is said."""
    make = TABLES[action].make
    runs = [tables.revoke, ca_crl] if make is tables.revoke else [make.args[0]]
    signature = {name: p for run in runs
                 for name, p in inspect.signature(run).parameters.items()}
    for param in TABLES[action].params:
        if param.keyword is None:
            continue
        assert param.keyword in signature, (action, param.keyword)
        default = signature[param.keyword].default
        if default is not inspect.Parameter.empty:  # the table must not say otherwise
            assert param.default is None and default in (None, (), "jws") \
                or param.value(None, param.key) == default, (action, param.key)


# --- one rule per value, on both sides ---------------------------------------------------------

CHECKED = {  # parameter -> (accepted, refused) beyond the duration grammar
    "subject": (["CN=Example", SUBJECT], ["CN", "=x", ", ,"]),
    "ca": (["root", "issuing-2"], ["Root", "a" * 33, "my ca"]),
    "parent": (["root"], ["a" * 40]),
    "serials": (["0xAB12", "1f2e"], ["xyz", "0x", "12 34"]),
}
RULE_PARAMS = [(action, p) for action in sorted(COMMANDS) for p in TABLES[action].params
               if (p.kind in ACCEPTED or p.key in CHECKED) and not p.cli_only
               and p.key not in SCRIPT_ONLY.get(action, set())]


def cli_problem(action: str, param: params.Param, value: str, pem: str) -> str | None:
    args, _ = minimal(action, pem)
    return option_problem(lambda: from_cli(action, [*args, param.option, value]), param.option)


def test_every_duration_and_rule_parameter_is_compared() -> None:
    keys = {(action, p.key) for action, p in RULE_PARAMS}
    for action in COMMANDS:
        for p in TABLES[action].params:
            if p.key in ("valid-for", "expiry", "subject", "ca", "serials"):
                assert (action, p.key) in keys, (action, p.key)


@pytest.mark.parametrize(("action", "param"), RULE_PARAMS,
                         ids=[f"{a}:{p.key}" for a, p in RULE_PARAMS])
def test_a_value_reads_the_same_on_the_command_line_and_in_a_script(
        action: str, param: params.Param, pem: str) -> None:
    accepted, refused = (ACCEPTED[param.kind], REFUSED[param.kind]) \
        if param.kind in ACCEPTED else CHECKED[param.key]
    for value in accepted:
        assert cli_problem(action, param, value, pem) is None, (param.option, value)
        assert script_problem(action, param, value) is None, (param.key, value)
    for value in refused:
        cli, script = cli_problem(action, param, value, pem), script_problem(action, param, value)
        assert cli is not None and script is not None, (param.key, value)
        assert cli == script, (param.key, value)  # the same words after the option's name


# --- where the two copies disagreed: the better behaviour, on the real command -----------------

def test_a_refused_validity_names_the_option(tmp_path: Path) -> None:
    """The command said "invalid validity '6x'"; like a script and every other duration
    option it now names the option, before anything is opened or written."""
    out = tmp_path / "root.crt"
    r = run_cli("notation", "ca", "init", "--token", TOKENS["ca"], "--label", "root-ca",
                "--subject", SUBJECT, "--valid-for", "6x", "--out", str(out), "--workspace",
                str(tmp_path / "ws"), cwd=tmp_path, wrapper=AIRGAPPED)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: --valid-for '6x': use a whole number with a unit, e.g. 10y, 6m (30 days), "
        "90d, 52w or 12h"]
    assert not out.exists() and not (tmp_path / "ws").exists()


def test_a_serial_that_is_not_hex_is_refused_by_the_command(tmp_path: Path) -> None:
    """A script refused it when read; the command passed it on to the CA. Now both refuse."""
    out = tmp_path / "crl.resp"
    r = run_cli("notation", "ca", "revoke", "--ca-token", TOKENS["ca"], "--serial", "12g4",
                "--out", str(out), "--workspace", str(tmp_path / "ws"), cwd=tmp_path,
                wrapper=AIRGAPPED)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: --serial '12g4': expected a certificate serial number in hex (as `ceremony "
        "notation ca show` lists them)"]
    assert not out.exists() and not (tmp_path / "ws").exists()


def test_a_script_holds_a_ca_name_to_the_workspace_rule() -> None:
    """A script took any name of up to 64 characters and the ceremony refused it half way
    through the script; the workspace's rule (at most 32) now refuses it when read."""
    runbook = Path(__file__).parents[2] / "runbooks" / "notation-root-ca.yaml"
    text = runbook.read_text()
    assert "    ca: root\n" in text
    read_script(runbook, text.encode())  # as shipped: valid
    long_name = "a" * 40
    with pytest.raises(ScriptError) as refused:
        read_script(runbook, text.replace("    ca: root\n", f"    ca: {long_name}\n",
                                          1).encode())
    assert f"steps[0] (root-ca).ca: CA name '{long_name}': use lowercase letters" \
        in str(refused.value)
