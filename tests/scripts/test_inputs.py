"""A script's inputs before anything else: an absent one is refused for real, and only noted in
a rehearsal (which makes a stand-in for a file, its own frames for a folder of images)."""

from __future__ import annotations

import pytest

from ceremony.scripts.checks import check_inputs
from ceremony.scripts.schema import read_script
from ceremony.scripts.yamlread import ScriptError
from tests.runbooks.test_scripts import dump, edit


def script_in(tmp_path, doc: dict):
    path = tmp_path / "s.yaml"
    path.write_text(dump(doc))
    return read_script(path)


def with_frames(d: dict) -> None:
    d["inputs"] = {"imgs": {"kind": "frames", "path": "imgs"}, **d["inputs"]}  # read first


def test_an_absent_file_is_refused_for_real_and_noted_in_a_rehearsal(tmp_path):
    script = script_in(tmp_path, edit(lambda d: None))
    with pytest.raises(ScriptError) as refused:
        check_inputs(script, dry_run=False)
    assert str(refused.value) == (f"input req: {tmp_path / 'app.request'} does not exist or is "
                                  "not a file")
    assert check_inputs(script, dry_run=True) == ({}, [
        f"input req: {tmp_path / 'app.request'} is not here yet (the rehearsal makes a "
        "stand-in)"])


def test_a_folder_where_a_file_belongs_is_refused(tmp_path):
    (tmp_path / "app.request").mkdir()
    with pytest.raises(ScriptError, match="does not exist or is not a file$"):
        check_inputs(script_in(tmp_path, edit(lambda d: None)), dry_run=False)


def test_absent_frames_are_refused_for_real_and_made_in_a_rehearsal(tmp_path):
    script = script_in(tmp_path, edit(with_frames))
    with pytest.raises(ScriptError) as refused:
        check_inputs(script, dry_run=False)
    assert str(refused.value) == f"input imgs: {tmp_path / 'imgs'} does not exist"
    produced, notes = check_inputs(script, dry_run=True)
    assert produced == {} and notes == [
        f"input imgs: {tmp_path / 'imgs'} is not here yet (the rehearsal makes its own "
        "frames)",
        f"input req: {tmp_path / 'app.request'} is not here yet (the rehearsal makes a "
        "stand-in)"]


def test_present_frames_are_taken_as_they_are(tmp_path):
    (tmp_path / "imgs").mkdir()
    produced, notes = check_inputs(script_in(tmp_path, edit(with_frames)), dry_run=True)
    assert notes == [f"input req: {tmp_path / 'app.request'} is not here yet (the rehearsal "
                     "makes a stand-in)"]
    assert list(produced) == ["imgs"] and produced["imgs"].kind == "frames" \
        and produced["imgs"].path == tmp_path / "imgs"
