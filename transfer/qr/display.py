"""Animated display of a frame stream: in the terminal (half-blocks) or in a window (tkinter).

The first pass (data frames and some fountain frames) is rendered before the animation starts;
after it, new fountain frames are rendered one frame ahead, inside the frame interval.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import IO, Any, TypeVar

from transfer.qr.encoder import Series
from transfer.qr.errors import RenderError
from transfer.qr.render import Symbol, halfblock_lines, matrix_image, qr_matrix

T = TypeVar("T")


def frame_items(series: Series, first_pass: int, render: Callable[[str], T],
                progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, T]]:
    """(index, rendered) for the endless stream; the first `first_pass` are rendered now."""
    rendered: list[tuple[int, T]] = []
    for index in range(1, first_pass + 1):
        rendered.append((index, render(series.frame(index))))
        if progress is not None:
            progress(1)
    later = ((i, render(text))
             for i, text in enumerate(series.stream(first_pass + 1), first_pass + 1))
    return chain(rendered, later)


def terminal_fits(symbol: Symbol, status_lines: int = 3) -> tuple[int, int, bool]:
    """(columns, lines) the code needs, and whether the current terminal has them."""
    cols, lines = symbol.modules, (symbol.modules + 1) // 2 + status_lines
    size = shutil.get_terminal_size((0, 0))
    return cols, lines, size.columns >= cols and size.lines >= lines


def animate_terminal(items: Iterable[tuple[int, list[str]]], fps: float,
                     status: Callable[[int], list[str]], out: IO[str],
                     max_frames: int | None = None) -> int:
    """Show frames until Ctrl-C (or `max_frames`). Returns the number of frames shown."""
    shown = 0
    interval = 1.0 / fps
    out.write("\x1b[?25l\x1b[2J")
    try:
        deadline = time.monotonic()
        for index, lines in items:
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            out.write("\x1b[H" + "\n".join(lines) + "\n")
            out.write("".join(f"{line}\x1b[K\n" for line in status(index)))
            out.flush()
            shown += 1
            deadline = max(deadline + interval, time.monotonic())
            if max_frames is not None and shown >= max_frames:
                break
    except KeyboardInterrupt:
        pass
    finally:
        out.write("\x1b[?25h")
        out.flush()
    return shown


def terminal_renderer(symbol: Symbol, invert: bool) -> Callable[[str], list[str]]:
    return lambda text: halfblock_lines(qr_matrix(text, symbol), invert)


def display_problem() -> str | None:
    """Why a window cannot be opened here, or None if it probably can."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"
    try:
        import tkinter  # noqa: F401

        from PIL import ImageTk  # noqa: F401
    except ImportError:
        return "tkinter is not installed (Debian/Ubuntu: apt-get install python3-tk)"
    return None


class Window:
    """A tkinter window showing one code at a time, with the digest and frame number under it.

    Keys: space pauses, + and - change the frame rate, q or Escape closes.
    """

    def __init__(self, symbol: Symbol, title: str) -> None:
        problem = display_problem()
        if problem:
            raise RenderError(f"cannot open a window: {problem}; use --qr terminal, --png or "
                              "--sheet instead")
        import tkinter

        try:
            self.root = tkinter.Tk()
        except tkinter.TclError as exc:
            raise RenderError(f"cannot open a window: {exc}; use --qr terminal instead") from None
        self.root.title(title)
        self.root.configure(background="white")
        screen = min(self.root.winfo_screenwidth(), self.root.winfo_screenheight() - 160)
        self.module_px = max(2, int(screen * 0.85) // symbol.modules)
        self.symbol = symbol
        self.image_label = tkinter.Label(self.root, background="white", borderwidth=0)
        self.image_label.pack(padx=10, pady=10)
        self.text_label = tkinter.Label(self.root, background="white", foreground="black",
                                        font=("TkFixedFont", 12), justify="left")
        self.text_label.pack(padx=10, pady=(0, 10))
        self.paused = False
        self.root.bind("<space>", lambda _e: self._toggle())
        self.root.bind("<Escape>", lambda _e: self.root.destroy())
        self.root.bind("q", lambda _e: self.root.destroy())
        self.root.bind("+", lambda _e: self._speed(1.25))
        self.root.bind("=", lambda _e: self._speed(1.25))
        self.root.bind("-", lambda _e: self._speed(0.8))
        self.fps = 5.0
        self._photo: Any = None

    def render(self, text: str) -> Any:
        return matrix_image(qr_matrix(text, self.symbol), self.module_px)

    def _toggle(self) -> None:
        self.paused = not self.paused

    def _speed(self, factor: float) -> None:
        self.fps = min(30.0, max(0.5, self.fps * factor))

    def run(self, items: Iterable[tuple[int, Any]], fps: float,
            status: Callable[[int], list[str]], max_frames: int | None = None) -> int:
        from PIL import ImageTk

        self.fps = fps
        it = iter(items)
        shown = 0
        current: tuple[int, Any] | None = None

        def tick() -> None:
            nonlocal shown, current
            start = time.monotonic()
            if not self.paused or current is None:
                current = next(it)
                index, image = current
                self._photo = ImageTk.PhotoImage(image)
                self.image_label.configure(image=self._photo)
                shown += 1
            index = current[0]
            lines = status(index) + [f"{self.fps:.1f} fps   space: pause   + / -: speed   "
                                     "q: close" + ("   [paused]" if self.paused else "")]
            self.text_label.configure(text="\n".join(lines))
            if max_frames is not None and shown >= max_frames:
                self.root.after(int(1000 / self.fps), self.root.destroy)
                return
            spent = time.monotonic() - start
            self.root.after(max(1, int((1.0 / self.fps - spent) * 1000)), tick)

        self.root.after(0, tick)
        try:
            self.root.mainloop()
        except KeyboardInterrupt:
            pass
        return shown
