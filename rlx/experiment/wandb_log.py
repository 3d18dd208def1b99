"""Weights & Biases logging (``logger.wandb=true``): the metrics.csv rows, the config, the plots.

Offline (``WANDB_MODE=offline``, files under ``<run>/wandb/``) unless an API key is set in
``WANDB_API_KEY`` or the user set ``WANDB_MODE`` themselves, so a run never waits on the network;
``wandb sync <run>/wandb/offline-run-*`` uploads an offline run later. One wandb step per log point,
keyed by frame; each metric appears per seed (``seed<k>/<metric>``) and as the mean over seeds
(``mean/<metric>``), since wandb rows are flat.
"""

from __future__ import annotations

import os
import sys
import pathlib

import numpy as np

from rlx.config import RunConfig, to_dict

SKIP = ("seed", "frame")


class WandbLogger:
    def __init__(self, config: RunConfig, run_dir: pathlib.Path, resume: bool = False):
        import wandb

        if "WANDB_MODE" not in os.environ and not os.environ.get("WANDB_API_KEY"):
            os.environ["WANDB_MODE"] = "offline"
        run_dir = pathlib.Path(run_dir)
        id_file = run_dir / "wandb" / "rlx_run_id"
        # a resumed run continues the same wandb run (steps it already has are skipped by wandb)
        run_id = id_file.read_text().strip() if resume and id_file.is_file() else None
        try:
            self.run = self._init(wandb, config, run_dir, run_id, resume, timeout=20, mode=None)
        except Exception as err:  # no network, a bad key: log offline, never cost the run
            from rlx.errors import first_line

            print(
                f"rlx: wandb online failed ({first_line(err)}); logging offline in {run_dir / 'wandb'} "
                "(upload later with `wandb sync`)",
                file=sys.stderr,
                flush=True,
            )
            os.environ["WANDB_MODE"] = "offline"
            self.run = self._init(wandb, config, run_dir, run_id, resume, timeout=60, mode="offline")
        id_file.parent.mkdir(parents=True, exist_ok=True)
        id_file.write_text(self.run.id)

    @staticmethod
    def _init(wandb, config, run_dir, run_id, resume, timeout, mode):
        return wandb.init(
            mode=mode,
            id=run_id,
            resume="allow" if run_id else None,
            project=config.logger.wandb_project,
            name=run_dir.name,
            dir=str(run_dir),
            config=to_dict(config),
            group=f"{config.algo.name}_{config.env}",
            job_type="resume" if resume else "train",
            reinit="finish_previous",
            settings=wandb.Settings(init_timeout=timeout, silent=True, console="off"),
        )

    def log_rows(self, rows: list[dict]):
        """metrics.csv rows (one per seed per log point) -> one wandb step per log point."""
        by_frame: dict[int, list[dict]] = {}
        for row in rows:
            by_frame.setdefault(int(row["frame"]), []).append(row)
        for frame in sorted(by_frame):
            data = {}
            group = by_frame[frame]
            for row in group:
                for k, v in row.items():
                    if k not in SKIP:
                        data[f"seed{int(row['seed'])}/{k}"] = v
            for k in group[0]:
                if k not in SKIP:
                    vals = np.asarray([r[k] for r in group], np.float64)
                    if np.isfinite(vals).any():
                        data[f"mean/{k}"] = float(np.nanmean(vals))
            data["frame"] = frame
            self.run.log(data, step=frame)

    def finish(self, summary: dict, plots_dir: pathlib.Path | None = None):
        import wandb

        for k, v in summary.get("trial", {}).items():
            self.run.summary[f"trial/{k}"] = v
        for k in ("wall_s", "compile_s", "train_s", "train_fps", "frames_per_seed"):
            if k in summary:
                self.run.summary[k] = summary[k]
        if plots_dir is not None and pathlib.Path(plots_dir).is_dir():
            images = {f"plots/{p.stem}": wandb.Image(str(p)) for p in sorted(pathlib.Path(plots_dir).glob("*.png"))}
            if images:
                self.run.log(images)
        self.run.finish()
