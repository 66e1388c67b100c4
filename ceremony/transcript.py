"""The ceremony transcript: an append-only, hash-chained JSON-lines record of what happened.

Each line is one canonical JSON object (keys sorted, no whitespace, ASCII) and a newline:

    {"data":{...},"kind":"confirmation","prev":"<hex>","seq":7,"time":"2026-...Z"}

`prev` is the SHA-256 of the previous line's bytes (without its newline); the first line's prev
is 64 zeros. The digest of the last line is the transcript's final digest, shown as hex and as
words: read aloud or written into the paper log at the end of a ceremony, it anchors the whole
chain (the chain alone shows internal consistency; only a digest kept elsewhere shows that the
last entries were not rewritten). A transcript starts with a `start` entry and a finished
ceremony ends with an `end` entry, so a cut at a line boundary is visible too.

Durability: every entry is written with one write() and fsynced before append() returns. A crash
or power cut can leave a torn last line (bytes after the last newline). Safe behaviour chosen:
when a transcript is resumed, a torn tail -- and only that -- is repaired: the fragment is kept
in a sidecar file `<name>.torn-<offset>`, the file is truncated to its last complete line, and a
`repair` entry records the fragment's offset, length, SHA-256 and sidecar name. Anything else
(a complete line that does not parse or does not chain) is refused, never "fixed": that is
tampering or corruption for a person to look at. `verify` reports a torn tail as an error.

Anchored at its end: the final digest is printed after every run (completed, refused, failed,
interrupted) and recorded where a second copy lives -- one line in `ANCHORS`, beside the
transcript (in the workspace's transcripts/ folder), written when the transcript is closed, and
a response bundle names the transcript's digest at the moment it was made. `verify` compares
with what it finds (or `--expect DIGEST` from the paper log) and says so when it found nothing:
the chain alone shows internal consistency only, since whoever can edit the file can rewrite
its end.

Never a PIN: every entry is checked against ceremony.secrets before it is written and refused if
it contains a registered secret; error text is scrubbed instead, so errors are still recorded.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceremony.errors import CeremonyError
from ceremony.secrets import (
    SecretLeakError,
    check_no_secret,
    contains_secret,
    scrub,
    scrub_value,
)
from groundfloor.canonical import canonical_json, sha256_hex
from groundfloor.errors import GroundFloorError
from groundfloor.faults import armed, die, fault_point
from groundfloor.files import atomic_write, fsync_dir, read_limited
from groundfloor.jsonlimits import check_parse_cost
from groundfloor.limits import MAX_RESPONSE_BYTES, MAX_TRANSCRIPT_BYTES, MAX_TRANSCRIPT_LINE
from groundfloor.strictjson import Reader, loads
from groundfloor.version import __version__

GENESIS = "0" * 64
FIELDS = ("data", "kind", "prev", "seq", "time")
_KIND = re.compile(r"[a-z][a-z0-9-]{0,63}")


class TranscriptError(CeremonyError):
    """The transcript cannot be used (in use, closed, unwritable...)."""


class TranscriptTampered(TranscriptError):
    """The transcript does not verify; the message says where and how."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Entry:
    seq: int
    time: str
    kind: str
    data: Mapping[str, Any]
    prev: str
    line: bytes  # exact bytes without the newline

    @property
    def digest(self) -> str:
        return sha256_hex(self.line)


ANCHORS = "ANCHORS"  # beside the transcripts: one JSON line per closed transcript


@dataclass(frozen=True)
class Closed:
    """A transcript closed by this process: what to print after the run, whatever its end."""

    path: Path
    final_digest: str
    outcome: str

    @property
    def final_words(self) -> str:
        from groundfloor.words import digest_words
        return digest_words(bytes.fromhex(self.final_digest))


# Every transcript closed in this process, in order: the CLI prints their final digests after
# a run that failed or was refused too (the ceremony's own output covers a completed run).
CLOSED: list[Closed] = []


def anchors_path(transcript: str | os.PathLike[str]) -> Path:
    return Path(transcript).with_name(ANCHORS)


