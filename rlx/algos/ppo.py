"""Proximal Policy Optimization (Schulman et al. 2017) with GAE, compiled end to end.

``make_train(config)(key)`` runs a whole training run as one XLA program; the runner instead
calls ``make_algo(config)`` and scans ``update`` in chunks so it can log between them.
Defaults follow the PPO paper / CleanRL's ``ppo.py``; per-env tuned values live in
``rlx/configs/bench``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlx.algos import common, optim, pg
from rlx.algos.returns import gae
from rlx.algos.rollout import reset, rollout
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, positive, unit_interval
from rlx.envs.wrappers import RunningMeanStd
from rlx.nets import ACTIVATIONS, NETWORKS, make_dist


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "ppo"
    # shapes and structure (static)
    num_steps: int = field(128, check=positive, help="rollout length per env (SLM-Lab time_horizon)")
    num_epochs: int = field(4, check=positive)
    num_minibatches: int = field(4, check=positive)
    num_unrolls: int = field(
        1,
        check=positive,
        help="rollouts of num_steps per update, GAE per unroll (Brax: batch_size x num_minibatches / num_envs)",
    )
    network: str = field("mlp", check=choice(*NETWORKS), help="cnn: Nature CNN torso for frames")
    hidden: tuple[int, ...] = (64, 64)
    critic_hidden: tuple[int, ...] | None = None
    activation: str = field("tanh", check=choice(*ACTIVATIONS))
    shared: bool = False
    dist: str = field("auto", check=choice("auto", "categorical", "normal", "tanh_normal"))
    init_log_std: float = 0.0
    min_std: float = field(1e-3, check=non_negative)
    optimizer: str = field("adam", check=choice("adam", "adamw", "rmsprop"))
    adam_eps: float = field(1e-5, check=positive)
    lr_schedule: str = field("linear", check=choice("constant", "linear"))
    normalize_advantages: bool = True
    clip_value: bool = False
    normalize_values: bool = field(False, help="critic learns value targets standardised by running statistics")
    obs_key: str | None = field(None, help="dict observations: the entry the policy sees (default state)")
    critic_obs_key: str | None = field(None, help="dict observations: the critic's entry, e.g. privileged_state")
    # traced hyperparameters (sweepable)
    lr: float = field(2.5e-4, check=positive, traced=True)
    gamma: float = field(0.99, check=unit_interval, traced=True)
    gae_lambda: float = field(0.95, check=unit_interval, traced=True)
    clip_eps: float = field(0.2, check=positive, traced=True)
    vf_coef: float = field(0.5, check=non_negative, traced=True)
    ent_coef: float = field(0.01, check=non_negative, traced=True)
    max_grad_norm: float = field(0.5, check=positive, traced=True)
    reward_scaling: float = field(
        1.0, check=positive, help="rewards are multiplied by this for training (Brax)", traced=True
    )

    def validate(self):
        for h in self.hidden:
            if h <= 0:
                return f"hidden: layer sizes must be > 0, got {list(self.hidden)}"
        return None


@struct.dataclass
class TrainState(pg.TrainState):
    """pg's on-policy state plus the value-target statistics (None unless ``normalize_values``)."""

    value_norm: Any = None


def _denormalize(value, rms):
    """The critic's output in return units (identity without value normalisation)."""
    return value if rms is None else value * jnp.sqrt(rms.var + 1e-8) + rms.mean


def _normalize(value, rms):
    return value if rms is None else (value - rms.mean) / jnp.sqrt(rms.var + 1e-8)


def _to_time_major(x, num_steps):
    """``(unrolls, T, envs, ...)`` -> ``(T, unrolls * envs, ...)``: each unroll its own column."""
    x = jnp.swapaxes(x, 0, 1)
    return x.reshape((num_steps, -1) + x.shape[3:])


_network = pg.make_network  # (module, distribution kind) from the config's network fields


