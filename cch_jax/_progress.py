"""The one progress display of the package: a bar ``[#####-----] i/N`` on a terminal, plain lines
elsewhere.

On a terminal (``stream.isatty()``) each update redraws one line (carriage return, clear to the end
of the line) and the last step ends it; in a file, a pipe or a CI log every update is one plain
line ``[i/N] text`` with no control characters. Used by ``cch check`` (the criterion's ``[i/N]``
step messages) and by :func:`cch_jax.kd.print_progress` (epochs of a training sweep). Standard
library only.
"""

from __future__ import annotations

import re
import sys

WIDTH = 24
_STEP = re.compile(r"^\[(\d+)/(\d+)\] ")


def bar(done: int, total: int, *, width: int = WIDTH) -> str:
    """The bar alone: ``"[" + "#" * filled + "-" * (width - filled) + "]"``.

    Args:
      done: steps finished, 0..total (clipped).
      total: steps in all (a total of 0 counts as 1).
      width: characters between the brackets.

    Returns:
      The bar, ``width + 2`` characters; filled = round(width * done / total).
    """
    filled = round(width * min(max(done, 0), max(total, 1)) / max(total, 1))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _isatty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ProgressLine:
    """Progress of ``total`` steps on ``stream``: one redrawn bar on a terminal, else one line per
    update.

    Args:
      stream: a text stream (default ``sys.stderr``).
      prefix: text before every line, e.g. ``"cch check: "``.
      width: the bar's width in characters.
    """

    def __init__(self, stream=None, *, prefix: str = "", width: int = WIDTH):
        self.stream = sys.stderr if stream is None else stream
        self.prefix = prefix
        self.width = width
        self.tty = _isatty(self.stream)

    def update(self, done: int, total: int, text: str = "") -> None:
        """Shows step ``done`` of ``total`` with ``text`` after the count.

        Args:
          done: steps finished.
          total: steps in all; the line is ended when done >= total.
          text: what the step did (no newline).
        """
        if not self.tty:
            print(f"{self.prefix}[{done}/{total}] {text}", file=self.stream, flush=True)
            return
        print(
            f"\r\033[K{self.prefix}{bar(done, total, width=self.width)} {done}/{total} {text}",
            end="\n" if done >= total else "",
            file=self.stream,
            flush=True,
        )

    def note(self, text: str) -> None:
        """A message that is not a step: one plain line.

        Args:
          text: the message (no newline).
        """
        print(f"{self.prefix}{text}", file=self.stream, flush=True)

    def message(self, msg: str) -> None:
        """A message that may start with a step count ``[i/N] ``: :meth:`update` if it does, else
        :meth:`note` (the form of :func:`cch_jax.criterion.check`'s progress messages).

        Args:
          msg: the message.
        """
        step = _STEP.match(msg)
        if step is None:
            self.note(msg)
        else:
            self.update(int(step[1]), int(step[2]), msg[step.end() :])
