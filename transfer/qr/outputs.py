"""Static outputs of a series: a folder of PNG or SVG frames, a printable sheet, text lines.

Every file goes through atomic_write; existing files are refused (all checked before the
first is written) unless overwrite is set.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from groundfloor.files import DIR_MODE, atomic_write, make_dirs
from transfer.qr.encoder import Series
from transfer.qr.errors import RenderError
from transfer.qr.render import Symbol, matrix_image, png_bytes, qr_matrix, svg_text
from transfer.qr.sheet import DPI, SheetInfo, pdf_bytes, render_pages

PNG_MODULE_PX = 6
Progress = Callable[[int], None] | None


def frame_file_name(index: int, suffix: str) -> str:
    return f"frame-{index:04d}{suffix}"


def _prepare_dir(directory: Path, names: list[str], overwrite: bool) -> bool:
    """Check (and make, with its missing parents, mode 0755) the folder; True if this call
    created the folder itself."""
    if directory.exists() and not directory.is_dir():
        raise RenderError(f"{directory} exists and is not a folder")
    _make_parent(directory)
    if not overwrite and directory.is_dir():
        taken = [n for n in names if (directory / n).exists()]
        if taken:
            raise RenderError(f"refusing to overwrite {len(taken)} existing file(s) in "
                              f"{directory}, e.g. {taken[0]} (use --force)")
    made = not directory.exists()
    try:
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"cannot create {directory}: {exc.strerror or exc}") from None
    return made


def _make_parent(path: Path) -> None:
    """Create the folder an output goes into if it is missing (mode 0755, parents too)."""
    try:
        make_dirs(path.parent if str(path.parent) else Path("."))
    except OSError as exc:
        raise RenderError(f"cannot create {path.parent}: {exc.strerror or exc}") from None


def _all_or_nothing(paths: list[Path], writes: list[Callable[[], Path]],
                    made_dir: Path | None = None) -> list[Path]:
    """Run the writes; if one fails (disk full), remove the files this call created (and the
    folder it made), so a failed output leaves no partial set of frames or pages."""
    existed = {p for p in paths if p.exists()}
    written: list[Path] = []
    try:
        for write in writes:
            written.append(write())
    except BaseException:
        for path in paths:
            if path not in existed:
                path.unlink(missing_ok=True)
        if made_dir is not None:
            try:
                made_dir.rmdir()
            except OSError:
                pass
        raise
    return written


def write_image_frames(series: Series, symbol: Symbol, directory: str | os.PathLike[str],
                       extra: int, fmt: str = "png", overwrite: bool = False,
                       progress: Progress = None) -> list[Path]:
    """frame-0001.png ... (data frames, then `extra` fountain frames) in `directory`."""
    directory = Path(directory)
    indices = range(1, series.count + extra + 1)
    names = [frame_file_name(i, f".{fmt}") for i in indices]
    made = _prepare_dir(directory, names, overwrite)

    def writer(index: int, name: str) -> Callable[[], Path]:
        def write() -> Path:
            matrix = qr_matrix(series.frame(index), symbol)
            if fmt == "png":
                data = png_bytes(matrix_image(matrix, PNG_MODULE_PX))
            else:
                kind = "data" if index <= series.count else "extra"
                title = f"{series.msg_id} frame {index}/{series.count} ({kind})"
                data = svg_text(matrix, title).encode("utf-8")
            path = atomic_write(directory / name, data, overwrite=overwrite)
            if progress is not None:
                progress(1)
            return path
        return write

    return _all_or_nothing([directory / n for n in names],
                           [writer(i, n) for i, n in zip(indices, names, strict=True)],
                           directory if made else None)


def sheet_paths(target: Path, npages: int) -> list[Path]:
    """PDF: the file itself; PNG: the file for one page, NAME-1.png, NAME-2.png... for more."""
    if target.suffix.lower() == ".pdf" or npages == 1:
        return [target]
    return [target.with_name(f"{target.stem}-{p}{target.suffix}") for p in range(1, npages + 1)]


def write_sheet(series: Series, symbol: Symbol, target: str | os.PathLike[str], extra: int,
                info: SheetInfo, paper: str = "a4", overwrite: bool = False,
                progress: Progress = None) -> list[Path]:
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise RenderError(f"--sheet {target}: name it .pdf (one document) or .png (pages)")
    frames = [(i, series.frame(i)) for i in range(1, series.count + extra + 1)]
    pages = render_pages(frames, symbol, info, paper, progress)
    paths = sheet_paths(target, len(pages))
    _make_parent(target)
    if not overwrite:
        taken = [p for p in paths if p.exists()]
        if taken:
            raise RenderError(f"refusing to overwrite existing file {taken[0]} (use --force)")
    if suffix == ".pdf":
        return [atomic_write(target, pdf_bytes(pages), overwrite=overwrite)]
    return _all_or_nothing(paths, [
        lambda path=path, page=page: atomic_write(path, png_bytes(page, DPI),
                                                  overwrite=overwrite)
        for path, page in zip(paths, pages, strict=True)])
