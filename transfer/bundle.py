"""Request and response bundles: what travels between the online and the offline machine.

A request (online -> offline) carries, per GUN, what is asked and what the Notary server has now:
its metadata files and root history as exact bytes, and its server-managed public keys. A
response (offline -> online) carries, per GUN, the signed files to publish in upload order, or,
while co-signing is not finished, a partial state saying which signatures are still missing.

Wire format: one canonical JSON object (keys sorted, no whitespace, ASCII only, integers only),
optionally followed by one newline:

    {"content":{...},"created":"2026-01-02T03:04:05Z","format":"notary-ceremony-bundle",
     "kind":"request","sha256":"<hex>","tool":"notary-ceremony 0.1.0","version":1}

`sha256` is the SHA-256 of the same object without `sha256`, serialised the same way: the
bundle's content digest, shown to people as hex and as words. Metadata files are carried as
standard base64 (padded, canonical). Base64 rather than JSON strings because the bytes must
survive exactly whatever they are: a JSON string of the text would accept several spellings of
the same content (`\\u00e9` or `é`, `\\/` or `/`) and cannot carry bytes that are not valid
UTF-8, while canonical base64 has one spelling per byte string, so the digest covers the bytes
themselves and a re-encoded bundle is byte-identical.

Other trust systems' bundles add a top-level `"system"` field: transfer/systembundle.py.

The parser is strict: unknown format, version, kind or field, duplicate keys, wrong types,
floats, non-canonical spelling, oversize and truncation are refused with one line naming the
problem (a BundleError). Nothing here trusts the content: the offline side verifies it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from groundfloor.canonical import canonical_chunks, is_canonical
from groundfloor.errors import GroundFloorError
from groundfloor.files import atomic_write, read_limited
from groundfloor.limits import MAX_BUNDLE_BYTES, MAX_BUNDLE_FILE_BYTES, MAX_BUNDLE_KEY_BYTES
from groundfloor.names import InvalidName, validate_gun, validate_role
from groundfloor.strictjson import Reader, json_type, read_document
from groundfloor.version import __version__
from transfer.errors import TransferError

FORMAT = "notary-ceremony-bundle"
VERSION = 1
KINDS = ("request", "response")
# The trust systems whose bundles travel in this frame besides Notary v1 (which has no
# "system" field), and the command family that answers their requests.
SYSTEMS = {"notation": "ceremony notation", "tuf": "ceremony tuf"}
SERVER_KEY_ROLES = ("timestamp", "snapshot")

MAX_REPOSITORIES = 10_000
MAX_FILES_PER_REPOSITORY = 1_000
MAX_ROOT_HISTORY = 1_000
MAX_DEPTH = 32
MAX_TEXT = 2048

TOOL = f"notary-ceremony {__version__}"
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_OPERATION = re.compile(r"[a-z][a-z0-9-]{0,63}")
_URL = re.compile(r"https?://[!-~]+")


class BundleError(TransferError):
    """A bundle that cannot be read or written; the message names the problem."""


def utc_now() -> str:
    """Current time as RFC 3339 UTC with whole seconds, e.g. 2026-01-02T03:04:05Z."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestEntry:
    """One GUN in a request: what is asked and what the server has now (exact bytes)."""

    gun: str
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict)
    fetched_at: str = ""
    metadata: Mapping[str, bytes] = field(default_factory=dict)  # role -> bytes as served
    root_history: tuple[bytes, ...] = ()  # index i holds (i+1).root.json
    server_keys: Mapping[str, bytes] = field(default_factory=dict)  # "timestamp"/"snapshot"

    @property
    def exists(self) -> bool:
        """True if the server already has this repository (it served a root)."""
        return "root" in self.metadata


@dataclass(frozen=True)
class SignedFile:
    """One file to upload: the role it is for and its exact bytes."""

    role: str
    data: bytes


