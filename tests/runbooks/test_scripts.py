"""The script format: strict reading, every problem one line naming the field, nothing written.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from ceremony.scripts.schema import read_script
from ceremony.scripts.yamlread import ScriptError
from groundfloor.limits import MAX_SCRIPT_BYTES
from tests.conftest import ROOT
from tests.runbooks.conftest import RUNBOOKS, ceremony

SHA = "ab" * 32


def base() -> dict:
    return {
        "format": "notary-ceremony-script/1",
        "ceremony": {"name": "Test", "purpose": "testing", "guns": ["example.com/app"]},
        "participants": [{"name": "Alice", "role": "administrator"}],
        "inputs": {"req": {"kind": "request", "path": "app.request", "sha256": SHA}},
        "tokens": {"root-a": {"uri": "pkcs11:token=root-a"},
                   "targets": {"uri": "pkcs11:token=targets", "pin-source": "prompt"}},
        "steps": [{"id": "init", "do": "init", "request": "req", "root-tokens": ["root-a"],
                   "targets-token": "targets", "out": "app.response"}],
    }


def dump(doc: dict) -> str:
    """YAML text of `doc` (shared sub-objects written out, never as anchors)."""
    return yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False)


def problem(doc: dict | str, tmp_path) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(doc if isinstance(doc, str) else dump(doc))
    with pytest.raises(ScriptError) as err:
        read_script(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith("script s.yaml: ")
    return message


def edit(change) -> dict:
    doc = base()
    change(doc)
    return doc


CASES = [
    ("unknown top key", lambda d: d.update(extra=1), "extra: unknown key"),
    ("unknown ceremony key", lambda d: d["ceremony"].update(date="x"), "ceremony.date: unknown"),
    ("missing steps", lambda d: d.pop("steps"), "steps: missing (required)"),
    ("missing purpose", lambda d: d["ceremony"].pop("purpose"), "ceremony.purpose: missing"),
    ("wrong format", lambda d: d.update(format="v2"), "format: expected"),
    ("guns not a list", lambda d: d["ceremony"].update(guns="example.com/app"),
     "ceremony.guns: expected a list"),
    ("bad GUN", lambda d: d["ceremony"].update(guns=["Example.com/App"]),
     "ceremony.guns[0]: GUN 'Example.com/App' must be lowercase"),
    ("GUN twice", lambda d: d["ceremony"].update(guns=["a.com/x", "a.com/x"]),
     "ceremony.guns[1]: 'a.com/x' is listed twice"),
    ("no participants", lambda d: d.update(participants=[]), "participants: expected a list"),
    ("participant without role", lambda d: d["participants"][0].pop("role"),
     "participants[0].role: missing"),
    ("name is a number", lambda d: d["participants"][0].update(name=12),
     "participants[0].name: expected text, got a number"),
    ("control character", lambda d: d["ceremony"].update(name="a\u202eb"),
     "ceremony.name: contains a control character"),
    ("input without digest", lambda d: d["inputs"]["req"].pop("sha256"),
     "inputs.req.sha256: missing"),
    ("digest as a number", lambda d: d["inputs"]["req"].update(sha256=1234),
     "inputs.req.sha256: a SHA-256 must be written in quotes"),
    ("short digest", lambda d: d["inputs"]["req"].update(sha256="abc"),
     "inputs.req.sha256: expected a SHA-256"),
    ("unknown input kind", lambda d: d["inputs"]["req"].update(kind="pdf"),
     "inputs.req.kind: 'pdf' is not one of"),
    ("PIN in the URI", lambda d: d["tokens"]["root-a"].update(uri="pkcs11:token=x?pin-value=1"),
     "tokens.root-a.uri: "),
    ("pin-source twice", lambda d: d["tokens"]["root-a"].update(
        uri="pkcs11:token=root-a?pin-source=env:X", **{"pin-source": "prompt"}),
     "tokens.root-a.pin-source: the URI already has a pin-source"),
    ("bad pin-source", lambda d: d["tokens"]["root-a"].update(**{"pin-source": "1234"}),
     "tokens.root-a.pin-source: "),
    ("URI selects no token", lambda d: d["tokens"]["root-a"].update(uri="pkcs11:object=x"),
     "tokens.root-a.uri: selects no token"),
    ("same label twice", lambda d: d["tokens"]["targets"].update(uri="pkcs11:token=root-a"),
     "tokens.targets.uri: token label 'root-a' is also token 'root-a'"),
    ("unknown action", lambda d: d["steps"][0].update(do="sign-everything"),
     "steps[0] (init).do: 'sign-everything' is not one of"),
    ("unknown step key", lambda d: d["steps"][0].update(colour="red"),
     "steps[0] (init).colour: unknown key"),
    ("missing token param", lambda d: d["steps"][0].pop("targets-token"),
     "steps[0] (init).targets-token: missing (required)"),
    ("unknown token", lambda d: d["steps"][0].update(**{"root-tokens": ["root-z"]}),
     "steps (init).root-tokens: unknown token 'root-z'"),
    ("unknown reference", lambda d: d["steps"][0].update(request="nothing"),
     "steps (init).request: 'nothing' is not an input or an earlier step"),
    ("wrong kind of reference", lambda d: d["inputs"]["req"].update(kind="public-key"),
     "steps (init).request: 'req' is public-key; expected request"),
    ("threshold as text", lambda d: d["steps"][0].update(**{"root-threshold": "2"}),
     "steps[0] (init).root-threshold: expected a whole number, got text"),
    ("threshold zero", lambda d: d["steps"][0].update(**{"root-threshold": 0}),
     "steps[0] (init).root-threshold: must be at least 1, got 0"),
    ("bad duration", lambda d: d["steps"][0].update(**{"root-expires": "forever"}),
     "steps[0] (init).root-expires: 'forever': use a whole number with a unit"),
    ("output escapes", lambda d: d["steps"][0].update(out="../../etc/x"),
     "steps[0] (init).out: '../../etc/x': outputs are relative paths"),
    ("absolute output", lambda d: d["steps"][0].update(out="/tmp/x"),
     "outputs are relative paths"),
    ("GUN not declared", lambda d: d["steps"][0].update(guns=["other.com/x"]),
     "GUN other.com/x is not among ceremony.guns"),
    ("step id twice", lambda d: d["steps"].append(dict(d["steps"][0], out="b")),
     "steps (init).id: 'init' is already the name of a step"),
    ("output twice", lambda d: d["steps"].append({"id": "v", "do": "verify", "bundle": "init",
                                                  "out": "app.response"}),
     "output 'app.response' is also written by step 'init'"),
    ("forward reference", lambda d: d["steps"].insert(0, {"id": "v", "do": "verify",
                                                          "bundle": "init"}),
     "steps (v).bundle: 'init' is not an input or an earlier step"),
    ("receive without digest", lambda d: d["steps"].append(
        {"id": "r", "do": "transfer-receive", "images": "init", "kind": "request",
         "out": "r.req"}), "steps (r).images: 'init' is response; expected frames"),
    ("both guns and all", lambda d: d["steps"].append(
        {"id": "rot", "do": "rotate-targets", "request": "req", "guns": ["example.com/app"],
         "all": True, "root-tokens": ["root-a"], "targets-token": "targets", "label": "t2",
         "out": "r.resp"}), "give guns or all: true, not both"),
    ("online step machine", lambda d: d["steps"].append(
        {"id": "f", "do": "online-fetch", "machine": "offline"}),
     "steps[1] (f).machine: 'online-fetch' runs on the online machine"),
    ("expect key not allowed", lambda d: d["steps"].append(
        {"id": "v", "do": "verify", "bundle": "init", "expect": {"complete": True}}),
     "steps[1] (v).expect.complete: unknown key"),
    ("check without assertion", lambda d: d.update(checks=[{"gun": "example.com/app"}]),
     "checks[0]: checks nothing"),
    ("check on another GUN", lambda d: d.update(checks=[{"gun": "x.com/y", "root-version": 1}]),
     "checks[0].gun: x.com/y is not among ceremony.guns"),
    ("rehearsal token clash", lambda d: d.update(rehearsal={"tokens": ["root-a"]}),
     "rehearsal.tokens[0]: 'root-a' is already a token of the script"),
    ("setup uses an input", lambda d: d.update(rehearsal={"setup": [
        {"id": "s", "do": "init", "request": "req", "root-tokens": ["root-a"],
         "targets-token": "targets"}]}), "rehearsal.setup (s).request: 'req' is not an input"),
]


@pytest.mark.parametrize("label,change,expected", CASES, ids=[c[0] for c in CASES])
def test_invalid_scripts(label, change, expected, tmp_path):
    assert expected in problem(edit(change), tmp_path)


YAML_CASES = [
    ("alias", "a: &x 1\nb: *x\n", "line 1: YAML anchors (&x) are not allowed"),
    ("billion laughs", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "anchors"),
    ("merge key", "base: {a: 1}\nother:\n  <<: {b: 2}\n", "line 3: merge keys (<<)"),
    ("duplicate key", "format: a\nformat: b\n", "line 2: duplicate key 'format'"),
    ("two documents", "a: 1\n---\nb: 2\n", "invalid YAML"),
    ("deep nesting", "a: " + "[" * 200 + "]" * 200 + "\n", "nested more than"),
    ("python tag", "a: !!python/object/apply:os.system [ls]\n", "could not determine a "
                                                                 "constructor"),
    ("not a mapping", "- 1\n- 2\n", "expected a mapping, got a list"),
    ("empty", "", "empty document"),
    ("tab indentation", "a:\n\t- 1\n", "invalid YAML"),
    ("non-text key", "1: 2\n", "a key must be plain text"),
]


@pytest.mark.parametrize("label,text,expected", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_unsafe_or_ambiguous_yaml(label, text, expected, tmp_path):
    assert expected in problem(text, tmp_path)


def test_huge_and_binary_scripts(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"a: " + b"x" * MAX_SCRIPT_BYTES + b"\n")
    with pytest.raises(ScriptError, match="larger than the limit"):
        read_script(path)
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ScriptError, match="not UTF-8"):
        read_script(path)


def test_every_shipped_script_is_valid():
    for path in [*RUNBOOKS.glob("*.yaml"), ROOT / "ceremony" / "scripts" / "rehearsal.yaml"]:
        script = read_script(path)
        assert script.steps and script.participants


# --- through the command: one line, nothing written ---------------------------------------------

def write(tmp_path, doc: dict, request: bytes | None = b"x") -> tuple:
    room = tmp_path / "room"
    room.mkdir(exist_ok=True)
    script = room / "s.yaml"
    script.write_text(dump(doc))
    if request is not None:
        (room / "app.request").write_bytes(request)
    return room, script


def assert_refused(r, *words):
    assert r.returncode != 0 and r.stderr.count("\n") == 1, r.output
    assert r.stderr.startswith("error: ") and "Traceback" not in r.output
    for word in words:
        assert word in r.stderr, r.stderr


def test_cli_refuses_invalid_script_writing_nothing(tmp_path):
    doc = edit(lambda d: d["steps"][0].update(colour="red"))
    room, script = write(tmp_path, doc)
    ws = tmp_path / "ws"
    r = ceremony("run", str(script), "--yes", "--workspace", str(ws), offline=True)
    assert_refused(r, "steps[0] (init).colour: unknown key")
    assert not ws.exists() and sorted(p.name for p in room.iterdir()) == ["app.request",
                                                                          "s.yaml"]


def test_cli_refuses_input_digest_mismatch_first(tmp_path):
    room, script = write(tmp_path, base(), request=b"not the request")
    ws = tmp_path / "ws"
    r = ceremony("run", str(script), "--yes", "--workspace", str(ws), offline=True)
    digest = hashlib.sha256(b"not the request").hexdigest()
    # the digest is checked before the file is even parsed, and before the air gap
    r2 = ceremony("run", str(script), "--yes", "--workspace", str(ws))
    for result in (r, r2):
        assert_refused(result, "input req", digest, "refusing to go on")
    assert not ws.exists()


def test_cli_refuses_rehearsal_only_steps_for_real(tmp_path):
    r = ceremony("run", str(ROOT / "ceremony" / "scripts" / "rehearsal.yaml"), "--yes",
                 "--workspace", str(tmp_path / "ws"))
    assert_refused(r, "plays the online machine", "--dry-run")
    r = ceremony("run", "--yes", "--workspace", str(tmp_path / "ws"))
    assert_refused(r, "give a SCRIPT")
    assert not (tmp_path / "ws").exists()


def test_cli_refuses_a_missing_input(tmp_path):
    room, script = write(tmp_path, base(), request=None)
    r = ceremony("run", str(script), "--yes", "--workspace", str(tmp_path / "ws"))
    assert_refused(r, "input req", "does not exist")
    assert not (tmp_path / "ws").exists()


def test_a_real_run_needs_a_workspace(tmp_path):
    room, script = write(tmp_path, base())
    r = ceremony("run", str(script), "--yes")
    assert_refused(r, "no workspace")
