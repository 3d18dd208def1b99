"""`python -m rlx.train` end to end in a subprocess: run folder, CSV rows, trial metrics, closing line."""

import csv
import json
import subprocess
import sys

import pytest


@pytest.mark.timeout(240)
def test_train_cli_writes_run_folder(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlx.train",
            "+bench=classic/cartpole",
            "algo=ppo",
            "max_frame=5120",
            "num_seeds=2",
            "log_frequency=1024",
            "algo.num_steps=64",
            f"logger.out_dir={tmp_path}",
            "logger.name=smoke",
        ],
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("trial_metrics: frame:5.12e+03 | total_reward_ma:")
    for key in (
        "strength",
        "max_strength",
        "final_strength",
        "sample_efficiency",
        "training_efficiency",
        "stability",
        "consistency",
    ):
        assert f"| {key}:" in last
    run = tmp_path / "smoke"
    assert (run / "config.yaml").read_text().count("CartPole-v1") >= 1
    rows = list(csv.DictReader((run / "metrics.csv").read_text().splitlines()))
    # 256 frames/update, a log point every 1024 frames: 5 points x 2 seeds
    assert [int(r["frame"]) for r in rows if r["seed"] == "0"] == [1024, 2048, 3072, 4096, 5120]
    assert {r["seed"] for r in rows} == {"0", "1"}
    for col in ("total_reward", "total_reward_ma", "loss", "entropy", "fps"):
        assert col in rows[0]
    trial = json.loads((run / "trial_metrics.json").read_text())
    assert len(trial["sessions"]) == 2 and trial["frames_per_seed"] == 5120
    assert trial["compile_s"] > 0 and trial["versions"]["jax"]
    assert trial["random_return"] == pytest.approx(22, abs=5)  # CartPole's random policy
    assert trial["trial"]["total_reward_ma"] == pytest.approx(sum(s["total_reward_ma"] for s in trial["sessions"]) / 2)
    assert "frame" in proc.stderr and "fps" in proc.stderr  # the progress line
