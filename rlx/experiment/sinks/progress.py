"""The progress line, fed at chunk boundaries."""

from __future__ import annotations

from rlx.experiment.loop import Sink


class ProgressSink(Sink):
    def __init__(self, progress):
        self.progress = progress

    def chunk(self, loop, chunk):
        self.progress.update(chunk.frames_done, chunk.fps, chunk.latest_return(), force=chunk.last)
