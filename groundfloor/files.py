"""Durable file operations.

- atomic_write: a reader sees the old file or the new one, never half of either;
- read_limited: THE bounded reader for every input file: refuses what is not a regular file
  (FIFO, device, socket, folder) before opening it, and an oversized file before reading it;
- read_stream_limited: the same cap for stdin (a pipe or a terminal);
- check_output: an output destination checked before anything irreversible happens (folder
  there and writable, not inside the workspace or another state folder, no silent overwrite);
- fsync_dir: make new, renamed or removed names in a directory durable.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from groundfloor.errors import GroundFloorError
from groundfloor.faults import fault_point


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a directory's entries (new, renamed or removed names) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def atomic_write(path: str | os.PathLike[str], data: bytes | Iterable[bytes], *,
                 overwrite: bool = False, mode: int = 0o644) -> Path:
    """Write `data` (bytes, or pieces of them) to `path` via temp file + fsync + rename.

    Refuses to replace an existing file unless `overwrite` is true. The parent directory must
    exist. Returns the resolved path.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise GroundFloorError(f"cannot write {target}: directory {parent} does not exist")
    if target.exists() and not overwrite:
        raise GroundFloorError(f"refusing to overwrite existing file {target} (use --force)")
    tmp = ""
    try:
        # Inside the try: a read-only or vanished folder is one error line, not a traceback.
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
        with os.fdopen(fd, "wb") as fh:
            for piece in ([data] if isinstance(data, bytes | bytearray | memoryview) else data):
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        fault_point("atomic_write.before_rename")
        if overwrite:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile: no silent overwrite.
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise GroundFloorError(
                    f"refusing to overwrite existing file {target} (use --force)") from None
            os.unlink(tmp)
        fault_point("atomic_write.before_dir_fsync")
        fsync_dir(parent)
    except OSError as exc:
        raise GroundFloorError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    return target


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words an operator knows."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def _too_large(what: str, target: object, max_bytes: int) -> GroundFloorError:
    return GroundFloorError(f"{what} {target} is larger than the limit of {max_bytes} bytes; "
                         "check that this is the right file")


def _refuse_unless_readable(st: os.stat_result, what: str, target: Path, max_bytes: int) -> None:
    """What read_limited checks of a path before opening it and of the open file again: a
    regular file, not over the limit."""
    if not stat.S_ISREG(st.st_mode):
        raise GroundFloorError(f"{what} {target} is {file_kind(st.st_mode)}, not a regular "
                               "file; give the path of the file itself")
    if st.st_size > max_bytes:
        raise _too_large(what, target, max_bytes)


def read_limited(path: str | os.PathLike[str], max_bytes: int, *, what: str = "file") -> bytes:
    """Read a whole regular file of at most `max_bytes`; refuse anything else unread.

    The kind is checked with stat() BEFORE opening (opening a FIFO blocks until a writer comes),
    the file is opened with O_NONBLOCK (a FIFO swapped in meanwhile does not block either), its
    size is checked with fstat() on the open file, and at most max_bytes + 1 bytes are read (a
    file that grows while read is still caught).
    """
    target = Path(path)
    try:
        _refuse_unless_readable(os.stat(target), what, target, max_bytes)
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            _refuse_unless_readable(st, what, target, max_bytes)
            # One read of the announced size (+1 to see growth): no second copy of a big file.
            chunks: list[bytes] = []
            left = max_bytes + 1
            want = st.st_size + 1
            while left > 0:
                chunk = os.read(fd, min(left, max(want, 1 << 16)))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise GroundFloorError(f"{what} {target} does not exist") from None
    except IsADirectoryError:
        raise GroundFloorError(f"{what} {target} is a directory") from None
    except RecursionError:
        raise GroundFloorError(f"{what} {target}: too many levels of symbolic links") from None
    except OSError as exc:
        raise GroundFloorError(f"cannot read {what} {target}: {exc.strerror or exc}") from None
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise _too_large(what, target, max_bytes)
    return data


