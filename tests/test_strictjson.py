"""groundfloor.strictjson: the one strict JSON reader of bundles, transcripts and the Notary
model. Each refusal is one line naming the field's path; each format keeps its error class."""

from __future__ import annotations

import re

import pytest

from groundfloor.errors import GroundFloorError
from groundfloor.strictjson import Reader, StrictJSONError, json_type, loads, read_document


class FormatError(Exception):
    """A format's own error class, as bundles and transcripts have theirs."""


def fail(where: str, problem: str) -> FormatError:
    return FormatError(f"{where}: {problem}")


READ = Reader(fail)
MODEL_STYLE = Reader(fail, key_in_path=True, unknown_hint=" (not written by the format)")


# --- parsing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    ('{"a":1,"a":2}', "duplicate key 'a'"),
    ('{"b":{"c":1,"c":1}}', "duplicate key 'c'"),
    ('{"a":1.5}', "number '1.5' has a fraction or exponent"),
    ('{"a":1e5}', "number '1e5' has a fraction or exponent"),
    ('{"a":NaN}', "NaN is not a JSON number"),
    ('{"a":-Infinity}', "-Infinity is not a JSON number"),
    ('{"a":' + "9" * 20 + "}", "is too large"),
])
def test_loads_refuses(text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        loads(text)


def test_loads_reads_finite_floats_only_where_asked():
    assert loads('{"a":1.5,"b":[1,2]}', floats=True) == {"a": 1.5, "b": [1, 2]}
    with pytest.raises(ValueError, match="out of range"):
        loads('{"a":1e400}', floats=True)
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        loads('{"a":NaN}', floats=True)
    assert loads("[" + "9" * 30 + "]", max_int_digits=None) == [int("9" * 30)]


@pytest.mark.parametrize("data, problem", [
    (b"", "doc is empty"),
    (b" \n", "doc is empty"),
    (b'{"a":"\xc3\xa9"}', "doc has a non-ASCII byte at offset 6"),
    (b'{"a":[1,2', "doc is truncated"),
    (b'{"a" 1}', "doc is not valid JSON (Expecting ':' delimiter, byte 5)"),
    (b'{"a":1,"a":1}', "doc has a duplicate key 'a'"),
    (b"[" * 100_000 + b"]" * 100_000, "doc is nested too deeply"),
    (b'{"a":0.5}', "doc: number '0.5' has a fraction or exponent"),
])
def test_read_document_names_the_document_and_the_problem(data, problem):
    with pytest.raises(FormatError) as info:
        read_document(data, "doc", error=FormatError)
    assert problem in str(info.value)
    assert "\n" not in str(info.value)


def test_read_document_refuses_an_over_costly_document_before_parsing():
    with pytest.raises(GroundFloorError, match="would take about"):
        read_document(b"[" + b"[]," * 1_200_000 + b"[]]", "doc")


# --- fields -------------------------------------------------------------------------------------

def test_fields_names_the_first_missing_then_the_first_unknown():
    with pytest.raises(FormatError, match=r"^top: missing field 'b'$"):
        READ.fields({"a": 1}, "top", ("a", "b"))
    with pytest.raises(FormatError, match=r"^top: unknown field 'x'$"):
        READ.fields({"a": 1, "b": 2, "z": 3, "x": 4}, "top", ("a", "b"))
    assert READ.fields({"a": 1, "o": 2}, "top", ("a",), ("o",)) == {"a": 1, "o": 2}
    assert READ.fields({"a": 1}, "top", ("a",), ("o",)) == {"a": 1}


def test_fields_in_the_model_style_name_the_key_in_the_path():
    with pytest.raises(FormatError, match=r"^signed\.expires: missing field$"):
        MODEL_STYLE.fields({}, "signed", ("expires",))
    with pytest.raises(FormatError,
                       match=r"^signed\.x: unknown field \(not written by the format\)$"):
        MODEL_STYLE.fields({"expires": 1, "x": 2}, "signed", ("expires",))


@pytest.mark.parametrize("call, message", [
    (lambda: READ.mapping([], "a"), "a: expected an object, got an array"),
    (lambda: READ.string(None, "a"), "a: expected a string, got null"),
    (lambda: READ.string("x" * 11, "a", max_len=10), "a: longer than 10 characters"),
    (lambda: READ.string("a\x1bb", "a", printable=True), "a: must be printable"),
    (lambda: READ.string("Ab", "a", pattern=re.compile("[a-z]+"), like="lowercase"),
     "a: 'Ab' is not lowercase"),
    (lambda: READ.integer(True, "n"), "n: expected an integer, got a boolean"),
    (lambda: READ.integer("1", "n"), "n: expected an integer, got a string"),
    (lambda: READ.integer(0, "n", minimum=1), "n: must be at least 1, got 0"),
    (lambda: READ.integer(2**53 + 1, "n", maximum=2**53, too_large="2**53"),
     f"n: {2**53 + 1} is larger than 2**53"),
    (lambda: READ.boolean(0, "b"), "b: expected a boolean, got an integer"),
    (lambda: READ.array({}, "l"), "l: expected an array, got an object"),
    (lambda: READ.array([1, 2, 3], "l", max_items=2, items="repositories"),
     "l: more than 2 repositories"),
    (lambda: READ.strings(["a", 1], "ids"), "ids[1]: expected a string, got an integer"),
    (lambda: READ.choice("rsa", "alg", ("ecdsa", "ed25519")),
     "alg: 'rsa' is not one of ecdsa, ed25519"),
    (lambda: READ.hex("AB" * 32, "d", length=64), "d: must be 64 lowercase hex digits"),
    (lambda: READ.hex(5, "d", length=64), "d: must be 64 lowercase hex digits"),
    (lambda: READ.base64("%%%%", "b", limit=10), "b: not valid base64"),
    (lambda: READ.base64("cx==", "b", limit=10), "b: base64 is not in canonical form"),
    (lambda: READ.base64("QUFBQUFB", "b", limit=3), "b: more than the limit of 3 bytes"),
    (lambda: READ.json_value({"a": [1.5]}, "v", max_depth=4),
     "v: numbers with a fraction or exponent are not allowed"),
    (lambda: READ.json_value([[[[]]]], "v", max_depth=2), "v: nested more than 2 levels deep"),
    (lambda: READ.json_value({1: 2}, "v", max_depth=2), "v: object keys must be strings"),
    (lambda: READ.json_value({"a": b"x"}, "v", max_depth=2), "v: bytes is not a JSON value"),
])
def test_each_refusal_is_one_line_naming_the_path(call, message):
    with pytest.raises(FormatError) as info:
        call()
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_values_that_fit_come_back_as_they_are():
    assert READ.base64("AAE=", "b", limit=2) == b"\x00\x01"
    assert READ.hex("ab" * 32, "d", length=64) == "ab" * 32
    assert READ.integer(7, "n", minimum=0, maximum=7) == 7
    assert READ.strings(["a", "b"], "l") == ["a", "b"]
    assert READ.json_value({"a": [1, None, "x", True]}, "v", max_depth=2) \
        == {"a": [1, None, "x", True]}
    assert READ.json_value({"a": 1.5}, "v", max_depth=2, floats=True) == {"a": 1.5}


def test_the_default_error_keeps_where_and_problem_apart():
    with pytest.raises(StrictJSONError) as info:
        Reader().integer("x", "a.b")
    assert (info.value.where, info.value.problem) == ("a.b", "expected an integer, got a string")
    assert str(info.value) == "a.b: expected an integer, got a string"


def test_a_reader_may_name_values_in_its_own_words():
    yaml_words = Reader(fail, describe=lambda v: "text" if isinstance(v, str) else json_type(v))
    with pytest.raises(FormatError, match="^n: expected an integer, got text$"):
        yaml_words.integer("5", "n")


def test_a_reader_may_word_missing_and_unknown_keys_its_own_way():
    script = Reader(fail, key_in_path=True, missing="missing (required)", unknown="unknown key",
                    list_allowed=True)
    with pytest.raises(FormatError, match=r"^step\.gun: missing \(required\)$"):
        script.fields({}, "step", ("gun",), ("out",))
    with pytest.raises(FormatError,
                       match=r"^step\.x: unknown key \(allowed here: gun, out\)$"):
        script.fields({"gun": "a", "x": 1}, "step", ("gun",), ("out",))
    yaml_words = Reader(fail, describe=lambda v: "text" if isinstance(v, str) else json_type(v))
    with pytest.raises(FormatError, match="^n: expected a whole number, got text$"):
        yaml_words.integer("5", "n", what="a whole number")
    with pytest.raises(FormatError, match="^b: expected true or false, got an integer$"):
        yaml_words.boolean(1, "b", what="true or false")
