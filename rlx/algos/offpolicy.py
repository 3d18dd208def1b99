"""The one off-policy assembly: every replay-based algorithm (DQN, DDQN+PER, SAC, CrossQ) is this loop
around its own ``Learner`` functions.

One ``update``: ``num_steps`` steps of the vectorised env with the rollout module, the
transitions added to the replay held in the train state, then -- once ``warmup_frames`` frames
have been collected -- ``batches_per_update`` replay batches, each used for ``grads_per_batch``
gradient steps (SLM-Lab's ``training_frequency`` / ``training_iter`` / ``training_batch_iter``;
replay ratio = grad steps per frame). Everything stays on device; ``update`` is jittable and
vmappable over seeds, the replay included.

An algorithm supplies a ``Learner`` of plain functions over its own ``learner`` pytree (params,
targets, optimiser states, temperature, ...); see that class.

Counters and long runs (1e10 frames per seed): frames are computed in float32 from the int32 update
count, never as an int32 product (which wraps at 2.1e9 frames); the update count itself covers 2^31
updates -- 1e10 frames from 5 frames per update up -- and a longer run is refused when it is built.
Gradient steps (1e10 at replay ratio 1) are never counted in full: ``learn`` gets their number modulo
``Learner.cycle``, all a hard target copy or a policy delay needs, and that phase cannot overflow.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

from rlx import envs
from rlx.algos import common
from rlx.algos.replay import Replay, memory_bytes
from rlx.algos.rollout import EnvCarry, reset, rollout
from rlx.config import ConfigError, field, non_negative, positive, unit_interval


@dataclasses.dataclass(frozen=True)
class ReplayConfig:
    """Fields every off-policy ``Config`` carries (mixed in by subclassing)."""

    num_steps: int = field(1, check=positive, help="vector-env steps per update (x num_envs frames)")
    batches_per_update: int = field(1, check=positive, help="replay batches per update (SLM training_iter)")
    grads_per_batch: int = field(1, check=positive, help="gradient steps per batch (SLM training_batch_iter)")
    warmup_frames: int = field(1000, check=non_negative, help="frames collected before learning starts")
    batch_size: int = field(64, check=positive)
    buffer_size: int = field(100_000, check=positive)
    prioritized: bool = False
    per_alpha: float = field(0.6, check=unit_interval)
    per_eps: float = field(1e-6, check=positive)
    per_beta: float = field(0.4, check=unit_interval, help="IS exponent, annealed to 1 over the run", traced=True)
    n_step: int = field(1, check=positive, help="steps summed before bootstrapping (Rainbow's multi-step)")


@struct.dataclass
class OffPolicyState:
    learner: Any
    replay: Any
    carry: EnvCarry
    key: jax.Array
    hparams: dict
    update_count: jax.Array  # int32 updates done (frames: float32(update_count) * frames_per_update)
    grad_phase: jax.Array  # int32 gradient steps taken, modulo Learner.cycle


class Learner(NamedTuple):
    """What an off-policy algorithm plugs into ``make_offpolicy``: plain functions, no config objects.

    - ``init(key, obs, hp) -> learner``
    - ``policy_params(learner)``: what the policy needs (Q params, actor params), for ``explore`` and ``act``
    - ``explore(policy_params, obs, key, hp, frame) -> (stored_action, env_action)``: the behaviour
      policy while collecting (epsilon-greedy, a sampled actor, random warm-up); ``frame`` float32
    - ``learn(learner, sample, hp, key, phase) -> (learner, td_abs, metrics)``: one gradient step on
      a ``replay.Sample`` (its ``weights`` are the IS weights, ones for uniform replay; its ``gamma``
      the bootstrap discount, ``gamma^steps`` for n-step returns, to use in place of ``hp["gamma"]``);
      ``phase`` is the number of gradient steps taken before this one, modulo ``cycle``; ``td_abs``
      sets the sampled items' new priorities when the replay is prioritized
    - ``act(policy_params, obs, key, deterministic) -> env action``: the trained policy (``Algo.act``)
    - ``cycle``: the period of whatever ``learn`` does every k-th step (``target_period``,
      ``policy_delay``); 1 when nothing is periodic
    """

    init: Callable
    policy_params: Callable
    explore: Callable
    learn: Callable
    act: Callable
    cycle: int = 1


def uniform_action(space, key, batch: int):
    """A uniformly random action per env, in the agent's action convention ([-1, 1] for boxes)."""
    if isinstance(space, envs.Discrete):
        return jax.random.randint(key, (batch,), 0, space.n).astype(jnp.int32)
    return jax.random.uniform(key, (batch,) + tuple(space.shape), jnp.float32, -1.0, 1.0)


