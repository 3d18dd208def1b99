"""The bench files: every tuned section composes through ``rlx.config.load`` and is applied, the Atari
files are what scripts/make_atari_benches.py generates from SLM-Lab's table, and one Atari game builds
and runs one update of each algorithm with tiny settings.

Composition is Hydra's cost (about 0.15 s a load on 2 cores): the Atari loop is 63 games x 4 algorithms.
"""

import csv
import dataclasses
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scriptload import load_script
from omegaconf import OmegaConf

from rlx.algos import algo_module
from rlx.config import ConfigError, load

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCH = ROOT / "rlx" / "configs" / "bench"
SCRIPT = ROOT / "scripts" / "make_atari_benches.py"
TABLE = ROOT / "benchmarks" / "reference" / "slm_lab_atari_ppo.csv"
MUJOCO = sorted(p.stem for p in (BENCH / "mujoco").glob("*.yaml"))
ATARI = sorted(p.stem for p in (BENCH / "atari").glob("*.yaml"))
ATARI_ALGOS = ("ppo", "a2c", "sac", "crossq")


def _script():
    return load_script("scripts/make_atari_benches.py")


def _tuned(bench: str, algo: str) -> dict:
    data = OmegaConf.to_container(OmegaConf.load(BENCH / f"{bench}.yaml"), resolve=True)
    return data["tuned"][algo]


def _assert_applied(bench: str, algo: str):
    """The composed config carries every value of the bench's tuned.<algo>.algo and differs from the defaults."""
    cfg = load(f"+bench={bench}", f"algo={algo}")
    section = _tuned(bench, algo)["algo"]
    for key, value in section.items():
        got = getattr(cfg.algo, key)
        want = tuple(value) if isinstance(value, list) else value
        assert got == want, (bench, algo, key, got, want)
    assert cfg.algo != type(cfg.algo)(), (bench, algo)
    return cfg


def test_bench_lists():
    assert len(MUJOCO) == 11
    assert len(ATARI) == 63 and {"pong", "breakout", "montezuma_revenge", "space_invaders", "up_n_down"} <= set(ATARI)


@pytest.mark.parametrize("algo", ["sac", "crossq"])
@pytest.mark.parametrize("env", MUJOCO)
def test_mujoco_offpolicy_sections_apply(env, algo):
    cfg = _assert_applied(f"mujoco/{env}", algo)
    a = cfg.algo
    assert cfg.num_envs == 16 and cfg.num_seeds == 4
    # the replay ratio the comments state: 1 frame per gradient step
    frames_per_grad = a.num_steps * cfg.num_envs / (a.batches_per_update * a.grads_per_batch)
    assert frames_per_grad == 1.0
    assert a.buffer_size == 1_000_000 and a.batch_size == 256


@pytest.mark.parametrize("bench", ["classic/cartpole", "classic/acrobot", "box2d/lunar"])
def test_discrete_crossq_sections_apply(bench):
    cfg = _assert_applied(bench, "crossq")
    assert cfg.algo.policy_delay == 3


@pytest.mark.parametrize("algo", ATARI_ALGOS)
def test_every_atari_bench_composes(algo):
    for game in ATARI:
        cfg = _assert_applied(f"atari/{game}", algo)
        assert cfg.env.startswith("envpool:") and cfg.env.endswith("-v5") and cfg.max_frame == 10_000_000


