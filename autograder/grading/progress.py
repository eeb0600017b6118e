"""A one-line progress bar for the terminal (plain lines when the output is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`advance(label, status)` once per finished item; draws `[####....] 3/40  label  status  12 s`.

    `running({label: seconds})` says which items are still running and for how long: on a terminal it
    redraws the line, elsewhere it prints a line at most every `quiet_seconds`.
    """

    quiet_seconds = 30.0

    def __init__(self, total: int, title: str, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total, self.title, self.enabled = total, title, enabled and total > 0
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self.live = self.stream.isatty()
        self.last_running = 0.0  # when the last "still running" line was printed (plain output)

    def advance(self, label: str, status: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 24
        filled = width * self.done // self.total
        seconds = time.perf_counter() - self.start
        line = (
            f"{self.title} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            f"  {label[:28]:<28} {status:<16} {seconds:5.0f} s"
        )
        if self.live:
            self.stream.write("\r" + line.ljust(110))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def running(self, items: dict[str, float]) -> None:
        """Show the items still running (label -> seconds so far), longest first."""
        if not self.enabled or not items:
            return
        ranked = sorted(items.items(), key=lambda item: -item[1])
        text = ", ".join(f"{label} {seconds:.0f} s" for label, seconds in ranked[:4])
        if len(ranked) > 4:
            text += f" and {len(ranked) - 4} more"
        seconds = time.perf_counter() - self.start
        if self.live:
            width = 24
            filled = width * self.done // self.total
            line = f"{self.title} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  running: {text}"
            self.stream.write("\r" + line[:110].ljust(110))
        elif seconds - self.last_running >= self.quiet_seconds:
            self.last_running = seconds
            self.stream.write(f"{self.title}: {self.done}/{self.total} done, still running: {text}  {seconds:5.0f} s\n")
        else:
            return
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.live:
            self.stream.write("\n")
            self.stream.flush()
