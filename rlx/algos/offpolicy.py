"""The off-policy iteration every replay-based algorithm (DQN, SAC, CrossQ) shares, written once.

One ``update``: ``num_steps`` steps of the vectorised env with the rollout module, the
transitions added to the replay held in the train state, then -- once ``warmup_frames`` frames
have been collected -- ``batches_per_update`` replay batches, each used for ``grads_per_batch``
gradient steps (SLM-Lab's ``training_frequency`` / ``training_batch_iter`` / ``training_iter``;
replay ratio = grad steps per frame). Everything stays on device; ``update`` is jittable and
vmappable over seeds, the replay included.

An algorithm supplies three functions over its own ``learner`` pytree (params, targets, optimiser
states, temperature, ...):

- ``init_learner(key, obs, hp) -> learner``
- ``act(learner, obs, key, hp, frame) -> (stored_action, env_action)``
- ``learn(learner, sample, hp, key, grad_step) -> (learner, td_abs, metrics)``: one gradient step on
  a ``replay.Sample`` (its ``weights`` are the IS weights, ones for uniform replay; its ``gamma`` the
  bootstrap discount, ``gamma^steps`` for n-step returns, to use in place of ``hp["gamma"]``);
  ``td_abs`` sets the sampled items' new priorities when the replay is prioritized.
"""

from __future__ import annotations

import dataclasses
from typing import Any
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
    batches_per_update: int = field(1, check=positive, help="replay batches per update (SLM training_batch_iter)")
    grads_per_batch: int = field(1, check=positive, help="gradient steps per batch (SLM training_iter)")
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
    update_count: jax.Array  # int32 updates done (frames = update_count * frames_per_update)
    grad_steps: jax.Array  # int32 gradient steps done


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
    try:
        stats = jax.devices()[0].memory_stats() or {}
        limit = stats.get("bytes_limit")
    except Exception:
        limit = None
    if limit is None:
        import os

        try:
            limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            limit = None
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


def make_offpolicy(
    config,
    cfg,
    env,
    *,
    init_learner: Callable,
    act: Callable,
    learn: Callable,
    policy: Callable | None = None,
) -> common.Algo:
    """The ``common.Algo`` of an off-policy method from its three functions (see the module doc)."""
    num_envs = env.num_envs
    frames_per_update = cfg.num_steps * num_envs
    num_updates = common.num_updates_for(config.max_frame, frames_per_update)
    grad_steps = cfg.batches_per_update * cfg.grads_per_batch
    warmup_updates = -(-cfg.warmup_frames // frames_per_update)
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

    def make_item(carry, key, learner, hp):
        stored, _ = act(learner, carry.obs, key, hp, jnp.zeros((), jnp.float32))
        x = jax.tree.map(lambda a: a[0], {"obs": carry.obs, "action": stored, "next_obs": carry.obs})
        x = {**x, "reward": jnp.zeros((), jnp.float32), "terminated": jnp.zeros((), jnp.float32)}
        return {**x, "truncated": jnp.zeros((), jnp.float32)} if keep_truncated else x

    item_shape = None

    def init(key, hparams_in=None) -> OffPolicyState:
        nonlocal item_shape
        hp = common.default_hparams(cfg) if hparams_in is None else hparams_in
        key, k_learn, k_env, k_item = jax.random.split(key, 4)
        carry = reset(env, k_env)
        learner = init_learner(k_learn, carry.obs, hp)
        item = make_item(carry, k_item, learner, hp)
        if item_shape is None:
            item_shape = item
            check_memory(replay, item, config.num_seeds)
        zero = jnp.zeros((), jnp.int32)
        return OffPolicyState(learner, replay.init(item), carry, key, hp, zero, zero)

    def learn_step(carry, key):
        learner, rep, hp, beta, step, ready = carry
        k_sample, k_learn = jax.random.split(key)
        sample = replay.sample(rep, k_sample, beta, hp["gamma"])

        def grad(c, k):
            learner, step = c
            new, td_abs, metrics = learn(learner, sample, hp, k, step)
            # before warm-up ends nothing changes; masking (not lax.cond) keeps the replay out of a
            # select under vmap, where cond would copy every seed's whole buffer each update
            new = jax.tree.map(lambda n, o: jnp.where(ready, n, o), new, learner)
            return (new, step + ready.astype(step.dtype)), (td_abs, metrics)

        (learner, step), (td_abs, metrics) = jax.lax.scan(
            grad, (learner, step), jax.random.split(k_learn, cfg.grads_per_batch)
        )
        rep = replay.update_priorities(rep, sample, td_abs[-1], mask=ready)
        return (learner, rep, hp, beta, step, ready), metrics

    def update(state: OffPolicyState):
        hp = state.hparams
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        frame = (state.update_count * frames_per_update).astype(jnp.float32)

        def policy(obs, k):
            stored, env_action = act(state.learner, obs, k, hp, frame)
            return stored, env_action, {}

        carry, traj = rollout(env, policy, state.carry, k_roll, cfg.num_steps)
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
        (learner, rep, _, _, steps, _), metrics = jax.lax.scan(
            learn_step,
            (state.learner, rep, hp, beta, state.grad_steps, ready),
            jax.random.split(k_learn, cfg.batches_per_update),
        )
        metrics = jax.tree.map(lambda m: jnp.where(ready, jnp.mean(m), 0.0).astype(m.dtype), metrics)
        metrics = dict(metrics)
        metrics["learning"] = ready.astype(jnp.float32)
        metrics.update(envs.episode_metrics(env, carry.env_state))
        return OffPolicyState(learner, rep, carry, key, hp, state.update_count + 1, steps), metrics

    return common.Algo(init, update, frames_per_update, num_updates, grad_steps, env, policy, lambda s: s.learner)
