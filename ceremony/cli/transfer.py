"""`ceremony transfer send|receive`: bundles across the air gap as files, QR codes or text lines.

Thin layer over transfer.qr: options, progress on stderr, digests for the person to compare.
The digest shown is the bundle's own (`bundle sha256`, as `online fetch`, the ceremonies,
`status` and `sign` show it); the frames check the file's bytes internally. Only a file that is
not a bundle is shown by its `file sha256`.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import click

from groundfloor.files import atomic_write, make_dirs, read_limited
from groundfloor.limits import MAX_BUNDLE_BYTES, MAX_QR_TRANSFER_BYTES
from groundfloor.words import digest_words
from transfer.errors import TransferError
from transfer.escaping import shown
from transfer.qr.capture import Capture, iter_camera, iter_images, iter_lines, iter_video
from transfer.qr.display import (
    Window,
    animate_terminal,
    display_problem,
    frame_items,
    terminal_fits,
    terminal_renderer,
)
from transfer.qr.encoder import Series, default_extra, plan_series
from transfer.qr.errors import RenderError
from transfer.qr.outputs import write_image_frames, write_sheet
from transfer.qr.receiver import (
    CORRUPT,
    FOREIGN,
    NEW,
    OTHER,
    Event,
    Receiver,
    receive_from,
)
from transfer.qr.render import DENSITIES, ECC_LEVELS, Symbol, symbol_for
from transfer.qr.sheet import SheetInfo
from transfer.summary import carries, digest_lines
from transfer.systembundle import parse_any_bundle


def info(message: str) -> None:
    click.echo(message, err=True)


def shown_digest(data: bytes) -> tuple[bytes, str, list[str], list[str]]:
    """(digest, label, lines, what it carries) for the person to compare: the bundle's own
    digest for a bundle, else the file's SHA-256, labelled as such."""
    try:
        bundle = parse_any_bundle(data)
    except TransferError as exc:
        digest = hashlib.sha256(data).digest()
        return digest, "file sha256", [f"file sha256 {digest.hex()}",
                                       f"file words  {digest_words(digest)}"], \
            [f"not a bundle ({shown(str(exc))})"]
    return bundle.digest(), "bundle sha256", digest_lines(bundle), carries(bundle)


def _make_parent(path: Path) -> None:
    try:
        make_dirs(path.parent if str(path.parent) else Path("."))
    except OSError as exc:
        raise TransferError(f"cannot create {path.parent}: {exc.strerror or exc}") from None


@click.group()
def transfer() -> None:
    """Move a bundle across the air gap: as a file, QR codes, or scanner text lines."""


@transfer.command()
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--qr", "qr_mode", type=click.Choice(["auto", "terminal", "window"]),
              is_flag=False, flag_value="auto", default=None,
              help="Animate the codes: in a window if a display is available, else in the "
                   "terminal (--qr alone), or as chosen.")
@click.option("--png", "png_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one PNG a frame into this folder.")
@click.option("--svg", "svg_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one SVG a frame into this folder.")
@click.option("--sheet", "sheet_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Printable sheet: FILE.pdf, or FILE.png (FILE-1.png, ... for more pages).")
@click.option("--text", "as_text", is_flag=True,
              help="Print the frames as text lines on stdout (one frame a line).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Copy the bundle to FILE (atomic), e.g. onto removable media.")
@click.option("--density", type=click.Choice(list(DENSITIES)), default="default",
              show_default=True,
              help="Payload bytes a frame: low 260 (QR v13), default 700 (v23), high 1500 (v34).")
@click.option("--frame-bytes", type=click.IntRange(16, 2900),
              help="Explicit payload bytes a frame (overrides --density).")
@click.option("--ecc", type=click.Choice(list(ECC_LEVELS)), default="M", show_default=True,
              help="QR error correction level.")
@click.option("--extra", type=click.IntRange(0, 100000),
              help="Fountain frames added to --png/--svg/--sheet/--text "
                   "[default: 10 %, at least 2]; animations add them without end.")
@click.option("--fps", type=click.FloatRange(0.2, 30), default=5.0, show_default=True,
              help="Frames a second when animating.")
@click.option("--invert", is_flag=True,
              help="Terminal: draw dark modules (for dark-on-light terminal themes).")
