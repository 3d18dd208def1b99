"""What a run does at chunk boundaries besides training, one job per module, behind ``loop.Sink``.

The loop calls every sink in list order (``start``, ``chunk`` after each chunk, ``close`` always,
``finish`` with the trials' summaries once trial_metrics.json is written); a sink that needs another's
work (the hub's best-checkpoint push needs the checkpoint) comes after it in the list.
"""

from __future__ import annotations

from rlx.experiment.loop import Sink


class Callback(Sink):
    """``on_chunk(frames_per_seed, trial score so far)`` after each chunk; a true return stops the run
    (``rlx.tune.search`` reports to its scheduler through it)."""

    def __init__(self, on_chunk, trial: int = 0):
        self.on_chunk, self.trial = on_chunk, trial

    def chunk(self, loop, chunk):
        return self.on_chunk(chunk.frames_done, loop.history.score(loop.batch.of(self.trial)))