@dataclass(frozen=True)
class PendingSignatures:
    """Extension point for co-signing: what a partial response still lacks.

    `missing` lists the signatures still needed (one JSON object each, e.g. role, key ID and
    token label: defined by the ceremony layer); `state` is whatever that layer needs to resume
    (opaque JSON object). A response entry that has this is not publishable.
    """

    missing: tuple[Mapping[str, Any], ...]
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponseEntry:
    """One GUN in a response: signed files in upload order, or a partial signing state."""

    gun: str
    files: tuple[SignedFile, ...] = ()
    pending: PendingSignatures | None = None

    @property
    def complete(self) -> bool:
        return self.pending is None


class _Bundle:
    kind: ClassVar[str]
    created: str
    tool: str

    def _content(self) -> dict[str, Any]:
        raise NotImplementedError

    def _unsealed(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "kind": self.kind,
                "created": self.created, "tool": self.tool, "content": self._content()}

    def digest(self) -> bytes:
        """SHA-256 over the canonical bundle without its `sha256` field."""
        # Computed once: a ceremony asks for it many times (review, transcript, response),
        # and for thousands of repositories each time is a full serialisation.
        cached = self.__dict__.get("_digest")
        if cached is None:
            h = hashlib.sha256()
            for chunk in canonical_chunks(self._unsealed()):
                h.update(chunk)
            cached = h.digest()
            object.__setattr__(self, "_digest", cached)
        return cached

    @property
    def digest_hex(self) -> str:
        return self.digest().hex()

    def iter_bytes(self) -> Iterator[bytes]:
        """to_bytes() in pieces (the same bytes), to write a large bundle without holding
        whole copies of it; the size limit is checked as it goes."""
        obj = self._unsealed()
        obj["sha256"] = self.digest_hex
        size = 1
        for chunk in canonical_chunks(obj):
            size += len(chunk)
            if size > MAX_BUNDLE_BYTES:
                raise BundleError(f"{self.kind} bundle would be larger than the limit of "
                                  f"{MAX_BUNDLE_BYTES} bytes; split it into several bundles")
            yield chunk
        yield b"\n"

    def to_bytes(self) -> bytes:
        """The bundle as it is written and transferred (canonical JSON + newline)."""
        obj = self._unsealed()
        obj["sha256"] = self.digest_hex
        data = b"".join([*canonical_chunks(obj), b"\n"])
        if len(data) > MAX_BUNDLE_BYTES:
            raise BundleError(f"{self.kind} bundle would be {len(data)} bytes, larger than the "
                              f"limit of {MAX_BUNDLE_BYTES}; split it into several bundles")
        return data


@dataclass(frozen=True)
class RequestBundle(_Bundle):
    """Online -> offline: per GUN, what is asked and what the server has now."""

    kind: ClassVar[str] = "request"
    server: str
    entries: tuple[RequestEntry, ...]
    created: str = field(default_factory=utc_now)
    tool: str = TOOL

    def __post_init__(self) -> None:
        _check_request(self)

    def _content(self) -> dict[str, Any]:
        return {"server": self.server, "repositories": [{
            "gun": e.gun, "fetched_at": e.fetched_at,
            "operation": {"name": e.operation, "params": dict(e.params)},
            "metadata": {role: _b64(data) for role, data in e.metadata.items()},
            "root_history": [_b64(data) for data in e.root_history],
            "server_keys": {role: _b64(data) for role, data in e.server_keys.items()},
        } for e in self.entries]}

    @property
    def guns(self) -> list[str]:
        return [e.gun for e in self.entries]

    def entry(self, gun: str) -> RequestEntry:
        for e in self.entries:
            if e.gun == gun:
                return e
        raise BundleError(f"request bundle has no repository {gun!r}")


