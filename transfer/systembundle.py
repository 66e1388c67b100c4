"""Bundles of the other trust systems (notation, TUF 1.0): the same frame as Notary v1's
bundles (format, version, kind, created, tool, digest, canonical form; transfer/bundle.py) with
one more top-level field, `"system"`; their `content` is a JSON object the system's own package
reads and checks. This module frames, digests and bounds it; nothing here trusts the content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groundfloor.errors import GroundFloorError
from groundfloor.files import atomic_write, read_limited
from groundfloor.limits import MAX_BUNDLE_BYTES, MAX_BUNDLE_FILE_BYTES
from transfer.bundle import (
    KINDS,
    SYSTEMS,
    TOOL,
    Bundle,
    BundleError,
    _b64,
    _Bundle,
    _json_value_at,
    _parse_request,
    _parse_response,
    _time_at,
    _unb64,
    parse_frame,
    utc_now,
)

# (The private readers above are the bundle format's own: this module is that format's other
# half, split off only to keep each file to one job.)


def b64(data: bytes) -> str:
    """Canonical standard base64 (padded): how a bundle carries bytes."""
    return _b64(data)


def unb64(value: Any, where: str, limit: int = MAX_BUNDLE_FILE_BYTES) -> bytes:
    """Bytes from canonical base64 at `where` (at most `limit`); BundleError naming `where`."""
    return _unb64(value, where, limit)


@dataclass(frozen=True)
class SystemBundle(_Bundle):
    """A request or response of another trust system (`SYSTEMS`): framed, digested, bounded and
    transported like every bundle; what `content` means is read and checked by that system's
    package (never trusted here: it is opaque JSON with a bounded depth and no floats).
    Binary data goes in as canonical base64 strings (`b64` / `unb64`)."""

    system: str
    kind: str  # type: ignore[misc]  # "request" or "response": per instance here
    content: Mapping[str, Any]
    created: str = field(default_factory=utc_now)
    tool: str = TOOL

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise BundleError(f"unknown trust system {self.system!r} in a bundle (known: "
                              f"{', '.join(SYSTEMS)})")
        if self.kind not in KINDS:
            raise BundleError(f"{self.system} bundle: unknown kind {self.kind!r} (expected "
                              "request or response)")
        what = f"{self.system} {self.kind} bundle"
        _time_at(self.created, f"{what}: created")
        if not isinstance(self.content, Mapping):
            raise BundleError(f"{what}: content: must be an object")
        _json_value_at(dict(self.content), f"{what}: content")

    def _unsealed(self) -> dict[str, Any]:
        return {**super()._unsealed(), "system": self.system}

    def _content(self) -> dict[str, Any]:
        return dict(self.content)


AnyBundle = Bundle | SystemBundle


def parse_any_bundle(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> AnyBundle:
    """Parse and check any bundle's bytes (Notary v1 or another trust system's)."""
    frame = parse_frame(data, max_bytes=max_bytes)
    if frame.system is None:
        if frame.kind == "request":
            return _parse_request(frame.created, frame.tool, frame.content)
        return _parse_response(frame.created, frame.tool, frame.content)
    what = f"{frame.system} {frame.kind} bundle"
    if not isinstance(frame.content, dict):
        raise BundleError(f"{what}: content: must be an object")
    return SystemBundle(system=frame.system, kind=frame.kind, content=frame.content,
                        created=frame.created, tool=frame.tool)


def parse_system_bundle(data: bytes, system: str, kind: str, *,
                        max_bytes: int = MAX_BUNDLE_BYTES) -> SystemBundle:
    """Parse a bundle that must be `system`'s `kind` (e.g. a notation request)."""
    bundle = parse_any_bundle(data, max_bytes=max_bytes)
    have = bundle.system if isinstance(bundle, SystemBundle) else "Notary v1"
    if have != system or bundle.kind != kind:
        raise BundleError(f"expected a {system} {kind} bundle, got a {have} {bundle.kind} bundle")
    assert isinstance(bundle, SystemBundle)
    return bundle


def read_system_bundle(path: str | Path, system: str, kind: str, *,
                       max_bytes: int = MAX_BUNDLE_BYTES) -> SystemBundle:
    """Read a bundle file that must be `system`'s `kind`."""
    try:
        data = read_limited(path, max_bytes, what="bundle")
    except GroundFloorError as exc:
        raise BundleError(str(exc)) from None
    return parse_system_bundle(data, system, kind, max_bytes=max_bytes)


def write_system_bundle(path: str | Path, bundle: SystemBundle, *,
                        overwrite: bool = False) -> Path:
    """Write a system bundle atomically; refuses to overwrite unless asked."""
    return atomic_write(path, bundle.to_bytes(), overwrite=overwrite)
