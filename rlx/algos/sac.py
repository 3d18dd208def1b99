"""Soft Actor-Critic, continuous (Haarnoja et al. 2018, "SAC: Algorithms and Applications") and
discrete (Christodoulou 2019), compiled end to end with the replay in the train state.

Continuous: a tanh-squashed Gaussian actor (``rlx.nets.TanhNormal``), twin critics Q(s, a) and
Polyak-averaged target critics, the soft target ``min_i Q'_i(s', a') - alpha log pi(a'|s')``, and
automatic entropy tuning towards ``-target_entropy_scale * |A|`` (Haarnoja et al.'s -dim(A)).
Discrete (Christodoulou 2019): critics output Q(s, .) for every action, expectations over the
policy's probabilities replace sampling in the soft value, the actor loss and the temperature loss;
target entropy ``target_entropy_scale * log |A|`` (0.98 in the paper).

``network: cnn`` (Atari, MinAtar) puts the image torso's convolutions (``rlx.nets.cnn.image_torso``)
before the ``hidden`` layers of the actor and of each critic, each network with its own convolutions;
frames stay ``uint8`` in the replay and are scaled at the first convolution. The Atari benches' sizes
follow the published discrete nets: CleanRL's sac_atari.py (actor and each Q net: Nature convolutions
-> dense 512) and SLM-Lab's crossq_atari.yaml (critic: convolutions -> dense 1024 -> batch renorm).

Plain functions, shared with CrossQ (``rlx.algos.crossq``): ``build_nets`` builds the actor and twin
critics once, ``make_learner`` turns them and a critic step into the ``offpolicy.Learner`` that
``rlx.algos.offpolicy`` runs (collect, replay, replay ratio, warm-up); the actor / temperature step
is one function for both. The loss formulas are ``rlx.algos.losses``'.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlx.algos import common, losses, offpolicy, optim
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, open_unit, positive, unit_interval
from rlx.envs import Discrete
from rlx.nets import ACTIVATIONS, MLP, NETWORKS, make_dist
from rlx.nets.batch_renorm import BatchRenorm
from rlx.nets.cnn import image_torso
from rlx.nets.mlp import dense, flatten_obs, obs_ndim_of


@dataclasses.dataclass(frozen=True)
class Config(offpolicy.ReplayConfig, common.LayersConfig):
    name: str = "sac"
    hidden: tuple[int, ...] = (256, 256)
    critic_hidden: tuple[int, ...] | None = None
    activation: str = field("relu", check=choice(*ACTIVATIONS))
    network: str = field("mlp", check=choice(*NETWORKS), help="cnn: Nature / MinAtar CNN convolutions before hidden")
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
    twin_reduce: str = field(
        "min",
        check=choice("min", "mean"),
        help="twin critics -> one Q in the target and actor loss (losses.reduce_twins)",
    )


# ---------------------------------------------------------------- networks


def observation_features(obs, network: str, obs_shape):
    """One observation as a feature vector: flattened (``mlp``), or through the image torso's
    convolutions, flattened (``cnn``; ``rlx.nets.cnn.image_torso``: Nature CNN on Atari frames,
    MinAtar's on small ones). The dense layers after it are the caller's ``hidden`` ones. Called
    inside a module's ``compact`` method, so the torso is that module's submodule ``torso``."""
    if network == "cnn":
        return image_torso(obs_shape, name="torso", convs_only=True)(obs)
    return flatten_obs(obs, obs_ndim_of(obs_shape))


class Critic(nn.Module):
    """Q(s, a) -> scalar (continuous), or Q(s, .) over all actions (discrete, ``action=None``).

    With ``batch_renorm`` (CrossQ) every hidden layer's pre-activation is batch-renormalised, and so
    is the input of an MLP critic (sbx's CrossQ). A CNN critic's convolutions and their features are
    not: SLM-Lab's crossq_atari critic is conv -> dense 1024 -> batch renorm -> ReLU.
    """

    num_outputs: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    batch_renorm: bool = False
    bn_momentum: float = 0.99
    bn_warmup: int = 100_000
    network: str = "mlp"
    obs_shape: tuple | None = None  # one observation's shape (static): MinAtar frames are flattened

    @nn.compact
    def __call__(self, obs, action=None, train: bool = False):
        x = observation_features(obs, self.network, self.obs_shape)
        x = x if action is None else jnp.concatenate([x, action], axis=-1)
        act = ACTIVATIONS[self.activation]
        norm = lambda: BatchRenorm(momentum=self.bn_momentum, warmup_steps=self.bn_warmup)  # noqa: E731
        if self.batch_renorm and self.network == "mlp":
            x = norm()(x, train)
        for width in self.hidden:
            x = nn.Dense(width)(x)
            if self.batch_renorm:
                x = norm()(x, train)
            x = act(x)
        q = nn.Dense(self.num_outputs)(x)
        return q if action is None else q[..., 0]


#: two independent critics evaluated in one batched call: outputs stack on axis 0; each has its own
#: torso (CleanRL's sac_atari.py: two separate Q networks, each with its convolutions)
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
    """The policy head over ``hidden`` layers. CNN: convolutions -> ``hidden`` -> head, as CleanRL's
    sac_atari.py (Nature convolutions -> dense 512 -> logits) and SLM-Lab's crossq_atari actor."""

    head_size: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    network: str = "mlp"
    obs_shape: tuple | None = None

    @nn.compact
    def __call__(self, obs):
        x = observation_features(obs, self.network, self.obs_shape)
        return dense(self.head_size, 0.01)(MLP(self.hidden, self.activation)(x))


# ---------------------------------------------------------------- the soft learner (shared with CrossQ)


class Nets(NamedTuple):
    """The networks of a SAC-family learner and the static facts about its action space."""

    actor: Actor
    critic: Any  # TwinCritic
    discrete: bool
    dist_kind: str  # "categorical" or "tanh_normal"
    adim: int  # actions (discrete) or action dimensions (continuous)
    min_std: float


@struct.dataclass
class Learner:
    actor: Any
    critic: Any  # {"params": ..., ["batch_stats": ...]}
    target: Any  # target critic variables (SAC); a placeholder zero for CrossQ, which has none
    log_alpha: jax.Array
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any


def build_nets(cfg, env, *, batch_renorm: bool = False, bn_momentum: float = 0.99, bn_warmup: int = 0) -> Nets:
    """Actor and twin critics for ``env``'s action space; ``batch_renorm`` makes them CrossQ's critics."""
    discrete = isinstance(env.action_space, Discrete)
    kind = cfg.dist
    if kind == "auto":
        kind = "categorical" if discrete else "tanh_normal"
    if (kind == "categorical") != discrete:
        raise ConfigError(f"algo.dist: {kind!r} does not fit the action space {env.action_space}")
    adim = common.action_dim(env.action_space)
    shape = getattr(env.observation_space, "shape", None)  # dict obs: None, a flat vector as before
    shape = None if shape is None else tuple(shape)
    if cfg.network == "cnn":
        try:
            image_torso(shape)
        except ValueError as err:
            raise ConfigError(f"algo.{err}") from None
    actor = Actor(adim if discrete else 2 * adim, cfg.hidden, cfg.activation, cfg.network, shape)
    critic = TwinCritic(
        adim if discrete else 1,
        cfg.critic_hidden or cfg.hidden,
        cfg.activation,
        batch_renorm,
        bn_momentum,
        bn_warmup,
        cfg.network,
        shape,
    )
    return Nets(actor, critic, discrete, kind, adim, cfg.min_std)


def optimizer(cfg, lr, hp):
    """Adam (beta1 = ``adam_b1``, eps 1e-8) after global-norm clipping; one per actor, critic, temperature."""
    return optim.make_optimizer("adam", lr, hp["max_grad_norm"], eps=1e-8, b1=cfg.adam_b1)


def target_entropy(discrete: bool, action_space, scale):
    """-scale * |A| (Haarnoja et al. 2018) or scale * log |A| (Christodoulou 2019 uses 0.98)."""
    if discrete:
        return scale * math.log(action_space.n)
    return -scale * float(math.prod(action_space.shape))


def init_learner(nets: Nets, cfg, key, obs, hp) -> Learner:
    """Fresh actor, critics (the target starts as the critics' copy) and temperature ``init_alpha``."""
    k_actor, k_critic = jax.random.split(key)
    actor = nets.actor.init(k_actor, obs)
    dummy = None if nets.discrete else jnp.zeros((obs.shape[0], nets.adim), jnp.float32)  # obs: (envs, ...)
    critic = dict(nets.critic.init(k_critic, obs, dummy))
    log_alpha = jnp.log(hp["init_alpha"]).astype(jnp.float32)
    return Learner(
        actor,
        critic,
        critic,
        log_alpha,
        optimizer(cfg, hp["lr"], hp).init(actor),
        optimizer(cfg, hp["critic_lr"], hp).init(critic["params"]),
        optimizer(cfg, hp["alpha_lr"], hp).init(log_alpha),
    )


def policy_out(nets: Nets, actor_params, obs, key):
    """Discrete: (probs, log_probs); continuous: (squashed action, log pi), reparameterised."""
    head = nets.actor.apply(actor_params, obs)
    if nets.discrete:
        log_probs = jax.nn.log_softmax(head, axis=-1)
        return jnp.exp(log_probs), log_probs
    return make_dist("tanh_normal", head, None, nets.min_std).sample_and_log_prob(key)


def act(nets: Nets, actor_params, obs, key, deterministic=False):
    """The actor's action in the env's convention: its mode when ``deterministic``, else a sample."""
    dist = make_dist(nets.dist_kind, nets.actor.apply(actor_params, obs), None, nets.min_std)
    return dist.to_env(dist.mode() if deterministic else dist.sample(key))


def explore(nets: Nets, cfg, action_space, actor_params, obs, key, frame):
    """A sampled action, or a uniform random one until ``warmup_frames`` when ``random_warmup``."""
    k_pol, k_rand = jax.random.split(key)
    action = act(nets, actor_params, obs, k_pol)
    if cfg.random_warmup:
        rand = offpolicy.uniform_action(action_space, k_rand, obs.shape[0])
        action = jnp.where(frame < cfg.warmup_frames, rand, action)
    if nets.discrete:
        action = action.astype(jnp.int32)
    return action, action


def critic_input(nets: Nets, action):
    """The action as the critic takes it: none (discrete: Q over all actions) or the given one."""
    return None if nets.discrete else action


def pick(nets: Nets, q, action):
    """Q of the taken action from a twin-critic output: (2, B, A) -> (2, B) for discrete."""
    if nets.discrete:
        return jnp.take_along_axis(q, action.astype(jnp.int32)[None, :, None], axis=-1)[..., 0]
    return q


def actor_and_alpha_step(nets: Nets, cfg, learner: Learner, obs, key, hp, do, critic_vars, target_ent):
    """One actor step against ``critic_vars`` (evaluation mode) and one temperature step, both kept only
    where ``do`` (every ``policy_delay``-th critic step; TD3's delayed policy updates, Fujimoto et al. 2018)."""
    alpha = jnp.exp(learner.log_alpha)

    def loss_fn(actor_params):
        out = policy_out(nets, actor_params, obs, key)
        q = nets.critic.apply(critic_vars, obs, critic_input(nets, out[0]), False)
        return losses.sac_actor_loss(out, losses.reduce_twins(q, cfg.twin_reduce), alpha, nets.discrete)

    (a_loss, entropy), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.actor)
    updates, actor_opt = optimizer(cfg, hp["lr"], hp).update(grads, learner.actor_opt, learner.actor)
    actor = optax.apply_updates(learner.actor, updates)
    actor, actor_opt = _where(do, (actor, actor_opt), (learner.actor, learner.actor_opt))
    log_alpha, alpha_opt = learner.log_alpha, learner.alpha_opt
    if cfg.autotune:
        a_grad = jax.grad(losses.temperature_loss)(log_alpha, entropy, target_ent)
        upd, new_opt = optimizer(cfg, hp["alpha_lr"], hp).update(a_grad, alpha_opt, log_alpha)
        log_alpha, alpha_opt = _where(do, (optax.apply_updates(log_alpha, upd), new_opt), (log_alpha, alpha_opt))
    metrics = {"actor_loss": a_loss, "entropy": entropy.mean(), "alpha": jnp.exp(log_alpha)}
    return learner.replace(actor=actor, actor_opt=actor_opt, log_alpha=log_alpha, alpha_opt=alpha_opt), metrics


def _where(cond, new, old):
    return jax.tree.map(lambda n, o: jnp.where(cond, n, o), new, old)


def critic_step(nets: Nets, cfg, learner: Learner, sample, hp, out_next, alpha):
    """SAC's critic step: twin critics on the soft Bellman target of the Polyak-averaged target critics
    (Haarnoja et al. 2018, eq. 5); ``out_next`` is the current actor's ``policy_out`` at s'.

    Returns ``(learner, loss, td (2, B), target y)``.
    """
    b = sample.batch
    q_next = nets.critic.apply(learner.target, b["next_obs"], critic_input(nets, out_next[0]))
    y = losses.soft_target(
        b["reward"], b["terminated"], sample.gamma, q_next, out_next, alpha, nets.discrete, cfg.twin_reduce
    )

    def loss_fn(params):
        q = pick(nets, nets.critic.apply({"params": params}, b["obs"], critic_input(nets, b["action"])), b["action"])
        return losses.twin_critic_loss(q, y, sample.weights)

    (loss, td), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.critic["params"])
    tx = optimizer(cfg, hp["critic_lr"], hp)
    updates, critic_opt = tx.update(grads, learner.critic_opt, learner.critic["params"])
    critic = {"params": optax.apply_updates(learner.critic["params"], updates)}
    target = offpolicy.polyak(learner.target, critic, hp["tau"])
    return learner.replace(critic=critic, critic_opt=critic_opt, target=target), loss, td, y