def test_atari_lambdas_scores_and_skipped_games_from_the_table():
    mod = _script()
    assert mod.lambda_of("ppo_atari(lam0.95)") == 0.95
    assert mod.lambda_of("ppo_atari_lam85") == 0.85
    assert mod.lambda_of("ppo_atari_lam70") == 0.70
    assert mod.lambda_of("") is None
    with pytest.raises(ValueError):
        mod.lambda_of("ppo_atari_lamXX")
    assert [mod.snake_case(g) for g in ("MontezumaRevenge", "UpNDown", "MsPacman")] == [
        "montezuma_revenge",
        "up_n_down",
        "ms_pacman",
    ]
    with open(TABLE, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {mod.snake_case(mod.game_of(r["env"])) for r in rows} == set(ATARI)
    for row in rows:
        name = mod.snake_case(mod.game_of(row["env"]))
        text = (BENCH / "atari" / f"{name}.yaml").read_text()
        header = text.split("\nenv:", 1)[0]
        lam = _tuned(f"atari/{name}", "ppo")["algo"]["gae_lambda"]  # applied: test_every_atari_bench_composes
        if row["best_spec"]:
            assert f"SLM-Lab's PPO: {row['slm_lab_best_total_reward_ma']} ({row['best_spec']}" in header
            assert lam == pytest.approx(mod.lambda_of(row["best_spec"]))
        else:
            assert "Hard-exploration game" in header and lam == 0.95
    assert _tuned("atari/pong", "ppo")["algo"]["gae_lambda"] == 0.85  # Pong's best: ppo_atari_lam85


def test_atari_generator_check_passes_and_catches_a_stale_file(tmp_path, capsys):
    mod = _script()  # in-process: the script's own run is `python scripts/make_atari_benches.py --check`
    assert mod.main(["--check"]) == 0, capsys.readouterr().err
    # a copy with one file edited: --check on it fails and names the file
    assert mod.main(["--out", str(tmp_path), "Pong"]) == 0
    assert (tmp_path / "pong.yaml").read_text() == (BENCH / "atari" / "pong.yaml").read_text()
    (tmp_path / "pong.yaml").write_text((tmp_path / "pong.yaml").read_text() + "# edited\n")
    capsys.readouterr()
    assert mod.main(["--out", str(tmp_path), "--check", "Pong"]) == 1
    assert "pong.yaml" in capsys.readouterr().err


def test_atari_generator_runs_as_a_script(tmp_path):
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "Breakout"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "breakout.yaml").read_text() == (BENCH / "atari" / "breakout.yaml").read_text()


def test_atari_network_field_where_the_algorithm_has_one():
    for algo in ATARI_ALGOS:
        fields = {f.name for f in dataclasses.fields(algo_module(algo).Config)}
        section = _tuned("atari/pong", algo)["algo"]
        assert ("network" in fields) == (section.get("network") == "cnn"), algo
    with pytest.raises(ConfigError):
        load("+bench=atari/pong", "algo=sac", "algo.no_such_field=1")


TINY = {
    "ppo": ["algo.num_steps=8", "algo.num_minibatches=2", "algo.num_epochs=1"],
    "a2c": ["algo.num_steps=4"],
    "sac": ["algo.buffer_size=64", "algo.batch_size=8", "algo.warmup_frames=0", "algo.batches_per_update=1"],
    "crossq": ["algo.buffer_size=64", "algo.batch_size=8", "algo.warmup_frames=0"],
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("algo", ATARI_ALGOS)
def test_one_update_on_breakout(algo):
    """The Breakout bench's tuned section shrunk to 2 envs: init and one update compile and run (uint8
    frames through the network), finite loss. PPO's CNN compile is most of the ~30 s."""
    cfg = load("+bench=atari/breakout", f"algo={algo}", "num_envs=2", "num_seeds=1", "max_frame=256", *TINY[algo])
    algo_obj = algo_module(algo).make_algo(cfg)
    state = jax.jit(algo_obj.init)(jax.random.key(0))
    state, metrics = jax.jit(algo_obj.update)(state)
    assert np.isfinite(float(metrics["loss"])), metrics
    if algo in ("sac", "crossq"):  # the actor and each critic: their own Nature convolutions over uint8 frames
        assert state.replay.buffer.experience["obs"].dtype == jnp.uint8
        assert state.learner.actor["params"]["torso"]["Conv_0"]["kernel"].shape == (8, 8, 4, 32)
        assert state.learner.critic["params"]["torso"]["Conv_0"]["kernel"].shape == (2, 8, 8, 4, 32)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "bench, algo",
    [("mujoco/hopper", "sac"), ("mujoco/hopper", "crossq"), ("classic/cartpole", "crossq"), ("box2d/lunar", "crossq")],
)
def test_one_update_of_the_new_offpolicy_sections(bench, algo):
    """The new sections' networks (CrossQ's [2048, 2048] critics included) build and update, shrunk to 2 envs
    and a tiny replay (about 30 s each on 2 loaded cores)."""
    cfg = load(
        f"+bench={bench}",
        f"algo={algo}",
        "num_envs=2",
        "num_seeds=1",
        "max_frame=256",
        "algo.buffer_size=64",
        "algo.batch_size=8",
        "algo.warmup_frames=0",
    )
    algo_obj = algo_module(algo).make_algo(cfg)
    state = jax.jit(algo_obj.init)(jax.random.key(0))
    update = jax.jit(algo_obj.update)
    for _ in range(5):  # 10 transitions: the 8-item batches start
        state, metrics = update(state)
    assert float(metrics["learning"]) == 1.0 and np.isfinite(float(metrics["loss"])), metrics
