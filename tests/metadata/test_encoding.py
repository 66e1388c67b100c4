"""The byte format, checked against a second, deliberately naive encoder written from the Go
source (docker/go canonical/json encode.go: `string`, map key sorting, HTML escaping in
`compact`) and against hand-written vectors."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.notary.format.encoding import (
    EncodingError,
    b64decode,
    b64encode,
    canonical_json,
    envelope,
    format_time,
    go_string,
    html_escape,
    is_verbatim_canonical,
    parse_json,
    parse_time,
)

# --- a reference encoder, transcribed from Go -----------------------------------------------------


def go_canonical(value) -> bytes:
    """encodeState with canonical=true: only \\ and " escaped, bytes >= 0x80 raw, maps sorted."""
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str):
        out = bytearray(b'"')
        for byte in value.encode("utf-8"):
            if byte in (0x5C, 0x22):
                out += b"\\" + bytes([byte])
            else:
                out.append(byte)
        return bytes(out + b'"')
    if isinstance(value, list):
        return b"[" + b",".join(go_canonical(v) for v in value) + b"]"
    items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8"))  # sort.Strings: bytes
    return b"{" + b",".join(go_canonical(k) + b":" + go_canonical(v) for k, v in items) + b"}"


def go_compact_escape(data: bytes) -> bytes:
    """HTMLEscape as compact(escape=true) applies it to a json.RawMessage."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c in b"<>&":
            out += b"\\u00" + f"{c:02x}".encode()
        elif c == 0xE2 and data[i + 1:i + 2] == b"\x80" and data[i + 2:i + 3] in (b"\xa8",
                                                                                  b"\xa9"):
            out += b"\\u202" + (b"8" if data[i + 2] == 0xA8 else b"9")
            i += 2
        else:
            out.append(c)
        i += 1
    return bytes(out)


# Strings Notary can carry: no control characters, no lone surrogates.
text = st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=0x20), max_size=12) | \
    st.sampled_from(["<", ">", "&", "\u2028", "\u2029", '"', "\\", "é", "𝄞", "\x7f", "\ufeff"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children,
                                                                       max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_bytes_equal_the_go_transcription(value):
    assert canonical_json(value) == go_canonical(value)
    assert html_escape(canonical_json(value)) == go_compact_escape(go_canonical(value))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_verbatim_fast_path_only_claims_canonical_bytes(value):
    canonical = canonical_json(value)
    segment = html_escape(canonical)
    parsed = parse_json(segment, "x")
    if is_verbatim_canonical(segment, parsed.unsorted_objects):
        assert segment == canonical
    assert parse_json(segment, "x").value == value


def test_sorting_is_by_utf8_bytes():
    keys = ["z", "Z", "é", "\uffff", "𝄞", "a", "", "ab"]
    out = canonical_json(dict.fromkeys(keys, 0))
    assert out == b'{"":0,"Z":0,"a":0,"ab":0,"z":0,"\xc3\xa9":0,"\xef\xbf\xbf":0,' \
                  b'"\xf0\x9d\x84\x9e":0}'


def test_escaping_inside_and_outside_the_signed_part():
    value = {"k": 'a<b>&c"d\\e\u2028f\u2029g é'}
    assert canonical_json(value) == '{"k":"a<b>&c\\"d\\\\e\u2028f\u2029g é"}'.encode()
    assert html_escape(canonical_json(value)) == \
        b'{"k":"a\\u003cb\\u003e\\u0026c\\"d\\\\e\\u2028f\\u2029g \xc3\xa9"}'
    # Go's json.Marshal (not canonical) for the envelope strings
    assert go_string("a<b>&\n\r\t\x08\x0c\x01\u2028\"\\é") == \
        '"a\\u003cb\\u003e\\u0026\\n\\r\\t\\u0008\\u000c\\u0001\\u2028\\"\\\\é"'
    file = envelope(b'{"a":"<"}', [("id", "ecdsa", "c2ln")])
    assert file == b'{"signed":{"a":"\\u003c"},"signatures":[{"keyid":"id","method":"ecdsa",' \
                   b'"sig":"c2ln"}]}'


def test_control_characters_cannot_be_encoded():
    for bad in ("a\nb", "\x00", "\x1f"):
        try:
            canonical_json({"targets": {bad: 1}})
        except EncodingError as exc:
            assert "control character" in str(exc)
        else:  # pragma: no cover
            raise AssertionError(bad)
    try:
        canonical_json({"x": "\ud800"})
    except EncodingError as exc:
        assert "x: contains an unpaired UTF-16 surrogate" in str(exc)


def test_times_as_go_writes_them():
    for text, ns in (("1970-01-01T00:00:00Z", 0),
                     ("2036-11-19T02:45:41.232111075Z", 2110675541232111075),
                     ("2036-11-19T02:45:41.2Z", 2110675541200000000),
                     ("2029-11-21T02:45:53.80708Z", 1889923553807080000),
                     ("0001-01-01T00:00:00Z", -62135596800 * 10**9),
                     ("9999-12-31T23:59:59.999999999Z", 253402300799999999999)):
        assert parse_time(text) == ns
        assert format_time(ns) == text
    for bad in ("2030-01-01T00:00:00.0Z", "2030-01-01T00:00:00.1234567890Z",
                "2030-01-01T00:00:00z", "2030-1-01T00:00:00Z", "2030-01-01T24:00:00Z"):
        try:
            parse_time(bad)
        except ValueError:
            continue
        raise AssertionError(bad)  # pragma: no cover


@given(st.binary(max_size=80))
def test_base64_round_trip(data):
    assert b64decode(b64encode(data)) == data


def test_base64_refuses_what_go_would_not_write():
    # "AAAA+w==" minus two A's: padding after a complete group, which strict mode accepts
    for bad in ("QR==", "QQ", "Q Q==", "QQ==\n", "QQ==QQ==", "-_==", "AA+w==", "QUFB=="):
        try:
            b64decode(bad)
        except ValueError:
            continue
        raise AssertionError(bad)  # pragma: no cover


def test_parse_keeps_json_semantics():
    parsed = parse_json(b'{"b":1,"a":[true,null,"x"]}', "f")
    assert parsed.value == {"b": 1, "a": [True, None, "x"]} and parsed.unsorted_objects == 1
    assert json.loads(canonical_json(parsed.value)) == parsed.value


# --- the two ways parse_json checks for duplicate keys agree -----------------------------------

def parse_both(data: bytes):
    """parse_json with the per-object hook, and with the string count (forced for any size)."""
    from unittest import mock

    from ceremony.errors import MetadataFormatError
    from ceremony.notary.format import encoding

    results = []
    for threshold in (1 << 62, 0):
        with mock.patch.object(encoding, "FAST_PARSE_MIN_BYTES", threshold):
            try:
                parsed = encoding.parse_json(data, "f")
                results.append((parsed.value, parsed.unsorted_objects))
            except MetadataFormatError as exc:
                results.append(str(exc))
    return results


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_counting_strings_finds_what_the_hook_finds(value, canonical):
    data = canonical_json(value) if canonical else json.dumps(value, ensure_ascii=False).encode()
    hook, counted = parse_both(data)
    assert hook == counted


def test_counting_strings_finds_duplicates_in_batches():
    entry = '{"hashes":{"sha256":"AA=="},"length":%d}'
    entries = [f'"t{i:03d}":' + entry % i for i in range(40)]
    cases = {
        "name twice in a big object": entries[:5] + ['"t003":' + entry % 9] + entries[5:],
        "key twice in one of many entries": entries[:7] + [
            '"x":{"hashes":{"sha256":"AA=="},"length":1,"length":2}'] + entries[7:],
        "hash twice": entries[:30] + ['"y":{"hashes":{"sha256":"AA==","sha256":"AA=="},'
                                      '"length":1}'] + entries[30:],
        "object dropped by a duplicate": entries[:3] + ['"z":{"hashes":{"a":{"b":"c"},'
                                                        '"a":"d"},"length":1}'] + entries[3:],
    }
    for name, items in cases.items():
        data = ('{"signed":{"targets":{' + ",".join(items) + '}},"signatures":[]}').encode()
        hook, counted = parse_both(data)
        assert hook == counted, name
        assert "duplicate key" in counted, name
    extra = entries[:20] + ['"w":{"hashes":{"sha256":"AA=="},"length":1,"more":["x"]}'] + \
        entries[20:]  # not seen by the census's quick look at two-key objects: parsed again
    data = ('{"signed":{"targets":{' + ",".join(extra) + '}},"signatures":[]}').encode()
    hook, counted = parse_both(data)
    assert hook == counted and counted[0]["signed"]["targets"]["w"]["more"] == ["x"]
    mixed = [entry % 1, "[1,2]", '"s"', "3", "null", '{"a":"b","a":"b"}']
    data = ("[" + ",".join(mixed * 10) + "]").encode()
    hook, counted = parse_both(data)
    assert hook == counted == 'f: [5]: duplicate key "a"'
    unsorted = ("[" + ",".join(['{"b":1,"a":2}'] * 30 + ['{"a":1,"b":2}'] * 30) + "]").encode()
    assert parse_both(unsorted) == [([{"b": 1, "a": 2}] * 30 + [{"a": 1, "b": 2}] * 30, 30)] * 2
    # objects of a few shapes, and of many shapes (some out of order), with and without a
    # duplicate key
    for shapes in (3, 40):
        objects = [f'{{"k{i % shapes}":"v","a{i % shapes}":[{i}]}}' if i % 3 else
                   f'{{"a{i % shapes}":"v","k{i % shapes}":{{"x":"y"}}}}' for i in range(60)]
        for duplicate in (None, 6, 40, 59):
            items = list(objects)
            if duplicate is not None:
                items[duplicate] = items[duplicate].replace('"v"', '"v","a0":1')
            hook, counted = parse_both(("[" + ",".join(items) + "]").encode())
            assert hook == counted, (shapes, duplicate)
            assert (duplicate is not None and duplicate % shapes == 0) == ("duplicate" in
                                                                           str(counted))


def test_bulk_base64_check_accepts_only_what_b64decode_accepts():
    import itertools

    from ceremony.notary.format.encoding import b64_all_clean

    def accepted(text):
        try:
            b64decode(text)
        except ValueError:
            return False
        return True

    # every string of up to 6 characters over letters chosen for their low bits, padding and a
    # stranger; each alone, and among valid texts (in front, behind). The bulk check may refuse
    # more (the reader then looks at each text): b64decode lets Python's strict mode accept a
    # full group followed by padding ("AAAA="), which the bulk check refuses.
    alphabet = "AQgBEw/=!é"
    good = ["QUJD", "QUI=", "QQ==", ""]
    for size in range(7):
        for chars in itertools.product(alphabet[:8] if size > 4 else alphabet, repeat=size):
            text = "".join(chars)
            expected = accepted(text) and (size % 4 == 0)
            assert b64_all_clean([text]) == expected, text
            assert b64_all_clean([*good, text]) == expected, text
            assert b64_all_clean([text, *good]) == expected, text
            if size in (4, 8):  # among many texts of the same length, in the middle
                for same in ({4: "QUJD", 8: "QUJDQUJD"}[size], {4: "QUI=", 8: "QUJDQUI="}[size],
                             {4: "QQ==", 8: "QUJDQQ=="}[size]):
                    assert b64_all_clean([same] * 20 + [text] + [same] * 5) == expected, text
    assert b64_all_clean(good * 1000) and b64_all_clean([])
    assert not b64_all_clean(["QQ==", 3]) and not b64_all_clean(["QQ==", None])
    assert not b64_all_clean(["QQ==", "QUJD\n"]) and not b64_all_clean(["QU==JD"])
