"""Which dialect of TUF a metadata folder holds: Notary v1 or TUF 1.0 (`ceremony verify`).

The two differ in the root's `signed`: Notary v1 writes `"_type": "Root"` and no
`spec_version`; TUF 1.0 writes `"_type": "root"` and a `spec_version`. Only the root is
read (bounded), and nothing is trusted from it: the verifier of the flavour found checks it.
"""

from __future__ import annotations

import json
from pathlib import Path

NOTARY = "notary"
TUF = "tuf"
# A root larger than this is no root of either flavour (the verifiers refuse it too).
MAX_ROOT_BYTES = 16 * 1024 * 1024


def _root_type(file: Path) -> tuple[str | None, bool]:
    """`signed._type` of a root file and whether it has a `spec_version` (None: unreadable)."""
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_ROOT_BYTES + 1)
        if len(data) > MAX_ROOT_BYTES:
            return None, False
        signed = json.loads(data).get("signed")
    except (OSError, ValueError, RecursionError, AttributeError):
        return None, False
    if not isinstance(signed, dict):
        return None, False
    kind = signed.get("_type")
    return (kind if isinstance(kind, str) else None), "spec_version" in signed


def detect_flavour(path: Path) -> str | None:
    """`tuf` when PATH's root is TUF 1.0, `notary` when it is Notary v1 or PATH is a notary
    trust dir, None when neither can be told (the caller asks for --format)."""
    if (path / "tuf").is_dir() and not (path / "root.json").exists():
        return NOTARY  # a notary client trust dir: tuf/GUN/metadata
    for name in ("root.json", "1.root.json"):
        if (path / name).is_file():
            kind, has_spec = _root_type(path / name)
            if kind == "root" and has_spec:
                return TUF
            if kind == "Root":
                return NOTARY
    return None
