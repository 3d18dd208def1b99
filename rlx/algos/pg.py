"""Policy-gradient pieces shared by PPO, A2C and REINFORCE: the actor-critic network built from a
config, acting, the vanilla policy-gradient loss, and a one-gradient-step on-policy update that
A2C and REINFORCE specialise with their own return estimator.

An algorithm's ``Config`` mixes in ``NetConfig`` (the network fields ``make_network`` reads) and,
for ``make_onpolicy_algo``, ``OnPolicyConfig`` (optimiser and loss switches); it adds ``name``,
``num_steps`` and the traced hyperparameters ``lr, gamma, vf_coef, ent_coef, max_grad_norm``.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlx.algos import common, explore, optim
from rlx.algos.rollout import EnvCarry, Transition, reset, rollout
from rlx.config import RunConfig, choice, field, non_negative, positive, unit_interval
from rlx.nets import ACTIVATIONS, ActorCritic, make_dist, space_shape


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """Actor-critic network fields (static), mixed into an algorithm's ``Config`` by subclassing."""

    hidden: tuple[int, ...] = (64, 64)
    critic_hidden: tuple[int, ...] | None = None
    activation: str = field("tanh", check=choice(*ACTIVATIONS))
    shared: bool = field(False, help="one torso for actor and critic")
    dist: str = field("auto", check=choice("auto", "categorical", "normal", "tanh_normal"))
    init_log_std: float = 0.0
    min_std: float = field(1e-3, check=non_negative)

    def validate(self):
        for h in tuple(self.hidden) + tuple(self.critic_hidden or ()):
            if h <= 0:
                return f"hidden: layer sizes must be > 0, got {list(self.hidden)}"
        return None


@dataclasses.dataclass(frozen=True)
class OnPolicyConfig(NetConfig):
    """Optimiser and loss switches (static) of ``make_onpolicy_algo``."""

    optimizer: str = field("adam", check=choice("adam", "adamw", "rmsprop", "sgd"))
    adam_eps: float = field(1e-5, check=positive, help="optimiser epsilon (Adam and RMSprop)")
    rmsprop_decay: float = field(0.99, check=unit_interval)
    lr_schedule: str = field("constant", check=choice("constant", "linear"))
    ent_schedule: str = field("linear", check=choice("constant", "linear"), help="linear: decay to 0 over the run")
    normalize_advantages: bool = False
    separate_optim: bool = field(
        True,
        help="separate actor and critic: each clips its own gradient norm, the critic at lr x critic_lr_scale "
        "(SLM-Lab use_same_optim: false); false: one optimiser, one global clip",
    )
    critic_lr_scale: float = field(
        1.0, check=positive, help="traced: critic lr / actor lr when separate_optim", traced=True
    )


@struct.dataclass
class TrainState:
    params: Any
    opt_state: Any
    carry: EnvCarry
    key: jax.Array
    hparams: dict
    update_count: jax.Array


def make_init(cfg, env, net, optimizer):
    """``init(key, hparams=None) -> TrainState`` for a learner that is one network and its optimiser
    (``optimizer(hp)`` builds it from the traced hyperparameters; defaults come from ``cfg``)."""

    def init(key, hparams=None) -> TrainState:
        hp = common.default_hparams(cfg) if hparams is None else hparams
        key, k_net, k_env = jax.random.split(key, 3)
        carry = reset(env, k_env)
        params = net.init(k_net, carry.obs)
        return TrainState(params, optimizer(hp).init(params), carry, key, hp, jnp.zeros((), jnp.int32))

    return init


def make_network(cfg, env):
    """``(ActorCritic module, distribution kind)`` for the env's action space."""
    dist = common.resolve_dist(cfg.dist, env.action_space)
    net = ActorCritic(
        action_dim=common.action_dim(env.action_space),
        dist=dist,
        hidden=cfg.hidden,
        critic_hidden=cfg.critic_hidden,
        activation=cfg.activation,
        shared=cfg.shared,
        init_log_std=cfg.init_log_std,
        network=getattr(cfg, "network", "mlp"),
        obs_key=getattr(cfg, "obs_key", None),
        critic_obs_key=getattr(cfg, "critic_obs_key", None),
        obs_shape=space_shape(env.observation_space),
    )
    return net, dist


# ActorCritic's submodules: the critic torso is "critic" and the value head is the second Dense it
# creates (the policy head is "Dense_0"); tests/test_onpolicy.py checks this split against gradients.
CRITIC_MODULES = ("critic", "Dense_1")


def actor_critic_labels(params):
    """``"critic"`` for the critic torso and value head of an ``ActorCritic``, ``"actor"`` otherwise."""

    def label(path, _):
        keys = [getattr(p, "key", None) for p in path]
        top = keys[1] if keys and keys[0] == "params" and len(keys) > 1 else keys[0]
        return "critic" if top in CRITIC_MODULES else "actor"

    return jax.tree_util.tree_map_with_path(label, params)


def make_actor_critic_optimizer(cfg, hp, total_steps: int):
    """``common.make_optimizer`` once for the whole network, or, with ``separate_optim`` on separate
    actor and critic networks, once per network (own gradient clip; critic lr scaled)."""

    def make(lr):
        return optim.make_optimizer(
            cfg.optimizer,
            lr,
            hp["max_grad_norm"],
            schedule=cfg.lr_schedule,
            total_steps=total_steps,
            eps=cfg.adam_eps,
            rmsprop_decay=cfg.rmsprop_decay,
        )

    if cfg.shared or not cfg.separate_optim:
        return make(hp["lr"])
    return optax.multi_transform(
        {"actor": make(hp["lr"]), "critic": make(hp["lr"] * hp["critic_lr_scale"])}, actor_critic_labels
    )


