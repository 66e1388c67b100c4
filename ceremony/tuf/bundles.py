"""What a TUF 1.0 request and response bundle carries (SystemBundle, system "tuf"), read
strictly: unknown fields refused, bytes as canonical base64, sizes and counts bounded, every
error one line (TufBundleError) naming the field.

Request content (made online by `ceremony tuf request`, read offline by the ceremonies):

    {"repository": NAME,                      # the workspace's name for this repository
     "operation": OP,                         # one of OPERATIONS
     "params": {...},                         # OP's parameters (PARAMS says which, and types)
     "metadata": {FILE: base64},              # the repository's current files, exact bytes,
                                              #   by file name (N.root.json, N.targets.json,
                                              #   N.<role>.json, N.snapshot.json, timestamp.json)
     "online_keys": {ROLE: {"keys": {KEYID: KEY}, "threshold": N}},
                                              # public keys of the online roles (snapshot,
                                              #   timestamp); KEY as a root lists it
     "proposed": {FILE: base64},              # operation "sign" only: files made elsewhere
     "summary": [LINE, ...]}                  # short lines `ceremony transfer` shows

Response content (made offline by a ceremony, applied online by `ceremony tuf apply`):

    {"repository": NAME, "operation": OP,
     "files": {FILE: base64},                 # the signed files, exact bytes, consistent-
                                              #   snapshot names (N.root.json, N.targets.json)
     "partial": null | {"file": FILE,         # co-signing: FILE is not complete yet
                        "present": [KEYID],   #   signatures it carries
                        "needed": {ROLE: {"threshold": N, "valid": [KEYID],
                                          "missing": [KEYID]}}},
     "request_sha256": HEX, "transcript_sha256": HEX,
     "summary": [LINE, ...]}

API (stable; branch i14b builds on it): `TufRequest` / `TufResponse` (frozen dataclasses, bytes
already decoded), `request_bundle(...)` / `response_bundle(...)` make the SystemBundle,
`read_request(path)` / `read_response(path)` read a file, `parse_request(bundle)` /
`parse_response(bundle)` check an already framed bundle. `OPERATIONS`, `PARAMS` name what each
operation's `params` may hold; an operation's parameters are only checked for type here, their
meaning is the ceremony's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.tuf.errors import TufError
from ceremony.tuf.keys import Key
from transfer.bundle import BundleError
from transfer.systembundle import SystemBundle, b64, read_system_bundle, unb64

SYSTEM = "tuf"
OPERATIONS = ("init", "rotate-root", "rotate-key", "delegation-add", "delegation-remove",
              "renew", "sign")
ONLINE_ROLES = ("snapshot", "timestamp")
# operation -> {parameter: type name}; every parameter is optional here (ceremonies say which
# they need). Types: "str", "int", "bool", "str-list", "keys" ({keyid: key}), "object".
PARAMS: dict[str, dict[str, str]] = {
    "init": {"targets": "object", "consistent_snapshot": "bool"},
    "rotate-root": {},
    "rotate-key": {"role": "str"},
    "delegation-add": {"role": "str", "paths": "str-list", "threshold": "int",
                       "terminating": "bool", "keys": "keys",
                       "path_hash_prefixes": "str-list", "parent": "str",
                       "succinct_bins": "int", "bin_prefix": "str"},
    "delegation-remove": {"role": "str", "parent": "str", "bin_prefix": "str"},
    "renew": {"roles": "str-list"},
    "sign": {"file": "str", "role": "str"},
}
MAX_FILES = 10_000
MAX_SUMMARY_LINES = 50
MAX_SUMMARY_LINE = 200
MAX_NAME = 128
# A repository name: what the workspace section and the operator call it.
REPOSITORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A metadata file name as a repository folder holds it (no folder part).
FILE_NAME = re.compile(r"(?:[1-9][0-9]{0,18}\.)?[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\.json")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class TufBundleError(TufError, code="bundle"):
    """A TUF bundle that is not what this tool makes (one line, names the field)."""


@dataclass(frozen=True)
class OnlineRole:
    """An online role's public keys and threshold, as the request gives them."""

    keys: dict[str, Key]
    threshold: int

    def to_json(self) -> dict[str, Any]:
        return {"keys": {k: v.to_dict() for k, v in self.keys.items()},
                "threshold": self.threshold}


