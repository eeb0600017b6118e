"""A one-line progress bar for the terminal (plain lines when the output is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`advance(label, status)` once per finished item; draws `[####....] 3/40  label  status  12 s`."""

    def __init__(self, total: int, title: str, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total, self.title, self.enabled = total, title, enabled and total > 0
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self.live = self.stream.isatty()

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
            self.stream.write("\r" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.live:
            self.stream.write("\n")
            self.stream.flush()
