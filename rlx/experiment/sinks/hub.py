"""HuggingFace Hub mirror of a run (``hub.repo_id``): each new best checkpoint as soon as it is
written (``hub.push_best``), the whole folder at the end. A failed upload never costs the run."""

from __future__ import annotations

from rlx.errors import first_line
from rlx.experiment.loop import Sink


class HubSink(Sink):
    def __init__(self, config, run_dir, progress, ckpt_sink=None):
        self.hub, self.run_dir, self.progress, self.ckpt = config.hub, run_dir, progress, ckpt_sink
        self.failed = 0  # best-checkpoint pushes that failed: the first says why, the rest are counted

    def chunk(self, loop, chunk):
        if not (self.hub.push_best and self.ckpt and self.ckpt.new_best and self.ckpt.new_best[0]):
            return
        try:
            from rlx.experiment import hub

            self.ckpt.ckpts[0].wait()
            hub.push_checkpoint(self.run_dir, chunk.done_updates, self.hub.repo_id, repo_type=self.hub.repo_type)
        except Exception as err:  # never cost the run
            self.failed += 1
            if self.failed == 1:
                self.progress.notice(
                    f"rlx: hub push of checkpoint {chunk.done_updates} failed: {first_line(err)} "
                    "(later failures are counted, not printed)"
                )

    def finish(self, loop, summaries):
        if self.failed > 1:
            self.progress.notice(f"rlx: {self.failed} best-checkpoint pushes failed in all")
        try:
            from rlx.experiment import hub

            url = hub.push(self.run_dir, self.hub.repo_id, repo_type=self.hub.repo_type)
            self.progress.message(f"rlx: pushed the run folder to {url}")
        except Exception as err:  # the run is on disk; a failed upload can be retried with rlx.hub push
            self.progress.notice(
                f"rlx: {first_line(err)}; retry with: rlx-hub push {self.run_dir} repo={self.hub.repo_id}"
            )
