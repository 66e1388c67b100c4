"""Bundles of the other trust systems (notation, TUF): the same frame, digest and strictness as
Notary v1's, one more top-level field; each reader refuses the other's bundle by name."""

from __future__ import annotations

import json

import pytest

from transfer.bundle import BundleError, RequestBundle, RequestEntry, parse_bundle
from transfer.summary import carries, describe
from transfer.systembundle import (
    SystemBundle,
    b64,
    parse_any_bundle,
    parse_system_bundle,
    read_system_bundle,
    unb64,
    write_system_bundle,
)


def _bundle(**content: object) -> SystemBundle:
    return SystemBundle(system="tuf", kind="request", created="2026-12-05T01:02:03Z",
                        content={"summary": ["root v3 -> v4"], "files": {"root": b64(b"{}")},
                                 **content})


def test_round_trip_is_byte_identical_and_digest_covers_system() -> None:
    b = _bundle()
    data = b.to_bytes()
    assert b'"system":"tuf"' in data
    back = parse_system_bundle(data, "tuf", "request")
    assert back == b and back.to_bytes() == data
    assert unb64(back.content["files"]["root"], "files.root") == b"{}"
    # the same content under another system is another digest
    other = SystemBundle(system="notation", kind="request", created=b.created, tool=b.tool,
                         content=b.content)
    assert other.digest_hex != b.digest_hex


def test_readers_refuse_each_others_bundles_by_name() -> None:
    data = _bundle().to_bytes()
    with pytest.raises(BundleError, match="tuf request bundle, not a Notary v1 one: use "
                                          "`ceremony tuf`"):
        parse_bundle(data)
    with pytest.raises(BundleError, match="expected a notation request bundle, got a tuf "
                                          "request bundle"):
        parse_system_bundle(data, "notation", "request")
    with pytest.raises(BundleError, match="expected a tuf response bundle"):
        parse_system_bundle(data, "tuf", "response")
    notary = RequestBundle(server="https://notary.example", entries=(
        RequestEntry(gun="example.com/app", operation="init",
                     fetched_at="2026-12-05T01:02:03Z"),)).to_bytes()
    with pytest.raises(BundleError, match="got a Notary v1 request bundle"):
        parse_system_bundle(notary, "tuf", "request")
    assert isinstance(parse_any_bundle(notary), RequestBundle)


def _resealed(obj: dict) -> bytes:
    from groundfloor.canonical import canonical_json as canonical_bytes
    obj.pop("sha256", None)
    import hashlib
    obj["sha256"] = hashlib.sha256(canonical_bytes(obj)).hexdigest()
    return canonical_bytes(obj) + b"\n"


@pytest.mark.parametrize("change, message", [
    (lambda o: o.update(system="x509"), "unknown trust system 'x509'"),
    (lambda o: o.update(content=[1]), "content: must be an object"),
    (lambda o: o["content"].update(n=1.5), "not valid JSON|fraction"),
    (lambda o: o.update(extra=1), "unknown field 'extra'"),
])
def test_hostile_frames_refused(change, message) -> None:
    obj = json.loads(_bundle().to_bytes())
    change(obj)
    try:
        data = _resealed(obj)
    except (ValueError, TypeError):
        data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(BundleError, match=message):
        parse_any_bundle(data)


def test_edited_content_fails_the_digest() -> None:
    data = _bundle().to_bytes().replace(b"root v3", b"root v9")
    with pytest.raises(BundleError, match="digest mismatch"):
        parse_any_bundle(data)


def test_write_refuses_to_overwrite_and_reads_back(tmp_path) -> None:
    out = tmp_path / "req.json"
    write_system_bundle(out, _bundle())
    with pytest.raises(Exception, match="refusing to overwrite"):
        write_system_bundle(out, _bundle(more=1))
    assert read_system_bundle(out, "tuf", "request") == _bundle()


def test_people_see_system_kind_and_escaped_summary() -> None:
    b = _bundle(summary=["root v3 -> v4", "evil \x1b[2Jline"])
    lines = carries(b)
    assert lines[0] == "TUF REQUEST" and lines[1] == "root v3 -> v4"
    assert "\x1b" not in "\n".join(lines) and "\\x1b" in lines[2]
    text = describe(b)
    assert text.startswith("tuf request bundle") and "bundle sha256 " + b.digest_hex in text
