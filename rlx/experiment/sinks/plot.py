"""A run's plots (``logger.plot``) from its metrics.csv, once it is closed; a plot never costs the run."""

from __future__ import annotations

from rlx.errors import first_line
from rlx.experiment.loop import Sink


class PlotSink(Sink):
    def __init__(self, run_dir, progress):
        self.run_dir, self.progress = run_dir, progress

    def finish(self, loop, summaries):
        try:
            from rlx.evaluate.plot import plot_run

            plot_run(self.run_dir)
        except Exception as err:
            self.progress.message(f"rlx: plot skipped ({first_line(err)})")
