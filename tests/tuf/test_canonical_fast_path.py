"""The canonical-JSON fast path (json.dumps through the C encoder, used for files read
strictly) against securesystemslib's own encoder, byte for byte, on hostile strings: every
control character, backslash and quote runs, escapes that look like escapes, non-ASCII, and
random documents. Where the fast path cannot be exact it must fall back, not guess."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.formats import encode_canonical as sslib_canonical

from ceremony.tuf.canonical import (
    encode_canonical,
    encode_canonical_parsed,
    fast_path_is_exact,
    load_json,
)
from ceremony.tuf.errors import TufFormatError

HOSTILE = [
    "", "plain", '"', "\\", '\\"', '"\\', "\\\\", '\\\\"', "\\n", "\\\\n", "\\\n", "\\u0041",
    "\\\\u0041", "\\/", "/", "\x7f", "\u2028\u2029", "é ☃ 𝄞", "\ufeff", "\x00", "a\nb",
    "\\\x1f", '"\n"', "\\" * 7 + "n", "\\" * 8 + "\t", "end\\",
] + [chr(code) for code in range(0x20)] + [f"x\\{chr(code)}y" for code in range(0x20)]


def as_file(value: object) -> bytes:
    """A metadata-like file holding `value`, written as python-tuf writes (ASCII escapes)."""
    return json.dumps({"signed": value}, indent=1, sort_keys=True).encode()


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_give_securesystemslibs_bytes(text):
    value = {text: [text, {"k": text}], "z" + text: 1, "version": 2}
    expected = sslib_canonical(value).encode("utf-8")
    assert encode_canonical(value) == expected
    assert encode_canonical_parsed(value) == expected
    # ... and after a round trip through a file (where the reader, not Python, made the value)
    parsed = load_json(as_file(value))["signed"]
    assert encode_canonical_parsed(parsed) == expected


def test_fast_path_is_taken_only_when_exact():
    # what json.dumps(ensure_ascii=False) writes for: a quote, a backslash, both, a newline,
    # a backslash then "n", and a backslash then a newline
    assert fast_path_is_exact('{"a":"plain é"}')
    assert fast_path_is_exact(json.dumps('"\\', ensure_ascii=False))
    assert fast_path_is_exact(json.dumps("\\n", ensure_ascii=False))
    assert not fast_path_is_exact(json.dumps("\n", ensure_ascii=False))
    assert not fast_path_is_exact(json.dumps("\\\n", ensure_ascii=False))
    assert not fast_path_is_exact(json.dumps("\x1f", ensure_ascii=False))


def test_lone_surrogate_is_refused_on_both_paths():
    with pytest.raises(TufFormatError, match="surrogate"):
        load_json(b'{"a": "\\ud800"}')
    with pytest.raises(TufFormatError, match="surrogate"):
        encode_canonical_parsed({"a": "\ud800"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_documents_match_securesystemslib(value):
    try:
        expected = sslib_canonical(value).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no UTF-8 form; ours refuse them too
        with pytest.raises(TufFormatError):
            encode_canonical_parsed(value)
        return
    assert encode_canonical_parsed(value) == expected
    assert encode_canonical(value) == expected