@dataclass(frozen=True)
class ResponseBundle(_Bundle):
    """Offline -> online: per GUN, the signed files to publish (or a partial signing state)."""

    kind: ClassVar[str] = "response"
    entries: tuple[ResponseEntry, ...]
    request_sha256: str | None = None  # digest of the request this answers, if any
    # The digest of the transcript of the run that made it, up to that moment: a second copy
    # of the transcript's chain that travels with the response (`transcript verify` checks it).
    # Omitted from the bytes when None, so responses made without it read as before.
    transcript_sha256: str | None = None
    created: str = field(default_factory=utc_now)
    tool: str = TOOL

    def __post_init__(self) -> None:
        _check_response(self)

    def _content(self) -> dict[str, Any]:
        content: dict[str, Any] = {"request_sha256": self.request_sha256, "repositories": [{
            "gun": e.gun,
            "files": [{"role": f.role, "data": _b64(f.data)} for f in e.files],
            "pending": None if e.pending is None else {
                "missing": [dict(m) for m in e.pending.missing], "state": dict(e.pending.state)},
        } for e in self.entries]}
        if self.transcript_sha256 is not None:
            content["transcript_sha256"] = self.transcript_sha256
        return content

    @property
    def guns(self) -> list[str]:
        return [e.gun for e in self.entries]

    @property
    def complete(self) -> bool:
        """True if every GUN is fully signed (publishable)."""
        return all(e.complete for e in self.entries)

    def entry(self, gun: str) -> ResponseEntry:
        for e in self.entries:
            if e.gun == gun:
                return e
        raise BundleError(f"response bundle has no repository {gun!r}")


Bundle = RequestBundle | ResponseBundle


# --- checks shared by construction and parsing ----------------------------------------------------

def _fail(where: str, problem: str) -> BundleError:
    return BundleError(f"{where}: {problem}" if where else problem)


_READ = Reader(_fail)  # the strict reader, refusing with a BundleError naming the field


def _gun_at(gun: object, where: str) -> str:
    try:
        return validate_gun(gun)
    except InvalidName as exc:
        raise _fail(where, str(exc)) from None


def _role_at(role: object, where: str) -> str:
    try:
        return validate_role(role)
    except InvalidName as exc:
        raise _fail(where, str(exc)) from None


def _time_at(value: object, where: str) -> str:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise _fail(where, f"{value!r} is not a UTC time like 2026-01-02T03:04:05Z")
    try:
        dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise _fail(where, f"{value!r} is not a valid date and time") from None
    return value


def _json_value_at(value: object, where: str) -> None:
    """Opaque JSON (parameters, co-signing state): bounded depth, no floats."""
    _READ.json_value(value, where, max_depth=MAX_DEPTH)


def _bytes_at(value: object, where: str, limit: int) -> bytes:
    if not isinstance(value, bytes):
        raise _fail(where, f"expected bytes, got {type(value).__name__}")
    if len(value) > limit:
        raise _fail(where, f"{len(value)} bytes, larger than the limit of {limit}")
    return value


def _check_count(entries: tuple[Any, ...], what: str) -> None:
    if not entries:
        raise _fail(what, "no repositories")
    if len(entries) > MAX_REPOSITORIES:
        raise _fail(what, f"{len(entries)} repositories, more than the limit of "
                          f"{MAX_REPOSITORIES}")


def _check_request(b: RequestBundle) -> None:
    if not isinstance(b.server, str) or len(b.server) > MAX_TEXT or not _URL.fullmatch(b.server):
        raise _fail("request bundle: server", f"{b.server!r} is not an http(s) URL")
    _time_at(b.created, "request bundle: created")
    _check_count(b.entries, "request bundle")
    seen: set[str] = set()
    for i, e in enumerate(b.entries):
        where = f"request bundle: repositories[{i}]"
        gun = _gun_at(e.gun, where + ".gun")
        where = f"request bundle: repository {gun}"
        if gun in seen:
            raise _fail(where, "listed twice")
        seen.add(gun)
        if not isinstance(e.operation, str) or not _OPERATION.fullmatch(e.operation):
            raise _fail(where + ".operation", f"{e.operation!r} is not an operation name "
                                              "([a-z][a-z0-9-]*)")
        if not isinstance(e.params, Mapping):
            raise _fail(where + ".operation.params", "must be an object")
        _json_value_at(dict(e.params), where + ".operation.params")
        _time_at(e.fetched_at, where + ".fetched_at")
        if len(e.metadata) > MAX_FILES_PER_REPOSITORY:
            raise _fail(where, f"more than {MAX_FILES_PER_REPOSITORY} metadata files")
        for role, data in e.metadata.items():
            _bytes_at(data, f"{where}.metadata.{_role_at(role, where + '.metadata')}",
                      MAX_BUNDLE_FILE_BYTES)
        if e.metadata and "root" not in e.metadata:
            raise _fail(where + ".metadata", "has files but no root")
        if len(e.root_history) > MAX_ROOT_HISTORY:
            raise _fail(where, f"root history longer than {MAX_ROOT_HISTORY} versions")
        for n, data in enumerate(e.root_history, start=1):
            _bytes_at(data, f"{where}.root_history (version {n})", MAX_BUNDLE_FILE_BYTES)
        if bool(e.root_history) != e.exists:
            raise _fail(where, "root history must be present exactly when root is")
        for role, data in e.server_keys.items():
            if role not in SERVER_KEY_ROLES:
                raise _fail(where + ".server_keys", f"unknown key role {role!r}")
            _bytes_at(data, f"{where}.server_keys.{role}", MAX_BUNDLE_KEY_BYTES)


