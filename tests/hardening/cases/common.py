"""Bad input for the machinery every ceremony runs on: transcripts (`transcript verify`) and
PKCS#11 URIs (`token keys URI`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.hardening.cases.rows import Case, Inputs, Invocation, deep, write


def transcript(make: Callable[[Inputs], bytes], *extra: str
               ) -> Callable[[Inputs, Path], Invocation]:
    def run(i: Inputs, work: Path) -> Invocation:
        path = write(work, "ceremony.jsonl", make(i))
        return Invocation(("transcript", "verify", str(path), *extra))
    return run


def uri(text: str, *, pin: bool = True) -> Callable[[Inputs, Path], Invocation]:
    """`token keys URI` with a PIN source that would work: only the URI is wrong (`pin=False`:
    no --pin-source, which would override the URI's)."""
    def run(i: Inputs, work: Path) -> Invocation:
        pin_args = ("--pin-source", i.pin_source) if pin else ()
        return Invocation(("token", "keys", text, *pin_args), hsm=True)
    return run


def transcript_lines(i: Inputs) -> list[bytes]:
    return i.transcript.split(b"\n")[:-1]


def transcript_edit(n: int, old: bytes, new: bytes) -> Callable[[Inputs], bytes]:
    def run(i: Inputs) -> bytes:
        rows = transcript_lines(i)
        assert old in rows[n], (rows[n], old)
        rows[n] = rows[n].replace(old, new, 1)
        return b"\n".join(rows) + b"\n"
    return run


# --- the rows ------------------------------------------------------------------------------------

C = Case

TRANSCRIPTS: list[Case] = [
    # transcripts (`ceremony transcript verify`)
    C("transcript-empty", "transcript", transcript(lambda i: b""), "is empty"),
    C("transcript-truncated", "transcript", transcript(lambda i: i.transcript[:-30]),
      "torn entry"),
    C("transcript-bit-flipped", "transcript",
      transcript(lambda i: i.transcript.replace(b'"i":1', b'"i":3', 1)), "chain broken"),
    C("transcript-duplicate-key", "transcript",
      transcript(transcript_edit(1, b'{"data":', b'{"kind":"x","data":')), "duplicate key"),
    C("transcript-nan", "transcript", transcript(transcript_edit(1, b'"i":0', b'"i":NaN')),
      "NaN is not a JSON number"),
    C("transcript-infinite-number", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":1e400')), "out of range"),
    C("transcript-deeply-nested", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":' + deep(100_000))),
      "line 2 is not a valid entry"),
    C("transcript-huge-integer", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":' + b"7" * 5000)),
      "line 2 is not a valid entry"),
    C("transcript-non-ascii", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":"\xc3\xa9"')), "non-ASCII bytes"),
    C("transcript-entry-deleted", "transcript",
      transcript(lambda i: b"\n".join(
          transcript_lines(i)[:2] + transcript_lines(i)[3:]) + b"\n"),
      "entry seq 3 is missing"),
    C("transcript-seq-as-string", "transcript",
      transcript(transcript_edit(1, b'"seq":2', b'"seq":"2"')),
      "line 2, field seq: expected an integer, got a string"),
    C("transcript-binary-garbage", "transcript", transcript(lambda i: b"\x00\x01\xfe\n"),
      "line 1 is not a valid entry"),
    C("transcript-wrong-expected-digest", "transcript",
      transcript(lambda i: i.transcript, "--expect", "zz" * 32), "does not match"),
    C("transcript-is-a-directory", "transcript",
      lambda i, w: Invocation(("transcript", "verify", str((w / "d").mkdir() or w / "d"))),
      "is a directory"),
]

URIS: list[Case] = [
    # PKCS#11 URIs (`ceremony token keys URI`)
    C("uri-malformed", "uri", uri("token=root-a;object=root"), "must start with 'pkcs11:'"),
    C("uri-pin-value", "uri", uri("pkcs11:token=root-a?pin-value=31337-secret"),
      "'pin-value' refused"),
    C("uri-unknown-attribute", "uri", uri("pkcs11:token=root-a;objekt=root"),
      "unknown path attribute 'objekt'"),
    C("uri-bad-percent-encoding", "uri", uri("pkcs11:token=root%2"), "bad percent-encoding"),
    C("uri-percent-non-hex", "uri", uri("pkcs11:object=%zzroot"), "bad percent-encoding"),
    C("uri-nul-byte", "uri", uri("pkcs11:token=root-a%00x"), "no token matches"),
    C("uri-not-utf8", "uri", uri("pkcs11:token=%ff%fe"), "is not UTF-8"),
    C("uri-repeated-attribute", "uri", uri("pkcs11:token=root-a;token=root-b"), "given twice"),
    C("uri-empty-value", "uri", uri("pkcs11:token="), "'token' is empty"),
    C("uri-bad-type", "uri", uri("pkcs11:token=root-a;type=secret"), "type='secret'"),
    C("uri-unicode-digit-slot", "uri", uri("pkcs11:slot-id=\u00b2"),
      "slot-id must be a decimal number"),
    C("uri-fragment", "uri", uri("pkcs11:token=root-a#x"), "fragments"),
    C("uri-module-name", "uri", uri("pkcs11:token=root-a?module-name=softhsm2"),
      "module-name is not supported"),
    C("uri-rtl-label", "uri", uri("root\u202ea-"), "no token matches"),
    C("uri-pin-source-is-a-pin", "uri",
      uri("pkcs11:token=root-a?pin-source=31337-secret", pin=False), "unsupported pin-source"),
    C("uri-stray-separator", "uri", uri("pkcs11:token=root-a;;object=root"),
      "empty attribute"),
    C("uri-path-attribute-in-query", "uri", uri("pkcs11:token=root-a?object=root"),
      "it belongs in the path"),
]
