"""What a person reads (issue 12): strings from input never reach the terminal raw.

A crafted transcript outcome, a token or key label, a file name, a QR frame head: each may carry
an escape sequence (ESC [ 2 J clears the screen, ESC [ 1 A moves up and overwrites a line), a
bidi override, a newline forging a line of its own, a lone surrogate or bytes that are not
UTF-8. Every screen shows them escaped (`\\x1b`, `\\u202e`, `\\n`, `\\ud800`, `\\xff`): no raw
control character in the output, no forged line, no crash. And stdout on a full device is one
error line, exit 1.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.hardening.bounded import RSS_LIMIT, Watch, assert_refused, run_measured

ESC = "\x1b"
FORGED = "0" * 64
# A value that tries to forge the digest line, hide the real one, reverse text and crash.
HOSTILE = (f"completed\nfinal sha256 {FORGED}\n{ESC}[1A{ESC}[2K{ESC}[2J\u202eyes\ud800")


def raw_controls(text: str) -> list[str]:
    """Characters a terminal would act on or that are not printable (newlines excepted)."""
    return sorted({ch for ch in text if ch != "\n" and not ch.isprintable()})


def assert_clean_screen(r) -> None:
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert not raw_controls(r.stdout + r.stderr), raw_controls(r.stdout + r.stderr)
    assert r.peak_rss < RSS_LIMIT


def forged_transcript(path: Path) -> Path:
    """A transcript whose chain is intact but whose fields were written by an attacker."""
    from ceremony.transcript import Transcript
    t = Transcript.create(path, ceremony=f"init{ESC}[2J\u202e", participants=[HOSTILE])
    t.append("note", {"text": HOSTILE})
    t.close(HOSTILE)
    return path


def test_transcript_verify_shows_forged_fields_escaped(tmp_path):
    path = forged_transcript(tmp_path / "t.jsonl")
    r = run_measured(["transcript", "verify", str(path)])
    assert_clean_screen(r)
    digest_lines = [line for line in r.stdout.splitlines() if line.startswith("final sha256")]
    assert len(digest_lines) == 1 and FORGED not in digest_lines[0], r.stdout
    assert "\\x1b[2J" in r.stdout and "\\u202e" in r.stdout and "\\ud800" in r.stdout
    assert "\\n" in r.stdout  # the forged newline is shown, not obeyed
    # --json: still valid JSON whose strings carry the values (escaped by JSON itself)
    r = run_measured(["transcript", "verify", str(path), "--json"])
    assert r.returncode == 0 and json.loads(r.stdout)["outcome"] == HOSTILE


def test_status_shows_a_hostile_file_name_escaped(tmp_path, response_bytes):
    name = f"resp{ESC}[2J\u202e\nfinal sha256 {FORGED}.bundle"
    (tmp_path / name).write_bytes(response_bytes)
    r = run_measured(["status", str(tmp_path / name)], cwd=tmp_path)
    assert_clean_screen(r)
    assert not any(line.startswith("final sha256") for line in r.stdout.splitlines())


def test_error_lines_escape_what_they_quote(tmp_path):
    """An error naming an input (here a missing file whose name is hostile): one line."""
    r = assert_refused(["transcript", "verify", str(tmp_path / f"x{ESC}[2J\n\u202e\udcff")],
                       "\\x1b[2J", "\\u202e", "\\xff", watch=Watch([tmp_path]))
    assert not raw_controls(r.stderr)


def test_qr_frame_heads_are_shown_escaped(tmp_path):
    """A scanned line that looks like a frame but carries escapes in its head."""
    lines = (f"NCQR9{ESC}[2J{ESC}[1A:ABCDEFGH:1/1:1:1:AA:00000000\n"
             f"NCQR1:AAAA{ESC}]0;owned\x07:1/1:1:1:AA:00000000\n").encode()
    r = assert_refused(["transfer", "receive", "--stdin", "--out", str(tmp_path / "o.bundle")],
                       "no ceremony transfer frames", stdin=lines, watch=Watch([tmp_path]),
                       progress=True)
    assert not raw_controls(r.stderr), r.stderr
    assert "\\x1b" in r.stderr


@pytest.fixture(scope="module")
def hostile_token(softhsm_factory):
    """A real SoftHSM token whose label carries escapes, holding a key whose CKA_LABEL is not
    UTF-8 (PKCS#11 says it must be; a token made elsewhere may not care)."""
    label = f"evil{ESC}[2J\u202e"
    hsm = softhsm_factory("hostile-labels", [label])
    subprocess.run(["pkcs11-tool", "--module", hsm.module, "--token-label", label, "--login",
                    "--pin", "env:TEST_PIN", "--keypairgen", "--key-type", "EC:prime256v1",
                    "--label", b"k\xff\xfe\x1b[31m".decode("utf-8", "surrogateescape"),
                    "--id", "01"],
                   env={**os.environ, **hsm.env, "TEST_PIN": hsm.pin(label)}, check=True,
                   capture_output=True, timeout=60)
    return hsm, label


@pytest.mark.parametrize("json_out", [False, True], ids=["human", "json"])
@pytest.mark.parametrize("command", ["list", "keys"])
def test_token_and_key_labels(hostile_token, command, json_out):
    hsm, label = hostile_token
    args = ["token", command] + (["--pin-source", hsm.pin_source(label)]
                                 if command == "keys" else [])
    r = run_measured(args + (["--json"] if json_out else []), env=hsm.env)
    assert_clean_screen(r)
    if json_out:
        json.loads(r.stdout)
    else:
        assert "evil\\x1b[2J\\u202e" in r.stdout
        if command == "keys":
            assert "k\\xff\\xfe\\x1b[31m" in r.stdout


def test_stdout_on_a_full_device(tmp_path):
    path = forged_transcript(tmp_path / "t.jsonl")
    r = assert_refused(["transcript", "verify", str(path), "--json"], "No space left",
                       stdout="/dev/full", watch=Watch([tmp_path]))
    assert r.returncode == 1


@pytest.fixture(scope="module")
def response_bytes(tmp_path_factory, softhsm_factory) -> bytes:
    from tests.hardening.catalogue import make_inputs
    hsm = softhsm_factory("terminal-inputs", ["root-a"])
    return make_inputs(tmp_path_factory.mktemp("inputs"), hsm.env, hsm.root,
                       hsm.pin_source("root-a")).response
