"""ceremony.guns belongs to Notary v1: a script needs it only when a step works on Notary v1
repositories (an action taking `gun`/`guns`) or checks name one; a TUF 1.0 or Notation script
has none, and one given there is refused with one line."""

from __future__ import annotations

import pytest
import yaml

from ceremony.scripts.schema import read_script
from tests.runbooks.conftest import RUNBOOKS, ceremony
from tests.runbooks.test_scripts import assert_refused, base, dump, edit, problem, write

NO_NOTARY_STEP = ["tuf-root-ceremony.yaml", "tuf-cosign-root-site-a.yaml",
                  "tuf-cosign-root-site-b.yaml", "notation-root-ca.yaml",
                  "notation-issue.yaml", "notation-sign.yaml", "notation-revoke.yaml"]


def shipped(name: str) -> dict:
    return yaml.safe_load((RUNBOOKS / name).read_text())


@pytest.mark.parametrize("name", NO_NOTARY_STEP)
def test_tuf_and_notation_scripts_carry_no_gun(name, tmp_path):
    assert "guns" not in shipped(name)["ceremony"]
    assert read_script(RUNBOOKS / name).guns == ()
    doc = shipped(name)
    doc["ceremony"]["guns"] = ["example.com/app"]
    assert problem(doc, tmp_path).endswith(
        "ceremony.guns: this script has no Notary v1 step (no action takes a GUN): remove "
        "ceremony.guns")


def test_a_notary_step_still_needs_the_guns(tmp_path):
    doc = edit(lambda d: d["ceremony"].pop("guns"))
    assert "ceremony.guns: missing (required: step 'init' (init) works on Notary v1 " \
        "repositories)" in problem(doc, tmp_path)


def test_checks_need_the_guns_they_name(tmp_path):
    doc = edit(lambda d: (d["ceremony"].pop("guns"),
                          d.update(checks=[{"gun": "example.com/app", "root-version": 1}])))
    doc["steps"] = [{"id": "m", "do": "merge", "a": "x", "b": "y", "out": "m.response"}]
    message = problem(doc, tmp_path)
    assert "ceremony.guns: missing (required: checks works on Notary v1" in message


def test_a_script_of_steps_for_any_system_may_keep_its_guns(tmp_path):
    """transfer-only scripts written before TUF and notation named GUNs: still read."""
    doc = base()
    doc["steps"] = [{"id": "m", "do": "merge", "a": "req", "b": "req", "out": "m.response"}]
    doc["inputs"]["req"]["kind"] = "response"
    path = tmp_path / "s.yaml"
    path.write_text(dump(doc))
    assert read_script(path).guns == ("example.com/app",)


def test_a_notary_script_with_guns_reads_as_before(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(dump(base()))
    assert read_script(path).guns == ("example.com/app",)


def test_the_command_refuses_a_gun_in_a_tuf_script_writing_nothing(tmp_path):
    doc = shipped("tuf-root-ceremony.yaml")
    doc["ceremony"]["guns"] = ["example.com/app"]
    room, script = write(tmp_path, doc, request=None)
    ws = tmp_path / "ws"
    r = ceremony("run", str(script), "--yes", "--workspace", str(ws), offline=True)
    assert_refused(r, "ceremony.guns: this script has no Notary v1 step")
    assert not ws.exists() and [p.name for p in room.iterdir()] == ["s.yaml"]