def make_dist_value(net, dist_kind: str, min_std: float):
    """``dist_value(params, obs) -> (action distribution, value)``."""

    def dist_value(params, obs):
        head, log_std, value = net.apply(params, obs)
        return make_dist(dist_kind, head, log_std, min_std), value

    return dist_value


def sampler(dist_value, params):
    """The rollout's acting function: samples a raw action, records its log-prob and the value."""

    def act(obs, key):
        dist, value = dist_value(params, obs)
        action = dist.sample(key)
        return action, dist.to_env(action), {"log_prob": dist.log_prob(action), "value": value}

    return act


def make_policy(dist_value):
    """``policy(params, obs, key, deterministic=False) -> env action`` (``Algo.act``)."""

    def policy(params, obs, key, deterministic=False):
        dist, _ = dist_value(params, obs)
        raw = dist.mode() if deterministic else dist.sample(key)
        return dist.to_env(raw)

    return policy


def weighted_mean(x, weight=None):
    if weight is None:
        return x.mean()
    return (x * weight).sum() / jnp.maximum(weight.sum(), 1.0)


def standardize(x, weight=None, eps: float = 1e-8):
    """``(x - mean) / (std + eps)`` over the entries with weight 1 (all when ``weight`` is None)."""
    mean = weighted_mean(x, weight)
    std = jnp.sqrt(weighted_mean((x - mean) ** 2, weight))
    return (x - mean) / (std + eps)


def pg_loss(params, dist_value, batch, hp, ent_coef, key, use_value: bool = True):
    """Vanilla policy gradient (Williams 1992; A2C, Mnih et al. 2016):
    ``-E[log pi(a|s) A] + vf_coef * 0.5 E[(V(s) - target)^2] - ent_coef * E[entropy]``,
    means taken over entries with ``batch["weight"]`` 1. Returns ``(loss, aux metrics)``."""
    dist, value = dist_value(params, batch["obs"])
    w = batch.get("weight")
    log_prob = dist.log_prob(batch["action"])
    policy_loss = -weighted_mean(log_prob * batch["advantage"], w)
    entropy = weighted_mean(dist.entropy(key), w)
    loss = policy_loss - ent_coef * entropy
    value_loss = jnp.zeros((), jnp.float32)
    if use_value:
        value_loss = 0.5 * weighted_mean((value - batch["target"]) ** 2, w)
        loss = loss + hp["vf_coef"] * value_loss
    aux = {"loss": loss, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}
    return loss, aux


TargetsFn = Callable[[Transition, Callable, dict], dict]


def make_onpolicy_algo(config: RunConfig, env, targets_fn: TargetsFn, use_value) -> common.Algo:
    """An on-policy algorithm with one full-batch gradient step per rollout of ``cfg.num_steps``.

    ``targets_fn(traj, value_of, hp) -> {"advantage", "target", "weight"}`` (time-major arrays;
    ``value_of(obs)`` evaluates the critic under the rollout's parameters) is where A2C and
    REINFORCE differ. ``use_value``: whether the loss trains the critic.
    """
    cfg = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    net, dist_kind = make_network(cfg, env)
    dist_value = make_dist_value(net, dist_kind, cfg.min_std)
    frames_per_update = cfg.num_steps * env.num_envs
    num_updates = common.num_updates_for(config.max_frame, frames_per_update)
    total_frames = float(num_updates * frames_per_update)

    def optimizer(hp):
        return make_actor_critic_optimizer(cfg, hp, num_updates)

    init = make_init(cfg, env, net, optimizer)

    def update(state: TrainState):
        hp = state.hparams
        key, k_roll, k_ent = jax.random.split(state.key, 3)
        carry, traj = rollout(env, sampler(dist_value, state.params), state.carry, k_roll, cfg.num_steps)

        def value_of(obs):
            return dist_value(state.params, obs)[1]

        out = targets_fn(traj, value_of, hp)
        weight = out.get("weight")
        advantage = out["advantage"]
        if cfg.normalize_advantages:
            advantage = standardize(advantage, weight)
        batch = {"obs": traj.obs, "action": traj.action, "advantage": advantage, "target": out["target"]}
        if weight is not None:
            batch["weight"] = weight
        # entropy bonus annealed over the run (SLM-Lab's entropy_coef_spec linear_decay to 0)
        frames = state.update_count.astype(jnp.float32) * frames_per_update
        ent_coef = explore.schedule(cfg.ent_schedule, hp["ent_coef"], 0.0, 0.0, total_frames, frames)
        grads, aux = jax.grad(pg_loss, has_aux=True)(state.params, dist_value, batch, hp, ent_coef, k_ent, use_value)
        tx = optimizer(hp)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = dict(aux)
        metrics["grad_norm"] = optax.global_norm(grads)
        metrics["ent_coef"] = ent_coef
        metrics["lr"] = optim.current_lr(opt_state, hp["lr"], cfg.lr_schedule, num_updates)
        if weight is not None:
            metrics["used_frac"] = weight.mean()
        metrics.update(common.envs.episode_metrics(env, carry.env_state))
        return TrainState(params, opt_state, carry, key, hp, state.update_count + 1), metrics

    return common.Algo(
        init, update, frames_per_update, num_updates, 1, env, make_policy(dist_value), lambda s: s.params
    )