@dataclass(frozen=True)
class TufRequest:
    repository: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, bytes] = field(default_factory=dict)
    online_keys: dict[str, OnlineRole] = field(default_factory=dict)
    proposed: dict[str, bytes] = field(default_factory=dict)
    summary: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        return {"repository": self.repository, "operation": self.operation,
                "params": dict(self.params),
                "metadata": {k: b64(v) for k, v in sorted(self.metadata.items())},
                "online_keys": {k: v.to_json() for k, v in sorted(self.online_keys.items())},
                "proposed": {k: b64(v) for k, v in sorted(self.proposed.items())},
                "summary": list(self.summary)}


@dataclass(frozen=True)
class Partial:
    """A co-signed file that is not complete yet: who signed, what is still needed."""

    file: str
    present: tuple[str, ...]
    needed: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "present": list(self.present), "needed": self.needed}


@dataclass(frozen=True)
class TufResponse:
    repository: str
    operation: str
    files: dict[str, bytes]
    request_sha256: str
    transcript_sha256: str
    partial: Partial | None = None
    summary: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        return {"repository": self.repository, "operation": self.operation,
                "files": {k: b64(v) for k, v in sorted(self.files.items())},
                "partial": self.partial.to_json() if self.partial else None,
                "request_sha256": self.request_sha256,
                "transcript_sha256": self.transcript_sha256,
                "summary": list(self.summary)}


def request_bundle(request: TufRequest) -> SystemBundle:
    bundle = SystemBundle(system=SYSTEM, kind="request", content=request.content())
    parse_request(bundle)
    return bundle


def response_bundle(response: TufResponse) -> SystemBundle:
    bundle = SystemBundle(system=SYSTEM, kind="response", content=response.content())
    parse_response(bundle)
    return bundle


def read_request(path: str | Path) -> tuple[TufRequest, SystemBundle]:
    """A request bundle file read and checked; TufBundleError (one line) otherwise."""
    bundle = _read(path, "request")
    return parse_request(bundle), bundle


def read_response(path: str | Path) -> tuple[TufResponse, SystemBundle]:
    bundle = _read(path, "response")
    return parse_response(bundle), bundle


def _read(path: str | Path, kind: str) -> SystemBundle:
    try:
        return read_system_bundle(path, SYSTEM, kind)
    except BundleError as exc:
        raise TufBundleError(f"{path}: {exc}") from None


# -- the strict readers ---------------------------------------------------------------------
def _fields(content: Mapping[str, Any], where: str, required: Sequence[str],
            optional: Sequence[str] = ()) -> None:
    unknown = sorted(set(content) - set(required) - set(optional))
    if unknown:
        raise TufBundleError(f"{where}: unknown field '{ascii(unknown[0])[1:-1][:80]}': this "
                             "tool does not make such a bundle; ask for a new one")
    for name in required:
        if name not in content:
            raise TufBundleError(f"{where}: missing field '{name}'")


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not REPOSITORY_NAME.fullmatch(value):
        raise TufBundleError(f"{where}: {ascii(value)[:80]} is not a repository name (letters, "
                             "digits, '.', '_', '-'; at most 64)")
    return value


def _operation(value: Any, where: str) -> str:
    if value not in OPERATIONS:
        raise TufBundleError(f"{where}: unknown operation {ascii(value)[:80]} (known: "
                             f"{', '.join(OPERATIONS)})")
    return str(value)


