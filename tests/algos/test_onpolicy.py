"""The on-policy family (REINFORCE, A2C, SARSA; PPO in test_ppo.py) and the pieces it shares:
exploration schedules and policies, SARSA and Monte-Carlo targets by hand, the actor/critic
optimiser split, one ``act`` and one layer-size check for all, schedules past 2**31 frames, the
compiled program (seeds, determinism, sweeps) and learning on CartPole over several seeds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.config.schema import traced_names
from rlx.algos import a2c, algo_config_class, algo_module, common, explore, onpolicy, reinforce, sarsa
from rlx.algos.rollout import Transition
from rlx.config.compose import load
from rlx.config import ConfigError, RunConfig, from_dict

MODULES = {"reinforce": reinforce, "a2c": a2c, "sarsa": sarsa}

G = 0.9


# ---------------------------------------------------------------- schedules and exploration


def test_schedules_hit_their_endpoints():
    for kind in ("linear", "exponential"):
        at = lambda step, kind=kind: float(explore.schedule(kind, 1.0, 0.05, 100.0, 1100.0, step))
        assert at(0) == pytest.approx(1.0) and at(100) == pytest.approx(1.0)
        assert at(1100) == pytest.approx(0.05) and at(5000) == pytest.approx(0.05)
    assert float(explore.schedule("linear", 1.0, 0.0, 0.0, 10.0, 5.0)) == pytest.approx(0.5)
    # geometric: halfway in steps is the geometric mean of the endpoints
    assert float(explore.schedule("exponential", 1.0, 0.01, 0.0, 10.0, 5.0)) == pytest.approx(0.1, rel=1e-5)
    assert float(explore.schedule("constant", 0.3, 0.0, 0.0, 10.0, 7.0)) == pytest.approx(0.3)
    # traced parameters: a schedule under vmap over its start value
    starts = jnp.array([1.0, 2.0])
    out = jax.vmap(lambda s: explore.schedule("linear", s, 0.0, 0.0, 10.0, 5.0))(starts)
    np.testing.assert_allclose(out, [0.5, 1.0], rtol=1e-6)


def test_exploration_policies_match_their_probabilities():
    q = jnp.array([[1.0, 3.0, 2.0]])
    keys = jax.random.split(jax.random.key(0), 20000)
    for kind, value in (("epsilon_greedy", 0.3), ("boltzmann", 1.0), ("boltzmann", 0.5)):
        actions = jax.vmap(lambda k, kind=kind, value=value: explore.select_action(kind, k, q, value))(keys)[:, 0]
        freq = np.bincount(np.asarray(actions), minlength=3) / len(keys)
        probs = np.asarray(explore.action_probs(kind, q, value))[0]
        np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-6)
        np.testing.assert_allclose(freq, probs, atol=0.015)
    np.testing.assert_allclose(explore.action_probs("epsilon_greedy", q, 0.3)[0], [0.1, 0.8, 0.1], rtol=1e-6)
    assert np.all(np.asarray(explore.select_action("epsilon_greedy", keys[0], jnp.tile(q, (50, 1)), 0.0)) == 1)
    assert explore.select_action("boltzmann", keys[0], q, 1.0).dtype == jnp.int32
    with pytest.raises(ValueError):
        explore.select_action("softmax", keys[0], q, 1.0)


# ---------------------------------------------------------------- targets by hand


def test_sarsa_targets_hand_computed():
    q_next = jnp.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0], [70.0, 80.0]])
    action = jnp.array([0, 1, 1, 0])
    sampled = jnp.array([1, 0, 0, 1])  # a fresh policy sample at each s'
    reward = jnp.ones(4)
    term = jnp.array([False, True, False, False])
    trunc = jnp.array([False, False, True, False])
    out = sarsa.sarsa_targets(q_next, action, sampled, reward, term, trunc, G)
    want = [
        1 + G * 20.0,  # in-episode: the action really taken next (action[1] = 1)
        1.0,  # terminated: no bootstrap
        1 + G * 50.0,  # truncated: Q(final obs, a' ~ pi) with a' = sampled[2] = 0
        1 + G * 80.0,  # rollout's end: a' = sampled[3] = 1
    ]
    np.testing.assert_allclose(out, want, rtol=1e-6)


def _traj(reward, term, trunc, values, next_values):
    t = reward.shape[0]
    z = jnp.zeros((t, 1))
    return Transition(z, jnp.zeros(t, jnp.int32), reward, term, trunc, next_values, {"value": values})


def test_reinforce_targets_for_each_way_of_handling_the_unfinished_tail():
    r = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    term = jnp.array([False, True, False, False, False, False])
    trunc = jnp.array([False, False, False, True, False, False])
    values = jnp.full(6, 0.5)
    nv = jnp.array([9.0, 9.0, 9.0, 10.0, 9.0, 8.0])
    traj = _traj(r, term, trunc, values, nv)
    value_of = lambda next_obs: next_obs  # noqa: E731  (next_obs carries the next values here)
    hp = {"gamma": jnp.float32(G)}
    mc = [1 + G * 2, 2, 3 + G * 4, 4, 5 + G * 6, 6]

    out = reinforce.monte_carlo_targets(reinforce.Config(incomplete="mask"))(traj, value_of, hp)
    np.testing.assert_allclose(out["target"], mc, rtol=1e-6)
    np.testing.assert_allclose(out["advantage"], mc, rtol=1e-6)  # no baseline
    np.testing.assert_array_equal(out["weight"], [1, 1, 1, 1, 0, 0])

    out = reinforce.monte_carlo_targets(reinforce.Config(incomplete="cut"))(traj, value_of, hp)
    assert "weight" not in out
    np.testing.assert_allclose(out["target"], mc, rtol=1e-6)

    cfg = reinforce.Config(incomplete="bootstrap", baseline=True)
    out = reinforce.monte_carlo_targets(cfg)(traj, value_of, hp)
    boot = [1 + G * 2, 2, 3 + G * (4 + G * 10), 4 + G * 10, 5 + G * (6 + G * 8), 6 + G * 8]
    np.testing.assert_allclose(out["target"], boot, rtol=1e-6)
    np.testing.assert_allclose(out["advantage"], np.array(boot) - 0.5, rtol=1e-6)

    # a baseline with the default mask: truncations bootstrap, the unfinished tail is dropped
    out = reinforce.monte_carlo_targets(reinforce.Config(baseline=True))(traj, value_of, hp)
    np.testing.assert_allclose(out["target"][:4], boot[:4], rtol=1e-6)
    np.testing.assert_array_equal(out["weight"], [1, 1, 1, 1, 0, 0])


def test_reinforce_bootstrap_needs_a_baseline():
    with pytest.raises(ConfigError, match="baseline"):
        from_dict(reinforce.Config, {"incomplete": "bootstrap"}, "algo")


# ---------------------------------------------------------------- actor/critic optimiser split


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_actor_critic_labels_follow_the_gradients(env_id):
    """Each parameter labelled "actor" gets gradient only from the policy head, each "critic" one
    only from the value head (separate networks), so each optimiser clips its own network."""
    cfg = RunConfig(algo=a2c.Config(), env=env_id, num_envs=2)
    algo = a2c.make_algo(cfg)
    net, _ = onpolicy.make_network(cfg.algo, algo.env)
    obs = jnp.ones((3,) + algo.env.observation_space.shape)
    params = net.init(jax.random.key(0), obs)
    labels = onpolicy.actor_critic_labels(params)

    def head_sum(p):
        head, log_std, _ = net.apply(p, obs)
        return head.sum() + (0.0 if log_std is None else log_std.sum())

    g_actor = jax.grad(head_sum)(params)
    g_critic = jax.grad(lambda p: net.apply(p, obs)[2].sum())(params)
    for lab, ga, gc in zip(jax.tree.leaves(labels), jax.tree.leaves(g_actor), jax.tree.leaves(g_critic), strict=True):
        if lab == "actor":
            assert np.all(np.asarray(gc) == 0)
        else:
            assert lab == "critic" and np.all(np.asarray(ga) == 0)
    assert {"actor", "critic"} == set(jax.tree.leaves(labels))


# ---------------------------------------------------------------- the compiled program


def _small(name, env="CartPole-v1", **algo):
    steps = {"reinforce": 32, "a2c": 8, "sarsa": 8}[name]
    return RunConfig(algo=MODULES[name].Config(num_steps=steps, **algo), env=env, num_envs=4, max_frame=steps * 4 * 5)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["reinforce", "a2c", "sarsa"])
def test_train_is_one_program_and_seeds_differ(name):
    cfg = _small(name)
    train = jax.jit(jax.vmap(common.make_train(cfg)))
    keys = jax.random.split(jax.random.key(0), 3)
    state, m = train(keys)
    assert m["loss"].shape == (3, 5)  # (seeds, updates)
    assert np.all(np.isfinite(np.asarray(m["loss"])))
    for k in ("episode_return", "episode_length", "episodes"):
        assert m[k].shape == (3, 5)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(state.params))  # no silent float64
    first = jax.tree.leaves(state.params)[0]
    assert not np.allclose(first[0], first[1])  # each seed its own run (PureJaxRL #35)
    _, m2 = train(keys)
    np.testing.assert_array_equal(m["loss"], m2["loss"])  # same key, same numbers
    # a seed in a batch equals that seed run alone; no key is used twice (checked on the single
    # seed: jax 0.11.2's checker flags any scan over split keys under vmap, a false positive)
    with jax.debug_key_reuse(True):
        _, alone = jax.jit(common.make_train(cfg))(keys[1])
    np.testing.assert_allclose(alone["loss"], m["loss"][1], rtol=1e-4, atol=1e-6)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["ppo", "reinforce", "a2c", "sarsa"])
def test_act_is_one_typed_call_for_every_algorithm(name):
    """``Algo.act(Algo.policy_params(state), obs, key, deterministic)`` gives valid env actions."""
    cfg = RunConfig(algo=from_dict(algo_config_class(name), {}, "algo"), env="CartPole-v1", num_envs=4, max_frame=1000)
    algo = algo_module(name).make_algo(cfg)
    state = algo.init(jax.random.key(0))
    for deterministic in (False, True):
        a = algo.act(algo.policy_params(state), state.carry.obs, jax.random.key(1), deterministic)
        assert a.shape == (4,) and np.all((np.asarray(a) >= 0) & (np.asarray(a) < 2))


@pytest.mark.parametrize("name", ["ppo", "reinforce", "a2c", "sarsa"])
def test_every_on_policy_config_checks_layer_sizes_once(name):
    with pytest.raises(ConfigError, match="layer sizes"):
        from_dict(algo_config_class(name), {"hidden": [64, 0]}, "algo")
    if name != "sarsa":
        with pytest.raises(ConfigError, match="layer sizes"):
            from_dict(algo_config_class(name), {"critic_hidden": [-1]}, "algo")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name,metric", [("a2c", "ent_coef"), ("sarsa", "explore")])
def test_schedules_count_frames_past_int32(name, metric):
    """Past 2**31 frames a schedule is at its end: frames are float32, not ``update_count * frames``
    in int32 (which wraps negative and would put the schedule back at its start)."""
    cfg = _small(name)
    algo = MODULES[name].make_algo(cfg)
    state = algo.init(jax.random.key(0))
    count = 2**31 // algo.frames_per_update + 1
    state = state.replace(update_count=jnp.asarray(count, jnp.int32))
    _, m = jax.jit(algo.update)(state)
    end = 0.0 if name == "a2c" else cfg.algo.explore_end
    assert float(m[metric]) == pytest.approx(end)


@pytest.mark.timeout(120)
def test_hparams_vmap_is_a_sweep():
    cfg = _small("a2c")
    algo = a2c.make_algo(cfg)
    lrs = jnp.array([1e-4, 1e-2], jnp.float32)
    hp = {k: jnp.full((2,), getattr(cfg.algo, k), jnp.float32) for k in traced_names(cfg.algo)}
    hp["lr"] = lrs
    keys = jnp.stack([jax.random.key(0)] * 2)
    state = jax.vmap(algo.init)(keys, hp)
    state, m = jax.jit(jax.vmap(algo.update))(state)
    np.testing.assert_allclose(m["lr"], lrs, rtol=1e-6)  # constant schedule
    p = jax.tree.leaves(state.params)[0]
    assert not np.allclose(p[0], p[1])  # same key, different lr: different parameters


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "name,algo",
    [
        ("a2c", {"returns": "nstep", "optimizer": "rmsprop", "shared": True}),
        ("a2c", {"dist": "tanh_normal"}),
        ("reinforce", {"baseline": True, "incomplete": "bootstrap"}),
    ],
)
def test_continuous_and_variants_run(name, algo):
    cfg = _small(name, "Pendulum-v1", **algo)
    _, m = jax.jit(common.make_train(cfg))(jax.random.key(0))
    assert np.all(np.isfinite(np.asarray(m["loss"])))
    assert np.all(np.isfinite(np.asarray(m["entropy"])))


@pytest.mark.timeout(120)
def test_sarsa_epsilon_greedy_exponential_schedule_runs_and_decays():
    cfg = _small(
        "sarsa",
        explore="epsilon_greedy",
        explore_schedule="exponential",
        explore_start=1.0,
        explore_end=0.01,
        explore_end_step=64.0,
    )
    _, m = jax.jit(common.make_train(cfg))(jax.random.key(0))
    eps = np.asarray(m["explore"])  # value used by each update (32 frames each)
    np.testing.assert_allclose(eps, [1.0, 0.1, 0.01, 0.01, 0.01], rtol=1e-5)


def test_sarsa_rejects_continuous_actions():
    with pytest.raises(ConfigError, match="discrete"):
        sarsa.make_algo(_small("sarsa", "Pendulum-v1"))


# ---------------------------------------------------------------- learning over seeds


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["reinforce", "a2c", "sarsa"])
def test_learns_cartpole_over_four_seeds(name):
    """The bench command's config (SLM-Lab's 4 envs, 2e5 frames, tuned.<algo>) on 4 seeds vmapped
    with keys other than the bench's: the last quarter of training must be near-solved."""
    cfg = load(bench="classic/cartpole", algo=name)
    mod = MODULES[name]
    algo = mod.make_algo(cfg)
    train = jax.jit(jax.vmap(common.make_train(cfg)))
    _, m = train(jax.random.split(jax.random.key(12345), 4))
    ret = np.asarray(m["episode_return"])
    last = (np.arange(ret.shape[1]) + 1) * algo.frames_per_update > 0.75 * cfg.max_frame
    final = ret[:, last].mean(axis=1)
    assert np.all(final > 300), final
    assert final.mean() > 400, final
