"""A text progress bar over the files of a batch, with the current file's level and an ETA.

On a terminal the bar is redrawn in place; into a log (not a TTY) one line per file is printed.
"""

from __future__ import annotations

import sys
import time


def clock(seconds: float) -> str:
    """Seconds -> '1h02m', '3m05s' or '12s'."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class BatchProgress:
    """total: files to process this run. Call start_file(rel), pass `level` as the inpaint callback,
    then finish_file(result); close() at the end. ETA = mean time of the files processed so far
    times the files left (files without a hole are quick and count too)."""

    WIDTH = 24

    def __init__(self, total: int, stream=None, enabled: bool = True, min_interval: float = 0.25):
        stream = sys.stderr if stream is None else stream
        self.total, self.stream, self.enabled = total, stream, enabled
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.finished = 0
        self.failed = 0
        self.current = ""
        self.detail = ""
        self.min_interval = min_interval
        self.last_draw = 0.0

    def eta(self) -> str:
        if not self.finished:
            return "?"
        per = (time.perf_counter() - self.started) / self.finished
        return clock(per * (self.total - self.finished))

    def line(self) -> str:
        filled = int(self.WIDTH * self.finished / max(1, self.total))
        bar = "#" * filled + "." * (self.WIDTH - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        text = f"[{bar}] {self.finished}/{self.total} files{failed}, ETA {self.eta()}"
        if self.current:
            text += f" | {self.current}"
            if self.detail:
                text += f" {self.detail}"
        return text

    def draw(self, force: bool = False) -> None:
        if not self.enabled or not self.tty:
            return
        now = time.perf_counter()
        if force or now - self.last_draw >= self.min_interval:
            self.last_draw = now
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()

    def start_file(self, rel: str) -> None:
        self.current, self.detail = rel, ""
        self.draw(force=True)

    def level(self, event) -> None:
        """The inpaint callback: the current file's pyramid level and iteration."""
        pct = 100.0 * event.iteration / max(1, event.iterations)
        self.detail = f"level {event.level + 1}/{event.levels} {pct:3.0f}%"
        self.draw()

    def finish_file(self, result) -> None:
        self.finished += 1
        self.failed += result.status == "failed"
        if self.enabled and not self.tty:
            note = f": {result.error}" if result.error else ""
            self.stream.write(f"{self.finished}/{self.total} {result.status} {result.rel} "
                              f"({result.seconds:.1f} s, ETA {self.eta()}){note}\n")
            self.stream.flush()
        elif self.enabled and result.status == "failed":
            self.stream.write(f"\r\033[Kfailed {result.rel}: {result.error}\n")
        self.current, self.detail = "", ""
        self.draw(force=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
