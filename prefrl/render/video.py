"""WebM (VP9) clips through OpenCV: Chromium plays them; this OpenCV has no H.264 encoder."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

import cv2
import numpy as np


def frame_stride(dt: float, max_fps: float) -> tuple[int, float]:
    """(k, fps): keep every k-th simulation step so a real-time clip stays at or under `max_fps`.

    >>> frame_stride(0.008, 30)  # Hopper: 125 steps/s
    (5, 25.0)
    """
    every = max(1, math.ceil((1 / dt) / max_fps))
    return every, 1 / (dt * every)


@contextlib.contextmanager
def _stderr_silenced():
    """OpenCV's FFmpeg backend prints, straight to fd 2, that 'VP90' is not WebM's own tag, then
    writes VP9 under the right one; that line would only alarm users."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class WebmWriter:
    """Write RGB frames to a .webm file; frames are written as they come, so memory stays flat.

    >>> with WebmWriter("/tmp/doctest.webm", fps=20) as w:
    ...     w.write(np.zeros((48, 64, 3), np.uint8))
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        if self.path.suffix != ".webm":
            raise ValueError(f"clips are written as .webm, got {self.path.name}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            with _stderr_silenced():
                self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"VP90"),
                                               self.fps, (width, height))
            if not self._writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write VP9 WebM to {self.path}")
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "WebmWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