def _record_anchor(path: Path, start: str, final: str, outcome: str, entries: int) -> None:
    """Append the closed transcript's final digest to ANCHORS (one write of one line, fsynced,
    under a lock). Best effort: a full disk must not turn a completed ceremony into a failed
    one; `verify` then says it found no anchor."""
    line = canonical_json({"transcript": path.name, "start_sha256": start, "final_sha256": final,
                       "outcome": outcome, "entries": entries, "time": _now()}) + b"\n"
    try:
        fd = os.open(anchors_path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def find_anchor(path: str | os.PathLike[str], start: str) -> dict[str, Any] | None:
    """The ANCHORS record of the transcript whose first entry hashes to `start`, if any."""
    try:
        data = anchors_path(path).read_bytes()
    except OSError:
        return None
    found = None
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("start_sha256") == start \
                and isinstance(record.get("final_sha256"), str):
            found = record
    return found


@dataclass(frozen=True)
class Verification:
    """What `verify_transcript` found in a transcript whose chain is intact."""

    entries: tuple[Entry, ...]
    final_digest: str  # hex SHA-256 of the last line
    closed: bool
    torn_tail: bytes  # bytes after the last complete line (empty if none)
    anchored_by: tuple[str, ...] = ()  # what kept elsewhere matched (empty: nothing found)

    @property
    def final_words(self) -> str:
        from groundfloor.words import digest_words
        return digest_words(bytes.fromhex(self.final_digest))

    @property
    def outcome(self) -> str | None:
        last = self.entries[-1] if self.entries else None
        return last.data.get("outcome") if last and last.kind == "end" else None

    @property
    def repairs(self) -> int:
        return sum(1 for e in self.entries if e.kind == "repair")


def _tampered(where: str, problem: str) -> TranscriptTampered:
    return TranscriptTampered(f"{where}: {problem}: edited or corrupted")


# A line's fields, read strictly; the path of a field is "line 3, field seq".
_READ = Reader(_tampered, join=lambda where, key: f"{where}, field {key}", key_in_path=True)


def parse_entries(data: bytes) -> tuple[tuple[Entry, ...], bytes]:
    """Check the chain of a transcript's bytes; returns (entries, torn tail bytes).

    Raises TranscriptTampered naming the first line that does not verify.
    """
    end = data.rfind(b"\n") + 1
    body, torn = data[:end], data[end:]
    lines = body.split(b"\n")[:-1]
    entries: list[Entry] = []
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        expected = len(entries) + 1
        where = f"line {number}"
        try:
            obj = loads(line.decode("ascii"), floats=True, max_int_digits=None)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = "non-ASCII bytes" if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise TranscriptTampered(f"{where} is not a valid entry ({reason}): edited or "
                                     "corrupted") from None
        _READ.fields(obj, where, FIELDS, what="an entry object")
        seq = _READ.integer(obj["seq"], _READ.join(where, "seq"))
        at = f"{where} (seq {seq})"
        kind = _READ.string(obj["kind"], _READ.join(at, "kind"), pattern=_KIND,
                            like="an entry kind ([a-z][a-z0-9-]*)")
        _READ.mapping(obj["data"], _READ.join(at, "data"))
        _READ.string(obj["time"], _READ.join(at, "time"))
        _READ.hex(obj["prev"], _READ.join(at, "prev"), length=64)
        if canonical_json(obj) != line:
            raise TranscriptTampered(f"{where} (seq {seq}) is not in canonical form: edited by "
                                     "hand")
        if seq > expected:
            if _seq_appears(lines[number:], expected):
                raise TranscriptTampered(f"{where} has seq {seq} where seq {expected} was "
                                         f"expected, and seq {expected} comes later: entries "
                                         "were reordered")
            missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}..{seq - 1}"
            raise TranscriptTampered(f"entry {missing} is missing before {where} (seq {seq}): "
                                     "entries were deleted")
        if seq < expected:
            raise TranscriptTampered(f"{where} has seq {seq} after seq {expected - 1}: entries "
                                     "were reordered or duplicated")
        if obj["prev"] != prev:
            raise TranscriptTampered(_chain_break(seq, where, line, lines[number:]))
        if expected == 1 and kind != "start":
            raise TranscriptTampered(f"{where}: the first entry is {kind!r}, not 'start': the "
                                     "beginning is missing")
        if entries and entries[-1].kind == "end":
            raise TranscriptTampered(f"{where} (seq {seq}) follows the end of the ceremony: "
                                     "appended after it was closed")
        entries.append(Entry(seq, obj["time"], kind, obj["data"], obj["prev"], line))
        prev = sha256_hex(line)
    return tuple(entries), torn