def _check_response(b: ResponseBundle) -> None:
    _time_at(b.created, "response bundle: created")
    if b.request_sha256 is not None:
        _READ.hex(b.request_sha256, "response bundle: request_sha256", length=64)
    if b.transcript_sha256 is not None:
        _READ.hex(b.transcript_sha256, "response bundle: transcript_sha256", length=64)
    _check_count(b.entries, "response bundle")
    seen: set[str] = set()
    for i, e in enumerate(b.entries):
        gun = _gun_at(e.gun, f"response bundle: repositories[{i}].gun")
        where = f"response bundle: repository {gun}"
        if gun in seen:
            raise _fail(where, "listed twice")
        seen.add(gun)
        if len(e.files) > MAX_FILES_PER_REPOSITORY:
            raise _fail(where, f"more than {MAX_FILES_PER_REPOSITORY} files")
        roles: set[str] = set()
        for f in e.files:
            role = _role_at(f.role, where + ".files")
            if role == "timestamp":
                raise _fail(where + ".files", "timestamp is made by the server and cannot be "
                                              "uploaded")
            if role in roles:
                raise _fail(where + ".files", f"role {role} appears twice")
            roles.add(role)
            _bytes_at(f.data, f"{where}.files.{role}", MAX_BUNDLE_FILE_BYTES)
        if e.pending is None:
            if not e.files:
                raise _fail(where, "no files to publish and no pending signatures")
        else:
            if not e.pending.missing:
                raise _fail(where + ".pending", "partial state lists no missing signatures")
            for m in e.pending.missing:
                if not isinstance(m, Mapping):
                    raise _fail(where + ".pending.missing", "entries must be objects")
                _json_value_at(dict(m), where + ".pending.missing")
            if not isinstance(e.pending.state, Mapping):
                raise _fail(where + ".pending.state", "must be an object")
            _json_value_at(dict(e.pending.state), where + ".pending.state")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- parsing -----------------------------------------------------------------------------------

def _loads(data: bytes, what: str) -> Any:
    return read_document(data, what, error=BundleError)


def _unb64(value: Any, where: str, limit: int) -> bytes:
    return _READ.base64(value, where, limit=limit)


def _b64_map(value: Any, where: str, limit: int) -> dict[str, bytes]:
    _READ.mapping(value, where)
    return {k: _unb64(v, f"{where}.{k}", limit) for k, v in value.items()}


def _parse_request(created: str, tool: str, content: Any) -> RequestBundle:
    c = _READ.fields(content, "request bundle: content", ("repositories", "server"))
    server = _READ.string(c["server"], "request bundle: server")
    repos = _READ.array(c["repositories"], "request bundle: repositories",
                        max_items=MAX_REPOSITORIES, items="repositories")
    entries = []
    for i, r in enumerate(repos):
        where = f"request bundle: repositories[{i}]"
        r = _READ.fields(r, where, ("fetched_at", "gun", "metadata", "operation",
                                    "root_history", "server_keys"))
        gun = _READ.string(r["gun"], where + ".gun")
        where = f"request bundle: repository {gun!r}" if gun.isprintable() else where
        op = _READ.fields(r["operation"], where + ".operation", ("name", "params"))
        history = _READ.array(r["root_history"], where + ".root_history",
                              max_items=MAX_ROOT_HISTORY, items="root versions")
        entries.append(RequestEntry(
            gun=gun,
            operation=_READ.string(op["name"], where + ".operation.name"),
            params=_READ.mapping(op["params"], where + ".operation.params"),
            fetched_at=_READ.string(r["fetched_at"], where + ".fetched_at"),
            metadata=_b64_map(r["metadata"], where + ".metadata", MAX_BUNDLE_FILE_BYTES),
            root_history=tuple(_unb64(h, f"{where}.root_history[{n}]", MAX_BUNDLE_FILE_BYTES)
                               for n, h in enumerate(history)),
            server_keys=_b64_map(r["server_keys"], where + ".server_keys", MAX_BUNDLE_KEY_BYTES)))
        # Its base64 text goes as soon as it is decoded: the text and the bytes of every
        # repository are never held at once (~85 MB + ~64 MB at 10,000 repositories).
        repos[i] = None
    return RequestBundle(server=server, entries=tuple(entries), created=created, tool=tool)


