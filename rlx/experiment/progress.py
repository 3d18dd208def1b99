"""A progress line fed from chunk boundaries (never from inside the compiled program).

On a terminal it redraws one line; otherwise (CI, files) it prints a line at most every few
seconds, so a long compile or run is never silent (Playground #91) and logs stay short.
"""

from __future__ import annotations

import sys
import time


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    def __init__(self, total_frames: int, enabled: bool = True, stream=None, min_interval: float = 5.0):
        self.total = total_frames
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self.start = time.perf_counter()

    def message(self, text: str):
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def notice(self, text: str):
        """A line the user must see even with the progress display off (a skipped checkpoint, a
        restart, a warning): ``logger.progress=false`` quiets progress, not what went wrong."""
        print(text, file=self.stream, flush=True)

    def update(self, frames: int, fps: float, episode_return: float, force: bool = False):
        if not self.enabled:
            return
        now = time.perf_counter()
        if not (self.tty or force or now - self._last >= self.min_interval):
            return
        self._last = now
        frac = min(frames / max(self.total, 1), 1.0)
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        # from this line's own clock and per-seed frames: ``fps`` counts every seed's frames
        elapsed = now - self.start
        eta = elapsed * (self.total - frames) / frames if frames > 0 else float("nan")
        line = (
            f"[{bar}] {frac * 100:5.1f}% frame {frames:,}/{self.total:,} | {fps:,.0f} fps "
            f"| return {episode_return:.2f} | elapsed {_fmt_time(now - self.start)} "
            f"| eta {_fmt_time(eta) if eta == eta else '--:--'}"
        )
        if self.tty:
            end = "\n" if frac >= 1.0 else ""
            print("\r" + line + " " * 4, end=end, file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)
