"""Progress for long label runs: tqdm on a terminal, plain timestamped lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished chunks and rows; ``enabled=False`` makes it silent."""

    def __init__(self, total_chunks: int, total_rows: int, *, done_chunks: int = 0, done_rows: int = 0,
                 enabled: bool = True, stream: TextIO | None = None, every_s: float = 10.0,
                 desc: str = "mheight") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total_chunks, self.total_rows = total_chunks, total_rows
        self.chunks, self.rows, self.new_rows = done_chunks, done_rows, 0
        self.enabled, self.every_s, self.desc = enabled, every_s, desc
        self.start = self.last = time.monotonic()
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total_rows, initial=done_rows, unit="label", desc=desc,
                                file=self.stream, smoothing=0.1)
            except ImportError:
                self.bar = None

    def update(self, rows: int, chunks: int = 1) -> None:
        """``chunks`` more chunks holding ``rows`` labels computed."""
        self.chunks += chunks
        self.rows += rows
        self.new_rows += rows
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(rows)
            return
        now = time.monotonic()
        if now - self.last >= self.every_s or self.chunks == self.total_chunks:
            self.last = now
            rate = self.new_rows / max(now - self.start, 1e-9)
            print(f"{self.desc}: {self.chunks}/{self.total_chunks} chunks, {self.rows}/{self.total_rows} "
                  f"labels, {rate:,.0f} labels/s", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
