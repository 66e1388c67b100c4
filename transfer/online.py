"""The online side: fetch a request from a Notary server, publish a response to it.

ONLINE MACHINE ONLY. This is the one module of the tool that opens network connections; no
offline command imports it (tests/bundle/test_offline_imports.py enforces that).

Standard library only (http.client + ssl): one keep-alive connection per server, TLS verified
against the system store or `--ca FILE`, no redirects followed. Nothing fetched is trusted here;
the fetch only keeps the set of files consistent (everything is fetched by the hashes the
server's own timestamp and snapshot name, so a publish racing with the fetch cannot mix two
states) and the offline machine verifies all of it.

Server API (docs/verify.md): GET /v2/<gun>/_trust/tuf/<role>.json, <role>.<sha256>.json,
<n>.root.json, timestamp.key, snapshot.key; POST /v2/<gun>/_trust/tuf/ multipart/form-data with
one part per file, all named `files`, filename = role. Before a repository's first root is
published every GET of a key creates a new key, so each key is fetched exactly once and carried.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import secrets
import ssl
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from transfer.bundle import (
    MAX_FILE_BYTES,
    MAX_KEY_BYTES,
    RequestBundle,
    RequestEntry,
    ResponseBundle,
    SignedFile,
    utc_now,
)
from transfer.errors import TransferError
from transfer.names import InvalidName, validate_gun, validate_role
from transfer.summary import threshold_needs

Progress = Callable[[str], None]


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
                limit: int = MAX_FILE_BYTES) -> tuple[int, bytes]:
        """Send one request; returns (status, body). GETs retry once on a dropped keep-alive."""
        target = self._prefix + path
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None or method != "GET":
                self.close()
                self._conn = self._connect()
            try:
                self._conn.request(method, target, body=body, headers=dict(headers or {}))
                resp = self._conn.getresponse()
                data = resp.read(limit + 1)
                if len(data) > limit:
                    self.close()
                    raise OnlineError(f"{method} {target}: the server sent more than {limit} "
                                      "bytes")
                if resp.getheader("connection", "").lower() == "close" or method != "GET":
                    self.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                self.close()
                if method == "GET" and reused and attempt == 1:
                    continue
                raise OnlineError(f"{method} {self.server}{path}: connection lost "
                                  f"({type(exc).__name__})") from None
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise OnlineError(f"TLS certificate of {self.server} not trusted: "
                                  f"{exc.verify_message} (give the CA with --ca FILE)") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise OnlineError(f"cannot reach {self.server}: {reason}") from None
        raise AssertionError("unreachable")

    def get(self, path: str, *, limit: int = MAX_FILE_BYTES) -> tuple[int, bytes]:
        return self.request("GET", path, limit=limit)


def _tuf_path(gun: str, name: str = "") -> str:
    return "/v2/" + urllib.parse.quote(gun, safe="/:") + "/_trust/tuf/" + \
        urllib.parse.quote(name, safe="/")


def _get_ok(http: NotaryHTTP, gun: str, name: str, *, limit: int = MAX_FILE_BYTES) -> bytes:
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
                     progress: Progress | None = None) -> RequestEntry:
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
    server_keys = {"timestamp": _get_ok(http, gun, "timestamp.key", limit=MAX_KEY_BYTES)}
    if snapshot_key == "always" or (snapshot_key == "auto" and not metadata):
        server_keys["snapshot"] = _get_ok(http, gun, "snapshot.key", limit=MAX_KEY_BYTES)
    for role, data in server_keys.items():
        if "keytype" not in _json_object(data, f"{gun} {role}.key"):
            raise OnlineError(f"{gun}: the server's {role}.key is not a key object")
    return RequestEntry(gun=gun, operation=operation, params=dict(params or {}),
                        fetched_at=fetched_at, metadata=metadata, root_history=tuple(history),
                        server_keys=server_keys)


def fetch_request(server: str, guns: Iterable[str], *, ca: str | Path | None = None,
                  operation: str | None = None, params: Mapping[str, Any] | None = None,
                  snapshot_key: str = "auto", timeout: float = 30.0, allow_http: bool = False,
                  progress: Progress | None = None) -> RequestBundle:
    """Fetch every GUN into one request bundle (nothing is written here)."""
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
    with NotaryHTTP(server, ca=ca, timeout=timeout, allow_http=allow_http) as http:
        entries = tuple(fetch_repository(http, gun, operation=operation, params=params,
                                         snapshot_key=snapshot_key, progress=progress)
                        for gun in guns)
    return RequestBundle(server=server.rstrip("/"), entries=entries)


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


def publish_response(server: str, response: ResponseBundle, *, ca: str | Path | None = None,
                     guns: Iterable[str] | None = None, timeout: float = 30.0,
                     allow_http: bool = False, progress: Progress | None = None) -> list[str]:
    """Upload each GUN's signed files (exact bytes, in order); returns the GUNs published.

    Refuses a partial response before uploading anything. Stops at the first refusal with a
    ServerRefused saying what the server said and how many GUNs were published before it.
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
    published: list[str] = []
    with NotaryHTTP(server, ca=ca, timeout=timeout, allow_http=allow_http) as http:
        for e in entries:
            content_type, body = multipart_body(e.files)
            status, answer = http.request("POST", _tuf_path(e.gun), body=body,
                                          headers={"Content-Type": content_type})
            if status != 200:
                code, detail = server_error_text(status, answer)
                before = (f"; {len(published)} of {len(entries)} repositories were published "
                          "before it" if published else "; nothing was published")
                raise ServerRefused(f"the server refused {e.gun}: HTTP {status} {code}: "
                                    f"{detail}{before}", gun=e.gun, status=status, code=code,
                                    detail=detail)
            published.append(e.gun)
            if progress:
                progress(f"published {e.gun}: " + ", ".join(f.role for f in e.files))
    return published
