"""Evaluation during training (``eval.*``): logged beside the training numbers, never changing them."""

import csv
import json

import numpy as np
import pytest

from rlx.config import ConfigError, load
from rlx.experiment import runner
from rlx.experiment.loop import eval_mask


def _run(tmp_path, name, *extra):
    cfg = load(
        "env=CartPole-v1", "max_frame=3072", "num_seeds=2", "num_chunks=3", "log_frequency=512",
        f"logger.out_dir={tmp_path}", f"logger.name={name}", "logger.progress=false", *extra,
    )  # fmt: skip
    run_dir = runner.run(cfg).run_dir
    with open(run_dir / "metrics.csv", newline="") as f:
        return run_dir, list(csv.DictReader(f))


@pytest.mark.parametrize("algo", ["algo=ppo", pytest.param("algo=dqn", marks=pytest.mark.slow)])
def test_evaluation_is_logged_and_leaves_training_unchanged(tmp_path, algo):
    """The same seeds with and without evaluation: every training column of every row is equal; the
    eval rows (every 1024 frames and the last) carry a finite eval_return, the others none."""
    _, plain = _run(tmp_path, "plain", algo, "logger.plot=false")
    run_dir, rows = _run(tmp_path, "eval", algo, "eval.every_frames=1024", "eval.episodes=3")
    assert len(rows) == len(plain)
    for a, b in zip(rows, plain, strict=True):
        assert {k: v for k, v in a.items() if k not in ("eval_return", "wall_s", "fps")} == {
            k: v for k, v in b.items() if k not in ("wall_s", "fps")
        }
    evaluated = sorted({int(r["frame"]) for r in rows if np.isfinite(float(r["eval_return"]))})
    assert evaluated == [1024, 2048, 3072]
    assert "eval_return" not in plain[0]
    summary = json.loads((run_dir / "trial_metrics.json").read_text())
    assert np.isfinite(summary["trial"]["eval_return"])
    assert [s["seed"] for s in summary["sessions"]] == [0, 1]
    last = [float(r["eval_return"]) for r in rows if int(r["frame"]) == 3072]
    assert [s["eval_return"] for s in summary["sessions"]] == pytest.approx(last)
    assert (run_dir / "plots" / "eval_return.png").stat().st_size > 1000


def test_eval_points_cross_every_frames_and_end_the_run():
    # 400-frame updates, an evaluation every 1000 frames: updates 3 (1200), 5 (2000), 8 (3200), and the last
    assert np.nonzero(eval_mask(9, 400, 1000))[0].tolist() == [2, 4, 7, 8]


def test_eval_every_frames_must_be_a_log_point():
    cfg = load("env=CartPole-v1", "algo=ppo", "max_frame=3072", "log_frequency=500", "eval.every_frames=700")
    with pytest.raises(ConfigError, match=r"^eval.every_frames: a multiple of log_frequency \(500\)"):
        runner.run(cfg, run_dir=False)
