"""Vmapped hyperparameter sweeps (rlx.tune.sweep): the space, grouping, the CLI and its sweep folder."""

import csv
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rlx.tune import sweep
from rlx.config.compose import compose_dict, load, split_prefixed
from rlx.config import ConfigError, run_config_from_dict


def _space(*overrides):
    rest, spec = split_prefixed(list(overrides), "sweep")
    return rest, sweep.parse_space(spec, "sweep")


def test_grid_from_lists_and_hydra_sweep_syntax():
    rest, (dims, opts) = _space("algo=ppo", "sweep.algo.lr=[1e-4,3e-4,1e-3]", "sweep.algo.ent_coef=0,0.01")
    assert rest == ["algo=ppo"] and opts == {}
    combos = sweep.combinations(dims, 0, seed=0)
    assert len(combos) == 6
    assert combos[0] == {"algo.lr": 1e-4, "algo.ent_coef": 0} and combos[-1] == {"algo.lr": 1e-3, "algo.ent_coef": 0.01}


def test_sampled_dimensions_stay_in_range_and_are_reproducible():
    _, (dims, opts) = _space(
        "sweep.algo.lr__loguniform=[1e-5,1e-2]",
        "sweep.algo.gae_lambda__uniform=[0.8,0.99]",
        "sweep.algo.ent_coef__choice=[0,0.01]",
        "sweep.algo.clip_eps=[0.1,0.2]",
        "sweep.samples=16",
    )
    combos = sweep.combinations(dims, opts["samples"], seed=3)
    assert len(combos) == 32  # 2 grid values x 16 samples
    lrs = np.array([c["algo.lr"] for c in combos])
    assert lrs.min() >= 1e-5 and lrs.max() <= 1e-2
    assert np.log10(lrs).std() > 0.3  # spread over decades, not clustered at the top (log-uniform)
    assert all(0.8 <= c["algo.gae_lambda"] <= 0.99 for c in combos)
    assert {c["algo.ent_coef"] for c in combos} == {0, 0.01}
    assert combos == sweep.combinations(dims, opts["samples"], seed=3)
    assert combos != sweep.combinations(dims, opts["samples"], seed=4)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["sweep.algo.lr__gaussian=[0,1]"], "sweep.algo.lr__gaussian: unknown space 'gaussian'; allowed: __grid"),
        (["sweep.algo.lr__loguniform=[0,1]", "sweep.samples=4"], "expected [low, high] with low < high and low > 0"),
        (["sweep.algo.lr__uniform=[1e-3,1e-4]", "sweep.samples=4"], "low < high"),
        (["sweep.algo.lr__uniform=[1e-4,1e-3]"], "sweep.algo.lr: a sampled dimension needs sweep.samples=N"),
        (["sweep.algo.lr=1e-3"], "sweep.algo.lr: expected a list"),
        (["sweep.samples=4"], "sweep: no dimensions"),
    ],
)
def test_bad_spaces_raise_one_line(overrides, message):
    with pytest.raises(ConfigError) as err:
        _space(*overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_sweep_syntax_outside_sweep_keys_is_still_an_error():
    with pytest.raises(ConfigError, match="algo.lr: sweeps"):
        load("algo.lr=1e-4,1e-3")


def test_traced_keys_share_a_program_shape_changing_keys_do_not():
    base = compose_dict(["+bench=classic/cartpole", "algo=ppo"])
    combos = [{"algo.lr": lr, "algo.num_steps": n} for n in (32, 64) for lr in (1e-4, 1e-3)]
    configs = [run_config_from_dict(sweep.apply(base, c)) for c in combos]
    assert sweep.group_trials(configs) == [[0, 1], [2, 3]]
    traced_only = [
        run_config_from_dict(sweep.apply(base, {"algo.lr": lr, "algo.ent_coef": e}))
        for lr in (1e-4, 1e-3)
        for e in (0.0, 0.01)
    ]
    assert sweep.group_trials(traced_only) == [[0, 1, 2, 3]]
    # the reward normaliser's discount is built into the env: gamma is static there
    norm = run_config_from_dict(sweep.apply(base, {"wrappers.normalize_reward": True}))
    assert "gamma" not in sweep.traced_keys(norm) and "gamma" in sweep.traced_keys(configs[0])


def test_invalid_combination_names_it():
    with pytest.raises(ConfigError, match=r"sweep: lr=-1: algo.lr: must be > 0"):
        sweep.sweep(["+bench=classic/cartpole", "algo=ppo", "sweep.algo.lr=[1e-3,-1.0]", "logger.csv=false"])


@pytest.mark.timeout(300)
def test_sweep_cli_ranks_trials_and_writes_a_runnable_best_config(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlx.train",
            "+bench=classic/cartpole",
            "algo=ppo",
            "max_frame=4096",
            "num_seeds=2",
            "log_frequency=512",
            "algo.num_steps=32",
            "num_chunks=2",
            "sweep.algo.lr=[1e-5,3e-3]",
            "sweep.algo.num_epochs=[1,2]",
            f"logger.out_dir={tmp_path}",
            "logger.name=sw",
        ],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "4 combinations x 2 seeds in 2 compiled programs (shape-changing keys: algo.num_epochs)" in proc.stderr
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| rank | trial | algo.lr | algo.num_epochs | total_reward_ma |")
    assert len(table) == 1 + 4
    out = tmp_path / "sw"
    summary = json.loads((out / "sweep.json").read_text())
    scores = [r["trial_metrics"]["total_reward_ma"] for r in summary["ranking"]]
    assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)
    assert summary["programs"] == 2 and summary["num_trials"] == 4
    # lr=3e-3 learns in 4k frames, lr=1e-5 barely moves: the best trials are the high-lr ones
    assert {r["hparams"]["algo.lr"] for r in summary["ranking"][:2]} == {3e-3}
    with open(out / "ranking.csv") as f:
        ranking = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in ranking] == [1, 2, 3, 4]
    for r in summary["ranking"]:
        trial = out / "trials" / f"{r['trial']:03d}"
        with open(trial / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        assert [int(x["frame"]) for x in rows if x["seed"] == "0"] == [512 * i for i in range(1, 9)]
        tm = json.loads((trial / "trial_metrics.json").read_text())
        assert tm["trial"]["total_reward_ma"] == pytest.approx(r["trial_metrics"]["total_reward_ma"])
        assert tm["trial"]["total_reward_ma"] == pytest.approx(np.mean([s["total_reward_ma"] for s in tm["sessions"]]))
    assert (out / "plots" / "total_reward_ma.png").stat().st_size > 1000
    best = summary["ranking"][0]["hparams"]
    cfg = load(f"+bench={out / 'best.yaml'}", "algo=ppo")
    assert cfg.algo.lr == best["algo.lr"] and cfg.algo.num_epochs == best["algo.num_epochs"]
    assert cfg.max_frame == 4096 and cfg.num_seeds == 2 and cfg.algo.num_steps == 32


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sweep_trial_is_the_plain_run_with_those_hyperparameters():
    """Common random numbers: trial t uses the plain run's seed keys, so a trial whose values are
    the config's own reproduces the plain run (up to float rounding of a bigger vmapped batch)."""
    from rlx.experiment import runner

    common = [
        "+bench=classic/cartpole",
        "algo=ppo",
        "max_frame=2048",
        "num_seeds=2",
        "algo.num_steps=32",
        "log_frequency=256",
        "logger.progress=false",
    ]
    summary = sweep.sweep(common + ["logger.csv=false", "sweep.algo.lr=[1e-3,3e-4]"])
    plain = runner.run(load(*common, "algo.lr=3e-4"), run_dir=False)
    trial = next(r for r in summary["ranking"] if r["hparams"]["algo.lr"] == 3e-4)["trial_metrics"]
    for key in ("total_reward_ma", "strength", "final_strength"):
        assert trial[key] == pytest.approx(plain.trial[key], rel=1e-4), key


def _csv_rows(path, keys=("seed", "frame", "total_reward", "total_reward_ma")):
    with open(path, newline="") as f:
        return [tuple(r[k] for k in keys) for r in csv.DictReader(f)]


@pytest.mark.timeout(300)
def test_a_sweep_trial_logs_the_plain_runs_rows_when_updates_straddle_log_points(tmp_path):
    """400 frames per update (4 envs x 100 steps) against log_frequency 500: a log point falls inside
    most updates. The sweep and the plain run share one loop, so they take the same log points (the
    500-multiples, not the update ends) and the same values, the sweep's rows with an fps column too."""
    from rlx.experiment import runner

    common = [
        "+bench=classic/cartpole",
        "algo=ppo",
        "max_frame=4000",
        "num_seeds=2",
        "algo.num_steps=100",
        "num_chunks=3",
        "logger.progress=false",
        "logger.plot=false",
        "checkpoint.enabled=false",
        f"logger.out_dir={tmp_path}",
    ]
    summary = sweep.sweep(common + ["logger.name=sw", "sweep.algo.lr=[1e-3,3e-4]"])
    plain = runner.run(load(*common, "logger.name=plain", "algo.lr=3e-4"))
    trial = next(r["trial"] for r in summary["ranking"] if r["hparams"]["algo.lr"] == 3e-4)
    swept = tmp_path / "sw" / "trials" / f"{trial:03d}"
    rows, plain_rows = _csv_rows(swept / "metrics.csv"), _csv_rows(plain.run_dir / "metrics.csv")
    assert [int(r[1]) for r in plain_rows if r[0] == "0"] == [500 * i for i in range(1, 9)]
    # on CPU the vmapped program computes each batch element alike whatever the batch size: equal rows
    assert rows == plain_rows
    with open(swept / "metrics.csv", newline="") as f:
        assert "fps" in next(csv.reader(f))
    tm = json.loads((swept / "trial_metrics.json").read_text())
    assert tm["frames_per_seed"] == plain.frames_per_seed == 4000


def _rows_without_timing(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("wall_s", "fps")} for r in csv.DictReader(f)]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkilled_sweep_resumes_to_the_uninterrupted_ranking_and_its_best_trial_replays(tmp_path):
    """Two programs (num_epochs is static): SIGKILL while the second trains, after it checkpointed;
    ``resume=<sweep folder>`` skips the finished group, continues the other from the step all its
    trials finished, and ends with the uninterrupted sweep's ranking, trial metrics and rows. The
    best trial's folder is a run folder: ``rlx.enjoy`` replays it."""
    import os
    import signal
    import time

    from rlx.evaluate import enjoy

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "rlx.train",
        "+bench=classic/cartpole",
        "algo=ppo",
        "max_frame=20480",
        "num_seeds=2",
        "num_chunks=10",
        "sweep.algo.num_epochs=[1,2]",
        "sweep.algo.lr=[1e-3,3e-3]",
        "logger.progress=false",
        "logger.plot=false",
        f"logger.out_dir={tmp_path}",
    ]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(cmd + ["logger.name=whole"], check=True, timeout=400, **quiet)
    proc = subprocess.Popen(cmd + ["logger.name=killed"], **quiet)
    second = tmp_path / "killed" / "trials" / "003" / "checkpoints"  # trials 2 and 3: the second program
    deadline = time.time() + 400
    try:
        while time.time() < deadline:
            steps = [int(p.name) for p in second.iterdir() if p.name.isdigit()] if second.is_dir() else []
            if steps and max(steps) >= 12:  # 3 of the 10 chunks of 4 updates
                break
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed = tmp_path / "killed"
    assert proc.returncode == -signal.SIGKILL and not (killed / "sweep.json").exists()
    assert (killed / "trials" / "000" / "trial_metrics.json").exists()
    assert not (killed / "trials" / "003" / "trial_metrics.json").exists()
    from rlx.experiment.checkpoint import complete_steps

    # the second program resumes from a checkpoint both its trials finished, not from scratch
    assert set(complete_steps(killed / "trials" / "002")) & set(complete_steps(killed / "trials" / "003"))
    lone = tmp_path / "lone_trial"  # an unfinished trial is a run folder too: it resumes as a plain run
    shutil.copytree(killed / "trials" / "003", lone)
    first_group = (killed / "trials" / "000" / "trial_metrics.json").stat().st_mtime_ns
    resumed = subprocess.run(
        [sys.executable, "-m", "rlx.train", f"resume={killed}"], env=env, capture_output=True, text=True, timeout=400
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (killed / "trials" / "000" / "trial_metrics.json").stat().st_mtime_ns == first_group  # skipped
    whole = json.loads((tmp_path / "whole" / "sweep.json").read_text())
    again = json.loads((killed / "sweep.json").read_text())
    assert again["ranking"] == whole["ranking"]
    for i in range(4):
        a, b = (d / "trials" / f"{i:03d}" for d in (tmp_path / "whole", killed))
        ta, tb = (json.loads((d / "trial_metrics.json").read_text()) for d in (a, b))
        assert (ta["trial"], ta["sessions"], ta["frames_per_seed"]) == (
            tb["trial"],
            tb["sessions"],
            tb["frames_per_seed"],
        )
        assert _rows_without_timing(a / "metrics.csv") == _rows_without_timing(b / "metrics.csv")
    alone = subprocess.run([sys.executable, "-m", "rlx.train", f"resume={lone}"], timeout=400, **quiet)
    assert alone.returncode == 0
    lone_metrics = json.loads((lone / "trial_metrics.json").read_text())
    assert lone_metrics["frames_per_seed"] == 20480 and math.isfinite(lone_metrics["trial"]["total_reward_ma"])
    best = killed / "trials" / f"{again['ranking'][0]['trial']:03d}"
    steps = complete_steps(best)
    assert steps[-1] == 40 and len(steps) <= 2  # a finished trial keeps its final and best checkpoints
    result = enjoy.enjoy(best, episodes=3, checkpoint="best")
    assert result["seeds"] == [0, 1] and np.isfinite(result["mean"])
