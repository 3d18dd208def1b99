"""Config validation: one line naming the key and what is allowed, exit status 2, nothing compiled."""

import dataclasses
import subprocess
import sys

import pytest

from rlx.config.compose import compose_dict, load
from rlx.config import ConfigError


@pytest.mark.parametrize(
    "override, message",
    [
        ("algo.lr=-1", "algo.lr: must be > 0, got -1.0"),
        ("algo.lrr=0.1", "algo.lrr: unknown key; allowed: "),
        ("num_envs=four", "num_envs: expected an integer, got 'four'"),
        ("algo.gamma=1.5", "algo.gamma: must be in [0, 1]"),
        ("algo.activation=sigmoidal", "algo.activation: must be one of: tanh, relu"),
        ("frobnicate=3", "frobnicate: unknown key; allowed: "),
        ("wrappers.normalize_obs=yes please", "wrappers.normalize_obs: expected true or false"),
        ("bench=classic/nope", "bench: unknown bench 'classic/nope'; allowed: "),
        ("algo=nope", "algo: unknown algo 'nope'; allowed: "),
        ("env=NoSuchEnv-v9", "env: unknown env 'NoSuchEnv-v9'"),
        ("algo.hidden=[64,-1]", "algo.hidden: layer sizes must be > 0"),
    ],
)
def test_bad_overrides_raise_one_line(override, message):
    with pytest.raises(ConfigError) as err:
        load(override)
    text = str(err.value)
    assert message in text, text
    assert "\n" not in text


def test_precedence_cli_over_tuned_over_defaults():
    data = compose_dict(["+bench=classic/pendulum"])
    assert data["env"] == "Pendulum-v1" and data["max_frame"] == 300000
    assert data["wrappers"]["normalize_obs"] is True  # from tuned.ppo
    tuned_lr = data["algo"]["lr"]
    cfg = load("+bench=classic/pendulum", "algo.lr=0.123", "max_frame=1e4")
    assert cfg.algo.lr == 0.123 != tuned_lr
    assert cfg.max_frame == 10000 and isinstance(cfg.max_frame, int)
    assert cfg.bench == "classic/pendulum"


def test_default_is_ppo_on_cartpole_bench():
    cfg = load()
    assert cfg.env == "CartPole-v1" and cfg.algo.name == "ppo"
    assert (cfg.num_envs, cfg.max_frame, cfg.num_seeds, cfg.log_frequency) == (4, 200000, 4, 500)
    assert cfg.bench == "classic/cartpole"


def test_config_is_frozen():
    cfg = load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_envs = 8


def test_cli_bad_override_exits_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "rlx.train", "algo.lr=abc", f"logger.out_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["rlx train: error: algo.lr: expected a number, got 'abc'"], proc.stderr
    assert not any(tmp_path.iterdir())  # nothing built, no run folder


def test_indivisible_minibatches_is_a_config_error():
    from rlx.algos import ppo

    cfg = load("algo.num_minibatches=7")
    with pytest.raises(ConfigError, match="algo.num_minibatches: must divide"):
        ppo.make_algo(cfg)


@pytest.mark.parametrize(
    "override, message",
    [
        ("seed=1e30", "seed: must be in [0, 2,147,483,647], got 1e+30"),
        ("max_frame=1e30", "max_frame: must be in [1, 1,000,000,000,000], got 1e+30"),
        ("num_envs=1e9", "num_envs: must be in [1, 1,048,576], got 1000000000"),
        ("logger.out_dir=", "logger.out_dir: must not be empty, got ''"),
        ("logger.name=../../x", "logger.name: must be a plain folder name (no '/', not '.' or '..'), got '../../x'"),
    ],
)
def test_out_of_range_values_are_one_line_before_anything_is_built(override, message):
    with pytest.raises(ConfigError) as err:
        load(override)
    assert str(err.value) == message
