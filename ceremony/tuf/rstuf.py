"""Payloads of Repository Service for TUF's CLI (`rstuf`, PyPI repository-service-tuf).

`rstuf admin ceremony --dry-run --out FILE` (bootstrap) and `rstuf admin metadata update
--dry-run --out FILE` (a new root) write, offline, a JSON payload that holds the proposed
root as `metadata.root` (a whole metadata object: `signed` and `signatures`), next to the
bootstrap `settings` and `timeout`. The tool signs that root and writes the payload back with
everything else as it was, for `rstuf admin send bootstrap FILE` (or `send update FILE`) on
the online side.
"""

from __future__ import annotations

import json
from typing import Any

from ceremony.tuf.canonical import load_json


def payload_of(data: bytes, file: str | None) -> dict[str, Any] | None:
    """The RSTUF payload in `data`, or None when `data` is a metadata file."""
    obj = load_json(data, file)
    if isinstance(obj, dict) and "signed" not in obj and \
            isinstance(obj.get("metadata"), dict) and "root" in obj["metadata"]:
        return obj
    return None


def kind(payload: dict[str, Any]) -> str:
    return "bootstrap" if "settings" in payload else "metadata update"


def with_root(payload: dict[str, Any], root: dict[str, Any]) -> bytes:
    """The payload with its root replaced by the signed one, written as rstuf writes it."""
    out = {**payload, "metadata": {**payload["metadata"], "root": root}}
    return json.dumps(out, indent=2).encode() + b"\n"