def files_under(folder: str | os.PathLike[str], suffix: str, *, max_depth: int,
                max_total_bytes: int, what: str = "folder") -> list[Path]:
    """Regular files named *suffix under `folder`, sorted, found without recursion.

    Bounded before anything is read: folders nested deeper than `max_depth` (1,500 levels
    would overflow a recursive walk) and files whose sizes add up to more than
    `max_total_bytes` (a dozen sparse giants, each under its own cap) are refused.
    Symbolic links to folders are not followed; anything not a regular file is skipped.
    """
    top = Path(folder)
    found: list[Path] = []
    total = 0
    stack: list[tuple[Path, int]] = [(top, 0)]
    while stack:
        here, depth = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            raise GroundFloorError(f"cannot list {what} {here}: {exc.strerror or exc}") from None
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 > max_depth:
                    raise GroundFloorError(f"{what} {top} nests folders more than {max_depth} "
                                        "levels deep: not what this tool reads, check the path")
                stack.append((Path(entry.path), depth + 1))
            elif entry.name.endswith(suffix) and entry.is_file():
                total += entry.stat().st_size
                if total > max_total_bytes:
                    raise GroundFloorError(f"the files of {what} {top} add up to more than "
                                        f"{max_total_bytes} bytes: refused before reading them")
                found.append(Path(entry.path))
    return sorted(found)


def read_stream_limited(stream: BinaryIO, max_bytes: int, *, what: str = "standard input") -> bytes:
    """Read a binary stream (stdin) to its end, refusing it once it passes `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= max_bytes:
            chunk = stream.read(min(max_bytes + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise GroundFloorError(f"cannot read {what}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise GroundFloorError(f"{what} is larger than the limit of {max_bytes} bytes; "
                            "check what is piped in")
    return b"".join(chunks)


def check_output(output: str | os.PathLike[str], *, force: bool,
                 state: dict[str, str | os.PathLike[str] | None] | None = None) -> None:
    """Everything about an output destination that can be known before writing, checked
    BEFORE anything irreversible (a key generated on a token, a signature made): its folder
    exists and is writable (a read-only mount too), it is not a folder itself, it does not
    exist unless `force`, and it is not inside a state folder (`state`, name -> path) --
    even with `force`, an output never replaces the workspace's own files."""
    target = Path(output)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise GroundFloorError(f"cannot write {target}: folder {parent} does not exist; make it "
                            "or choose another --out (nothing was done)")
    if not os.access(parent, os.W_OK) or os.statvfs(parent).f_flag & os.ST_RDONLY:
        raise GroundFloorError(f"cannot write {target}: folder {parent} is read-only; choose "
                            "another --out (nothing was done)")
    if target.is_dir():
        raise GroundFloorError(f"cannot write {target}: it is a folder; give a file name")
    refuse_output_inside(target, state or {})
    if os.path.lexists(target) and not force:
        raise GroundFloorError(f"refusing to overwrite existing file {target} (use --force)")


def refuse_output_inside(output: str | os.PathLike[str],
                         folders: dict[str, str | os.PathLike[str] | None]) -> None:
    """Refuse an output path inside one of `folders` (name -> path), symlinks resolved.

    Run before anything irreversible: `--force` overwrites outputs, and an output that lands in
    the workspace (its marker, its state) would destroy what the workspace trusts.
    """
    target = Path(output).resolve()
    for name, folder in folders.items():
        if folder is None:
            continue
        top = Path(folder).resolve()
        if target == top or top in target.parents:
            raise GroundFloorError(f"output {output} is inside the {name} {folder}: write outputs "
                                f"elsewhere (the {name} holds state the tool trusts)")


DIR_MODE = 0o755  # folders of public trust data: never group- or world-writable


def make_dirs(path: str | os.PathLike[str]) -> None:
    """`mkdir -p` with DIR_MODE for every folder made (Path.mkdir(parents=True) gives the
    parents the default mode, which a permissive umask makes writable by anyone)."""
    path = Path(path)
    if path.is_dir():
        return
    make_dirs(path.parent)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
