"""Transcript: chain, verification, tampering, torn tails, SIGKILL at every write, no PIN."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading

import pytest

from ceremony.secrets import SecretLeakError, forget_secret, register_secret
from ceremony.transcript import (
    Transcript,
    TranscriptError,
    TranscriptTampered,
    parse_entries,
    verify_transcript,
)
from groundfloor.words import digest_words
from tests.conftest import ROOT, run_cli


def make(path, n_notes=3, close=True):
    t = Transcript.create(path, ceremony="rotate targets example.com/app",
                          participants=["Alice (operator)", {"name": "Bob", "role": "witness"}])
    t.tokens([{"label": "root-a", "serial": "0001"}])
    t.custody({"bag": "TB-1001", "intact": True})
    t.input("request.bundle", b"request bytes")
    for i in range(n_notes):
        t.append("note", {"i": i})
    t.confirmation("Sign 3 files?", "yes", via_yes=True)
    t.output("response.bundle", b"response bytes")
    if close:
        t.close()
    return t


def lines(path):
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path, rows):
    path.write_bytes(b"".join(r + b"\n" for r in rows))


def rechain(rows):
    """What a forger without an external anchor can do: recompute every prev and seq."""
    out, prev = [], "0" * 64
    for seq, row in enumerate(rows, start=1):
        obj = json.loads(row)
        obj["prev"], obj["seq"] = prev, seq
        row = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        out.append(row)
        prev = hashlib.sha256(row).hexdigest()
    return out


def test_chain_and_verify_command(tmp_path):
    path = tmp_path / "t.jsonl"
    make(path)
    rows = lines(path)
    entries, torn = parse_entries(path.read_bytes())
    assert torn == b"" and [e.seq for e in entries] == list(range(1, len(rows) + 1))
    assert [e.kind for e in entries][:2] == ["start", "tokens"] and entries[-1].kind == "end"
    for a, b in zip(rows, rows[1:], strict=False):
        assert json.loads(b)["prev"] == hashlib.sha256(a).hexdigest()
    start = entries[0].data
    assert start["version"] == __import__("ceremony").__version__
    assert start["participants"][1] == {"name": "Bob", "role": "witness"}
    assert entries[-3].data == {"question": "Sign 3 files?", "answer": "yes", "via": "--yes"}
    final = hashlib.sha256(rows[-1]).digest()
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 0, r.output
    assert f"final sha256 {final.hex()}" in r.stdout
    assert f"final words  {digest_words(final)}" in r.stdout
    assert "closed (completed)" in r.stdout
    r = run_cli("transcript", "verify", str(path), "--json")
    data = json.loads(r.stdout)
    assert data["final_sha256"] == final.hex() and data["entries"] == len(rows)
    assert data["final_words"] == digest_words(final) and data["closed"] is True
    for expect in (final.hex(), digest_words(final).upper()):
        r = run_cli("transcript", "verify", str(path), "--expect", expect)
        assert r.returncode == 0 and "matches the expected one" in r.stdout


def _edit_data(rows, i):
    obj = json.loads(rows[i])
    obj["data"]["i"] = 99
    rows[i] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return rows


def _after_end(rows):
    return rechain(rows + [rows[4]])


TAMPERING = {
    "edited entry": (lambda r: _edit_data(r, 4), "chain broken at seq 6 (line 6): its prev "
                     "does not match the hash of seq 5; entry 5 was altered"),
    "edited by hand": (lambda r: r[:3] + [r[3].replace(b'"data":{', b'"data":{ ')] + r[4:],
                       "line 4 (seq 4) is not in canonical form"),
    "deleted entry": (lambda r: r[:3] + r[4:], "entry seq 4 is missing before line 4 (seq 5): "
                      "entries were deleted"),
    "deleted start": (lambda r: r[1:], "entry seq 1 is missing"),
    "reordered": (lambda r: r[:3] + [r[4], r[3]] + r[5:], "line 4 has seq 5 where seq 4 was "
                  "expected, and seq 4 comes later: entries were reordered"),
    "duplicated": (lambda r: r[:4] + [r[3]] + r[4:], "line 5 has seq 4 after seq 4"),
    "truncated at a line": (lambda r: r[:-2], "without an 'end' entry: truncated"),
    "garbage line": (lambda r: r[:2] + [b"hello"] + r[2:], "line 3 is not a valid entry"),
    "duplicate key": (lambda r: r[:2] + [r[2].replace(b'{"data"', b'{"seq":3,"data"')] + r[3:],
                      "line 3 is not a valid entry (duplicate key 'seq')"),
    "extra field": (lambda r: r[:2] + [r[2].replace(b'{"data"', b'{"a":1,"data"')] + r[3:],
                    "line 3, field a: unknown field: edited or corrupted"),
    "appended after end": (_after_end, "follows the end of the ceremony"),
    "start rewritten": (lambda r: rechain([r[1]] + r[1:]), "the first entry is 'tokens'"),
    "non-ascii": (lambda r: r[:2] + [r[2].replace(b"TB-1001", b"TB-10\xc3\xa91")] + r[3:],
                  "non-ASCII bytes"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_reported_in_one_specific_line(tmp_path, case):
    path = tmp_path / "t.jsonl"
    make(path)
    change, expected = TAMPERING[case]
    write_lines(path, change(lines(path)))
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 1
    assert r.stdout == "" and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert expected in r.stderr, r.stderr


def test_truncated_mid_entry_is_a_torn_tail(tmp_path):
    path = tmp_path / "t.jsonl"
    make(path)
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 1 and "ends with a torn entry after seq" in r.stderr
    path.write_bytes(b"")
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 1 and "is empty: truncated" in r.stderr


def test_a_rechained_forgery_is_caught_only_by_the_recorded_digest(tmp_path):
    path = tmp_path / "t.jsonl"
    make(path)
    recorded = hashlib.sha256(lines(path)[-1]).hexdigest()
    write_lines(path, rechain(_edit_data(lines(path), 4)))
    (tmp_path / "ANCHORS").unlink()  # the forger removed the second copy beside it too
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 0 and "WITHOUT an anchor" in r.stderr  # internally consistent
    r = run_cli("transcript", "verify", str(path), "--expect", recorded)
    assert r.returncode == 1 and "does not match the expected one" in r.stderr
    with pytest.raises(TranscriptTampered, match="does not match the expected one"):
        verify_transcript(path, expect=recorded)


def test_open_transcript_needs_allow_open_and_resume_continues_the_chain(tmp_path):
    path = tmp_path / "t.jsonl"
    make(path, close=False)._release()
    assert run_cli("transcript", "verify", str(path)).returncode == 1
    r = run_cli("transcript", "verify", str(path), "--allow-open")
    assert r.returncode == 0 and "OPEN" in r.stdout
    with Transcript.resume(path, reason="after lunch") as t:
        t.append("note", {"text": "second session"})
    result = verify_transcript(path)
    assert [e.kind for e in result.entries][-3:] == ["resume", "note", "end"]
    with pytest.raises(TranscriptError, match="is closed"):
        Transcript.resume(path)
    with pytest.raises(TranscriptError, match="already exists"):
        Transcript.create(path, ceremony="again")


def test_torn_tail_is_repaired_on_resume_and_the_fragment_kept(tmp_path):
    path = tmp_path / "t.jsonl"
    make(path, close=False)._release()
    good = path.read_bytes()
    fragment = b'{"data":{"half":'
    path.write_bytes(good + fragment)
    with Transcript.resume(path) as t:
        t.append("note", {"text": "after repair"})
    result = verify_transcript(path)
    repair = next(e for e in result.entries if e.kind == "repair")
    assert repair.data["offset"] == len(good) and repair.data["length"] == len(fragment)
    assert repair.data["sha256"] == hashlib.sha256(fragment).hexdigest()
    assert (tmp_path / repair.data["sidecar"]).read_bytes() == fragment
    assert path.read_bytes().startswith(good)
    r = run_cli("transcript", "verify", str(path))
    assert r.returncode == 0 and "torn entry fragment(s) were cut off" in r.stdout


def test_create_restarts_a_transcript_killed_before_its_first_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"data":{"cer')
    with Transcript.create(path, ceremony="second try"):
        pass
    result = verify_transcript(path)
    assert [e.kind for e in result.entries] == ["start", "repair", "end"]
    assert result.entries[1].data["length"] == 13
    make(tmp_path / "full.jsonl")
    with pytest.raises(TranscriptError, match="already exists"):
        Transcript.create(tmp_path / "full.jsonl", ceremony="x")


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "t.jsonl"
    t = make(path, close=False)
    with pytest.raises(TranscriptError, match="in use by another process"):
        Transcript.resume(path)
    t.close()


def test_an_exception_is_recorded_and_closes_as_failed(tmp_path):
    path = tmp_path / "t.jsonl"
    with pytest.raises(RuntimeError):
        with Transcript.create(path, ceremony="x") as t:
            t.input("req", b"x")
            raise RuntimeError("token removed")
    result = verify_transcript(path)
    assert result.entries[-2].data == {"type": "RuntimeError", "message": "token removed"}
    assert result.outcome == "failed"


# --- never a PIN ---------------------------------------------------------------------------------

@pytest.fixture
def fake_pin():
    pin = "246813"
    register_secret(pin)
    yield pin
    forget_secret(pin)


def test_a_registered_pin_is_refused_and_never_written(tmp_path, fake_pin):
    path = tmp_path / "t.jsonl"
    t = Transcript.create(path, ceremony="x")
    for data in ({"pin": fake_pin}, {"uri": f"pkcs11:token=a?pin-value={fake_pin}"},
                 {"nested": [{"x": f"PIN: {fake_pin}"}]}, {fake_pin: "as a key"}):
        with pytest.raises(SecretLeakError) as info:
            t.append("note", data)
        assert fake_pin not in str(info.value)
    with pytest.raises(SecretLeakError):
        t.participants([f"Alice {fake_pin}"])
    # error text is scrubbed, so errors are still recorded
    t.error(RuntimeError(f"C_Login failed for pin {fake_pin}"))
    # a digest or serial that merely contains the digits is not a PIN
    t.append("note", {"sha256": f"ab{fake_pin}cd" + "0" * 54, "serial": f"9{fake_pin}9"})
    t.close()
    raw = path.read_bytes()
    assert fake_pin.encode() not in raw.replace(f"ab{fake_pin}cd".encode(), b"").replace(
        f"9{fake_pin}9".encode(), b"")
    result = verify_transcript(path)
    kinds = [e.kind for e in result.entries]
    assert kinds.count("refusal") == 5 and "[REDACTED]" in raw.decode()


def test_long_secrets_are_caught_anywhere(tmp_path):
    secret = "correct-horse-battery"
    register_secret(secret.encode())
    try:
        t = Transcript.create(tmp_path / "t.jsonl", ceremony="x")
        with pytest.raises(SecretLeakError):
            t.append("note", {"x": f"abc{secret}def"})
        t.close()
    finally:
        forget_secret(secret)
    assert secret.encode() not in (tmp_path / "t.jsonl").read_bytes()


def test_registry_is_process_wide_and_thread_safe():
    from ceremony.secrets import contains_secret
    pins = [f"pin-{i:04d}-xyzw" for i in range(50)]
    threads = [threading.Thread(target=register_secret, args=(p,)) for p in pins]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        assert all(contains_secret(f"value {p} here") for p in pins)
    finally:
        for p in pins:
            forget_secret(p)
    assert not contains_secret("value pin-0001-xyzw here")


# --- SIGKILL at every durable step ---------------------------------------------------------------

WRITER = """
import sys
from ceremony.transcript import Transcript
path = sys.argv[1]
try:
    t = Transcript.resume(path)