def _chain_break(seq: int, where: str, line: bytes, after: list[bytes]) -> str:
    """Name the entry actually edited where the chain breaks at `seq`. If entry seq-1 was
    edited, seq's prev no longer matches but the next link still does; if seq ITSELF was
    edited (its prev field, say), the next entry's prev does not match seq either."""
    head = f"chain broken at seq {seq} ({where}): its prev does not match the hash of "
    if seq == 1:
        return "chain broken at seq 1 (line 1): its prev is not the genesis value; entry 1 " \
               "was altered"
    nxt = after[0] if after else None
    if nxt is not None and f'"prev":"{sha256_hex(line)}"'.encode() not in nxt:
        return (head + f"seq {seq - 1}, and seq {seq + 1} does not chain to it either; entry "
                f"{seq} was altered (e.g. its prev field)")
    if nxt is None:
        return (head + f"seq {seq - 1}; entry {seq - 1} was altered, or the prev field of "
                f"entry {seq} (the last)")
    return head + f"seq {seq - 1}; entry {seq - 1} was altered"


def _seq_appears(lines: list[bytes], seq: int) -> bool:
    """Best effort, for a precise message only: does a later line carry this seq?"""
    needle = f'"seq":{seq},'.encode()
    return any(needle in line for line in lines)


def _digest_matches(expected: str, final_hex: str, final_words: str) -> bool:
    text = " ".join(expected.split()).lower()
    return text == final_hex or text == final_words.lower()


def verify_transcript(path: str | os.PathLike[str], *, allow_open: bool = False,
                      expect: str | None = None,
                      responses: Sequence[str | os.PathLike[str]] = ()) -> Verification:
    """Verify a transcript file: chain, sequence, canonical form, start/end, torn tail, and
    its anchors: `expect` (the final digest recorded elsewhere, hex or the words), the ANCHORS
    record beside it, and response bundles (`responses`, plus those its `output` entries name
    that are still where they were written) that name the transcript's digest when made.

    `allow_open` accepts a transcript without an `end` entry (a ceremony still in progress).
    """
    path = Path(path)
    try:
        data = read_limited(path, MAX_TRANSCRIPT_BYTES, what="transcript")
    except GroundFloorError as exc:
        raise TranscriptError(str(exc)) from None
    if not data:
        raise TranscriptTampered(f"transcript {path} is empty: truncated")
    check_parse_cost(data, f"transcript {path}", error=TranscriptError)
    entries, torn = parse_entries(data)
    last = f"seq {entries[-1].seq}" if entries else "the start"
    if torn:
        raise TranscriptTampered(f"transcript ends with a torn entry after {last} ({len(torn)} "
                                 "bytes without a newline): truncated mid-entry or interrupted "
                                 "write; resuming the transcript repairs it")
    result = Verification(entries, entries[-1].digest, entries[-1].kind == "end", b"")
    if not result.closed and not allow_open:
        raise TranscriptTampered(f"transcript ends at {last} without an 'end' entry: truncated, "
                                 "or the ceremony was interrupted (resume it, or pass "
                                 "--allow-open)")
    anchored: list[str] = []
    if expect is not None:
        if not _digest_matches(expect, result.final_digest, result.final_words):
            raise TranscriptTampered(f"final digest {result.final_digest[:16]}... does not "
                                     "match the expected one: the transcript changed since it "
                                     "was recorded")
        anchored.append("--expect")
    record = find_anchor(path, entries[0].digest)
    if record is not None:
        if record["final_sha256"] != result.final_digest:
            count = record.get("entries")
            now = f"; it had {count} entries then, {len(entries)} now" \
                if isinstance(count, int) and count != len(entries) else ""
            raise TranscriptTampered(
                f"final digest {result.final_digest[:16]}... does not match the one recorded "
                f"in {anchors_path(path)} when the transcript was closed "
                f"({str(record['final_sha256'])[:16]}..., outcome {record.get('outcome')!r}"
                f"{now}): entries were changed and the chain rewritten after the ceremony")
        anchored.append(f"{anchors_path(path)} (recorded when it was closed)")
    anchored += _response_anchors(path, entries, responses)
    return Verification(entries, result.final_digest, result.closed, b"", tuple(anchored))


