"""Each trial's ``metrics.csv``: its slice of every log point's rows, flushed at each chunk."""

from __future__ import annotations

import pathlib

from rlx.experiment.csvlog import CsvLog
from rlx.experiment.loop import Sink
from rlx.experiment.paths import truncate_csv


class CsvSink(Sink):
    def __init__(self, dirs: list[pathlib.Path], seed0: int, resume: bool = False):
        self.paths = [pathlib.Path(d) / "metrics.csv" for d in dirs]
        self.seed0, self.resume, self.logs = seed0, resume, []

    def start(self, loop):
        if self.resume:  # drop rows logged after the checkpoint (and a torn last line)
            rows = len(loop.history.frames) * loop.batch.seeds
            for path in self.paths:
                truncate_csv(path, rows)
        self.logs = [CsvLog(p, append=self.resume) for p in self.paths]

    def chunk(self, loop, chunk):
        for t, log in enumerate(self.logs):
            log.write(chunk.rows(loop.batch.of(t), self.seed0, loop.plan.grad_steps_per_update))

    def close(self, loop):
        for log in self.logs:
            log.close()
