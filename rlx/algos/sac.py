"""Soft Actor-Critic, continuous (Haarnoja et al. 2018, "SAC: Algorithms and Applications") and
discrete (Christodoulou 2019), compiled end to end with the replay in the train state.

Continuous: a tanh-squashed Gaussian actor (``rlx.nets.TanhNormal``), twin critics Q(s, a) and
Polyak-averaged target critics, the soft target ``min_i Q'_i(s', a') - alpha log pi(a'|s')``, and
automatic entropy tuning towards ``-target_entropy_scale * |A|`` (Haarnoja et al.'s -dim(A)).
Discrete (Christodoulou 2019): critics output Q(s, .) for every action, expectations over the
policy's probabilities replace sampling in the soft value, the actor loss and the temperature loss;
target entropy ``target_entropy_scale * log |A|`` (0.98 in the paper). The off-policy loop (collect,
replay, replay ratio, warm-up) is ``rlx.algos.offpolicy``'s; CrossQ (``rlx.algos.crossq``) reuses this
module's networks and losses.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlx.algos import common, offpolicy
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, open_unit, positive, unit_interval
from rlx.envs import Discrete
from rlx.nets import ACTIVATIONS, MLP, make_dist
from rlx.nets.batch_renorm import BatchRenorm
from rlx.nets.mlp import dense, flatten_obs, obs_ndim_of


@dataclasses.dataclass(frozen=True)
class Config(offpolicy.ReplayConfig):
    name: str = "sac"
    hidden: tuple[int, ...] = (256, 256)
    critic_hidden: tuple[int, ...] | None = None
    activation: str = field("relu", check=choice(*ACTIVATIONS))
    dist: str = field("auto", check=choice("auto", "categorical", "tanh_normal"))
    min_std: float = field(1e-3, check=non_negative)
    autotune: bool = True
    policy_delay: int = field(1, check=positive, help="critic steps per actor/temperature step")
    adam_b1: float = field(0.9, check=unit_interval)
    random_warmup: bool = field(True, help="uniform random actions until warmup_frames")
    batch_size: int = field(256, check=positive)
    # traced hyperparameters
    lr: float = field(3e-4, check=positive, help="actor learning rate", traced=True)
    critic_lr: float = field(3e-4, check=positive, traced=True)
    alpha_lr: float = field(3e-4, check=positive, traced=True)
    gamma: float = field(0.99, check=unit_interval, traced=True)
    tau: float = field(0.005, check=open_unit, traced=True)
    init_alpha: float = field(1.0, check=positive, traced=True)
    target_entropy_scale: float = field(
        1.0, check=non_negative, help="continuous: -scale*|A|; discrete: scale*log|A|", traced=True
    )
    max_grad_norm: float = field(1e3, check=positive, traced=True)


# ---------------------------------------------------------------- networks


class Critic(nn.Module):
    """Q(s, a) -> scalar (continuous), or Q(s, .) over all actions (discrete, ``action=None``).

    With ``batch_renorm`` (CrossQ) the input and every hidden layer's pre-activation are batch-renormalised.
    """

    num_outputs: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    batch_renorm: bool = False
    bn_momentum: float = 0.99
    bn_warmup: int = 100_000
    obs_ndim: int = 1  # rank of one observation: its axes are flattened first (MinAtar frames)

    @nn.compact
    def __call__(self, obs, action=None, train: bool = False):
        obs = flatten_obs(obs, self.obs_ndim)
        x = obs if action is None else jnp.concatenate([obs, action], axis=-1)
        act = ACTIVATIONS[self.activation]
        norm = lambda: BatchRenorm(momentum=self.bn_momentum, warmup_steps=self.bn_warmup)  # noqa: E731
        if self.batch_renorm:
            x = norm()(x, train)
        for width in self.hidden:
            x = nn.Dense(width)(x)
            if self.batch_renorm:
                x = norm()(x, train)
            x = act(x)
        q = nn.Dense(self.num_outputs)(x)
        return q if action is None else q[..., 0]


#: two independent critics evaluated in one batched call: outputs stack on axis 0
TwinCritic = nn.vmap(
    Critic,
    variable_axes={"params": 0, "batch_stats": 0},
    split_rngs={"params": True},
    in_axes=None,
    out_axes=0,
    axis_size=2,
    methods=["__call__"],
)


class Actor(nn.Module):
    head_size: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs):
        return dense(self.head_size, 0.01)(MLP(self.hidden, self.activation, obs_ndim=self.obs_ndim)(obs))


# ---------------------------------------------------------------- losses (shared with CrossQ)


def target_entropy(discrete: bool, action_space, scale):
    """-scale * |A| (Haarnoja et al. 2018) or scale * log |A| (Christodoulou 2019 uses 0.98)."""
    if discrete:
        return scale * math.log(action_space.n)
    return -scale * float(math.prod(action_space.shape))


def soft_value(policy_out, q_next, alpha, discrete: bool):
    """V(s') = E_pi[min Q(s', a') - alpha log pi(a'|s')]; ``q_next`` is already the twin minimum.

    Discrete: an exact expectation over actions; continuous: the sampled ``(a', log pi)``.
    """
    if discrete:
        probs, log_probs = policy_out
        return jnp.sum(probs * (q_next - alpha * log_probs), axis=-1)
    _, log_prob = policy_out
    return q_next - alpha * log_prob


def soft_target(reward, terminated, gamma, q_next_twins, policy_out, alpha, discrete: bool):
    """r + gamma (1 - terminated) V(s') with the **minimum** of the twin critics (clipped double-Q,
    Fujimoto et al. 2018, as SAC uses it); ``q_next_twins`` stacks the twins on axis 0. Truncated
    steps bootstrap (their s' is the real final observation); only termination cuts the target."""
    v_next = soft_value(policy_out, jnp.min(q_next_twins, axis=0), alpha, discrete)
    return jax.lax.stop_gradient(reward + gamma * (1.0 - terminated) * v_next)


def actor_loss(policy_out, q_min, alpha, discrete: bool):
    """E[alpha log pi - Q] (continuous, reparameterised) or its exact expectation over actions (discrete)."""
    if discrete:
        probs, log_probs = policy_out
        per_state = jnp.sum(probs * (alpha * log_probs - q_min), axis=-1)
        entropy = -jnp.sum(probs * log_probs, axis=-1)
    else:
        _, log_prob = policy_out
        per_state = alpha * log_prob - q_min
        entropy = -log_prob
    return per_state.mean(), entropy


def alpha_loss(log_alpha, entropy, target):
    """J(alpha) = E[alpha (H(pi) - H_target)]: alpha grows when the policy's entropy is below target
    (Haarnoja et al. 2018, eq. 18, with -log pi the entropy estimate)."""
    return jnp.exp(log_alpha) * jnp.mean(jax.lax.stop_gradient(entropy) - target)


@struct.dataclass
class Learner:
    actor: Any
    critic: Any  # {"params": ..., ["batch_stats": ...]}
    target: Any  # target critic variables (SAC); the critic itself for CrossQ (unused)
    log_alpha: jax.Array
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any


class Parts:
    """Networks, optimisers and the policy head of one SAC-family learner (shared by CrossQ)."""

    def __init__(self, config: RunConfig, cfg, env, *, batch_renorm=False, bn_momentum=0.99, bn_warmup=0):
        self.cfg, self.env = cfg, env
        self.discrete = isinstance(env.action_space, Discrete)
        kind = cfg.dist
        if kind == "auto":
            kind = "categorical" if self.discrete else "tanh_normal"
        if (kind == "categorical") != self.discrete:
            raise ConfigError(f"algo.dist: {kind!r} does not fit the action space {env.action_space}")
        self.dist_kind = kind
        self.adim = common.action_dim(env.action_space)
        head = self.adim if self.discrete else 2 * self.adim
        obs_ndim = obs_ndim_of(getattr(env.observation_space, "shape", None))  # dict obs: as before
        self.actor = Actor(head, cfg.hidden, cfg.activation, obs_ndim)
        self.critic = TwinCritic(
            self.adim if self.discrete else 1,
            cfg.critic_hidden or cfg.hidden,
            cfg.activation,
            batch_renorm,
            bn_momentum,
            bn_warmup,
            obs_ndim,
        )
        self.total_steps = offpolicy.total_grad_steps(config, cfg, env.num_envs)

    def opt(self, lr, hp):
        return optax.chain(
            optax.clip_by_global_norm(hp["max_grad_norm"]),
            optax.scale_by_adam(b1=self.cfg.adam_b1),
            optax.scale_by_learning_rate(lr * jnp.ones((), jnp.float32)),
        )

    def init(self, key, obs, hp):
        k_actor, k_critic = jax.random.split(key)
        actor = self.actor.init(k_actor, obs)
        dummy = None if self.discrete else jnp.zeros(obs.shape[:-1] + (self.adim,), jnp.float32)
        critic = dict(self.critic.init(k_critic, obs, dummy))
        log_alpha = jnp.log(hp["init_alpha"]).astype(jnp.float32)
        return Learner(
            actor,
            critic,
            critic,
            log_alpha,
            self.opt(hp["lr"], hp).init(actor),
            self.opt(hp["critic_lr"], hp).init(critic["params"]),
            self.opt(hp["alpha_lr"], hp).init(log_alpha),
        )

    def policy_out(self, actor_params, obs, key):
        """Discrete: (probs, log_probs); continuous: (squashed action, log pi) reparameterised."""
        head = self.actor.apply(actor_params, obs)
        if self.discrete:
            log_probs = jax.nn.log_softmax(head, axis=-1)
            return jnp.exp(log_probs), log_probs
        return make_dist("tanh_normal", head, None, self.cfg.min_std).sample_and_log_prob(key)

    def act(self, learner, obs, key, hp, frame):
        k_pol, k_rand = jax.random.split(key)
        head = self.actor.apply(learner.actor, obs)
        dist = make_dist(self.dist_kind, head, None, self.cfg.min_std)
        action = dist.to_env(dist.sample(k_pol))
        if self.cfg.random_warmup:
            rand = offpolicy.uniform_action(self.env.action_space, k_rand, obs.shape[0])
            action = jnp.where(frame < self.cfg.warmup_frames, rand, action)
        if self.discrete:
            action = action.astype(jnp.int32)
        return action, action

    def policy(self, learner, obs, key, deterministic=False):
        head = self.actor.apply(learner.actor, obs)
        dist = make_dist(self.dist_kind, head, None, self.cfg.min_std)
        return dist.to_env(dist.mode() if deterministic else dist.sample(key))

    def critic_in(self, batch_action):
        """The action as the critic takes it: none (discrete: Q over all actions) or the stored one."""
        return None if self.discrete else batch_action

    def pick(self, q, action):
        """Q of the taken action from a critic output: (2, B, A) -> (2, B) for discrete."""
        if self.discrete:
            return jnp.take_along_axis(q, action.astype(jnp.int32)[None, :, None], axis=-1)[..., 0]
        return q

    def actor_and_alpha_step(self, learner: Learner, obs, key, hp, step, critic_vars, target_ent):
        """One actor step against ``critic_vars`` (evaluation mode) and one temperature step; both are
        applied only every ``policy_delay`` critic steps."""
        alpha = jnp.exp(learner.log_alpha)

        def loss_fn(actor_params):
            out = self.policy_out(actor_params, obs, key)
            action = None if self.discrete else out[0]
            q = self.critic.apply(critic_vars, obs, action, False)
            loss, entropy = actor_loss(out, q.min(0), alpha, self.discrete)
            return loss, entropy

        (a_loss, entropy), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.actor)
        do = (step % self.cfg.policy_delay) == 0
        updates, actor_opt = self.opt(hp["lr"], hp).update(grads, learner.actor_opt, learner.actor)
        actor = optax.apply_updates(learner.actor, updates)
        actor, actor_opt = _where(do, (actor, actor_opt), (learner.actor, learner.actor_opt))
        log_alpha, alpha_opt = learner.log_alpha, learner.alpha_opt
        if self.cfg.autotune:
            a_grad = jax.grad(alpha_loss)(log_alpha, entropy, target_ent)
            upd, new_opt = self.opt(hp["alpha_lr"], hp).update(a_grad, alpha_opt, log_alpha)
            log_alpha, alpha_opt = _where(do, (optax.apply_updates(log_alpha, upd), new_opt), (log_alpha, alpha_opt))
        metrics = {"actor_loss": a_loss, "entropy": entropy.mean(), "alpha": jnp.exp(log_alpha)}
        return learner.replace(actor=actor, actor_opt=actor_opt, log_alpha=log_alpha, alpha_opt=alpha_opt), metrics


def _where(cond, new, old):
    return jax.tree.map(lambda n, o: jnp.where(cond, n, o), new, old)


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    parts = Parts(config, cfg, env)
    discrete = parts.discrete

    def init_learner(key, obs, hp):
        return parts.init(key, obs, hp)

    def learn(learner: Learner, sample, hp, key, step):
        b = sample.batch
        k_next, k_actor = jax.random.split(key)
        alpha = jnp.exp(learner.log_alpha)
        target_ent = target_entropy(discrete, env.action_space, hp["target_entropy_scale"])

        # ---- critics: soft Bellman target from the target critics (Haarnoja et al. 2018, eq. 3)
        out_next = parts.policy_out(learner.actor, b["next_obs"], k_next)
        q_next = parts.critic.apply(learner.target, b["next_obs"], None if discrete else out_next[0])
        y = soft_target(b["reward"], b["terminated"], sample.gamma, q_next, out_next, alpha, discrete)

        def critic_loss(params):
            q = parts.pick(parts.critic.apply({"params": params}, b["obs"], parts.critic_in(b["action"])), b["action"])
            td = q - y[None]
            return jnp.mean(sample.weights[None] * td**2), td  # mean of the twins' (IS-weighted) MSE

        (c_loss, td), grads = jax.value_and_grad(critic_loss, has_aux=True)(learner.critic["params"])
        updates, critic_opt = parts.opt(hp["critic_lr"], hp).update(grads, learner.critic_opt, learner.critic["params"])
        critic = {"params": optax.apply_updates(learner.critic["params"], updates)}
        target = offpolicy.polyak(learner.target, critic, hp["tau"])
        learner = learner.replace(critic=critic, critic_opt=critic_opt, target=target)

        learner, a_metrics = parts.actor_and_alpha_step(learner, b["obs"], k_actor, hp, step, critic, target_ent)
        metrics = {"loss": c_loss, "critic_loss": c_loss, "q_mean": (y).mean(), **a_metrics}
        return learner, jnp.abs(td).max(0), metrics

    return offpolicy.make_offpolicy(
        config, cfg, env, init_learner=init_learner, act=parts.act, learn=learn, policy=parts.policy
    )


def make_train(config: RunConfig):
    """``train(key, hparams=None) -> (final state, per-update metrics)``; jit and vmap it freely."""
    return common.make_train(make_algo, config)