def polyak(target, online, tau):
    """target <- tau * online + (1 - tau) * target (Lillicrap et al. 2016); tau = 1 copies."""
    return jax.tree.map(lambda t, o: tau * o + (1.0 - tau) * t, target, online)


def check_memory(replay: Replay, item, num_seeds: int):
    """Refuses a replay that cannot fit: seeds x capacity x item bytes against device memory (trap 12)."""
    need = memory_bytes(item, replay.capacity, replay.prioritized) * num_seeds
    limit = common.device_memory_bytes()
    if limit and need > 0.5 * limit:
        raise ConfigError(
            f"algo.buffer_size: replay needs {need / 2**30:.1f} GiB for {num_seeds} seeds "
            f"({replay.capacity} items), over half the device's {limit / 2**30:.1f} GiB; lower buffer_size"
        )
    return need


def total_grad_steps(config, cfg, num_envs: int) -> int:
    """Gradient steps a run takes after warm-up (for learning-rate schedules)."""
    frames_per_update = cfg.num_steps * num_envs
    num_updates = common.num_updates_for(config.max_frame, frames_per_update)
    warmup_updates = -(-cfg.warmup_frames // frames_per_update)
    return max(1, (num_updates - max(warmup_updates - 1, 0)) * cfg.batches_per_update * cfg.grads_per_batch)


def make_offpolicy(config, cfg, env, learner: Learner) -> common.Algo:
    """The ``common.Algo`` of an off-policy method from its ``Learner`` (see the module doc)."""
    num_envs = env.num_envs
    frames_per_update = cfg.num_steps * num_envs
    num_updates = common.num_updates_for(config.max_frame, frames_per_update)
    grad_steps = cfg.batches_per_update * cfg.grads_per_batch
    warmup_updates = -(-cfg.warmup_frames // frames_per_update)
    if num_updates >= 2**31 - 1:  # the int32 update counter; frames themselves are float32
        raise ConfigError(
            f"max_frame: {num_updates} updates of {frames_per_update} frames overflow the update counter; "
            "raise num_envs or algo.num_steps"
        )
    if cfg.buffer_size < cfg.batch_size:
        raise ConfigError(f"algo.buffer_size: must be >= batch_size {cfg.batch_size}, got {cfg.buffer_size}")
    if (cfg.n_step - 1) * num_envs >= cfg.buffer_size:
        raise ConfigError(
            f"algo.n_step: {cfg.n_step} steps of {num_envs} envs must fit in buffer_size {cfg.buffer_size}"
        )
    replay = Replay(
        cfg.buffer_size,
        cfg.batch_size,
        prioritized=cfg.prioritized,
        alpha=cfg.per_alpha,
        eps=cfg.per_eps,
        n_step=cfg.n_step,
        stride=num_envs,
    )
    # n-step chains stop at truncations too, so the replay keeps them; 1-step needs only terminations
    keep_truncated = cfg.n_step > 1
    total_frames = float(num_updates * frames_per_update)
    cycle = int(learner.cycle)

    def make_item(carry, key, params, hp):
        stored, _ = learner.explore(learner.policy_params(params), carry.obs, key, hp, jnp.zeros((), jnp.float32))
        x = jax.tree.map(lambda a: a[0], {"obs": carry.obs, "action": stored, "next_obs": carry.obs})
        x = {**x, "reward": jnp.zeros((), jnp.float32), "terminated": jnp.zeros((), jnp.float32)}
        return {**x, "truncated": jnp.zeros((), jnp.float32)} if keep_truncated else x

    item_shape = None

    def init(key, hparams_in=None) -> OffPolicyState:
        nonlocal item_shape
        hp = common.default_hparams(cfg) if hparams_in is None else hparams_in
        key, k_learn, k_env, k_item = jax.random.split(key, 4)
        carry = reset(env, k_env)
        params = learner.init(k_learn, carry.obs, hp)
        item = make_item(carry, k_item, params, hp)
        if item_shape is None:
            item_shape = item
            check_memory(replay, item, config.num_seeds)
        zero = jnp.zeros((), jnp.int32)
        return OffPolicyState(params, replay.init(item), carry, key, hp, zero, zero)

    def learn_step(carry, key):
        params, rep, hp, beta, phase, ready = carry
        k_sample, k_learn = jax.random.split(key)
        sample = replay.sample(rep, k_sample, beta, hp["gamma"])

        def grad(c, k):
            params, phase = c
            new, td_abs, metrics = learner.learn(params, sample, hp, k, phase)
            # before warm-up ends nothing changes; masking (not lax.cond) keeps the replay out of a
            # select under vmap, where cond would copy every seed's whole buffer each update
            new = jax.tree.map(lambda n, o: jnp.where(ready, n, o), new, params)
            return (new, (phase + ready.astype(phase.dtype)) % cycle), (td_abs, metrics)

        (params, phase), (td_abs, metrics) = jax.lax.scan(
            grad, (params, phase), jax.random.split(k_learn, cfg.grads_per_batch)
        )
        rep = replay.update_priorities(rep, sample, td_abs[-1], mask=ready)
        return (params, rep, hp, beta, phase, ready), metrics

    def update(state: OffPolicyState):
        hp = state.hparams
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        frame = state.update_count.astype(jnp.float32) * frames_per_update
        policy_params = learner.policy_params(state.learner)

        def behave(obs, k):
            stored, env_action = learner.explore(policy_params, obs, k, hp, frame)
            return stored, env_action, {}

        carry, traj = rollout(env, behave, state.carry, k_roll, cfg.num_steps)
        items = {
            "obs": traj.obs,
            "action": traj.action,
            "next_obs": traj.next_obs,
            "reward": traj.reward.astype(jnp.float32),
            # bootstrapping stops on termination only; truncated steps bootstrap from the real next_obs
            "terminated": traj.terminated.astype(jnp.float32),
        }
        if keep_truncated:
            items["truncated"] = traj.truncated.astype(jnp.float32)
        items = jax.tree.map(lambda x: x.reshape((frames_per_update,) + x.shape[2:]), items)
        rep = replay.add(state.replay, items)
        # beta anneals linearly from per_beta to 1 over the run (Schaul et al. 2016, sec. 3.4)
        beta = hp["per_beta"] + (1.0 - hp["per_beta"]) * jnp.minimum(frame / total_frames, 1.0)

        ready = (state.update_count + 1 >= warmup_updates) & replay.can_sample(rep)
        (params, rep, _, _, phase, _), metrics = jax.lax.scan(
            learn_step,
            (state.learner, rep, hp, beta, state.grad_phase, ready),
            jax.random.split(k_learn, cfg.batches_per_update),
        )
        metrics = jax.tree.map(lambda m: jnp.where(ready, jnp.mean(m), 0.0).astype(m.dtype), metrics)
        metrics = dict(metrics)
        metrics["learning"] = ready.astype(jnp.float32)
        metrics.update(envs.episode_metrics(env, carry.env_state))
        return OffPolicyState(params, rep, carry, key, hp, state.update_count + 1, phase), metrics

    return common.Algo(
        init,
        update,
        frames_per_update,
        num_updates,
        grad_steps,
        env,
        learner.act,
        lambda state: learner.policy_params(state.learner),
    )
