"""Full listings of directory trees, to prove that a failed command wrote and changed nothing."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

# relative path -> (kind, mode, size, mtime_ns, sha256 or link target)
Listing = dict[str, tuple[str, int, int, int, str]]


def tree(top: str | os.PathLike[str], *, dir_mtimes: bool = True) -> Listing:
    """Every entry under `top` (top itself included): type, mode, size, mtime and content hash.

    A directory's mtime changes when an entry is made and removed again (a temp file): kept by
    default, so even an attempted write shows; `dir_mtimes=False` ignores it (a write that
    failed and cleaned up after itself).

    Sparse giants (made to test size limits) are hashed by their first MiB only, with the size
    and mtime compared in full: enough to see a rewrite, without reading gigabytes."""
    top = Path(top)
    found: Listing = {}
    for root, dirs, files in os.walk(top, followlinks=False):
        dirs.sort()
        for name in [".", *sorted(dirs + files)] if Path(root) == top else sorted(dirs + files):
            path = Path(root) / name if name != "." else Path(root)
            rel = path.relative_to(top).as_posix()
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", st.st_mode, 0, st.st_mtime_ns, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", st.st_mode, 0, st.st_mtime_ns if dir_mtimes else 0, "")
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read(1 << 20)).hexdigest()
                found[rel] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, digest)
            else:
                found[rel] = ("other", st.st_mode, 0, st.st_mtime_ns, "")
    return found


def differences(before: Listing, after: Listing) -> list[str]:
    """Human-readable differences between two listings (empty when identical)."""
    out = [f"created {p}" for p in sorted(after.keys() - before.keys())]
    out += [f"removed {p}" for p in sorted(before.keys() - after.keys())]
    out += [f"changed {p}: {before[p]} -> {after[p]}" for p in sorted(before.keys() & after.keys())
            if before[p] != after[p]]
    return out
