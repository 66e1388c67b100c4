"""An interrupted script run is resumed or cleanly abandoned, as its transcript says: killed
(SIGKILL, like a power cut) between steps or inside one, or stopped by a failing step."""

from __future__ import annotations

import json
import shutil

import pytest

from ceremony.workspace import Workspace
from tests.runbooks.conftest import (
    ceremony,
    fetch,
    fill_digest,
    final_digest,
    pinned_client,
    publish,
    script_copy,
)

pytestmark = pytest.mark.notary
KILL = "CEREMONY_FAULT_INJECT"


def prepared(server, tmp_path, gun):
    room = tmp_path / "ceremony"
    script = script_copy("first-ceremony.yaml", room)
    script.write_text(script.read_text().replace("example.com/app", gun))
    fill_digest(script, fetch(server, room / "app-init.request", gun))
    return room, script


def kinds(site, path=None):
    return [e["kind"] for e in site.entries(path)]


def test_killed_between_steps_then_resumed(server, site, tmp_path):
    gun = "example.com/resume-between"
    room, script = prepared(server, tmp_path, gun)
    r = site.run(script, env={KILL: "run.step.done:2"})  # after init and verify are done
    assert r.returncode == -9, r.output
    transcript = site.transcripts()[-1]
    assert ceremony("transcript", "verify", str(transcript)).returncode == 1
    assert ceremony("transcript", "verify", str(transcript), "--allow-open").returncode == 0
    # a fresh start is refused while the interrupted run is open
    r = site.run(script)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "interrupted run" in r.stderr and "--resume" in r.stderr
    response = (room / "app-init.response").read_bytes()
    r = site.run(script, "--resume")
    assert r.returncode == 0, r.output
    assert r.stdout.count("already done before the interruption; outputs verified") == 2
    assert (room / "app-init.response").read_bytes() == response  # not signed again
    assert (room / "to-online" / "app-init.response").read_bytes() == response
    assert "logins" not in r.stdout.split("== Step 3/4")[0].split("== Step 1/4")[1]
    seen = kinds(site, transcript)
    assert seen.count("step-skipped") == 2 and "resume" in seen and seen[-1] == "end"
    assert seen.count("review") == 1  # one signing only, before the interruption
    v = ceremony("transcript", "verify", str(transcript), "--expect", final_digest(r.stdout))
    assert v.returncode == 0, v.output
    publish(server, room / "to-online" / "app-init.response")
    client = pinned_client(server, tmp_path / "c", room / "app-pins" / "trust-pinning.json")
    assert "No targets present" in client.run("list", gun).stdout


def test_killed_after_the_response_before_the_workspace(server, site, tmp_path):
    gun = "example.com/resume-inside"
    room, script = prepared(server, tmp_path, gun)
    r = site.run(script, env={KILL: "workspace.commit.built:1"})
    assert r.returncode == -9, r.output
    assert (room / "app-init.response").exists()
    assert Workspace.open(site.workspace).latest_root_version(gun) is None
    r = site.run(script, "--resume")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.output
    assert "move that file aside (do not publish it)" in r.stderr
    shutil.move(room / "app-init.response", tmp_path / "set-aside.response")
    r = site.run(script, "--resume")
    assert r.returncode == 0, r.output
    assert "REUSED (it was already on the token)" in r.stdout  # the keys made before the kill
    assert Workspace.open(site.workspace).latest_root_version(gun) == 1
    publish(server, room / "to-online" / "app-init.response")
    client = pinned_client(server, tmp_path / "c", room / "app-pins" / "trust-pinning.json")
    assert "No targets present" in client.run("list", gun).stdout


def test_failing_step_then_resume(server, site, tmp_path):
    gun = "example.com/resume-failed"
    room, script = prepared(server, tmp_path, gun)
    (room / "to-online").write_text("a file in the way of step send's folder")
    r = site.run(script)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.output
    assert r.stderr.startswith("error: step send (transfer-send): ")
    assert "--resume" in r.stderr and "Traceback" not in r.output
    entries = site.entries()
    failed = [e for e in entries if e["kind"] == "step-failed"]
    assert [e["data"]["step"] for e in failed] == ["send"] and entries[-1]["kind"] != "end"
    (room / "to-online").unlink()
    r = site.run(script, "--resume")
    assert r.returncode == 0, r.output
    assert r.stdout.count("outputs verified: skipped") == 3


def test_changed_output_refuses_resume_then_abandon(server, site, tmp_path):
    gun = "example.com/abandoned"
    room, script = prepared(server, tmp_path, gun)
    r = site.run(script, env={KILL: "run.step.done:1"})
    assert r.returncode == -9
    response = room / "app-init.response"
    response.write_bytes(response.read_bytes().replace(b'"kind"', b'"kind" '))
    r = site.run(script, "--resume")
    assert r.returncode == 1 and "app-init.response of step init is missing or changed" in \
        r.stderr, r.output
    r = site.run(script, "--abandon")
    assert r.returncode == 0, r.output
    assert "steps done before: init" in r.stdout
    transcript = site.transcripts()[-1]
    v = ceremony("transcript", "verify", str(transcript), "--json")
    assert v.returncode == 0 and json.loads(v.stdout)["outcome"] == "abandoned"
    r = site.run(script, "--resume")
    assert r.returncode == 1 and "nothing to resume" in r.stderr
    r = site.run(script)  # a new run: its outputs exist, refused before anything
    assert r.returncode == 1 and "already exists" in r.stderr


def test_typed_answers_a_no_at_the_review_then_resume(server, site, tmp_path):
    gun = "example.com/typed"
    room, script = prepared(server, tmp_path, gun)
    r = site.run(script, answers="no\n")  # at the start: nothing begins
    assert r.returncode == 1 and "not confirmed" in r.stderr and not site.workspace.exists()
    r = site.run(script, answers="yes\nno\n")  # begins, then refuses the review of init
    # The one prompt reader ends each prompt's line for a piped answer: two prompts, then the
    # error on its own line.
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 3, r.output
    assert lines[-1].startswith("error: step init (init): not confirmed")  # after the prompts
    assert not (room / "app-init.response").exists()
    r = site.run(script, "--resume", answers="yes\n")
    assert r.returncode == 0, r.output
    confirmations = [e["data"] for e in site.entries() if e["kind"] == "confirmation"]
    assert [c["via"] for c in confirmations] == ["typed", "typed", "typed"]
    assert [c["answer"] for c in confirmations] == ["yes", "no", "yes"]


def test_rehearsal_cannot_resume(tmp_path):
    r = ceremony("run", "--dry-run", "--resume")
    assert r.returncode == 1 and "cannot be resumed" in r.stderr
