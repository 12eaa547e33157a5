"""The Word report's pictures as PNG: a large report's drawn by a child process while its body is written.

Rasterising the charts is a fifth of the Word report's time at 100,000 items (ten pictures, about
2 s) and holds the GIL, so a thread gains nothing; a child process draws them on another core
(`docs/performance.md`). A small report draws them itself: the child's start would cost more. The
figures go to the child pickled (matplotlib figures are picklable; the PNG bytes come out the same
as drawn here), and the bytes come back pickled.

Run as `python -m reporting.pictures` by `drawn_aside`, never by hand.
"""

from __future__ import annotations

import functools
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

from reporting.charts import to_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FAILED = "drawing the report's pictures failed"


@contextmanager
def drawn(figures: Sequence[Figure], *, dpi: int, aside: bool) -> Iterator[Callable[[], list[bytes]]]:
    """The PNGs of `figures`, from the function given: drawn by a child process while the caller
    goes on (`drawn_aside`) if `aside`, else here when first asked for."""
    if aside:
        with drawn_aside(figures, dpi=dpi) as pngs:
            yield pngs
    else:
        yield functools.cache(lambda: [to_png(figure, dpi=dpi) for figure in figures])


@contextmanager
def drawn_aside(figures: Sequence[Figure], *, dpi: int) -> Iterator[Callable[[], list[bytes]]]:
    """Start drawing `figures` as PNG in a child process; the function given waits for their bytes.

    Each PNG is checked to have the size `png_size` gave (the document's layout relies on it). A
    child still drawing when the block is left (the report failed meanwhile) is stopped.
    """
    sizes = [png_size(figure, dpi) for figure in figures]
    # The input from a file: the child reads it whenever it is ready, and this process never waits
    # on a pipe. What the child says on failure goes to a file too, read once it is done.
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as said:
        pickle.dump((list(figures), dpi), given, protocol=pickle.HIGHEST_PROTOCOL)
        given.seek(0)
        # The child imports this process's own code: its path, whatever the working directory.
        path = os.pathsep.join(entry for entry in sys.path if entry)
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=given,
                stdout=subprocess.PIPE,
                stderr=said,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as exc:
            raise RuntimeError(f"{FAILED}: Python ({sys.executable!r}) could not be started: {exc}") from exc
        with child:
            try:
                yield functools.cache(functools.partial(_result, child, said, sizes))
            finally:
                if child.poll() is None:
                    child.kill()


def _result(child: subprocess.Popen[bytes], said: IO[bytes], sizes: list[tuple[int, int]]) -> list[bytes]:
    """The child's PNGs, once it is done, or a RuntimeError saying why there are none."""
    assert child.stdout is not None  # asked for: PIPE
    output = child.stdout.read()
    status = child.wait()
    if status != 0:
        said.seek(0)
        last = (said.read().decode(errors="replace").strip().splitlines() or [""])[-1]
        how = f"stopped by {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"
        raise RuntimeError(f"{FAILED} ({how}){': ' + last if last else ''}")
    try:
        pngs: list[bytes] = pickle.loads(output)
    except Exception as exc:  # anything else on its output: a library printing, say
        raise RuntimeError(f"{FAILED}: its output is not the pictures ({exc})") from exc
    for number, (png, size) in enumerate(zip(pngs, sizes, strict=True), start=1):
        drawn = _png_size(png)
        if drawn != size:
            raise RuntimeError(
                f"{FAILED}: picture {number} is {drawn[0]}x{drawn[1]} pixels, not {size[0]}x{size[1]}"
            )
    return pngs


def _png_size(png: bytes) -> tuple[int, int]:
    # Width and height are the first fields of the IHDR chunk, after the signature and its header.
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def png_size(figure: Figure, dpi: int) -> tuple[int, int]:
    """The size in pixels of `figure` drawn as PNG at `dpi`, as `savefig` makes it."""
    # What the canvas gives at that dpi: the size in inches times `dpi`, truncated, is a pixel short
    # for some heights.
    shown = figure.dpi
    figure.set_dpi(dpi)
    try:
        return figure.canvas.get_width_height(physical=True)
    finally:
        figure.set_dpi(shown)


def main() -> None:
    """The child: pickled (figures, dpi) on standard input, their pickled PNG bytes on standard output."""
    # Standard output carries the pictures only: anything a library prints goes to standard error.
    out, sys.stdout = sys.stdout.buffer, sys.stderr
    figures, dpi = pickle.load(sys.stdin.buffer)
    out.write(pickle.dumps([to_png(figure, dpi=dpi) for figure in figures]))


if __name__ == "__main__":
    main()