def _parse_response(created: str, tool: str, content: Any) -> ResponseBundle:
    c = _READ.fields(content, "response bundle: content", ("repositories", "request_sha256"),
                     ("transcript_sha256",))
    request_sha = c["request_sha256"]
    transcript_sha = c.get("transcript_sha256")
    if transcript_sha is not None:
        _READ.hex(transcript_sha, "response bundle: transcript_sha256", length=64)
    if request_sha is not None:
        _READ.hex(request_sha, "response bundle: request_sha256", length=64)
    repos = _READ.array(c["repositories"], "response bundle: repositories",
                        max_items=MAX_REPOSITORIES, items="repositories")
    entries = []
    for i, r in enumerate(repos):
        where = f"response bundle: repositories[{i}]"
        r = _READ.fields(r, where, ("files", "gun", "pending"))
        gun = _READ.string(r["gun"], where + ".gun")
        where = f"response bundle: repository {gun!r}" if gun.isprintable() else where
        files = []
        for j, f in enumerate(_READ.array(r["files"], where + ".files")):
            f = _READ.fields(f, f"{where}.files[{j}]", ("data", "role"))
            role = _READ.string(f["role"], f"{where}.files[{j}].role")
            files.append(SignedFile(role, _unb64(f["data"], f"{where}.files[{j}].data",
                                                 MAX_BUNDLE_FILE_BYTES)))
            f["data"] = None  # the text goes once decoded, as in a request
        pending = None
        if r["pending"] is not None:
            p = _READ.fields(r["pending"], where + ".pending", ("missing", "state"))
            missing = _READ.array(p["missing"], where + ".pending.missing")
            pending = PendingSignatures(
                missing=tuple(_READ.mapping(m, f"{where}.pending.missing[{n}]")
                              for n, m in enumerate(missing)),
                state=_READ.mapping(p["state"], where + ".pending.state"))
        entries.append(ResponseEntry(gun=gun, files=tuple(files), pending=pending))
    return ResponseBundle(entries=tuple(entries), request_sha256=request_sha,
                          transcript_sha256=transcript_sha, created=created,
                          tool=tool)


