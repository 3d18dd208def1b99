"""Every failure is one line and costs no finished work: non-finite training, bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rlx.config import ConfigError, load
from rlx.experiment import runner
from rlx.experiment.loop import Batch, Loop, Plan, TrainingDiverged


def test_non_finite_loss_is_one_line_exit_3_and_the_folder_keeps_its_metrics(tmp_path):
    cmd = [sys.executable, "-m", "rlx.train", "+bench=classic/cartpole", "algo=ppo", "max_frame=8192", "num_seeds=2",
           "algo.lr=1e30", f"logger.out_dir={tmp_path}", "logger.name=run", "logger.progress=false"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rlx ")]
    assert len(errors) == 1 and errors[0].startswith("rlx train: error: non-finite loss at update 1 (frame 512)")
    assert "Traceback" not in proc.stderr
    summary = json.loads((tmp_path / "run" / "trial_metrics.json").read_text())
    assert summary["diverged"] is True and "non-finite loss" in summary["error"]


def _loop(trials=1, seeds=2):
    plan = Plan(10, 5, 2, 4, 8, 1, np.ones(10, np.int64))
    return Loop(None, plan, Batch(trials, seeds), None, None, None, 0.0)


def test_non_finite_gradient_norms_are_warned_once_and_counted():
    loop, said = _loop(), []
    loop.warn = said.append
    grad = np.ones((5, 2))
    grad[3, 1] = np.inf
    loop._check_divergence({"grad_norm": grad, "loss": np.ones((5, 2))}, start=0, n_valid=5)
    loop._check_divergence({"grad_norm": grad, "loss": np.ones((5, 2))}, start=5, n_valid=5)
    assert loop.nonfinite_grad_updates.tolist() == [2]
    assert len(said) == 1 and "update 4 (frame 16)" in said[0] and "seed(s) 1" in said[0]


def test_a_non_finite_loss_names_the_first_bad_update_and_seed():
    loop = _loop(seeds=3)
    loss = np.ones((5, 3))
    loss[2, 2] = np.nan
    with pytest.raises(TrainingDiverged, match=r"update 8 \(frame 32\) in seed\(s\) 2;"):
        loop._check_divergence({"loss": loss}, start=5, n_valid=5)


def test_a_program_too_large_for_the_device_is_refused_before_the_run_folder_exists(tmp_path):
    """The one refusal that needs the compiled program (XLA's memory estimate); every other bad input
    is in tests/cli/test_bad_input.py."""
    overrides = ("num_envs=1e6", "algo.num_steps=1024", "max_frame=2e10", "num_seeds=1")
    with pytest.raises(ConfigError) as err:
        runner.run(load(*overrides, f"logger.out_dir={tmp_path}", "logger.name=run", "logger.progress=false"))
    assert str(err.value).startswith("num_envs: the training program needs") and "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()


def test_an_unwritable_out_dir_is_one_line_before_anything_compiles(tmp_path, monkeypatch):
    """(The tests run as root, which writes anywhere: the permission answer is stood in for.)"""
    import os

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real(p, mode))
    with pytest.raises(ConfigError, match=r"logger.out_dir: cannot write .*run \(.* is not writable\)"):
        runner.run(load(f"logger.out_dir={tmp_path}", "logger.name=run"))


def test_a_full_disk_is_one_line_not_a_traceback(monkeypatch, capsys):
    from rlx.cli import train

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", "runs/x/metrics.csv")

    monkeypatch.setattr(runner, "run", full)
    assert train.main(["max_frame=1000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rlx train: error: [Errno 28] No space left on device: 'runs/x/metrics.csv'"]
