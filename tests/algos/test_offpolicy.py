"""Off-policy family: DQN targets and target updates, SAC's twin minimum and temperature, batch renorm,
and short vmapped runs of every algorithm through the shared off-policy step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.algos import crossq, dqn, sac
from rlx.config.compose import load
from rlx.config import ConfigError
from rlx.nets.batch_renorm import BatchRenorm


def test_hard_target_update_copies_every_period():
    """The loop hands ``learn`` the gradient-step phase (steps taken modulo target_period)."""
    target, params = {"w": jnp.zeros(())}, {"w": jnp.ones(())}
    copied = [float(dqn.update_target(target, params, jnp.int32(s % 3), {}, "hard", 3)["w"]) for s in range(7)]
    assert copied == [0, 0, 1, 0, 0, 1, 0]  # after grad steps 3 and 6


def test_polyak_target_update():
    out = dqn.update_target(
        {"w": jnp.zeros(2)}, {"w": jnp.ones(2)}, jnp.int32(0), {"tau": jnp.float32(0.1)}, "polyak", 1
    )
    np.testing.assert_allclose(out["w"], [0.1, 0.1])


def test_twin_critics_are_independent():
    critic = sac.TwinCritic(1, (16,), "relu")
    obs, act = jnp.ones((5, 3)), jnp.ones((5, 1))
    variables = critic.init(jax.random.key(0), obs, act)
    q = critic.apply(variables, obs, act)
    assert q.shape == (2, 5)
    assert not np.allclose(q[0], q[1])


def test_batch_renorm_train_vs_eval():
    bn = BatchRenorm(momentum=0.9, warmup_steps=0)
    x = jax.random.normal(jax.random.key(0), (256, 3)) * 4.0 + 10.0
    variables = bn.init(jax.random.key(1), x)
    stats0 = variables["batch_stats"]
    # eval: running statistics (mean 0, var 1 at init), state untouched
    y_eval = bn.apply(variables, x, False)
    np.testing.assert_allclose(y_eval, (x - 0.0) / jnp.sqrt(1.0 + 1e-3), rtol=1e-5)
    # train: batch moments, corrected towards the running ones by r, d clipped at r_max, d_max
    y_train, new = bn.apply(variables, x, True, mutable=["batch_stats"])
    std_b = x.std(0)
    r = jnp.clip(jnp.sqrt(x.var(0) + 1e-3) / 1.0, 1 / 3.0, 3.0)
    d = jnp.clip(x.mean(0), -5.0, 5.0)
    np.testing.assert_allclose(y_train, (x - x.mean(0)) / jnp.sqrt(std_b**2 + 1e-3) * r + d, rtol=1e-4, atol=1e-4)
    st = new["batch_stats"]
    np.testing.assert_allclose(st["mean"], 0.9 * stats0["mean"] + 0.1 * x.mean(0), rtol=1e-5)
    assert int(st["steps"]) == 1
    # during warm-up it is plain batch norm: zero mean, unit variance per feature
    warm = BatchRenorm(warmup_steps=10)
    y_warm, _ = warm.apply(warm.init(jax.random.key(1), x), x, True, mutable=["batch_stats"])
    np.testing.assert_allclose(y_warm.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(y_warm.std(0), 1.0, atol=1e-3)


def _short_run(*overrides, updates=40):
    config = load(*overrides, "num_seeds=2", "max_frame=400", "logger.progress=false")
    module = {"dqn": dqn, "ddqn_per": dqn, "sac": sac, "crossq": crossq}[config.algo.name]
    algo = module.make_algo(config)
    state = jax.jit(jax.vmap(algo.init))(jax.random.split(jax.random.key(0), 2))
    step = jax.jit(jax.vmap(lambda s: jax.lax.scan(lambda c, _: algo.update(c), s, None, length=updates)))
    state, metrics = step(state)
    return algo, state, metrics


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "overrides",
    [
        ("+bench=classic/cartpole", "algo=ddqn_per"),  # double + PER covers the dqn path too
        ("+bench=classic/pendulum", "algo=crossq"),  # continuous SAC parts + batch renorm
        ("+bench=classic/cartpole", "algo=dqn", "algo.n_step=3", "algo.layer_norm=true"),  # n-step + LayerNorm
        pytest.param(
            ("+bench=classic/cartpole", "algo=dqn", "algo.n_step=1", "algo.layer_norm=false"), marks=pytest.mark.slow
        ),
        pytest.param(("+bench=classic/cartpole", "algo=sac"), marks=pytest.mark.slow),
        pytest.param(("+bench=classic/pendulum", "algo=sac"), marks=pytest.mark.slow),
        pytest.param(("+bench=classic/acrobot", "algo=crossq"), marks=pytest.mark.slow),  # discrete CrossQ
    ],
)
def test_offpolicy_runs_and_learns_per_seed(overrides):
    algo, state, m = _short_run(
        *overrides, "algo.warmup_frames=64", "algo.batch_size=32", "algo.buffer_size=500", "algo.hidden=[32,32]"
    )
    assert m["learning"][:, -1].min() == 1.0  # past warm-up
    loss = np.asarray(m["loss"])
    assert np.all(np.isfinite(loss)) and np.any(loss != 0)
    assert int(state.replay.size[0]) == min(500, 40 * algo.frames_per_update)
    leaves = jax.tree.leaves(state.learner)
    assert any(not np.allclose(x[0], x[1]) for x in leaves if x.ndim)  # seeds differ
    # the gradient-step phase counts only the steps taken after warm-up, modulo the learner's cycle
    cfg = load(*overrides).algo
    if cfg.name in ("dqn", "ddqn_per"):
        cycle = cfg.target_period if cfg.target_update == "hard" else 1
    else:
        cycle = cfg.policy_delay
    taken = int(m["learning"][0].sum()) * algo.grad_steps_per_update
    np.testing.assert_array_equal(state.grad_phase, taken % cycle)


@pytest.mark.parametrize("name", ["dqn", "sac"])
def test_act_takes_the_policy_params_alone(name):
    """``Algo.act(policy_params, obs, key, deterministic)``: the Q params (DQN) or actor params (SAC),
    not the whole learner; greedy / the mode does not depend on the key."""
    bench = "+bench=classic/cartpole" if name == "dqn" else "+bench=classic/pendulum"
    algo, state, _ = _short_run(bench, f"algo={name}", "algo.hidden=[8]", "algo.batch_size=8", updates=1)
    seed0 = jax.tree.map(lambda x: x[0], state)
    params = algo.policy_params(seed0)
    expected = seed0.learner.params if name == "dqn" else seed0.learner.actor
    assert jax.tree.structure(params) == jax.tree.structure(expected)
    obs = seed0.carry.obs
    a1 = algo.act(params, obs, jax.random.key(1), True)
    a2 = algo.act(params, obs, jax.random.key(2), True)
    np.testing.assert_array_equal(a1, a2)
    assert a1.shape[0] == obs.shape[0]
    if name == "dqn":
        assert a1.dtype == jnp.int32
    else:
        assert np.all(np.abs(np.asarray(algo.act(params, obs, jax.random.key(3), False))) <= 2.0)  # env bounds


def test_update_counter_range_is_checked():
    """Frames are float32; the int32 update counter itself must not wrap within a run."""
    with pytest.raises(ConfigError, match="max_frame"):
        config = load("+bench=classic/cartpole", "algo=dqn", "num_envs=1", "max_frame=3000000000")
        dqn.make_algo(config)


def test_n_step_longer_than_the_buffer_is_a_config_error():
    with pytest.raises(ConfigError, match="algo.n_step"):
        _short_run("+bench=classic/cartpole", "algo=dqn", "algo.n_step=200", "algo.buffer_size=256", updates=1)


def test_q_network_layer_norm_is_a_switch():
    from rlx.nets import QNetwork

    x = jnp.ones((3, 4))
    plain = QNetwork(2, (8, 8)).init(jax.random.key(0), x)
    normed_net = QNetwork(2, (8, 8), layer_norm=True)
    normed = normed_net.init(jax.random.key(0), x)
    assert "LayerNorm_0" not in str(jax.tree_util.tree_structure(plain))
    assert "LayerNorm_0" in str(jax.tree_util.tree_structure(normed))
    # the normalised torso's output does not grow with the input's scale
    big = normed_net.apply(normed, 1000.0 * x)
    np.testing.assert_allclose(big, normed_net.apply(normed, x), rtol=1e-3, atol=1e-3)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", ["sac", "crossq"])
def test_cnn_on_minatar_frames_builds_and_learns(name):
    """``algo.network=cnn`` on MinAtar's (10, 10, 4) frames: the MinAtar convolutions, then ``hidden``.
    The actor and each twin critic have their own convolutions; CrossQ renormalises the dense layers
    after them, not the convolution features (SLM-Lab's crossq_atari)."""
    config = load(
        *("env=Breakout-MinAtar", f"algo={name}", "algo.network=cnn", "algo.hidden=[16]", "num_envs=2"),
        *("num_seeds=1", "max_frame=256", "algo.buffer_size=64", "algo.batch_size=8", "algo.warmup_frames=0"),
    )
    algo = {"sac": sac, "crossq": crossq}[name].make_algo(config)
    state = jax.jit(algo.init)(jax.random.key(0))
    update = jax.jit(algo.update)
    for _ in range(5):  # 10 transitions: the 8-item batches start
        state, m = update(state)
    assert float(m["learning"]) == 1.0 and np.isfinite(float(m["loss"])) and float(m["loss"]) != 0.0, m
    actor, critic = state.learner.actor["params"], state.learner.critic["params"]
    assert actor["torso"]["Conv_0"]["kernel"].shape == (3, 3, 4, 16)
    assert actor["MLP_0"]["Dense_0"]["kernel"].shape == (8 * 8 * 16, 16)
    twin = critic["torso"]["Conv_0"]["kernel"]
    assert twin.shape == (2, 3, 3, 4, 16) and not np.allclose(twin[0], twin[1])  # one torso per critic
    assert critic["Dense_0"]["kernel"].shape == (2, 8 * 8 * 16, 16)
    if name == "crossq":  # one renormalisation: the hidden layer's, none on the convolution features
        assert sorted(state.learner.critic["batch_stats"]) == ["BatchRenorm_0"]
        assert critic["BatchRenorm_0"]["scale"].shape == (2, 16)
    obs = state.carry.obs
    assert algo.act(algo.policy_params(state), obs, jax.random.key(1), True).shape == (2,)