@click.option("--frames", "max_frames", type=click.IntRange(1),
              help="Stop the animation after this many frames (default: until Ctrl-C).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def send(bundle: Path, qr_mode: str | None, png_dir: Path | None, svg_dir: Path | None,
         sheet_file: Path | None, as_text: bool, out_file: Path | None, density: str,
         frame_bytes: int | None, ecc: str, extra: int | None, fps: float, invert: bool,
         max_frames: int | None, paper: str, force: bool) -> None:
    """Send BUNDLE: animated or printed QR codes, frame files, text lines, or a file copy."""
    if not any((qr_mode, png_dir, svg_dir, sheet_file, as_text, out_file)):
        raise click.UsageError("choose at least one output: --qr, --png DIR, --svg DIR, "
                               "--sheet FILE, --text or --out FILE")
    if qr_mode == "auto":
        problem = display_problem()
        qr_mode = "terminal" if problem else "window"
        if problem:
            info(f"{problem}: animating in the terminal")
    if as_text and qr_mode == "terminal":
        raise click.UsageError("--text and --qr terminal both write to stdout: run them "
                               "one after the other")
    data = read_limited(bundle, MAX_BUNDLE_BYTES, what="bundle")
    digest, label, digest_text, what = shown_digest(data)
    if out_file is not None:
        _make_parent(out_file)
        atomic_write(out_file, data, overwrite=force)
        info(f"copied {bundle} -> {out_file} ({len(data)} bytes)")
    if not any((qr_mode, png_dir, svg_dir, sheet_file, as_text)):
        for line in (*what, *digest_text):
            info(line)
        return
    series = plan_series(data, frame_bytes or DENSITIES[density])
    symbol = symbol_for(series.key, ecc)
    n_extra = default_extra(series.count) if extra is None else extra
    info(f"bundle  {bundle.name}: {len(data)} bytes, {series.key.msglen} framed, "
         f"message id {series.msg_id}")
    info(f"frames  {series.count} of {series.key.chunk_size} bytes, QR version "
         f"{symbol.version}, ECC {ecc}")
    for line in (*what, *digest_text):
        info(line)

    def bar(label: str, length: int):
        return click.progressbar(length=length, label=label, file=sys.stderr)

    total = series.count + n_extra
    if as_text:
        for i in range(1, total + 1):
            click.echo(series.frame(i))
    for directory, fmt in ((png_dir, "png"), (svg_dir, "svg")):
        if directory is not None:
            with bar(f"writing {fmt.upper()} frames", total) as progress:
                write_image_frames(series, symbol, directory, n_extra, fmt, force,
                                   progress.update)
            info(f"wrote {total} {fmt.upper()} frames ({series.count} + {n_extra} extra) "
                 f"to {directory}")
    if sheet_file is not None:
        sheet_info = SheetInfo(bundle.name, series.msg_id, digest, series.count, len(data),
                               tuple(what), label)
        with bar("rendering sheet", total) as progress:
            paths = write_sheet(series, symbol, sheet_file, n_extra, sheet_info, paper, force,
                                progress.update)
        info(f"wrote sheet: {', '.join(str(p) for p in paths)}")
    if qr_mode is not None:
        animate(series, symbol, qr_mode, fps, invert, max_frames, (digest, label))