def _response_anchors(path: Path, entries: tuple[Entry, ...],
                      responses: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A response bundle names the transcript's digest when it was made (`transcript_sha256`):
    that entry must be in the chain, just before the `output` entry recording the response."""
    from transfer.bundle import parse_response
    by_digest = {e.digest: i for i, e in enumerate(entries)}
    outputs = {e.data.get("bundle_sha256"): i for i, e in enumerate(entries)
               if e.kind == "output" and isinstance(e.data.get("bundle_sha256"), str)}
    given = [Path(p) for p in responses]
    named = [Path(e.data["path"]) for e in entries if e.kind == "output"
             and isinstance(e.data.get("path"), str)]
    found = []
    for file in given + [p for p in named if p not in given]:
        try:
            bundle = parse_response(read_limited(file, MAX_RESPONSE_BYTES,
                                                   what="response bundle"))
        except (OSError, GroundFloorError):
            if file in given:
                raise TranscriptError(f"cannot use response {file} as an anchor: it does not "
                                      "read as a response bundle") from None
            continue
        made_at = getattr(bundle, "transcript_sha256", None)
        at = outputs.get(bundle.digest_hex)
        if made_at is None or at is None:
            if file in given:
                raise TranscriptTampered(
                    f"response {file} is not recorded by this transcript"
                    + ("" if at is None else " (it names no transcript digest)")
                    + ": not the response of this ceremony, or the output entry was edited")
            continue  # overwritten since (--force), or made before responses named it
        if by_digest.get(made_at) != at - 1:
            raise TranscriptTampered(
                f"response {file} was made when the transcript's digest was {made_at[:16]}..., "
                f"and the entry before its output entry (seq {entries[at].seq}) no longer "
                "hashes to that: entries up to the response were changed")
        found.append(f"response {file} (names the transcript up to seq {entries[at].seq - 1})")
    return found


class Transcript:
    """An open transcript this process appends to (exclusively: other writers are refused)."""

    def __init__(self, path: Path, fd: int, entries: tuple[Entry, ...]):
        self.path = path
        self._fd = fd
        self._seq = entries[-1].seq if entries else 0
        self._head = entries[-1].digest if entries else GENESIS
        self._closed = bool(entries) and entries[-1].kind == "end"

    # --- opening --------------------------------------------------------------------------

    @staticmethod
    def _open_locked(path: Path, flags: int) -> int:
        try:
            fd = os.open(path, flags | os.O_RDWR | os.O_APPEND, 0o644)
        except FileExistsError:
            raise TranscriptError(f"transcript {path} already exists (resume it instead)") \
                from None
        except FileNotFoundError:
            raise TranscriptError(f"transcript {path} does not exist") from None
        except OSError as exc:
            raise TranscriptError(f"cannot open transcript {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise TranscriptError(f"transcript {path} is in use by another process") from None
        return fd

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, ceremony: str,
               participants: Sequence[str | Mapping[str, Any]] = (),
               data: Mapping[str, Any] | None = None) -> Transcript:
        """Start a new transcript with a `start` entry (tool version, host, participants).

        Refuses an existing transcript, except one that a crash left without any complete
        line (killed while creating it): that one is restarted, its fragment kept and recorded.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise TranscriptError(f"cannot create transcript {path}: no such directory")
        try:
            fd = cls._open_locked(path, os.O_CREAT | os.O_EXCL)
        except TranscriptError:
            if not path.is_file():
                raise
            fd = cls._open_locked(path, 0)
            with open(path, "rb") as fh:
                if b"\n" in fh.read():
                    os.close(fd)
                    raise
        created = os.fstat(fd).st_size == 0  # nothing of a killed creation to keep
        t = cls(path, fd, ())
        try:
            fsync_dir(path.parent)
            with open(path, "rb") as fh:
                fragment = fh.read()
            repairs = t._repair(0, fragment, ()) if fragment else []
            t.append("start", {"ceremony": ceremony, "tool": "notary-ceremony",
                               "version": __version__, "python": platform.python_version(),
                               "host": os.uname().nodename,
                               "participants": _people(participants), **dict(data or {})})
            for record in repairs:
                t.append("repair", record)
        except BaseException:
            if created and t.seq == 0:  # not one entry written (disk full): leave no file
                path.unlink(missing_ok=True)
            t._release()
            raise
        return t

    @classmethod
    def resume(cls, path: str | os.PathLike[str], *, reason: str = "") -> Transcript:
        """Reopen an unfinished transcript: verify it, repair a torn tail, record `resume`."""
        path = Path(path)
        fd = cls._open_locked(path, 0)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            entries, torn = parse_entries(data)
            if not entries:
                raise TranscriptTampered(f"transcript {path} has no complete entry; it cannot "
                                         "be resumed")
            if entries[-1].kind == "end":
                raise TranscriptError(f"transcript {path} is closed (the ceremony ended); start "
                                      "a new one")
            t = cls(path, fd, entries)
            for fragment in t._repair(len(data) - len(torn), torn, entries):
                t.append("repair", fragment)
            t.append("resume", {"reason": reason} if reason else {})
        except BaseException:
            os.close(fd)
            raise
        return t

    def _repair(self, offset: int, torn: bytes, entries: tuple[Entry, ...]) -> list[dict]:
        """Cut a torn tail off (kept in a sidecar first); return the repair records to append.

        Sidecars that an earlier, interrupted repair left unrecorded are recorded too.
        """
        if torn:
            sidecar = self.path.with_name(f"{self.path.name}.torn-{offset}")
            atomic_write(sidecar, torn, overwrite=True)
            fault_point("transcript.repair.before_truncate")
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)
            fault_point("transcript.repair.after_truncate")
        recorded = {e.data.get("sidecar") for e in entries if e.kind == "repair"}
        found = []
        for sidecar in sorted(self.path.parent.glob(f"{self.path.name}.torn-*")):
            if sidecar.name in recorded or not sidecar.name.rsplit("-", 1)[-1].isdigit():
                continue
            fragment = sidecar.read_bytes()
            record = {"sidecar": sidecar.name, "offset": int(sidecar.name.rsplit("-", 1)[-1]),
                      "length": len(fragment), "sha256": sha256_hex(fragment),
                      "note": "torn last entry cut off (interrupted write); fragment kept"}
            if len(fragment) <= 65536 and not contains_secret(fragment.decode("latin-1")):
                record["fragment_base64"] = base64.b64encode(fragment).decode("ascii")
            found.append(record)
        return found

    # --- appending ------------------------------------------------------------------------

    @property
    def head(self) -> str:
        """Hex SHA-256 of the last entry: the transcript's digest so far."""
        return self._head

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, kind: str, data: Mapping[str, Any] | None = None) -> Entry:
        """Write one entry durably (fsynced) and return it. Refuses registered secrets."""
        if self._fd < 0:
            raise TranscriptError(f"transcript {self.path} is not open")
        if self._closed:
            raise TranscriptError(f"transcript {self.path} is closed")
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise TranscriptError(f"bad transcript entry kind {kind!r}")
        data = dict(data or {})
        try:
            check_no_secret(data, f"a transcript entry ({kind})")
        except SecretLeakError:
            # Leave a trace of the attempt (never the value), then refuse.
            self.append("refusal", {"reason": f"an entry of kind {kind} contained a value "
                                              "registered as secret and was not written"})
            raise
        obj = {"seq": self._seq + 1, "time": _now(), "kind": kind, "data": data,
               "prev": self._head}
        try:
            line = canonical_json(obj)
        except (TypeError, ValueError) as exc:
            raise TranscriptError(f"transcript entry {kind} is not JSON data: {exc}") from None
        if len(line) > MAX_TRANSCRIPT_LINE:
            raise TranscriptError(f"transcript entry {kind} is too large ({len(line)} bytes)")
        record = line + b"\n"
        try:
            size = os.fstat(self._fd).st_size
            fault_point("transcript.append.before_write")
            if armed("transcript.append.torn"):  # fault injection: half a line, then SIGKILL
                os.write(self._fd, record[: len(record) // 2])
                die()
            view = memoryview(record)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError as exc:
            # Disk full (or an I/O error) part way: cut what got in, so the file ends with the
            # last whole entry and the next append continues the chain from it.
            try:
                os.ftruncate(self._fd, size)
                os.fsync(self._fd)
            except OSError:
                pass  # a torn tail is what remains; resume() repairs exactly that
            raise TranscriptError(f"cannot write transcript {self.path}: {exc.strerror}; "
                                  "the entry was not recorded") from None
        fault_point("transcript.append.after_fsync")
        self._seq += 1
        self._head = sha256_hex(line)
        entry = Entry(obj["seq"], obj["time"], kind, data, obj["prev"], line)
        if kind == "end":
            self._closed = True
        return entry

    # --- what ceremonies record -----------------------------------------------------------

    def participants(self, people: Sequence[str | Mapping[str, Any]]) -> Entry:
        """People present, as the operator gives them (names, roles)."""
        return self.append("participants", {"people": _people(people)})

    def tokens(self, tokens: Sequence[Mapping[str, Any]]) -> Entry:
        """Tokens used: public facts only (label, serial, manufacturer, model, key IDs)."""
        return self.append("tokens", {"tokens": [dict(t) for t in tokens]})

    def custody(self, evidence: Mapping[str, Any]) -> Entry:
        """Custody evidence: tamper-bag numbers, safe, who held what, key attributes read back."""
        return self.append("custody", dict(evidence))

    def input(self, name: str, content: bytes, **extra: Any) -> Entry:
        """An input (request bundle, script...) by name, SHA-256 and length."""
        return self.append("input", {"name": name, "sha256": sha256_hex(content),
                                     "length": len(content), **extra})

    def output(self, name: str, content: bytes, **extra: Any) -> Entry:
        """An output (response bundle, metadata file...) by name, SHA-256 and length."""
        return self.append("output", {"name": name, "sha256": sha256_hex(content),
                                      "length": len(content), **extra})

    def confirmation(self, question: str, answer: str, *, via_yes: bool) -> Entry:
        """A person's confirmation, or `--yes` given on the command line (recorded as such)."""
        return self.append("confirmation", {"question": question, "answer": answer,
                                            "via": "--yes" if via_yes else "typed"})

    def refusal(self, reason: str, **details: Any) -> Entry:
        """Something the tool refused to do, and why."""
        return self.append("refusal", {"reason": scrub(reason), **scrub_value(details)})

    def error(self, error: BaseException | str) -> Entry:
        """An error, its text scrubbed of secrets (recorded, never refused)."""
        kind = type(error).__name__ if isinstance(error, BaseException) else "error"
        return self.append("error", {"type": kind, "message": scrub(" ".join(str(error).split()))})

    def close(self, outcome: str = "completed", **summary: Any) -> str:
        """Write the `end` entry and release the file; returns the final digest (hex)."""
        if not self._closed:
            self.append("end", {"outcome": outcome, "entries": self._seq + 1, **summary})
            self._anchor(outcome)
        self._release()
        return self._head

    def _anchor(self, outcome: str) -> None:
        """Second copy of the final digest (ANCHORS), and noted for the CLI to print."""
        try:
            with open(self.path, "rb") as fh:
                start = sha256_hex(fh.readline().rstrip(b"\n"))
        except OSError:
            return
        _record_anchor(self.path, start, self._head, outcome, self._seq)
        CLOSED.append(Closed(self.path, self._head, outcome))

    def release(self) -> None:
        """Let go of the file WITHOUT an `end` entry: the ceremony stays open (interrupted) and
        can be resumed (`Transcript.resume`) or closed later."""
        self._release()

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self._fd < 0:
            return
        if exc is None:
            self.close()
            return
        try:  # record why the ceremony stopped, but never mask the original exception
            if not self._closed:
                self.error(exc)
                self.close("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        except Exception:
            pass
        finally:
            self._release()


def _people(people: Sequence[str | Mapping[str, Any]]) -> list[Any]:
    return [p if isinstance(p, str) else dict(p) for p in people]