except Exception:
    t = Transcript.create(path, ceremony="kill test")
for i in range(4):
    t.append("note", {"i": i})
t.close()
"""


def _run_writer(path, env_extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env_extra)
    return subprocess.run([sys.executable, "-c", WRITER, str(path)], env=env,
                          capture_output=True, text=True, timeout=60)


def test_sigkill_at_every_fault_point_leaves_a_verifiable_transcript(tmp_path):
    trace = tmp_path / "trace"
    assert _run_writer(tmp_path / "probe.jsonl",
                       {"CEREMONY_FAULT_TRACE": str(trace)}).returncode == 0
    points = trace.read_text().split()
    assert len(points) >= 12
    for n in range(1, len(points) + 1):
        path = tmp_path / f"t{n}.jsonl"
        proc = _run_writer(path, {"CEREMONY_FAULT_INJECT": str(n)})
        assert proc.returncode == -9, (n, proc.stderr)
        if not path.exists():
            continue  # killed before the file existed: nothing to verify
        entries, torn = parse_entries(path.read_bytes())
        assert torn == b""  # a kill between whole writes never tears a line
        if not entries or entries[-1].kind != "end":
            assert _run_writer(path, {}).returncode == 0  # resumes and finishes
        result = verify_transcript(path)
        assert result.closed and result.entries[0].kind == "start"
        kinds = [e.kind for e in result.entries]
        assert kinds.count("end") == 1 and kinds.count("start") == 1


def test_sigkill_in_the_middle_of_a_write_is_repaired(tmp_path):
    path = tmp_path / "t.jsonl"
    proc = _run_writer(path, {"CEREMONY_FAULT_INJECT": "transcript.append.torn:3"})
    assert proc.returncode == -9
    entries, torn = parse_entries(path.read_bytes())
    assert len(entries) == 2 and torn  # half a line on disk
    r = run_cli("transcript", "verify", str(path), "--allow-open")
    assert r.returncode == 1 and "torn entry after seq 2" in r.stderr
    # the repair itself killed after cutting the tail: the next resume still records it
    proc = _run_writer(path, {"CEREMONY_FAULT_INJECT": "transcript.repair.after_truncate"})
    assert proc.returncode == -9
    assert parse_entries(path.read_bytes())[1] == b""
    assert _run_writer(path, {}).returncode == 0
    result = verify_transcript(path)
    repairs = [e for e in result.entries if e.kind == "repair"]
    assert len(repairs) == 1 and repairs[0].data["length"] == len(torn)
    assert result.closed
