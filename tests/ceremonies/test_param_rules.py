"""The rules between a ceremony's parameters (GUNs or --all; a root rotation changes something;
renew's role and its tokens; adopt's targets key; what a delegation gets; what ca revoke
revokes) are declared once, in the ceremony's table (ceremonies/params.py `Rule`), and refused
with the same sentence by the real command (option names) and by a script (its keys), before
anything is opened or written; a script is refused before its first step runs.

The command runs air-gapped, as a ceremony would; each script holds a valid step before the
step that breaks a rule."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.ceremonies import params
from ceremony.notation import tables as notation_tables
from ceremony.scripts.actions_spec import ACTIONS, TABLES
from ceremony.tuf import tables as tuf_tables
from tests.conftest import AIRGAPPED, run_cli

GUN = "example.com/app"
ROOT_A, TARGETS_URI, CA_URI = "pkcs11:token=root-a", "pkcs11:token=targets", "pkcs11:token=ca"
GUNS_HINT = "(the repositories to change, or every one in the request)"
ROTATE_HINT = ("(a root rotation must change root's keys or threshold; to extend its expiry "
               "only, renew root)")
ADOPT_HINT = "(the targets key moves onto a token, or the current one stays in use)"
KEY_FILE_HINT = "(that file is for a targets key that leaves; a kept one stays in use)"
DELEGATION_HINT = "(what the delegation gets: keys, paths or a threshold)"
ROOT_SIGNS = "(the root keys sign; a partial response is signed later, at the tokens)"
TARGETS_SIGNS = "(the targets key signs; a partial response is signed later, at the token)"
TUF_ROTATE_HINT = ("(a root rotation must change root's keys or threshold; to extend its "
                   "expiry only, renew)")
REVOKE_HINT = "(what to revoke; serials in hex, as `ceremony notation ca show` lists them)"


@dataclass(frozen=True)
class Case:
    name: str
    command: tuple[str, ...]  # the command and its arguments, without the session frame
    step: dict[str, Any]  # the same ceremony as a script step
    cli: str  # the refusal on the command line
    script: str  # the refusal in a script
    frame: tuple[str, ...] = ("--request", "REQ", "--out", "OUT")
    system: str = "notary"  # the script's trust system: notary, notation, tuf


ROTATE_TARGETS = ("rotate", "targets", "--root-token", ROOT_A, "--targets-token", TARGETS_URI,
                  "--label", "targets-2")
ROTATE_TARGETS_STEP = {"do": "rotate-targets", "request": "req", "root-tokens": ["root-a"],
                       "targets-token": "targets", "label": "targets-2"}
ADOPT = ("adopt", "repository", GUN, "--root-key-file", "KEYFILE", "--root-token", ROOT_A)
ADOPT_STEP = {"do": "adopt", "request": "req", "gun": GUN, "root-key-files": ["keyfile"],
              "root-tokens": ["root-a"]}

CASES = [
    Case("guns and all", (*ROTATE_TARGETS, GUN, "--all"),
         {**ROTATE_TARGETS_STEP, "guns": [GUN], "all": True},
         f"give GUN ... or --all, not both {GUNS_HINT}",
         f"give guns or all: true, not both {GUNS_HINT}"),
    Case("neither guns nor all", ROTATE_TARGETS, ROTATE_TARGETS_STEP,
         f"give GUN ... or --all {GUNS_HINT}", f"give guns or all: true {GUNS_HINT}"),
    Case("a root rotation that changes nothing", ("rotate", "root", "--all", "--root-token",
                                                   ROOT_A),
         {"do": "rotate-root", "request": "req", "all": True, "root-tokens": ["root-a"]},
         "give --add-token, --add-cert, --remove-key, --remove-token, --replace or "
         f"--root-threshold {ROTATE_HINT}",
         f"give add-tokens, add-certs, remove-keys, remove-tokens or root-threshold "
         f"{ROTATE_HINT}"),
    Case("renew root without root tokens", ("renew", GUN, "--role", "root"),
         {"do": "renew", "request": "req", "guns": [GUN], "role": "root"},
         f"--role root needs --root-token or --partial {ROOT_SIGNS}",
         f"role: root needs root-tokens or partial: true {ROOT_SIGNS}"),
    Case("renew targets without its token", ("renew", "--all", "--role", "targets"),
         {"do": "renew", "request": "req", "all": True, "role": "targets"},
         f"--role targets needs --targets-token or --partial {TARGETS_SIGNS}",
         f"role: targets needs targets-token or partial: true {TARGETS_SIGNS}"),
    Case("renew targets with a root token", ("renew", GUN, "--role", "targets",
                                             "--targets-token", TARGETS_URI, "--root-token",
                                             ROOT_A),
         {"do": "renew", "request": "req", "guns": [GUN], "role": "targets",
          "targets-token": "targets", "root-tokens": ["root-a"]},
         "--role targets does not take --root-token", "role: targets does not take root-tokens"),
    Case("renew targets re-issuing root certificates",
         ("renew", "--all", "--role", "targets", "--targets-token", TARGETS_URI,
          "--reissue-certs"),
         {"do": "renew", "request": "req", "all": True, "role": "targets",
          "targets-token": "targets", "reissue-certs": True},
         "--role targets does not take --reissue-certs",
         "role: targets does not take reissue-certs: true"),
    Case("renew root with a targets token", ("renew", GUN, "--role", "root", "--root-token",
                                             ROOT_A, "--targets-token", TARGETS_URI),
         {"do": "renew", "request": "req", "guns": [GUN], "role": "root",
          "root-tokens": ["root-a"], "targets-token": "targets"},
         "--role root does not take --targets-token", "role: root does not take targets-token"),
    Case("adopt without a targets choice", ADOPT, ADOPT_STEP,
         f"give --targets-token or --keep-targets {ADOPT_HINT}",
         f"give targets-token or keep-targets: true {ADOPT_HINT}"),
    Case("adopt with both targets choices", (*ADOPT, "--keep-targets", "--targets-token",
                                             TARGETS_URI),
         {**ADOPT_STEP, "keep-targets": True, "targets-token": "targets"},
         f"give --targets-token or --keep-targets, not both {ADOPT_HINT}",
         f"give targets-token or keep-targets: true, not both {ADOPT_HINT}"),
    Case("adopt keeping the targets key named as leaving",
         (*ADOPT, "--keep-targets", "--targets-key-file", "KEYFILE"),
         {**ADOPT_STEP, "keep-targets": True, "targets-key-file": "keyfile"},
         f"give --keep-targets or --targets-key-file, not both {KEY_FILE_HINT}",
         f"give keep-targets: true or targets-key-file, not both {KEY_FILE_HINT}"),
    Case("a delegation that gets nothing", ("delegation", "add", GUN, "targets/ci",
                                            "--targets-token", TARGETS_URI),
         {"do": "delegation-add", "request": "req", "gun": GUN, "role": "targets/ci",
          "targets-token": "targets"},
         f"give --key, --path, --all-paths or --threshold {DELEGATION_HINT}",
         f"give keys, paths, all-paths: true or threshold {DELEGATION_HINT}"),
    Case("a revocation of nothing", ("notation", "ca", "revoke", "--ca-token", CA_URI),
         {"do": "notation-ca-revoke", "ca-token": "ca"},
         f"give --cert or --serial {REVOKE_HINT}", f"give certificates or serials {REVOKE_HINT}",
         frame=("--out", "OUT"), system="notation"),
    Case("a TUF root rotation that changes nothing", ("tuf", "rotate-root", "--token", ROOT_A),
         {"do": "tuf-rotate-root", "request": "req", "tokens": ["root-a"]},
         f"give --root-token, --remove-key or --root-threshold {TUF_ROTATE_HINT}",
         f"give root-tokens, remove-keys or root-threshold {TUF_ROTATE_HINT}", system="tuf"),
]


def room(tmp_path: Path) -> Path:
    """The inputs a script names (a request, a key file); the command gets the same paths."""
    folder = tmp_path / "room"
    folder.mkdir()
    (folder / "app.request").write_bytes(b"a request (never read: refused before)")
    key = ec.generate_private_key(ec.SECP256R1())
    (folder / "root.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def script(folder: Path, case: Case) -> Path:
    """A script whose second step breaks the rule (its first is valid)."""
    step = {"id": "broken", **case.step, "out": "broken.response"}
    doc: dict[str, Any] = {
        "format": "notary-ceremony-script/1",
        "ceremony": {"name": "Rules", "purpose": "testing the rules between parameters"},
        "participants": [{"name": "Alice", "role": "administrator"}],
    }
    request = {"path": "app.request", "sha256": sha256(folder / "app.request")}
    if case.system == "notation":
        doc["tokens"] = {"ca": {"uri": CA_URI}}
        doc["steps"] = [{"id": "first", "do": "notation-export", "ca": "root",
                         "out": "public"}, step]
    elif case.system == "tuf":
        doc["inputs"] = {"req": {"kind": "file", **request}}
        doc["tokens"] = {"root-a": {"uri": ROOT_A}}
        doc["steps"] = [{"id": "first", "do": "tuf-renew", "request": "req",
                         "tokens": ["root-a"], "out": "first.response"}, step]
    else:
        doc["ceremony"]["guns"] = [GUN]
        doc["inputs"] = {
            "req": {"kind": "request", **request},
            "keyfile": {"kind": "file", "path": "root.key", "sha256": sha256(folder / "root.key")},
        }
        doc["tokens"] = {"root-a": {"uri": ROOT_A}, "targets": {"uri": TARGETS_URI}}
        doc["steps"] = [{"id": "first", "do": "init", "request": "req",
                         "root-tokens": ["root-a"], "targets-token": "targets",
                         "out": "first.response"}, step]
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False))
    return path


def one_error_line(result: Any) -> str:
    assert result.returncode == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0].removeprefix("error: ")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_rule_refuses_the_same_on_the_command_line_and_in_a_script(
        case: Case, tmp_path: Path) -> None:
    folder = room(tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    ws, out = tmp_path / "ws", folder / "out.response"
    paths = {"REQ": str(folder / "app.request"), "OUT": str(out),
             "KEYFILE": str(folder / "root.key")}
    args = [paths.get(a, a) for a in (*case.command, *case.frame)]
    cli = run_cli(*args, "--workspace", str(ws), "--yes", cwd=folder, wrapper=AIRGAPPED)
    assert one_error_line(cli) == case.cli
    assert not out.exists() and not ws.exists()

    path = script(folder, case)
    run = run_cli("run", str(path), "--yes", "--workspace", str(ws), cwd=folder,
                  wrapper=AIRGAPPED)
    assert one_error_line(run) == f"script {path.name}: steps[1] (broken): {case.script}"
    assert not ws.exists()  # refused before the first (valid) step ran
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, "s.yaml"])


def test_every_rule_of_every_table_is_tried() -> None:
    """Each table with rules has a case above, so no rule is declared without a test."""
    tried = {c.step["do"] for c in CASES}
    with_rules = {t.action for t in (*TABLES.values(), *tuf_tables.TABLES.values()) if t.rules}
    assert with_rules == tried, with_rules ^ tried
    assert all(ACTIONS[action].check is not None for action in with_rules)


def test_a_rule_naming_no_parameter_of_its_table_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match=r"a rule names \['al'\]"):
        params.Table("x", dict, (params.GUNS, params.ALL_GUNS),
                     (params.one_of("guns", "al"),))


def test_a_value_equal_to_the_default_or_empty_is_not_given() -> None:
    """The command line passes every option (its default when not typed); a script only the
    keys it writes: both must read as "not given"."""
    table = notation_tables.CA_REVOKE
    cli_values = {"ca": "root", "ca-token": None, "certificates": (), "serials": (),
                  "valid-for": "30d", "ca-dir": None}
    assert table.refusal(cli_values, cli=True) == f"give --cert or --serial {REVOKE_HINT}"
    assert table.refusal({}, cli=False) == f"give certificates or serials {REVOKE_HINT}"
    assert table.refusal({**cli_values, "serials": ("ab",)}, cli=True) is None
    renew = TABLES["renew"]  # a threshold of 0 is given (and refused by its own rule later)
    assert renew.refusal({"role": "targets", "all": True, "targets-token": "t",
                          "reissue-certs": False}, cli=True) is None
    rotate = TABLES["rotate-root"]
    assert rotate.refusal({"all": True, "root-threshold": 0}, cli=True) is None


def test_a_partial_renewal_may_leave_its_tokens_to_the_co_signers(tmp_path: Path) -> None:
    """`--partial` / `partial: true` lifts renew's "needs the role's tokens" (a response for
    co-signing, tests/ceremonies/test_cosign.py): the command goes on, to the request."""
    folder = room(tmp_path)
    ws = tmp_path / "ws"
    cli = run_cli("renew", GUN, "--role", "root", "--partial", "--request",
                  str(folder / "app.request"), "--out", str(folder / "out.response"),
                  "--workspace", str(ws), "--yes", cwd=folder, wrapper=AIRGAPPED)
    assert "needs" not in one_error_line(cli)  # refused later: no workspace, no request
    values = {"role": "root", "guns": [GUN], "partial": True}
    assert TABLES["renew"].refusal(values, cli=False) is None
    step = {"do": "renew", "request": "req", "guns": [GUN], "role": "root", "partial": True}
    path = script(folder, Case("partial", (), step, "", ""))
    run = run_cli("run", str(path), "--yes", "--workspace", str(ws), cwd=folder,
                  wrapper=AIRGAPPED)
    assert "steps[1]" not in one_error_line(run)  # the script is valid; refused later
