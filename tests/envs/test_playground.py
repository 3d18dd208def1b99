"""MuJoCo Playground through rlx: the env protocol, the Brax-recipe PPO options, the bench files.

Compiles are the cost here (CartpoleBalance a few seconds, a Go1 env a minute or more on 2 cores),
so the default run covers CartpoleBalance and one locomotion env with jax's persistent compilation
cache on; every one of the 54 envs (reset, step, one PPO update) is the ``playground_all`` marker,
run by hand: ``pytest -m playground_all`` (about an hour on this CPU, beyond CI's budget).
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("mujoco_playground")

from rlx import envs  # noqa: E402
from rlx.algos import ppo  # noqa: E402
from rlx.config.compose import load  # noqa: E402
from rlx.experiment.runner import enable_compilation_cache  # noqa: E402

enable_compilation_cache()

BENCH_DIR = pathlib.Path(__file__).resolve().parents[2] / "rlx" / "configs" / "bench" / "playground"
LOCOMOTION = "Go1JoystickFlatTerrain"  # dict observations, privileged critic, domain randomisation


def _tiny(bench: str, *extra):
    """The bench's config shrunk to a few envs and one short update."""
    return load(
        f"+bench=playground/{bench}",
        "algo=ppo",
        "num_envs=4",
        "num_seeds=2",
        "algo.num_steps=4",
        "algo.num_unrolls=2",
        "algo.num_minibatches=2",
        "algo.num_epochs=1",
        "max_frame=32",
        "algo.hidden=[16]",
        "algo.critic_hidden=[16]",
        *extra,
    )


def _one_update(cfg):
    """Resets, steps and runs one PPO update for two vmapped seeds; returns the metrics."""
    algo = ppo.make_algo(cfg)
    keys = jax.random.split(jax.random.key(0), cfg.num_seeds)
    state = jax.jit(jax.vmap(algo.init))(keys)
    state, m = jax.jit(jax.vmap(algo.update))(state)
    m = jax.device_get(m)
    assert np.all(np.isfinite(m["loss"])), m
    assert np.all(np.isfinite(m["value_loss"]))
    # each seed its own run: its own initial weights (one leaf can agree, e.g. a bias after one Adam
    # step of +-lr on a sparse-reward env, so compare all parameters)
    flat = np.concatenate([np.reshape(leaf, (leaf.shape[0], -1)) for leaf in jax.tree.leaves(state.params)], axis=1)
    assert not np.allclose(flat[0], flat[1])
    return algo, state, m


def test_registry_has_every_playground_env():
    from mujoco_playground import registry

    ids = envs.SOURCES["playground"].ids()
    assert len(ids) == 54 and set(ids) == set(registry.ALL_ENVS)
    assert envs.resolve("playground:CartpoleBalance") == ("playground", "CartpoleBalance")


def test_bench_files_are_generated_from_playground_params():
    from mujoco_playground import registry

    from rlx.envs.playground import snake_case

    names = {p.stem for p in BENCH_DIR.glob("*.yaml")}
    assert names == {snake_case(e) for e in registry.ALL_ENVS}
    import subprocess
    import sys

    script = BENCH_DIR.parents[3] / "scripts" / "make_playground_benches.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    cfg = load("+bench=playground/cartpole_balance", "algo=ppo")
    a = cfg.algo
    # Brax's DM Control recipe: 2048 envs, 16 unrolls of 30 steps each (1024 x 32 / 2048), 16 epochs
    assert (cfg.num_envs, a.num_steps, a.num_unrolls, a.num_minibatches, a.num_epochs) == (2048, 30, 16, 32, 16)
    assert (a.dist, a.lr_schedule, a.reward_scaling, a.gamma) == ("tanh_normal", "constant", 10.0, 0.995)
    assert cfg.wrappers.normalize_obs
    go1 = load("+bench=playground/go1_joystick_flat_terrain", "algo=ppo").algo
    assert (go1.obs_key, go1.critic_obs_key) == (None, "privileged_state")
    pend = load("+bench=playground/pendulum_swingup", "algo=ppo")
    assert pend.env_kwargs["action_repeat"] == 4 and pend.algo.num_epochs == 4