def animate(series: Series, symbol: Symbol, mode: str, fps: float, invert: bool,
            max_frames: int | None, digest_label: tuple[bytes, str]) -> None:
    digest, label = digest_label
    first_pass = series.count + max(default_extra(series.count), (series.count + 1) // 2)
    if max_frames is not None:
        first_pass = min(first_pass, max_frames)

    def status(index: int) -> list[str]:
        kind = f"{index}/{series.count}" if index <= series.count else f"{index} (extra)"
        return [f"frame {kind}   id {series.msg_id}",
                f"{label} {digest.hex()}",
                f"{label.split()[0]} words  {digest_words(digest)}"]

    if mode == "terminal":
        cols, lines, fits = terminal_fits(symbol)
        if sys.stdout.isatty() and not fits:
            raise RenderError(
                f"the code needs {cols}x{lines} terminal cells: enlarge the window or reduce "
                "the font size, or use --density low (77x42) or --qr window")
        render = terminal_renderer(symbol, invert)
        with click.progressbar(length=first_pass, label="rendering frames",
                               file=sys.stderr) as progress:
            items = frame_items(series, first_pass, render, progress.update)
        def terminal_status(index: int) -> list[str]:
            first, *rest = status(index)
            return [f"{first}   {fps:g} fps   Ctrl-C stops", *rest]

        count = animate_terminal(items, fps, terminal_status, sys.stdout, max_frames)
    else:
        window = Window(symbol, f"ceremony transfer {series.msg_id}")
        with click.progressbar(length=first_pass, label="rendering frames",
                               file=sys.stderr) as progress:
            items = frame_items(series, first_pass, window.render, progress.update)
        count = window.run(items, fps, status, max_frames)
    info(f"shown {count} frames")


class Reporter:
    """Progress on stderr: one refreshed line on a terminal, one line per new frame otherwise."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.tty = sys.stderr.isatty()
        self.notes: set[str] = set()
        self.shown_other: set[str] = set()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.add(text)
            self._line(f"note: {shown(text)}")

    def _line(self, text: str) -> None:
        click.echo(("\r\x1b[K" if self.tty else "") + text, err=True)

    def __call__(self, capture: Capture, events: list[Event]) -> None:
        if capture.error:
            self.note(capture.error)
        changed = False
        for event in events:
            if event.kind == NEW:
                changed = True
            elif event.kind == OTHER and event.key is not None:
                if event.key.msg_id not in self.shown_other:
                    self.shown_other.add(event.key.msg_id)
                    self.note(f"ignoring frames of another message {event.key.msg_id} "
                              "(kept apart, never mixed in)")
            elif event.kind == CORRUPT:
                self.note(f"rejected a frame: {event.detail}")
            elif event.kind == FOREIGN:
                self.note("ignored a code that is not a ceremony transfer frame")
        if changed:
            text = f"received {self.receiver.progress()}"
            if self.tty:
                click.echo(f"\r\x1b[K{text}", err=True, nl=False)
            else:
                click.echo(text, err=True)

    def done(self) -> None:
        if self.tty:
            click.echo("", err=True)


@transfer.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the received bundle.")
@click.option("--images", "use_images", is_flag=True,
              help="Read PATHS: image files (PNG, JPEG, ...) and folders of them.")
@click.option("--video", "video_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read a video file (needs OpenCV: the [video] extra).")
@click.option("--camera", "camera", type=click.IntRange(0),
              help="Read camera N (needs OpenCV: the [video] extra); Ctrl-C stops.")
@click.option("--stdin", "use_stdin", is_flag=True,
              help="Read text lines (a keyboard-mode scanner, or --text output).")
@click.option("--max-size", type=click.IntRange(1, MAX_QR_TRANSFER_BYTES),
              default=MAX_QR_TRANSFER_BYTES,
              show_default=True, help="Largest bundle accepted, in bytes.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def receive(paths: tuple[Path, ...], out_file: Path, use_images: bool, video_file: Path | None,
            camera: int | None, use_stdin: bool, max_size: int, force: bool) -> None:
    """Receive a bundle from QR images, a video, a camera or scanner lines into --out.

    Frames may come in any order; duplicates and other messages' frames are ignored. Nothing is
    written unless the whole message arrives and passes its size and SHA-256 checks.
    """
    use_images = use_images or bool(paths)
    chosen = sum((use_images, video_file is not None, camera is not None, use_stdin))
    if chosen != 1:
        raise click.UsageError("choose exactly one input: --images PATH..., --video FILE, "
                               "--camera N or --stdin")
    if use_images and not paths:
        raise click.UsageError("--images needs at least one file or folder")
    if out_file.exists() and not force:
        raise TransferError(f"refusing to overwrite existing file {out_file} (use --force)")
    parent = out_file.parent if str(out_file.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise TransferError(f"cannot write {out_file}: {parent} is not a folder")
    if use_images:
        captures = iter_images(paths)
    elif video_file is not None:
        captures = iter_video(video_file)
    elif camera is not None:
        captures = iter_camera(camera)
        info(f"reading camera {camera}; Ctrl-C stops")
    else:
        if sys.stdin.isatty():
            info("scan the codes now (one frame a line); Ctrl-D ends")
        # Bytes, not the locale's text: a scanner can type anything, and bytes that are not
        # UTF-8 must be a rejected line, not a crash.
        captures = iter_lines(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8",
                                               errors="replace"))
    receiver = Receiver(max_size=max_size)
    reporter = Reporter(receiver)
    try:
        result = receive_from(captures, receiver, reporter)
    except KeyboardInterrupt:
        result = receiver.result()  # complete, or a clear "incomplete: missing ..." error
    finally:
        reporter.done()
    _make_parent(out_file)
    atomic_write(out_file, result.data, overwrite=force)
    if len(receiver.series) > 1:
        others = sorted({k.msg_id for k in receiver.series if k != result.key})
        info(f"note: frames of other message(s) {', '.join(others)} were ignored")
    click.echo(f"received {len(result.data)} bytes -> {out_file} "
               f"(message {result.key.msg_id}, {result.key.count} frames)")
    _, label, digest_text, what = shown_digest(result.data)
    for line in (*what, *digest_text):
        click.echo(line)
    click.echo(f"compare the {label} and words with the sender's screen before using the "
               "bundle")