def _files(value: Any, where: str) -> dict[str, bytes]:
    if not isinstance(value, dict):
        raise TufBundleError(f"{where}: must be an object of file name -> base64")
    if len(value) > MAX_FILES:
        raise TufBundleError(f"{where}: {len(value)} files, more than {MAX_FILES}")
    out = {}
    for name, data in value.items():
        if not FILE_NAME.fullmatch(name):
            raise TufBundleError(f"{where}: {ascii(name)[:80]} is not a metadata file name "
                                 "(like 3.root.json or timestamp.json)")
        try:
            out[name] = unb64(data, f"{where}.{name}")
        except BundleError as exc:
            raise TufBundleError(str(exc)) from None
    return out


def _summary(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_SUMMARY_LINES or not all(
            isinstance(v, str) and len(v) <= MAX_SUMMARY_LINE and v.isprintable()
            for v in value):
        raise TufBundleError(f"{where}: must be a list of at most {MAX_SUMMARY_LINES} "
                             f"printable lines of at most {MAX_SUMMARY_LINE} characters")
    return tuple(value)


def _keys(value: Any, where: str) -> dict[str, Key]:
    if not isinstance(value, dict) or not value or len(value) > 100:
        raise TufBundleError(f"{where}: must be an object of 1 to 100 key ID -> key")
    keys = {}
    for keyid, raw in value.items():
        try:
            key = Key.from_dict(keyid, raw)
            key.public_key()
        except TufError as exc:
            raise TufBundleError(f"{where}.{ascii(keyid)[1:-1][:70]}: {exc.reason}") from None
        if key.default_keyid() != keyid:
            raise TufBundleError(f"{where}: key ID {ascii(keyid)[1:-1][:70]} is not the key's "
                                 f"own ({key.default_keyid()}); ask for the key as "
                                 "securesystemslib lists it")
        keys[keyid] = key
    return keys


def _params(operation: str, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TufBundleError(f"{where}: must be an object")
    allowed = PARAMS[operation]
    _fields(value, where, (), tuple(allowed))
    for name, item in value.items():
        kind, at = allowed[name], f"{where}.{name}"
        ok = {"str": lambda v: isinstance(v, str) and 0 < len(v) <= MAX_NAME,
              "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100,
              "bool": lambda v: isinstance(v, bool),
              "str-list": lambda v: isinstance(v, list) and 0 < len(v) <= 1000 and all(
                  isinstance(s, str) and 0 < len(s) <= 512 for s in v),
              "object": lambda v: isinstance(v, dict),
              "keys": lambda v: isinstance(v, dict)}[kind](item)
        if not ok:
            raise TufBundleError(f"{at}: must be {_KIND_TEXT[kind]}")
        if kind == "keys":
            _keys(item, at)
    return dict(value)


_KIND_TEXT = {"str": f"a string of 1 to {MAX_NAME} characters",
              "int": "an integer from 1 to 100", "bool": "true or false",
              "str-list": "a list of 1 to 1000 strings", "object": "an object",
              "keys": "an object of key ID -> key"}


def _online_keys(value: Any, where: str) -> dict[str, OnlineRole]:
    if not isinstance(value, dict):
        raise TufBundleError(f"{where}: must be an object of role -> keys and threshold")
    out = {}
    for role, item in value.items():
        at = f"{where}.{ascii(role)[1:-1][:40]}"
        if role not in ONLINE_ROLES:
            raise TufBundleError(f"{at}: not an online role (online roles: "
                                 f"{', '.join(ONLINE_ROLES)})")
        if not isinstance(item, dict):
            raise TufBundleError(f"{at}: must be an object")
        _fields(item, at, ("keys", "threshold"))
        keys = _keys(item["keys"], f"{at}.keys")
        threshold = item["threshold"]
        if not isinstance(threshold, int) or isinstance(threshold, bool) or \
                not 1 <= threshold <= len(keys):
            raise TufBundleError(f"{at}.threshold: must be an integer from 1 to the number of "
                                 f"keys ({len(keys)})")
        out[role] = OnlineRole(keys, threshold)
    return out


def _content(bundle: SystemBundle, kind: str,
             fields: Sequence[str]) -> tuple[Mapping[str, Any], str]:
    """The content of a TUF bundle of this kind, holding exactly `fields`; and its place."""
    if bundle.system != SYSTEM or bundle.kind != kind:
        raise TufBundleError(f"expected a tuf {kind} bundle, got a {bundle.system} "
                             f"{bundle.kind} bundle")
    where = f"tuf {kind} bundle: content"
    _fields(bundle.content, where, fields)
    return bundle.content, where


def parse_request(bundle: SystemBundle) -> TufRequest:
    """The request a bundle carries, every field checked (TufBundleError otherwise)."""
    c, where = _content(bundle, "request", ("repository", "operation", "params", "metadata",
                                            "online_keys", "proposed", "summary"))
    operation = _operation(c["operation"], f"{where}.operation")
    proposed = _files(c["proposed"], f"{where}.proposed")
    if proposed and operation != "sign":
        raise TufBundleError(f"{where}.proposed: only a 'sign' request carries proposed files")
    return TufRequest(repository=_name(c["repository"], f"{where}.repository"),
                      operation=operation,
                      params=_params(operation, c["params"], f"{where}.params"),
                      metadata=_files(c["metadata"], f"{where}.metadata"),
                      online_keys=_online_keys(c["online_keys"], f"{where}.online_keys"),
                      proposed=proposed, summary=_summary(c["summary"], f"{where}.summary"))


def _keyids(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > 1000 or not all(
            isinstance(v, str) and _HEX64.fullmatch(v) for v in value):
        raise TufBundleError(f"{where}: must be a list of key IDs (64 lowercase hex)")
    return tuple(value)


def _partial(value: Any, where: str) -> Partial | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TufBundleError(f"{where}: must be null or an object")
    _fields(value, where, ("file", "present", "needed"))
    if not isinstance(value["file"], str) or not FILE_NAME.fullmatch(value["file"]):
        raise TufBundleError(f"{where}.file: not a metadata file name")
    needed = value["needed"]
    if not isinstance(needed, dict) or len(needed) > 100:
        raise TufBundleError(f"{where}.needed: must be an object of role -> status")
    for role, status in needed.items():
        at = f"{where}.needed.{ascii(role)[1:-1][:40]}"
        if not isinstance(status, dict):
            raise TufBundleError(f"{at}: must be an object")
        _fields(status, at, ("threshold", "valid", "missing"))
        if not isinstance(status["threshold"], int) or isinstance(status["threshold"], bool) \
                or status["threshold"] < 1:
            raise TufBundleError(f"{at}.threshold: must be an integer >= 1")
        _keyids(status["valid"], f"{at}.valid")
        _keyids(status["missing"], f"{at}.missing")
    return Partial(value["file"], _keyids(value["present"], f"{where}.present"), dict(needed))


def _sha256(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise TufBundleError(f"{where}: must be a SHA-256 as 64 lowercase hex")
    return value


def parse_response(bundle: SystemBundle) -> TufResponse:
    """The response a bundle carries, every field checked (TufBundleError otherwise)."""
    c, where = _content(bundle, "response", ("repository", "operation", "files", "partial",
                                             "request_sha256", "transcript_sha256", "summary"))
    files = _files(c["files"], f"{where}.files")
    if not files:
        raise TufBundleError(f"{where}.files: a response carries at least one file")
    partial = _partial(c["partial"], f"{where}.partial")
    if partial is not None and partial.file not in files:
        raise TufBundleError(f"{where}.partial.file: {partial.file} is not among the files")
    return TufResponse(repository=_name(c["repository"], f"{where}.repository"),
                       operation=_operation(c["operation"], f"{where}.operation"),
                       files=files, partial=partial,
                       request_sha256=_sha256(c["request_sha256"], f"{where}.request_sha256"),
                       transcript_sha256=_sha256(c["transcript_sha256"],
                                                 f"{where}.transcript_sha256"),
                       summary=_summary(c["summary"], f"{where}.summary"))
