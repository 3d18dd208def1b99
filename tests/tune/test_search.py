"""rlx.search: Ray Tune + ASHA on a local one-machine Ray cluster, from one command.

The end-to-end test needs the ``search`` extra (Ray Tune; the ``dev`` extra installs it, so CI runs
it in the slow suite) and skips cleanly without it.
"""

import json
import subprocess
import sys

import pytest

from rlx.config.compose import load


def test_bad_search_options_fail_before_ray_starts():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlx.search",
            "+bench=classic/cartpole",
            "algo=ppo",
            "search.algo.lr=[1e-3,3e-3]",
            "search.reduction_factor=1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "rlx search: error: search.reduction_factor: must be > 1, got 1.0"
    proc = subprocess.run(
        [sys.executable, "-m", "rlx.search", "algo=ppo", "search.algo.lr__normal=[0,1]"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "search.algo.lr__normal: unknown space 'normal'" in proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_asha_stops_the_hopeless_trial_and_writes_a_runnable_best_config(tmp_path):
    pytest.importorskip("ray.tune", reason="the search extra (Ray Tune) is not installed")
    # lr=3e-3 learns CartPole within a few thousand frames, lr=1e-6 cannot: run one trial at a time
    # (grid order), so the second meets the first's score at the 2048-frame rung and ASHA stops it
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlx.search",
            "+bench=classic/cartpole",
            "algo=ppo",
            "max_frame=8192",
            "num_seeds=2",
            "algo.num_steps=32",
            "log_frequency=512",
            "num_chunks=8",
            "search.algo.lr=[3e-3,1e-6]",
            "search.grace_frames=2048",
            "search.reduction_factor=2",
            "search.max_concurrent=1",
            "search.num_cpus=1",
            f"logger.out_dir={tmp_path}",
            "logger.name=s",
        ],
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-2000:]
    summary = json.loads((tmp_path / "s" / "search.json").read_text())
    ranking = summary["ranking"]
    assert len(ranking) == 2 and summary["stopped_early"] == 1
    best, other = ranking
    assert best["hparams"] == {"algo.lr": 3e-3} and best["finished"] and best["frames"] == 8192
    assert not other["finished"] and other["frames"] < 8192 and "stopped at" in other["note"]
    assert best["trial_metrics"]["total_reward_ma"] > other["trial_metrics"]["total_reward_ma"]
    # the finished trial's run folder is a normal rlx run folder
    trial_dirs = list((tmp_path / "s" / "trials").iterdir())
    assert len(trial_dirs) == 2
    finished = [d for d in trial_dirs if (d / "trial_metrics.json").exists()]
    assert len(finished) == 1
    tm = json.loads((finished[0] / "trial_metrics.json").read_text())
    assert tm["trial"]["total_reward_ma"] == pytest.approx(best["trial_metrics"]["total_reward_ma"])
    assert "| rank | trial | algo.lr |" in proc.stdout and "stopped at" in proc.stdout
    cfg = load(f"+bench={tmp_path / 's' / 'best.yaml'}", "algo=ppo")
    assert cfg.algo.lr == 3e-3 and cfg.max_frame == 8192 and cfg.algo.num_steps == 32
