"""The Word report's pictures, drawn as PNG by a child process while the report's body is written.

Rasterising the charts is a fifth of the Word report's time at 100,000 items (ten pictures, about
2 s) and holds the GIL, so a thread gains nothing; a child process draws them on another core
(`docs/performance.md`). The figures go to the child pickled (matplotlib figures are picklable; the
PNG bytes come out the same as drawn here), and the bytes come back pickled.

Run as `python -m reporting.pictures` by `drawn_aside`, never by hand.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@contextmanager
def drawn_aside(figures: Sequence[Figure], *, dpi: int) -> Iterator[Callable[[], list[bytes]]]:
    """Start drawing `figures` as PNG in a child process; the value given waits for their bytes.

    The child is stopped on leaving the block if it is still drawing (the report failed meanwhile).
    """
    payload = pickle.dumps((list(figures), dpi), protocol=pickle.HIGHEST_PROTOCOL)
    # A file, not a pipe, for what the child says on failure: read only once it is done, it can never
    # fill up and stall the child while this process waits for the pictures.
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
        assert child.stdin is not None and child.stdout is not None  # both asked for: PIPE
        stdin, stdout = child.stdin, child.stdout
        drawn: list[list[bytes]] = []

        def pictures() -> list[bytes]:
            if not drawn:
                output = stdout.read()
                if child.wait() != 0:
                    errors.seek(0)
                    said = errors.read().decode(errors="replace").strip().splitlines()
                    raise RuntimeError(
                        f"drawing the report's pictures failed: {said[-1] if said else child.returncode}"
                    )
                drawn.append(pickle.loads(output))
            return drawn[0]

        try:
            # A child that stopped early breaks the pipe: `pictures` then says why it stopped.
            with suppress(BrokenPipeError):
                stdin.write(payload)
            with suppress(BrokenPipeError):
                stdin.close()
            yield pictures
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            stdout.close()


def png_size(figure: Figure, dpi: int) -> tuple[int, int]:
    """The size in pixels of `figure` drawn as PNG at `dpi`: what the canvas gives at that dpi, as in
    `savefig` (the size in inches times `dpi`, truncated, is a pixel short for some heights)."""
    shown = figure.dpi
    figure.set_dpi(dpi)
    try:
        return figure.canvas.get_width_height(physical=True)
    finally:
        figure.set_dpi(shown)


def main() -> None:
    """The child: pickled (figures, dpi) on standard input, their pickled PNG bytes on standard output."""
    # All of it before the imports below: the parent's write waits for this read, not for matplotlib.
    payload = sys.stdin.buffer.read()
    from reporting.charts import to_png

    figures, dpi = pickle.loads(payload)
    sys.stdout.buffer.write(pickle.dumps([to_png(figure, dpi=dpi) for figure in figures]))


if __name__ == "__main__":
    main()