def parse_bundle(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> Bundle:
    """Parse and check a Notary v1 bundle's bytes; raise BundleError naming the first problem
    found (another trust system's bundle is refused, naming the command that reads it)."""
    frame = parse_frame(data, max_bytes=max_bytes)
    if frame.system is not None:
        raise BundleError(f"this is a {frame.system} {frame.kind} bundle, not a Notary v1 one: "
                          f"use `{SYSTEMS[frame.system]}` commands with it")
    if frame.kind == "request":
        bundle: Bundle = _parse_request(frame.created, frame.tool, frame.content)
    else:
        bundle = _parse_response(frame.created, frame.tool, frame.content)
    # The digest was just checked against the bytes: kept, rather than serialising the whole
    # bundle again (at 10,000 repositories a second ~85 MB of base64 text and ~0.3 s) the
    # first time a ceremony shows or records it.
    object.__setattr__(bundle, "_digest", bytes.fromhex(frame.sha256))
    return bundle


@dataclass(frozen=True)
class Frame:
    """A bundle's checked frame: format, version, kind, digest, canonical form; `content` not
    yet read (Notary v1's readers below, another system's in transfer/systembundle.py)."""

    kind: str
    system: str | None
    created: str
    tool: str
    content: Any
    sha256: str = ""  # the digest, checked against the bytes


def parse_frame(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> Frame:
    """Check a bundle's frame (every rule but the content's own); BundleError naming the first
    problem found."""
    if len(data) > max_bytes:
        raise BundleError(f"bundle is {len(data)} bytes, larger than the limit of {max_bytes}")
    obj = _loads(data, "bundle")
    if not isinstance(obj, dict):
        raise BundleError(f"bundle must be a JSON object, got {json_type(obj)}")
    if obj.get("format") != FORMAT:
        raise BundleError(f"not a {FORMAT} (format field is {obj.get('format')!r})")
    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        raise BundleError(f"unsupported bundle version {version!r} (this tool reads version "
                          f"{VERSION})")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise BundleError(f"unknown bundle kind {kind!r} (expected request or response)")
    system = obj.get("system")
    what = f"{kind} bundle" if system is None else f"{system} {kind} bundle"
    if system is not None and system not in SYSTEMS:
        raise BundleError(f"unknown trust system {system!r} in a bundle (this tool reads "
                          f"Notary v1, {', '.join(SYSTEMS)})")
    _READ.fields(obj, what, ("content", "created", "format", "kind", "sha256", "tool",
                             "version", *(("system",) if system is not None else ())))
    claimed = _READ.hex(obj["sha256"], what + ": sha256", length=64)
    if not is_canonical(data, obj):
        raise BundleError(f"{what} is not in canonical form (reformatted or edited by hand?)")
    # The canonical form without its top-level "sha256" member (the last one: "content" sorts
    # first, and a JSON string cannot hold `,"sha256":"` unescaped) is what the digest covers:
    # hashed from the bytes in place, not serialised a second time.
    member = b',"sha256":"' + claimed.encode() + b'"'
    cut = data.rfind(member)
    view = memoryview(data)
    digest = hashlib.sha256(view[:cut])
    digest.update(view[cut + len(member):len(data) - data.endswith(b"\n")])
    actual = digest.hexdigest()
    if actual != claimed:
        raise BundleError(f"{what} digest mismatch: content hashes to {actual[:16]}..., the "
                          f"bundle says {claimed[:16]}... (corrupted or altered in transit)")
    created = _READ.string(obj["created"], what + ": created")
    tool = _READ.string(obj["tool"], what + ": tool", max_len=100, printable=True)
    return Frame(kind, system, created, tool, obj["content"], actual)


def parse_request(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> RequestBundle:
    b = parse_bundle(data, max_bytes=max_bytes)
    if not isinstance(b, RequestBundle):
        raise BundleError(f"expected a request bundle, got a {b.kind} bundle")
    return b


def parse_response(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> ResponseBundle:
    b = parse_bundle(data, max_bytes=max_bytes)
    if not isinstance(b, ResponseBundle):
        raise BundleError(f"expected a response bundle, got a {b.kind} bundle")
    return b


def read_bundle(path: str | Path, *, kind: str | None = None,
                max_bytes: int = MAX_BUNDLE_BYTES) -> Bundle:
    """Read and parse a bundle file; `kind` ("request"/"response") insists on one kind."""
    try:
        data = read_limited(path, max_bytes, what="bundle")
    except GroundFloorError as exc:
        raise BundleError(str(exc)) from None
    if kind == "request":
        return parse_request(data, max_bytes=max_bytes)
    if kind == "response":
        return parse_response(data, max_bytes=max_bytes)
    return parse_bundle(data, max_bytes=max_bytes)


def write_bundle(path: str | Path, bundle: Bundle, *, overwrite: bool = False) -> Path:
    """Write a bundle atomically (never half a file); refuses to overwrite unless asked."""
    return atomic_write(path, bundle.to_bytes(), overwrite=overwrite)


# --- for people ----------------------------------------------------------------------------------

def version_label(data: bytes) -> str:
    """`v3` from a metadata file's signed.version, for display only (nothing is trusted here)."""
    try:
        version = json.loads(data)["signed"]["version"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return "unreadable"
    return f"v{version}" if isinstance(version, int) and not isinstance(version, bool) else "v?"
