"""Script fields read through the tool's one strict reader (groundfloor.strictjson), in the
scripts' words: each refusal is one line naming the field's path and what to write instead.
Scripts are real YAML text, so YAML's own types (dates, decimals, yes/no) are what is refused."""

from __future__ import annotations

import pytest

from ceremony.scripts import fields as f
from ceremony.scripts.yamlread import ScriptError
from tests.runbooks.test_scripts import base, dump, edit, problem

NAME_LINE = "  name: Test\n"


def with_line(old: str, new: str, doc: dict | None = None) -> str:
    """The YAML text of a valid script with one line written as a person might type it."""
    text = dump(doc or base())
    assert text.count(old) == 1, text
    return text.replace(old, new)


@pytest.mark.parametrize("written, found", [
    ("2026-12-05", "a date (write it in quotes)"),
    ("2026-12-05 10:00:00", "a date (write it in quotes)"),
    ("1.5", "a decimal number"),
    ("12", "a number"),
    ("yes", "a boolean (true/false)"),
    ("null", "nothing (null)"),
    ("[a, b]", "a list"),
    ("{a: b}", "a mapping"),
])
def test_text_refuses_what_yaml_made_of_an_unquoted_value(written, found, tmp_path):
    message = problem(with_line(NAME_LINE, f"  name: {written}\n"), tmp_path)
    assert message == f"script s.yaml: ceremony.name: expected text, got {found}"


def test_a_whole_number_refuses_a_decimal_and_text(tmp_path):
    doc = edit(lambda d: d["steps"][0].update(**{"root-threshold": 1}))
    assert problem(with_line("root-threshold: 1\n", "root-threshold: 1.5\n", doc),
                   tmp_path).endswith(
        "steps[0] (init).root-threshold: expected a whole number, got a decimal number")
    assert problem(with_line("root-threshold: 1\n", "root-threshold: 'one'\n", doc),
                   tmp_path).endswith(
        "steps[0] (init).root-threshold: expected a whole number, got text")


def test_bounds_name_the_limit_and_the_value(tmp_path):
    low = edit(lambda d: d.update(checks=[{"gun": "example.com/app", "root-version": 0}]))
    assert problem(low, tmp_path).endswith("checks[0].root-version: must be at least 1, got 0")
    high = edit(lambda d: d.update(checks=[{"gun": "example.com/app",
                                            "root-version": 1_000_001}]))
    assert problem(high, tmp_path).endswith(
        "checks[0].root-version: 1000001 is larger than 1000000, the most allowed here")


def test_a_flag_wants_true_or_false(tmp_path):
    doc = edit(lambda d: d["steps"][0].update(partial="yes"))
    assert problem(doc, tmp_path).endswith(
        "steps[0] (init).partial: expected true or false, got text")


def test_a_missing_key_is_named_before_an_unknown_one(tmp_path):
    both = edit(lambda d: (d["steps"][0].pop("targets-token"), d["steps"][0].update(colour=1)))
    assert problem(both, tmp_path).endswith("steps[0] (init).targets-token: missing (required)")
    top = edit(lambda d: (d.pop("steps"), d.update(extra=1)))
    assert problem(top, tmp_path).endswith("script s.yaml: steps: missing (required)")


def test_an_unknown_key_lists_the_keys_allowed_there_sorted(tmp_path):
    assert problem(edit(lambda d: d.update(extra=1)), tmp_path) == (
        "script s.yaml: extra: unknown key (allowed here: ceremony, checks, format, inputs, "
        "module, participants, rehearsal, steps, tokens)")
    assert problem(edit(lambda d: d["ceremony"].update(date="x")), tmp_path) == (
        "script s.yaml: ceremony.date: unknown key (allowed here: guns, name, purpose, "
        "reference)")


def test_a_choice_lists_its_names_sorted_and_names_what_was_found(tmp_path):
    assert problem(edit(lambda d: d.update(rehearsal={"transfer": "ftp"})), tmp_path) \
        .endswith("rehearsal.transfer: 'ftp' is not one of file, qr")
    assert problem(edit(lambda d: d["inputs"]["req"].update(kind=5)), tmp_path).endswith(
        "inputs.req.kind: expected one of certificate, file, frames, public-key, request, "
        "response, got a number")
    listed = problem(edit(lambda d: d["steps"][0].update(do="sign-everything")), tmp_path)
    names = listed.split("is not one of ", 1)[1].split(", ")
    assert names == sorted(names) and "init" in names and "rotate-root" in names


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(participants=[]),
     "participants: expected a list of at least one person ({name: ..., role: ...}), got an "
     "empty list"),
    (lambda d: d.update(participants={"name": "Alice"}),
     "participants: expected a list of at least one person ({name: ..., role: ...}), got a "
     "mapping"),
    (lambda d: d.update(inputs=["req"]),
     "inputs: expected a mapping of names to inputs, got a list"),
    (lambda d: d.update(tokens="root-a"),
     "tokens: expected a mapping of names to tokens, got text"),
    (lambda d: d.update(steps={"id": "init"}), "steps: expected a list of steps, got a mapping"),
    (lambda d: d.update(steps=[5]), "steps[0]: expected a step mapping, got a number"),
    (lambda d: d.update(checks={"gun": "example.com/app"}), "checks: expected a list, got a "
                                                            "mapping"),
    (lambda d: d["ceremony"].update(guns="example.com/app"),
     "ceremony.guns: expected a list, got text"),
])
def test_the_shape_of_each_part_is_named(change, expected, tmp_path):
    assert problem(edit(change), tmp_path) == f"script s.yaml: {expected}"


def test_the_readers_used_by_the_action_tables():
    with pytest.raises(ScriptError, match=r"^x: expected a whole number, got a boolean "
                                          r"\(true/false\)$"):
        f.integer(True, "x")
    with pytest.raises(ScriptError, match=r"^e\.versions\.root: must be at least 1, got 0$"):
        f.versions({"root": 0}, "e.versions")
    with pytest.raises(ScriptError, match="^e.versions: expected a mapping of role to version, "
                                          "got a list$"):
        f.versions(["root"], "e.versions")
    with pytest.raises(ScriptError, match=r"^l: more than 10000 items$"):
        f.listed(f.name)(["a"] * 10_001, "l")
    with pytest.raises(ScriptError, match=r"^l\[1\]: 'a' is listed twice$"):
        f.listed(f.name)(["a", "a"], "l")
    with pytest.raises(ScriptError, match=r"^n: 'A' is not a name: lowercase letters"):
        f.name("A", "n")
    with pytest.raises(ScriptError, match=r"^k: 'a b' is not a key label"):
        f.key_label("a b", "k")
    with pytest.raises(ScriptError, match=r"^g: expected a GUN, got a number$"):
        f.gun(5, "g")
    with pytest.raises(ScriptError, match=r"^t: longer than 200 characters$"):
        f.text("x" * 201, "t")
    with pytest.raises(ScriptError, match=r"^t: is empty$"):
        f.text("  ", "t")
    assert f.integer(7, "x", minimum=1, maximum=7) == 7
    assert f.choice(("b", "a"))("a", "c") == "a"
    assert f.versions({"root": 2, "targets/x": 3}, "v") == {"root": 2, "targets/x": 3}