def make_learner(cfg, env, nets: Nets, critic_step=critic_step, init=init_learner) -> offpolicy.Learner:
    """The learner functions of a SAC-family method: ``critic_step`` (SAC's above, CrossQ's own) then
    the shared actor and temperature step, whose policy delay is the learner's ``cycle``."""

    def learn(learner: Learner, sample, hp, key, phase):
        obs = sample.batch["obs"]
        k_next, k_actor = jax.random.split(key)
        alpha = jnp.exp(learner.log_alpha)
        target_ent = target_entropy(nets.discrete, env.action_space, hp["target_entropy_scale"])
        out_next = policy_out(nets, learner.actor, sample.batch["next_obs"], k_next)
        learner, c_loss, td, y = critic_step(nets, cfg, learner, sample, hp, out_next, alpha)
        do = phase == 0
        learner, a_metrics = actor_and_alpha_step(nets, cfg, learner, obs, k_actor, hp, do, learner.critic, target_ent)
        metrics = {"loss": c_loss, "critic_loss": c_loss, "q_mean": y.mean(), **a_metrics}
        return learner, jnp.abs(td).max(0), metrics

    return offpolicy.Learner(
        init=lambda key, obs, hp: init(nets, cfg, key, obs, hp),
        policy_params=lambda learner: learner.actor,
        explore=lambda actor, obs, key, hp, frame: explore(nets, cfg, env.action_space, actor, obs, key, frame),
        learn=learn,
        act=functools.partial(act, nets),
        cycle=cfg.policy_delay,
    )


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    return offpolicy.make_offpolicy(config, cfg, env, make_learner(cfg, env, build_nets(cfg, env)))


make_train = common.make_train  # ``sac.make_train(config)``; dispatches on config.algo.name
