"""Bundle format: exact bytes round-trip, digest, describe(), and all the parser refuses."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundfloor.words import digest_words
from tests.bundle.helpers import AWKWARD, as_obj, sample_request, sample_response, seal
from tests.conftest import run_cli
from transfer.bundle import (
    BundleError,
    RequestBundle,
    RequestEntry,
    ResponseBundle,
    parse_bundle,
    parse_request,
    parse_response,
    read_bundle,
    write_bundle,
)
from transfer.summary import describe


def test_request_round_trips_exact_bytes(tmp_path):
    req = sample_request()
    data = req.to_bytes()
    parsed = parse_request(data)
    assert parsed == req
    assert parsed.entry("example.com/app").metadata["targets"] == AWKWARD
    assert parsed.to_bytes() == data  # one spelling: re-encoding is byte-identical
    assert parsed.entry("example.com/app").exists
    assert not parsed.entry("docker.io/library/new0").exists
    path = write_bundle(tmp_path / "req.bundle", req)
    assert path.read_bytes() == data and read_bundle(path, kind="request") == req


def test_response_round_trips_and_keeps_upload_order():
    resp = sample_response()
    parsed = parse_response(resp.to_bytes())
    assert parsed == resp and parsed.complete
    assert [f.role for f in parsed.entry("example.com/app").files] == [
        "root", "targets", "targets/releases"]
    partial = parse_response(sample_response(partial=True).to_bytes())
    assert not partial.complete
    assert partial.entry("example.com/other").pending.missing[0]["role"] == "root"


def test_digest_is_sha256_of_the_canonical_content():
    req = sample_request()
    obj = as_obj(req.to_bytes())
    claimed = obj.pop("sha256")
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(canonical).hexdigest() == claimed == req.digest_hex
    # the carried files are plain base64 of the exact bytes
    repo = obj["content"]["repositories"][0]
    assert base64.b64decode(repo["metadata"]["targets"]) == AWKWARD


def test_describe_shows_guns_operations_and_digest_as_hex_and_words():
    req = sample_request(n_guns=3)
    text = describe(req)
    assert "example.com/app: rotate-targets" in text
    assert "docker.io/library/new1: init" in text and "new repository" in text
    assert "root history 1..2" in text and "root v2" in text
    assert req.digest_hex in text and digest_words(req.digest()) in text
    resp_text = describe(sample_response(partial=True))
    assert "PARTIAL" in resp_text and "1. root v3" in resp_text


def test_write_bundle_refuses_to_overwrite(tmp_path):
    path = write_bundle(tmp_path / "b", sample_request())
    with pytest.raises(Exception, match="refusing to overwrite"):
        write_bundle(path, sample_response())
    assert parse_bundle(path.read_bytes()).kind == "request"


def test_partial_response_cannot_be_built_without_missing_signatures():
    from transfer.bundle import PendingSignatures, ResponseEntry
    with pytest.raises(BundleError, match="lists no missing signatures"):
        ResponseBundle(entries=(ResponseEntry("a.com/b", (), PendingSignatures(missing=())),))


# --- the parser's refusals -----------------------------------------------------------------------

def _edit(bundle, fn):
    obj = as_obj(bundle.to_bytes())
    fn(obj)
    return seal(obj)


def _req_repo(obj, i=0):
    return obj["content"]["repositories"][i]


REQ = sample_request()
RESP = sample_response()
GOOD = REQ.to_bytes()

BAD_CASES = {
    "empty": (b"", "is empty"),
    "whitespace": (b"  \n", "is empty"),
    "not json": (b"hello", "not valid JSON"),
    "top-level list": (b"[]", "must be a JSON object"),
    "binary": (b"\x89PNG\r\n", "non-ASCII byte at offset 0"),
    "truncated half": (GOOD[: len(GOOD) // 2], "truncated"),
    "truncated end": (GOOD[:-3], "truncated"),
    "truncated start": (GOOD[:1], "truncated"),
    "duplicate key": (GOOD.replace(b'{"content":', b'{"kind":"request","content":', 1),
                      "duplicate key 'kind'"),
    "float": (b'{"a":1.5}', "fraction or exponent"),
    "exponent": (b'{"a":1e5}', "fraction or exponent"),
    "nan": (b'{"a":NaN}', "NaN is not a JSON number"),
    "huge int": (b'{"a":' + b"9" * 5000 + b"}", "too large"),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "other format": (b'{"format":"tar"}', "not a notary-ceremony-bundle"),
    "version 2": (_edit(REQ, lambda o: o.update(version=2)), "unsupported bundle version 2"),
    "version string": (_edit(REQ, lambda o: o.update(version="1")),
                       "unsupported bundle version '1'"),
    "version true": (_edit(REQ, lambda o: o.update(version=True)), "unsupported bundle version"),
    "kind unknown": (_edit(REQ, lambda o: o.update(kind="invoice")), "unknown bundle kind"),
    "unknown top field": (_edit(REQ, lambda o: o.update(extra=1)), "unknown field 'extra'"),
    "missing content": (_edit(REQ, lambda o: o.pop("content")), "missing field 'content'"),
    "not canonical": (json.dumps(as_obj(GOOD), indent=1).encode(), "not in canonical form"),
    "digest mismatch": (GOOD.replace(b'"reason":"compromise"', b'"reason":"compromize"'),
                        "digest mismatch"),
    "digest malformed": (_edit(REQ, lambda o: None).replace(b'"sha256":"', b'"sha256":"Z', 1),
                         "64 lowercase hex"),
    "gun int": (_edit(REQ, lambda o: _req_repo(o).update(gun=5)),
                "gun: expected a string, got an integer"),
    "gun traversal": (_edit(REQ, lambda o: _req_repo(o).update(gun="example.com/../etc")),
                      "'.' or '..' component"),
    "gun absolute": (_edit(REQ, lambda o: _req_repo(o).update(gun="/etc/passwd")),
                     "empty path component"),
    "gun homoglyph": (_edit(REQ, lambda o: _req_repo(o).update(gun="ex\u0430mple.com/app")),
                      "non-ASCII"),
    "gun bidi": (_edit(REQ, lambda o: _req_repo(o).update(gun="example.com/\u202eppa")),
                 "non-ASCII"),
    "gun uppercase": (_edit(REQ, lambda o: _req_repo(o).update(gun="Example.com/app")),
                      "must be lowercase"),
    "gun twice": (_edit(REQ, lambda o: _req_repo(o, 1).update(gun="example.com/app")),
                  "listed twice"),
    "metadata list": (_edit(REQ, lambda o: _req_repo(o).update(metadata=[])),
                      "metadata: expected an object, got an array"),
    "metadata bad role": (_edit(REQ, lambda o: _req_repo(o)["metadata"].update(
        {"targets/../x": "e30="})), "delegation name"),
    "metadata no root": (_edit(REQ, lambda o: _req_repo(o)["metadata"].pop("root")),
                         "has files but no root"),
    "metadata not base64": (_edit(REQ, lambda o: _req_repo(o)["metadata"].update(root="%%%")),
                            "not valid base64"),
    "base64 not canonical": (_edit(REQ, lambda o: _req_repo(o)["metadata"].update(
        snapshot="cx==")), "base64 is not in canonical form"),
    "history string": (_edit(REQ, lambda o: _req_repo(o).update(root_history="x")),
                       "root_history: expected an array, got a string"),
    "history missing": (_edit(REQ, lambda o: _req_repo(o).update(root_history=[])),
                        "root history must be present exactly when root is"),
    "server key role": (_edit(REQ, lambda o: _req_repo(o)["server_keys"].update(root="e30=")),
                        "unknown key role 'root'"),
    "server key int": (_edit(REQ, lambda o: _req_repo(o)["server_keys"].update(timestamp=7)),
                       "server_keys.timestamp: expected a string"),
    "params list": (_edit(REQ, lambda o: _req_repo(o)["operation"].update(params=[])),
                    "params: expected an object, got an array"),
    "operation name": (_edit(REQ, lambda o: _req_repo(o)["operation"].update(name="Rm -rf")),
                       "not an operation name"),
    "fetched_at": (_edit(REQ, lambda o: _req_repo(o).update(fetched_at="yesterday")),
                   "is not a UTC time"),
    "created bad date": (_edit(REQ, lambda o: o.update(created="2026-02-30T00:00:00Z")),
                         "not a valid date"),
    "server url": (_edit(REQ, lambda o: o["content"].update(server="file:///etc")),
                   "not an http(s) URL"),
    "no repositories": (_edit(REQ, lambda o: o["content"].update(repositories=[])),
                        "no repositories"),
    "response timestamp": (_edit(RESP, lambda o: _req_repo(o)["files"].append(
        {"role": "timestamp", "data": "e30="})), "timestamp is made by the server"),
    "response role twice": (_edit(RESP, lambda o: _req_repo(o)["files"].append(
        {"role": "root", "data": "e30="})), "role root appears twice"),
    "response role int": (_edit(RESP, lambda o: _req_repo(o)["files"][0].update(role=1)),
                          "role: expected a string, got an integer"),
    "response nothing": (_edit(RESP, lambda o: _req_repo(o).update(files=[])),
                         "no files to publish"),
    "response pending list": (_edit(RESP, lambda o: _req_repo(o).update(pending=[])),
                              "pending: expected an object, got an array"),
    "response request digest": (_edit(RESP, lambda o: o["content"].update(request_sha256="ab")),
                                "64 lowercase hex"),
    "response deep state": (_edit(RESP, lambda o: _req_repo(o).update(pending={
        "missing": [{}], "state": json.loads('{"a":' * 40 + "1" + "}" * 40)})),
                            "nested more than 32 levels"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_parser_refuses_with_a_specific_message(case):
    data, expected = BAD_CASES[case]
    with pytest.raises(BundleError) as info:
        parse_bundle(data)
    message = str(info.value)
    assert expected in message, message
    assert "\n" not in message and len(message) < 400


def test_oversize_is_refused_before_parsing(tmp_path):
    data = REQ.to_bytes()
    with pytest.raises(BundleError, match="larger than the limit of 100"):
        parse_bundle(data, max_bytes=100)
    path = tmp_path / "big"
    path.write_bytes(data)
    with pytest.raises(BundleError, match="larger than the limit of 100 bytes"):
        read_bundle(path, max_bytes=100)


def test_kind_is_checked():
    with pytest.raises(BundleError, match="expected a request bundle, got a response"):
        parse_request(RESP.to_bytes())
    with pytest.raises(BundleError, match="expected a response bundle, got a request"):
        parse_response(GOOD)


def test_every_single_bit_flip_is_refused():
    small = RequestBundle(server="https://n.example", created="2026-01-02T03:04:05Z",
                          entries=(RequestEntry(gun="a.com/b", operation="init",
                                                fetched_at="2026-01-02T03:04:05Z",
                                                server_keys={"timestamp": b"{}"}),)).to_bytes()
    for i in range(len(small)):
        for bit in range(8):
            flipped = bytearray(small)
            flipped[i] ^= 1 << bit
            with pytest.raises(BundleError):
                parse_bundle(bytes(flipped))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_bundle_error(data):
    try:
        parse_bundle(data)
    except BundleError:
        pass


@settings(max_examples=200)
@given(st.data())
def test_random_splices_of_a_good_bundle_only_raise_bundle_error(data):
    good = bytearray(GOOD)
    start = data.draw(st.integers(0, len(good) - 1))
    end = data.draw(st.integers(start, min(len(good), start + 20)))
    good[start:end] = data.draw(st.binary(max_size=20))
    try:
        parsed = parse_bundle(bytes(good))
    except BundleError:
        return
    assert parsed.to_bytes() == bytes(good) or parsed.to_bytes() == bytes(good) + b"\n"


@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.integers(-2**62, 2**62) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=10), max_size=4), st.binary(max_size=200))
def test_any_params_and_bytes_round_trip(params, blob):
    entry = RequestEntry(gun="a.com/b", operation="x", params=params,
                         fetched_at="2026-01-02T03:04:05Z",
                         metadata={"root": blob, "targets": blob[::-1]}, root_history=(blob,))
    bundle = RequestBundle(server="https://n.example", entries=(entry,))
    parsed = parse_request(bundle.to_bytes())
    assert parsed == bundle and parsed.entries[0].metadata["root"] == blob


# --- through the command line: one line, non-zero, nothing written --------------------------------

@pytest.mark.parametrize("case", ["truncated half", "digest mismatch", "duplicate key",
                                  "version 2", "gun traversal", "binary", "deep nesting"])
def test_cli_reports_a_bad_bundle_in_one_line_and_writes_nothing(tmp_path, case):
    bad = tmp_path / "resp.bundle"
    bad.write_bytes(BAD_CASES[case][0])
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run_cli("online", "publish", str(bad), "--server", "https://127.0.0.1:9", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_refuses_an_oversized_file_without_reading_it(tmp_path):
    big = tmp_path / "big.bundle"
    with open(big, "wb") as fh:  # sparse: 1 byte over the limit
        fh.truncate(128 * 1024 * 1024 + 1)
    r = run_cli("online", "publish", str(big), "--server", "https://127.0.0.1:9")
    assert r.returncode == 1 and "larger than the limit" in r.stderr
    assert r.stderr.count("\n") == 1
