"""A bundle for people: the one digest they compare, what it carries, what a partial still
needs. Shared by every screen that shows a bundle (transfer, online, ceremonies, status), so
they all say the same thing the same way."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from groundfloor.canonical import sha256_hex
from groundfloor.words import digest_words
from transfer.bundle import FORMAT, VERSION, RequestBundle, version_label
from transfer.escaping import shown
from transfer.systembundle import AnyBundle, SystemBundle


def digest_lines(bundle: AnyBundle) -> list[str]:
    """THE digest people compare for a bundle, labelled the same on every screen (transfer
    send/receive, online fetch, ceremonies, status, sign): the content digest, i.e. the
    bundle's own `sha256` field, as hex and words. (A file's plain SHA-256 differs from it;
    where one is shown it is labelled `file sha256`.)"""
    return [f"bundle sha256 {bundle.digest_hex}", f"bundle words  {digest_words(bundle.digest())}"]


def threshold_needs(missing: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a partial entry still needs, one line a threshold: "root v3 (its own root keys):
    1 more signature from any of: KEY (token 'x'), KEY" -- grouped from the per-key `missing`
    items (fields gun, role, version, threshold, needed, have, key_id, token_label), so that
    four keys that could sign read as the one signature actually needed."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for m in missing:
        if m.get("kind") == ORIGIN_MERGE:
            groups[("", ORIGIN_MERGE)] = {"text": str(m.get("text") or "merge at the "
                                                                        "originating site")}
            continue
        name = str(m.get("threshold") or m.get("role") or "?")
        group = groups.setdefault((str(m.get("gun") or ""), name),
                                  {"name": name, "keys": [], "more": 1})
        needed, have = m.get("needed"), m.get("have")
        if isinstance(needed, int) and isinstance(have, int):
            group["more"] = max(1, needed - have)
        key = str(m.get("key_id") or "?")
        label, where = m.get("token_label"), m.get("where")
        group["keys"].append(f"{key} ({where})" if isinstance(where, str) else
                             f"{key} (token '{label}')" if isinstance(label, str) else key)
    lines = []
    for (_, name), g in groups.items():
        if name == ORIGIN_MERGE:
            lines.append(g["text"])
            continue
        n = g["more"]
        anyof = "" if len(g["keys"]) == n else "any of: "
        lines.append(f"{g['name']}: {n} more signature{'' if n == 1 else 's'} from "
                     f"{anyof}{', '.join(sorted(g['keys']))}")
    return lines


# A `missing` item that is not a signature: the entry is fully signed, but the ceremony that
# started it records an outcome (keys it retires) that only the originating site's workspace can
# record, so that site merges before anything is published (see docs/ceremonies.md).
ORIGIN_MERGE = "origin-merge"


def system_lines(bundle: SystemBundle, most: int = 20) -> list[str]:
    """What another trust system's bundle says it carries: its kind and the content's own
    `summary` lines (display only, escaped: nothing here is trusted; the system's ceremony
    reads and checks the content itself)."""
    lines = [f"{bundle.system.upper()} {bundle.kind.upper()}"]
    summary = bundle.content.get("summary")
    items = [shown(x)[:200] for x in summary if isinstance(x, str)] \
        if isinstance(summary, list) else []
    lines.extend(items[:most])
    if len(items) > most:
        lines.append(f"... and {len(items) - most} more")
    return lines


def carries(bundle: AnyBundle) -> list[str]:
    """What a bundle carries, in a few short lines (printed sheets, transfer screens): kind,
    repositories, operation or ceremony, PARTIAL, file versions."""
    if isinstance(bundle, SystemBundle):
        return system_lines(bundle)
    if isinstance(bundle, RequestBundle):
        lines = [f"REQUEST from {bundle.server}"]
        for e in bundle.entries:
            state = f"root v{len(e.root_history)}" if e.exists else "new repository"
            lines.append(f"{e.gun}: {e.operation} ({state})")
        return lines
    lines = ["RESPONSE, " + ("complete (publishable)" if bundle.complete else
                             "PARTIAL (co-signing needed, NOT publishable)")]
    for e in bundle.entries:
        if e.complete:
            files = ", ".join(f"{f.role} {version_label(f.data)}" for f in e.files)
            lines.append(f"{e.gun}: {files}")
            continue
        assert e.pending is not None
        ceremony = e.pending.state.get("ceremony")
        files = e.pending.state.get("files")
        versions = []
        for f in files if isinstance(files, list) else []:
            try:
                data = base64.b64decode(f["data"], validate=True)
            except (TypeError, KeyError, ValueError, binascii.Error):
                continue
            versions.append(f"{f.get('role')} {version_label(data)}")
        what = f"{ceremony}: " if isinstance(ceremony, str) else ""
        state = "fully signed, awaiting the originating site's merge" if all(
            m.get("kind") == ORIGIN_MERGE for m in e.pending.missing) else "PARTIAL"
        lines.append(f"{e.gun}: {state}, {what}{', '.join(versions) or 'files unreadable'}")
    return lines


def _file_line(role: str, data: bytes) -> str:
    return f"{role} {version_label(data)} ({len(data)} bytes, sha256 {sha256_hex(data)[:16]})"


def describe(bundle: AnyBundle) -> str:
    """A human summary: kind, origin, per GUN what is asked or carried, and the digest."""
    system = f"{bundle.system} " if isinstance(bundle, SystemBundle) else ""
    lines = [f"{system}{bundle.kind} bundle (format {FORMAT} v{VERSION}), created "
             f"{bundle.created} by {bundle.tool}"]
    if isinstance(bundle, SystemBundle):
        lines.extend(f"  {line}" for line in system_lines(bundle, most=1000)[1:])
    elif isinstance(bundle, RequestBundle):
        lines.append(f"server {bundle.server}; {len(bundle.entries)} repositor"
                     f"{'y' if len(bundle.entries) == 1 else 'ies'}")
        for e in bundle.entries:
            params = json.dumps(dict(e.params), sort_keys=True) if e.params else ""
            lines.append(f"  {e.gun}: {e.operation} {params}".rstrip()
                         + f" (fetched {e.fetched_at})")
            if e.exists:
                lines.append(f"    root history 1..{len(e.root_history)}")
                lines.extend(f"    {_file_line(role, data)}"
                             for role, data in sorted(e.metadata.items()))
            else:
                lines.append("    new repository: the server has no trust data for it")
            keys = ", ".join(f"{role} sha256 {sha256_hex(data)[:16]}"
                             for role, data in sorted(e.server_keys.items()))
            lines.append(f"    server keys: {keys or 'none'}")
    else:
        answered = bundle.request_sha256 or "not recorded"
        state = "complete" if bundle.complete else "PARTIAL (not publishable)"
        lines.append(f"answers request {answered}; {len(bundle.entries)} repositor"
                     f"{'y' if len(bundle.entries) == 1 else 'ies'}; {state}")
        for e in bundle.entries:
            lines.append(f"  {e.gun}:" + ("" if e.complete else " PARTIAL, still needs:"))
            if e.pending is not None:
                lines.extend(f"    - {need}" for need in threshold_needs(e.pending.missing))
            lines.extend(f"    {n}. {_file_line(f.role, f.data)}"
                         for n, f in enumerate(e.files, start=1))
    lines.extend(digest_lines(bundle))
    return "\n".join(lines)