def ppo_loss(params, apply, dist_kind, min_std, batch, hp, clip_value, key):
    """Clipped surrogate + value loss - entropy bonus; returns ``(loss, aux metrics)``."""
    head, log_std, value = apply(params, batch["obs"])
    dist = make_dist(dist_kind, head, log_std, min_std)
    log_prob = dist.log_prob(batch["action"])
    log_ratio = log_prob - batch["log_prob"]
    ratio = jnp.exp(log_ratio)
    adv = batch["advantage"]
    pg_loss = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - hp["clip_eps"], 1.0 + hp["clip_eps"]) * adv).mean()
    v_err = (value - batch["target"]) ** 2
    if clip_value:
        # PPO2's value clipping (baselines ppo2; Engstrom et al. 2020 discuss its effect)
        v_clipped = batch["value"] + jnp.clip(value - batch["value"], -hp["clip_eps"], hp["clip_eps"])
        v_err = jnp.maximum(v_err, (v_clipped - batch["target"]) ** 2)
    v_loss = 0.5 * v_err.mean()
    entropy = dist.entropy(key).mean()
    loss = pg_loss + hp["vf_coef"] * v_loss - hp["ent_coef"] * entropy
    aux = {
        "loss": loss,
        "policy_loss": pg_loss,
        "value_loss": v_loss,
        "entropy": entropy,
        # low-variance KL estimator (Schulman, "Approximating KL divergence", 2020)
        "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
        "clip_frac": (jnp.abs(ratio - 1.0) > hp["clip_eps"]).astype(jnp.float32).mean(),
    }
    return loss, aux


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    net, dist_kind = _network(cfg, env)
    num_envs = env.num_envs
    batch_size = cfg.num_steps * num_envs * cfg.num_unrolls
    if batch_size % cfg.num_minibatches:
        raise ConfigError(
            f"algo.num_minibatches: must divide num_steps x num_envs x num_unrolls = {batch_size}, "
            f"got {cfg.num_minibatches}"
        )
    minibatch_size = batch_size // cfg.num_minibatches
    num_updates = common.num_updates_for(config.max_frame, batch_size)
    grad_steps = cfg.num_epochs * cfg.num_minibatches
    total_grad_steps = num_updates * grad_steps

    def optimizer(hp):
        return optim.make_optimizer(
            cfg.optimizer,
            hp["lr"],
            hp["max_grad_norm"],
            schedule=cfg.lr_schedule,
            total_steps=total_grad_steps,
            eps=cfg.adam_eps,
        )

    def init(key, hparams=None) -> TrainState:
        hp = common.default_hparams(cfg) if hparams is None else hparams
        key, k_net, k_env = jax.random.split(key, 3)
        carry = reset(env, k_env)
        params = net.init(k_net, carry.obs)
        opt_state = optimizer(hp).init(params)
        value_norm = RunningMeanStd.create(()) if cfg.normalize_values else None
        return TrainState(params, opt_state, carry, key, hp, jnp.zeros((), jnp.int32), value_norm)

    dist_value = pg.make_dist_value(net, dist_kind, cfg.min_std)

    def update(state: TrainState):
        hp = state.hparams
        key, k_roll, k_train = jax.random.split(state.key, 3)

        act = pg.sampler(dist_value, state.params)
        if cfg.num_unrolls == 1:
            carry, traj = rollout(env, act, state.carry, k_roll, cfg.num_steps)
        else:
            # Brax's PPO: many short unrolls per update, each bootstrapped at its own end
            carry, traj = jax.lax.scan(
                lambda c, k: rollout(env, act, c, k, cfg.num_steps),
                state.carry,
                jax.random.split(k_roll, cfg.num_unrolls),
            )
            traj = jax.tree.map(lambda x: _to_time_major(x, cfg.num_steps), traj)
        vn = state.value_norm
        values = _denormalize(traj.extras["value"], vn)
        next_values = _denormalize(net.apply(state.params, traj.next_obs)[2], vn)
        advantages, targets = gae(
            traj.reward * hp["reward_scaling"],
            values,
            next_values,
            traj.terminated,
            traj.truncated,
            hp["gamma"],
            hp["gae_lambda"],
        )
        if vn is not None:
            # value-target normalisation (rl_games' normalize_value; van Hasselt et al. 2016 PopArt
            # without the output preservation): the critic regresses standardised targets
            vn = vn.update(targets.reshape(-1))
        batch = {
            "obs": traj.obs,
            "action": traj.action,
            "log_prob": traj.extras["log_prob"],
            "value": _normalize(values, vn),
            "advantage": advantages,
            "target": _normalize(targets, vn),
        }
        batch = jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]), batch)
        tx = optimizer(hp)

        def minibatch_step(carry, mb):
            params, opt_state, key = carry
            key, k_ent = jax.random.split(key)
            if cfg.normalize_advantages:
                adv = mb["advantage"]
                mb = {**mb, "advantage": (adv - adv.mean()) / (adv.std() + 1e-8)}
            grads, aux = jax.grad(ppo_loss, has_aux=True)(
                params, net.apply, dist_kind, cfg.min_std, mb, hp, cfg.clip_value, k_ent
            )
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            aux["grad_norm"] = optax.global_norm(grads)
            return (params, opt_state, key), aux

        def epoch(carry, key):
            k_perm, k_mb = jax.random.split(key)
            perm = jax.random.permutation(k_perm, batch_size)
            shuffled = jax.tree.map(
                lambda x: x[perm].reshape((cfg.num_minibatches, minibatch_size) + x.shape[1:]), batch
            )
            params, opt_state = carry
            (params, opt_state, _), aux = jax.lax.scan(minibatch_step, (params, opt_state, k_mb), shuffled)
            return (params, opt_state), aux

        # conv nets: the epoch loop is unrolled. XLA:CPU ran the Nature CNN's minibatch loop nested
        # in an epoch loop 1.6x slower than the same minibatch loop unrolled 4 times (Pong, 1 seed:
        # 34 s against 21 s an update; BENCHMARKS.md, "Atari on CPU"); same numbers either way
        (params, opt_state), aux = jax.lax.scan(
            epoch,
            (state.params, state.opt_state),
            jax.random.split(k_train, cfg.num_epochs),
            unroll=cfg.network == "cnn",
        )
        metrics = jax.tree.map(jnp.mean, aux)
        metrics["lr"] = optim.current_lr(opt_state, hp["lr"], cfg.lr_schedule, total_grad_steps)
        metrics.update(common.envs.episode_metrics(env, carry.env_state))
        new_state = TrainState(params, opt_state, carry, key, hp, state.update_count + 1, vn)
        return new_state, metrics

    return common.Algo(
        init, update, batch_size, num_updates, grad_steps, env, pg.make_policy(dist_value), lambda s: s.params
    )


def make_train(config: RunConfig):
    """``train(key, hparams=None) -> (final TrainState, per-update metrics)``; jit and vmap it freely."""
    return common.make_train(make_algo, config)
