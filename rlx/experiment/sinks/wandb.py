"""Weights & Biases (``logger.wandb=true``): the metrics.csv rows as they are written, the summary
and the plots at the end (``rlx.experiment.wandb_log``)."""

from __future__ import annotations

from rlx.experiment.loop import Sink


class WandbSink(Sink):
    def __init__(self, config, run_dir, resume: bool = False):
        self.config, self.run_dir, self.resume, self.logger = config, run_dir, resume, None

    def start(self, loop):
        from rlx.experiment.wandb_log import WandbLogger

        self.logger = WandbLogger(self.config, self.run_dir, resume=self.resume)

    def chunk(self, loop, chunk):
        self.logger.log_rows(chunk.rows(loop.batch.of(0), self.config.seed, loop.plan.grad_steps_per_update))

    def finish(self, loop, summaries):
        self.logger.finish(summaries[0], self.run_dir / "plots")
