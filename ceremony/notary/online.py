"""The online side: fetch a request from a Notary server, publish a response to it.

ONLINE MACHINE ONLY. This is the one module of the tool that opens network connections; no
offline command imports it (tests/bundle/test_offline_imports.py enforces that).

Standard library only (http.client + ssl): keep-alive connections, one per worker thread (at
most `jobs` at once, so a server is never flooded), TLS verified against the system store or
`--ca FILE`, no redirects followed. Nothing fetched is trusted here;
the fetch only keeps the set of files consistent (everything is fetched by the hashes the
server's own timestamp and snapshot name, so a publish racing with the fetch cannot mix two
states) and the offline machine verifies all of it.

Server API (docs/verify.md): GET /v2/<gun>/_trust/tuf/<role>.json, <role>.<sha256>.json,
<n>.root.json, timestamp.key, snapshot.key; POST /v2/<gun>/_trust/tuf/ multipart/form-data with
one part per file, all named `files`, filename = role. Before a repository's first root is
published every GET of a key creates a new key, so each key is fetched exactly once and carried.

Publishing thousands of repositories is resumable: each one the server accepted is appended to
a record file bound to the response's digest; a rerun skips what the record lists. A repository
whose POST was cut off without an answer may have been accepted: when the server refuses it
on the rerun, the files it holds are compared with ours, and identical ones count as published.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import secrets
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from groundfloor.faults import fault_point
from groundfloor.limits import MAX_BUNDLE_FILE_BYTES, MAX_BUNDLE_KEY_BYTES
from groundfloor.names import InvalidName, validate_gun, validate_role
from transfer.bundle import (
    RequestBundle,
    RequestEntry,
    ResponseBundle,
    SignedFile,
    utc_now,
)
from transfer.errors import TransferError
from transfer.fetch_record import FetchRecord
from transfer.linerecord import LineRecord
from transfer.summary import threshold_needs

Progress = Callable[[str], None]
Done = Callable[[int, int], None]  # (repositories done, of how many)
DEFAULT_JOBS = 4
MAX_JOBS = 32


class OnlineError(TransferError):
    """The server could not be reached, refused, or sent something unusable."""


class ServerRefused(OnlineError):
    """The server answered a publish with an error; the message carries its code and detail."""

    def __init__(self, message: str, *, gun: str, status: int, code: str, detail: str):
        super().__init__(message)
        self.gun, self.status, self.code, self.detail = gun, status, code, detail


def server_error_text(status: int, body: bytes) -> tuple[str, str]:
    """(code, detail) from a Notary error body `{"errors":[{"code","message","detail"}]}`."""
    try:
        errors = json.loads(body)["errors"]
        first = errors[0]
        code = str(first.get("code") or f"HTTP {status}")
        parts = [str(first.get("message") or "")]
        detail = first.get("detail")
        if detail not in (None, "", {}, []):
            parts.append(detail if isinstance(detail, str) else
                         json.dumps(detail, sort_keys=True, separators=(",", ":")))
        text = ": ".join(p for p in parts if p)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        code = f"HTTP {status}"
        text = body.decode("utf-8", "replace")
    text = " ".join(text.split())
    return code, (text[:500] + "...") if len(text) > 500 else text


class NotaryHTTP:
    """A small HTTP(S) client for one Notary server (keep-alive, verified TLS, no redirects)."""

    def __init__(self, server: str, *, ca: str | Path | None = None, timeout: float = 30.0,
                 allow_http: bool = False):
        url = urllib.parse.urlsplit(server)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise OnlineError(f"server URL {server!r} must look like https://host[:port]")
        if url.scheme == "http" and not allow_http:
            raise OnlineError(f"refusing plain HTTP to {server} (use https, or --allow-http "
                              "in a lab)")
        if url.query or url.fragment or url.username or url.password:
            raise OnlineError(f"server URL {server!r} must not carry a query, fragment or "
                              "credentials")
        self.server = server.rstrip("/")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._prefix = url.path.rstrip("/")
        self._timeout = timeout
        self._context: ssl.SSLContext | None = None
        if self._https:
            try:
                self._context = ssl.create_default_context(cafile=str(ca) if ca else None)
            except (OSError, ssl.SSLError) as exc:
                raise OnlineError(f"cannot load CA certificates from {ca}: {exc}") from None
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                               context=self._context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> NotaryHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                limit: int = MAX_BUNDLE_FILE_BYTES) -> tuple[int, bytes]:
        """Send one request; returns (status, body). A request on a kept-alive connection the
        server dropped meanwhile is sent once more on a new one (a POST too: publishing the
        same files twice is refused by the server, and publish_response then finds its files
        already there)."""
        target = self._prefix + path
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request(method, target, body=body, headers=dict(headers or {}))
                resp = self._conn.getresponse()
                data = resp.read(limit + 1)
                if len(data) > limit:
                    self.close()
                    raise OnlineError(f"{method} {target}: the server sent more than {limit} "
                                      "bytes")
                if resp.getheader("connection", "").lower() == "close":
                    self.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue
                raise OnlineError(f"{method} {self.server}{path}: connection lost "
                                  f"({type(exc).__name__})") from None
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise OnlineError(f"TLS certificate of {self.server} not trusted: "
                                  f"{exc.verify_message} (give the CA with --ca FILE)") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 1:  # e.g. TLS closed under a kept-alive connection
                    continue
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise OnlineError(f"cannot reach {self.server}: {reason}") from None
        raise AssertionError("unreachable")

    def get(self, path: str, *, limit: int = MAX_BUNDLE_FILE_BYTES) -> tuple[int, bytes]:
        return self.request("GET", path, limit=limit)


def _tuf_path(gun: str, name: str = "") -> str:
    return "/v2/" + urllib.parse.quote(gun, safe="/:") + "/_trust/tuf/" + \
        urllib.parse.quote(name, safe="/")


def _get_ok(http: NotaryHTTP, gun: str, name: str, *, limit: int = MAX_BUNDLE_FILE_BYTES) -> bytes:
    status, body = http.get(_tuf_path(gun, name), limit=limit)
    if status != 200:
        code, detail = server_error_text(status, body)
        raise OnlineError(f"{gun}: GET {name} failed: HTTP {status} {code}: {detail}")
    return body


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise OnlineError(f"{what} from the server is not a JSON object")
    return obj


def _sha256_from_meta(meta: Any, role: str, what: str) -> str:
    """Hex SHA-256 that a snapshot/timestamp `meta` entry gives for `role`."""
    try:
        raw = base64.b64decode(meta[role]["hashes"]["sha256"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise OnlineError(f"{what} on the server has no usable sha256 for {role}") from None
    if len(raw) != 32:
        raise OnlineError(f"{what} on the server has a malformed sha256 for {role}")
    return raw.hex()


def _get_by_hash(http: NotaryHTTP, gun: str, role: str, hexdigest: str) -> bytes:
    data = _get_ok(http, gun, f"{role}.{hexdigest}.json")
    if hashlib.sha256(data).hexdigest() != hexdigest:
        raise OnlineError(f"{gun}: the server's {role}.{hexdigest[:12]}...json does not hash to "
                          "its name; refusing an inconsistent fetch")
    return data


SNAPSHOT_KEY_CHOICES = ("auto", "always", "never")


def fetch_repository(http: NotaryHTTP, gun: str, *, operation: str | None = None,
                     params: Mapping[str, Any] | None = None, snapshot_key: str = "auto",
                     progress: Progress | None = None,
                     key_lock: AbstractContextManager[Any] | None = None) -> RequestEntry:
    """Fetch one GUN: metadata (a consistent set), full root history, server keys (once each).

    `operation` defaults to "init" for a repository the server does not have; for an existing
    one it must be given. timestamp.key is always fetched (the server always holds it).
    snapshot.key: "auto" fetches it for a new repository only, because for an existing one
    whose snapshot key is held offline every GET makes the server create another pending key;
    "always" fetches it anyway (moving the snapshot key to the server), "never" skips it.
    """
    if snapshot_key not in SNAPSHOT_KEY_CHOICES:
        raise OnlineError(f"snapshot_key must be one of {', '.join(SNAPSHOT_KEY_CHOICES)}")
    fetched_at = utc_now()
    status, root_now = http.get(_tuf_path(gun, "root.json"))
    metadata: dict[str, bytes] = {}
    history: list[bytes] = []
    if status == 404:
        if operation not in (None, "init"):  # before any key GET: those create server keys
            raise OnlineError(f"{gun}: the server has no trust data for this repository, so "
                              f"--operation {operation} cannot apply (is the GUN right?); only "
                              "init starts a repository; no key was requested")
        if progress:
            progress(f"{gun}: new repository (the server has no trust data)")
        operation = operation or "init"
    elif status != 200:
        code, detail = server_error_text(status, root_now)
        raise OnlineError(f"{gun}: GET root.json failed: HTTP {status} {code}: {detail}")
    else:
        if operation is None:
            raise OnlineError(f"{gun} already exists on the server: say what is asked with "
                              "--operation")
        # Everything else by hash, following the server's own timestamp -> snapshot.
        timestamp = _get_ok(http, gun, "timestamp.json")
        ts_meta = _json_object(timestamp, f"{gun} timestamp.json").get("signed", {})
        snap_hex = _sha256_from_meta(ts_meta.get("meta") if isinstance(ts_meta, dict) else None,
                                     "snapshot", f"{gun} timestamp.json")
        snapshot = _get_by_hash(http, gun, "snapshot", snap_hex)
        snap_signed = _json_object(snapshot, f"{gun} snapshot.json").get("signed", {})
        snap_meta = snap_signed.get("meta") if isinstance(snap_signed, dict) else None
        if not isinstance(snap_meta, dict) or "targets" not in snap_meta:
            raise OnlineError(f"{gun}: the server's snapshot.json lists no targets")
        metadata = {"timestamp": timestamp, "snapshot": snapshot}
        for role in sorted(snap_meta):
            try:
                validate_role(role)
            except InvalidName as exc:
                raise OnlineError(f"{gun}: the server's snapshot lists a bad role: {exc}") \
                    from None
            if role in ("timestamp", "snapshot"):
                raise OnlineError(f"{gun}: the server's snapshot lists {role} in its meta")
            metadata[role] = _get_by_hash(http, gun, role,
                                          _sha256_from_meta(snap_meta, role, f"{gun} snapshot"))
        metadata.setdefault("root", root_now)
        root_signed = _json_object(metadata["root"], f"{gun} root.json").get("signed")
        version = root_signed.get("version") if isinstance(root_signed, dict) else None
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 1000:
            raise OnlineError(f"{gun}: the server's root.json has no usable version")
        for n in range(1, version + 1):
            history.append(_get_ok(http, gun, f"{n}.root.json"))
        if history[-1] != metadata["root"]:
            raise OnlineError(f"{gun}: the server's {version}.root.json differs from its current "
                              "root; refusing an inconsistent fetch")
        if progress:
            progress(f"{gun}: {len(metadata)} metadata files, root history 1..{version}")
    with key_lock or nullcontext():
        server_keys = {"timestamp": _get_ok(http, gun, "timestamp.key", limit=MAX_BUNDLE_KEY_BYTES)}
        if snapshot_key == "always" or (snapshot_key == "auto" and not metadata):
            server_keys["snapshot"] = _get_ok(http, gun, "snapshot.key", limit=MAX_BUNDLE_KEY_BYTES)
    for role, data in server_keys.items():
        if "keytype" not in _json_object(data, f"{gun} {role}.key"):
            raise OnlineError(f"{gun}: the server's {role}.key is not a key object")
    return RequestEntry(gun=gun, operation=operation, params=dict(params or {}),
                        fetched_at=fetched_at, metadata=metadata, root_history=tuple(history),
                        server_keys=server_keys)


class _Clients:
    """One keep-alive client per worker thread, all closed at the end."""

    def __init__(self, server: str, **options: Any):
        self._server, self._options = server, options
        self._local = threading.local()
        self._all: list[NotaryHTTP] = []
        self._lock = threading.Lock()
        NotaryHTTP(server, **options)  # a bad URL or CA fails here, before any thread

    def get(self) -> NotaryHTTP:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = NotaryHTTP(self._server, **self._options)
            with self._lock:
                self._all.append(client)
        return client

    def close(self) -> None:
        for client in self._all:
            client.close()


def _jobs(jobs: int) -> int:
    if not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise OnlineError(f"jobs must be between 1 and {MAX_JOBS}")
    return jobs


@contextmanager
def _pool(jobs: int) -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="online")
    try:
        yield pool
    finally:  # on an error or Ctrl-C: no new repository starts, the running ones finish
        pool.shutdown(wait=True, cancel_futures=True)


def _run_all(pool: ThreadPoolExecutor, items: Sequence[Any], work: Callable[[Any], Any],
             on_done: Done | None) -> list[Any]:
    """`work` over `items` with the pool; results in item order. The first error stops what
    has not started and is raised (the earliest item's, when several fail together)."""
    futures: dict[Future[Any], int] = {pool.submit(work, item): i for i, item in enumerate(items)}
    results: list[Any] = [None] * len(items)
    pending = set(futures)
    done_count = 0
    while pending:
        finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
        failed = sorted(futures[f] for f in finished if f.exception() is not None)
        if failed:
            for f in pending:
                f.cancel()
            wait(pending)
            raise _futures_error(futures, failed[0])
        for f in finished:
            results[futures[f]] = f.result()
        done_count += len(finished)
        if on_done:
            on_done(done_count, len(items))
    return results


def _futures_error(futures: Mapping[Future[Any], int], index: int) -> BaseException:
    for f, i in futures.items():
        if i == index:
            exc = f.exception()
            assert exc is not None
            return exc
    raise AssertionError("no such future")


def fetch_request(server: str, guns: Iterable[str], *, ca: str | Path | None = None,
                  operation: str | None = None, params: Mapping[str, Any] | None = None,
                  snapshot_key: str = "auto", timeout: float = 30.0, allow_http: bool = False,
                  progress: Progress | None = None, jobs: int = DEFAULT_JOBS,
                  on_done: Done | None = None, record: Path | None = None) -> RequestBundle:
    """Fetch every GUN into one request bundle, `jobs` at a time. With `record` (see
    fetch_record.py) each repository fetched is noted there as it completes, and those the
    record already holds (an interrupted run of the same fetch) are not fetched again."""
    guns = list(guns)
    if not guns:
        raise OnlineError("no GUN given")
    for gun in guns:
        try:
            validate_gun(gun)
        except InvalidName as exc:
            raise OnlineError(str(exc)) from None
    if len(set(guns)) != len(guns):
        raise OnlineError("a GUN is given twice")
    clients = _Clients(server, ca=ca, timeout=timeout, allow_http=allow_http)
    # Key GETs one at a time: notary-server with its in-process signer (trust_service "local")
    # creates keys in an unguarded Go map, and concurrent key creation kills it ("fatal error:
    # concurrent map writes", seen with 4 jobs over 1,000 new repositories).
    key_lock = threading.Lock()

    log = FetchRecord(record, server=server, guns=guns, what={
        "operation": operation, "params": dict(params or {}), "snapshot_key": snapshot_key}) \
        if record is not None else None
    todo = [g for g in guns if log is None or g not in log.done]
    if log is not None and log.done and progress:
        progress(f"{len(guns) - len(todo)} repositories already fetched (listed in {log.path});"
                 f" {len(todo)} to go")

    def one(gun: str) -> RequestEntry:
        entry = fetch_repository(clients.get(), gun, operation=operation, params=params,
                                 snapshot_key=snapshot_key, progress=progress, key_lock=key_lock)
        if log is not None:
            log.add(entry)
            fault_point("online.fetch.recorded")
        return entry
    try:
        with _pool(_jobs(jobs)) as pool:
            fetched = dict(zip(todo, _run_all(pool, todo, one, on_done), strict=True))
    finally:
        clients.close()
        if log is not None:
            log.close()
            if not log.done:  # nothing to resume from: a failed fetch leaves no file behind
                log.path.unlink(missing_ok=True)
    done = log.done if log is not None else {}
    return RequestBundle(server=server.rstrip("/"),
                         entries=tuple(fetched[g] if g in fetched else done[g] for g in guns))


def multipart_body(files: Iterable[SignedFile]) -> tuple[str, bytes]:
    """(content type, body): one part per file, all named `files`, filename = role."""
    files = list(files)
    while True:
        boundary = "notary-ceremony-" + secrets.token_hex(16)
        if not any(boundary.encode() in f.data for f in files):
            break
    out = bytearray()
    for f in files:
        role = validate_role(f.role)
        out += (f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="files"; filename="{role}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode("ascii")
        out += f.data + b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return f"multipart/form-data; boundary={boundary}", bytes(out)


class PublishRecord(LineRecord):
    """Which repositories of one response the server accepted: a JSON-lines file whose first
    line names the response by its digest, then one line per published GUN. Lines are
    flushed as they are written (a killed publish keeps them) and synced at the end."""

    def __init__(self, path: Path, response_sha256: str, server: str):
        self.published: set[str] = set()
        super().__init__(path, {"response_sha256": response_sha256, "server": server},
                         what="publish record", error=OnlineError,
                         hint=" (give another place with --record)")
        lines = self.earlier
        if not lines:
            return
        try:
            first = json.loads(lines[0])
            if first.get("response_sha256") != response_sha256:
                self._file.close()
                raise OnlineError(f"the publish record {self.path} belongs to another response "
                                  "(give a new file with --record)")
            for line in lines[1:]:
                try:
                    self.published.add(json.loads(line)["gun"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a kill: that GUN is simply not listed
        except (ValueError, AttributeError):
            self._file.close()
            raise OnlineError(f"the publish record {self.path} is not a record of this tool "
                              "(give a new file with --record)") from None

    def add(self, gun: str) -> None:
        with self._lock:
            self.published.add(gun)
            self._write({"gun": gun, "published_at": utc_now()})


def _already_on_server(http: NotaryHTTP, gun: str, files: Sequence[SignedFile]) -> bool:
    """True if the server's current file of every role we publish is exactly ours."""
    for f in files:
        status, body = http.get(_tuf_path(gun, f"{f.role}.json"))
        if status != 200 or body != f.data:
            return False
    return True


def publish_response(server: str, response: ResponseBundle, *, ca: str | Path | None = None,
                     guns: Iterable[str] | None = None, timeout: float = 30.0,
                     allow_http: bool = False, progress: Progress | None = None,
                     jobs: int = DEFAULT_JOBS, record: Path | None = None,
                     on_done: Done | None = None) -> list[str]:
    """Upload each GUN's signed files (exact bytes), `jobs` at a time; returns the GUNs
    published by this call.

    Refuses a partial response before uploading anything. At the first refusal no further
    repository starts, and a ServerRefused says what the server said and how many GUNs were
    published before it. With `record`, GUNs it lists are skipped and new ones are added.
    """
    entries = list(response.entries)
    if guns is not None:
        wanted = list(guns)
        unknown = [g for g in wanted if g not in response.guns]
        if unknown:
            raise OnlineError(f"the response has no repository {unknown[0]}")
        entries = [e for e in entries if e.gun in wanted]
    partial = [e for e in entries if not e.complete]
    if partial:
        e = partial[0]
        assert e.pending is not None
        raise OnlineError(f"the response is partial: {e.gun} still needs: "
                          f"{'; '.join(threshold_needs(e.pending.missing))} "
                          f"({len(partial)} repositories not publishable); nothing uploaded")
    clients = _Clients(server, ca=ca, timeout=timeout, allow_http=allow_http)
    log = PublishRecord(record, response.digest_hex, server) if record is not None else None
    published: list[str] = []
    lock = threading.Lock()
    try:
        if log is not None and log.published:
            before = len(entries)
            entries = [e for e in entries if e.gun not in log.published]
            if progress:
                progress(f"{before - len(entries)} repositories already published (listed in "
                         f"{log.path}); {len(entries)} to go")

        def one(e: Any) -> None:
            http = clients.get()
            content_type, body = multipart_body(e.files)
            status, answer = http.request("POST", _tuf_path(e.gun), body=body,
                                          headers={"Content-Type": content_type})
            note = ""
            if status != 200:
                if not _already_on_server(http, e.gun, e.files):
                    code, detail = server_error_text(status, answer)
                    with lock:
                        done = len(published)
                    before = (f"; {done} of {len(entries)} repositories were published "
                              "before it" if done else "; nothing was published")
                    if log is not None and (done or log.published):
                        before += f" (listed in {log.path}: run again to continue)"
                    raise ServerRefused(f"the server refused {e.gun}: HTTP {status} {code}: "
                                        f"{detail}{before}", gun=e.gun, status=status,
                                        code=code, detail=detail)
                note = " (the server already had these files)"
            if log is not None:
                log.add(e.gun)
                fault_point("online.publish.recorded")
            with lock:
                published.append(e.gun)
            if progress:
                progress(f"published {e.gun}: " + ", ".join(f.role for f in e.files) + note)

        with _pool(_jobs(jobs)) as pool:
            _run_all(pool, entries, one, on_done)
    finally:
        clients.close()
        if log is not None:
            log.close()
    order = {e.gun: i for i, e in enumerate(entries)}
    return sorted(published, key=order.__getitem__)