@pytest.mark.timeout(600)
def test_cartpole_protocol_truncation_and_action_repeat():
    env = envs.make("playground:CartpoleBalance", 3, episode_length=6, action_repeat=2)
    state, obs = jax.jit(env.reset)(jax.random.key(0))
    assert obs.shape == (3, 5) and obs.dtype == jnp.float32
    assert env.action_space.shape == (1,) and env.observation_space.shape == (5,)
    step = jax.jit(env.step)
    keys = jax.random.split(jax.random.key(1), 4)
    truncs, rewards = [], []
    for i in range(4):
        out = step(state, jnp.zeros((3, 1)), keys[i])
        truncs.append(np.asarray(out.truncated))
        rewards.append(np.asarray(out.reward))
        assert not np.any(out.terminated)
        state = out.state
        if i == 2:
            # the real last observation, not the reset one, is kept for bootstrapping
            assert not np.allclose(out.info["final_obs"], out.obs)
    # 6 control steps at 2 per agent step: truncated at the 3rd agent step, then a fresh episode
    assert [t.all() for t in truncs] == [False, False, True, False]
    # a repeated step sums two rewards in [0, 1]
    assert np.all(np.array(rewards) > 1.0) and np.all(np.array(rewards) <= 2.0)
    stats = envs.episode_metrics(env, state)
    np.testing.assert_allclose(stats["episode_length"], 3.0)
    assert float(stats["episodes"]) == 3.0


@pytest.mark.timeout(600)
def test_cartpole_ppo_update_with_brax_options():
    cfg = _tiny("cartpole_balance", "algo.normalize_values=true")
    algo, state, m = _one_update(cfg)
    # 2 unrolls x 4 steps x 4 envs per update
    assert algo.frames_per_update == 32
    assert state.value_norm is not None and np.all(np.asarray(state.value_norm.count) > 1)


@pytest.mark.slow  # the Go1 MJX program takes about 75 s to build here: a fifth of the default suite's budget
@pytest.mark.timeout(900)
def test_locomotion_dict_obs_privileged_critic_and_domain_randomisation():
    env = envs.make(f"playground:{LOCOMOTION}", 2, normalize_obs=True)
    space = env.observation_space
    assert set(space) >= {"state", "privileged_state"}
    from rlx.envs.playground import PlaygroundEnv

    base = env
    while not isinstance(base, PlaygroundEnv):
        base = base.env
    assert base.domain_randomized
    cfg = _tiny("go1_joystick_flat_terrain", "num_envs=2", "algo.num_minibatches=1")
    algo, state, m = _one_update(cfg)
    # the actor reads the 48-d state, the critic the larger privileged state
    p = state.params["params"]
    assert p["actor"]["Dense_0"]["kernel"].shape[1] == space["state"].shape[0]
    assert p["critic"]["Dense_0"]["kernel"].shape[1] == space["privileged_state"].shape[0]
    # each env copy has its own randomised physics
    inner = state.carry.env_state
    while hasattr(inner, "inner"):
        inner = inner.inner
    friction = np.asarray(inner.model["geom_friction"])  # (seeds, envs, ngeom, 3)
    assert not np.allclose(friction[0, 0], friction[0, 1])


def _all_envs():
    try:
        from mujoco_playground import registry

        return list(registry.ALL_ENVS)
    except ImportError:
        return []


@pytest.mark.playground_all
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("env_id", _all_envs())
def test_every_env_resets_steps_and_trains(env_id):
    from rlx.envs.playground import snake_case

    cfg = _tiny(snake_case(env_id), "num_envs=2", "algo.num_minibatches=1")
    _one_update(cfg)
