"""Every runbook's script rehearsed end to end (`ceremony run --dry-run`), and every runbook
paired with scripts that exist: a runbook cannot silently rot."""

from __future__ import annotations

import json
import re

import pytest

from ceremony.scripts.schema import read_script
from softhsm.env import load_env
from tests.runbooks.conftest import RUNBOOKS, ceremony, final_digest

ALL_SCRIPTS = sorted(p.name for p in RUNBOOKS.glob("*.yaml"))
# Notary v1 scripts rehearse here (their client checks); notation's (notation-*.yaml) in
# tests/notation/test_rehearsals.py, and for real in tests/notation/test_runbooks.py.
SCRIPTS = [name for name in ALL_SCRIPTS if not name.startswith("notation-")]
RUNBOOK_PAGES = sorted(RUNBOOKS.glob("[0-9][0-9]-*.md"))


def scripts_named(page) -> set[str]:
    return set(re.findall(r"runbooks/([a-z0-9-]+\.yaml)", page.read_text()))


def test_every_runbook_has_scripts_and_every_script_a_runbook():
    assert len(RUNBOOK_PAGES) == 13
    named = set()
    for page in RUNBOOK_PAGES:
        mine = scripts_named(page)
        assert mine, f"{page.name} names no script"
        assert all((RUNBOOKS / s).is_file() for s in mine), (page.name, mine)
        named |= mine
    assert named == set(ALL_SCRIPTS)
    for name in ALL_SCRIPTS:  # each script says which runbook it belongs to
        head = (RUNBOOKS / name).read_text().splitlines()[0]
        assert re.match(r"# Runbook \d\d \(runbooks/\d\d-[a-z0-9-]+\.md\)", head), name
        page = RUNBOOKS / head.split("(runbooks/")[1].split(")")[0]
        assert name in scripts_named(page), (name, page.name)


def test_commands_in_runbooks_exist():
    """Every `ceremony ...` command a runbook tells a person to type is a real command."""
    from click.testing import CliRunner

    from ceremony.cli import cli
    seen = set()
    for page in [*RUNBOOK_PAGES, RUNBOOKS / "README.md"]:
        text = page.read_text()
        code = re.findall(r"```sh\n(.*?)```", text, re.S) + re.findall(r"`(ceremony [^`]+)`",
                                                                        text)
        for block in code:
            for line in block.splitlines():
                m = re.match(r"\s*ceremony ((?:[a-z]+)(?: [a-z]+)?)", line)
                if m:
                    seen.add(tuple(m.group(1).split()))
    assert len(seen) >= 8
    runner = CliRunner()
    for words in seen:
        result = runner.invoke(cli, [*words, "--help"])
        if result.exit_code != 0:  # "ceremony run SCRIPT": the second word is an argument
            result = runner.invoke(cli, [words[0], "--help"])
        assert result.exit_code == 0, (words, result.output)


@pytest.mark.parametrize("name", SCRIPTS)
def test_runbook_script_rehearses(name, tmp_path):
    script = read_script(RUNBOOKS / name)
    folder = tmp_path / "rehearsal"
    r = ceremony("run", str(RUNBOOKS / name), "--dry-run", "--yes", "--rehearsal-dir",
                 str(folder))
    assert r.returncode == 0, r.output[-3000:]
    assert "Traceback" not in r.output
    out = r.stdout
    assert f"{script.name}: completed" in out
    for step in script.steps:
        assert f"] {step.id}: " in out, step.id
    assert "own network namespace, loopback only" in out
    if script.checks:
        assert "== Checks" in out and out.count("  OK ") == len(script.checks)
    # the published result was verified by the real client, pinned (Notary v1 scripts)
    if not any(step.do.startswith("tuf-") for step in script.steps):
        assert "real notary client (trust pinning" in out
    if script.rehearsal.transfer == "qr":
        assert out.count("gap crossing:") >= 2 and list((folder / "qr").rglob("*.png"))
    transcript = next((folder / "workspace" / "transcripts").glob("*-run-*.jsonl"))
    v = ceremony("transcript", "verify", str(transcript), "--expect", final_digest(out))
    assert v.returncode == 0, v.output
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert entries[0]["data"]["dry_run"] is True
    assert entries[-1]["data"]["outcome"] == "completed"
    done = [e["data"]["step"] for e in entries if e["kind"] == "step-done"]
    assert done == [s.id for s in (*script.rehearsal.setup, *script.steps)]
    # the real outputs were never written: everything is in the rehearsal folder
    for step in script.steps:
        for rel in step.spec.paths_written(step.params):
            assert not (RUNBOOKS / rel).exists()
            assert (folder / "outputs" / rel).exists(), rel
    env = load_env(folder / "softhsm")
    assert set(env.labels) == {t.label for t in (*script.tokens.values(),
                                                 *script.rehearsal.tokens.values())}
    for label in env.labels:
        pin = env.pin(label)
        assert pin not in r.output
        for path in folder.rglob("*"):
            if path.is_file() and "pins" not in path.parts and "tokens" not in path.parts:
                assert pin.encode() not in path.read_bytes(), path


def test_rehearsal_with_a_real_input_checks_its_digest(tmp_path):
    """A dry run still checks the inputs that are present: a wrong file is refused."""
    folder = tmp_path / "room"
    folder.mkdir()
    text = (RUNBOOKS / "signer-add.yaml").read_text()
    (folder / "signer-add.yaml").write_text(text)
    (folder / "alice.pub").write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n")
    r = ceremony("run", str(folder / "signer-add.yaml"), "--dry-run", "--yes",
                 "--rehearsal-dir", str(tmp_path / "reh"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.output
    assert "input alice-key" in r.stderr
    assert not (tmp_path / "reh").exists()


@pytest.mark.parametrize("allow", [False, True])
def test_a_scripted_renewal_that_shortens_needs_allow_shorter(allow, tmp_path):
    """A script cannot type `shorten`: an earlier expiry is confirmed by `allow-shorter: true`
    in the script itself (whose digest the officer checks), or the step is refused."""
    import yaml
    script = yaml.safe_load((RUNBOOKS / "renew-root.yaml").read_text())
    renew = script["steps"][0]
    renew["expires"] = "30d"  # the rehearsal's root expires in 120 days: this moves it earlier
    if allow:
        renew["allow-shorter"] = True
    script["checks"] = []
    path = tmp_path / "renew-shorter.yaml"
    path.write_text(yaml.safe_dump(script, sort_keys=False))
    r = ceremony("run", str(path), "--dry-run", "--yes", "--rehearsal-dir",
                 str(tmp_path / "rehearsal"))
    if allow:
        assert r.returncode == 0, r.output[-3000:]
        assert ": completed" in r.stdout and "Traceback" not in r.output
    else:
        assert r.returncode == 1, r.output[-3000:]
        assert "allow-shorter" in r.stderr.splitlines()[-1], r.stderr[-2000:]
