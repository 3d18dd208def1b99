"""The one on-policy assembly: PPO, A2C, REINFORCE and SARSA are each a ``Learner`` handed to ``make_algo``.

An update is: roll the current policy out for ``num_steps`` (``num_unrolls`` times), turn the
trajectory into a batch of per-step targets (the algorithm's ``targets``), then take
``num_epochs`` x ``num_minibatches`` gradient steps on the algorithm's ``loss``. A2C and REINFORCE
are 1 x 1 on the full batch, SARSA ``num_epochs`` x 1, PPO shuffles into minibatches every epoch
(Schulman et al. 2017; CleanRL's ``ppo.py``). Everything else — the train state, the key schedule,
the optimiser and learning-rate logging, the env carry, the metrics — is written once here, so an
algorithm module is its config, its network and two functions (targets, loss).

Config mixins: ``common.LayersConfig`` (layer sizes, checked once), ``NetConfig`` (the actor-critic network),
``OptimConfig`` (the optimiser) and ``ActorCriticConfig`` (all of them plus the actor-critic switches
PPO, A2C and REINFORCE share). Losses are pure functions in ``rlx.algos.losses``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlx.algos import common, explore, losses, optim
from rlx.algos.rollout import EnvCarry, rollout, reset
from rlx.config import RunConfig, choice, field, non_negative, positive, unit_interval
from rlx.nets import NETWORKS, ActorCritic, make_dist, space_shape

# ---------------------------------------------------------------- config mixins


@dataclasses.dataclass(frozen=True)
class NetConfig(common.LayersConfig):
    """The actor-critic network (``rlx.nets.ActorCritic``) fields ``make_network`` reads."""

    network: str = field("mlp", check=choice(*NETWORKS), help="cnn: Nature CNN torso for frames")
    critic_hidden: tuple[int, ...] | None = None
    shared: bool = field(False, help="one torso for actor and critic")
    dist: str = field("auto", check=choice("auto", "categorical", "normal", "tanh_normal"))
    init_log_std: float = 0.0
    min_std: float = field(1e-3, check=non_negative)
    obs_key: str | None = field(None, help="dict observations: the entry the policy sees (default state)")
    critic_obs_key: str | None = field(None, help="dict observations: the critic's entry, e.g. privileged_state")


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """The optimiser's static choices (``rlx.algos.optim.make_optimizer``); lr and the clip are traced."""

    optimizer: str = field("adam", check=choice("adam", "adamw", "rmsprop", "sgd"))
    adam_eps: float = field(1e-5, check=positive, help="optimiser epsilon (Adam and RMSprop)")
    rmsprop_decay: float = field(0.99, check=unit_interval)
    lr_schedule: str = field("constant", check=choice("constant", "linear"))


@dataclasses.dataclass(frozen=True)
class ActorCriticConfig(NetConfig, OptimConfig):
    """What PPO, A2C and REINFORCE share: network, optimiser, entropy schedule, actor/critic split.
    An algorithm's ``Config`` adds ``name``, ``num_steps`` and its traced hyperparameters
    (at least ``lr, gamma, vf_coef, ent_coef, max_grad_norm``)."""

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


# ---------------------------------------------------------------- the learner an algorithm supplies


@struct.dataclass
class TrainState:
    """One seed's whole learner; ``value_norm`` is PPO's value-target statistics (None otherwise)."""

    params: Any
    opt_state: Any
    carry: EnvCarry
    key: jax.Array
    hparams: dict
    update_count: jax.Array  # int32: a count of updates; frames are computed in float32 from it
    value_norm: Any = None


# ``Algo.act`` of every algorithm: (what ``Algo.policy_params(state)`` gives, obs, key, deterministic) -> env action
Policy = Callable[[Any, Any, jax.Array, bool], jax.Array]


class Learner(NamedTuple):
    """What one on-policy algorithm adds to the assembly. Batches are dicts of time-major arrays
    ``(T, envs, ...)``; the assembly adds ``obs`` and ``action`` from the trajectory.

    - ``schedules(hp, frames, total_frames) -> dict``: coefficients annealed over the run (entropy,
      exploration), passed to ``acting`` and ``loss`` and logged.
    - ``acting(params, hp, sched) -> act(obs, key) -> (raw action, env action, extras)`` for the rollout.
    - ``targets(params, traj, hp, sched, value_norm, key) -> (batch entries, value_norm)``.
    - ``loss(params, minibatch, hp, sched, key) -> (loss, aux metrics)``.
    - ``optimizer(hp, total_steps) -> optax transformation`` (total_steps: gradient steps of the run).
    - ``policy(params, obs, key, deterministic) -> env action`` (``Algo.act``).
    - ``targets_key``: the update's third key goes to ``targets`` (SARSA samples the next action)
      instead of the loss (entropy estimates of tanh-normal policies).
    - ``shuffle``: minibatches are drawn from a fresh permutation of the flattened batch every epoch;
      off, every step sees the whole batch as it is.
    """

    net: Any
    schedules: Callable[..., dict]
    acting: Callable
    targets: Callable
    loss: Callable
    optimizer: Callable[[dict, int], optax.GradientTransformation]
    policy: Policy
    num_epochs: int = 1
    num_minibatches: int = 1
    num_unrolls: int = 1
    shuffle: bool = False
    normalize_advantages: bool = False
    targets_key: bool = False
    init_value_norm: Callable[[], Any] | None = None
    unroll_epochs: bool = False


def _to_time_major(x, num_steps):
    """``(unrolls, T, envs, ...)`` -> ``(T, unrolls * envs, ...)``: each unroll its own column."""
    x = jnp.swapaxes(x, 0, 1)
    return x.reshape((num_steps, -1) + x.shape[3:])


def make_algo(config: RunConfig, env, learner: Learner) -> common.Algo:
    """The ``Algo`` of an on-policy ``learner`` on ``env`` (built by the algorithm module, which needs
    its action space for the network)."""
    cfg = config.algo
    if (learner.num_minibatches > 1 and not learner.shuffle) or (learner.shuffle and learner.targets_key):
        raise ValueError("onpolicy.Learner: minibatches need shuffle, and shuffling needs the loss key")
    frames_per_update = cfg.num_steps * env.num_envs * learner.num_unrolls
    num_updates = common.num_updates_for(config.max_frame, frames_per_update)
    grad_steps = learner.num_epochs * learner.num_minibatches
    total_grad_steps = num_updates * grad_steps
    total_frames = float(num_updates * frames_per_update)
    batch_size = frames_per_update

    def init(key, hparams=None) -> TrainState:
        hp = common.default_hparams(cfg) if hparams is None else hparams
        key, k_net, k_env = jax.random.split(key, 3)
        carry = reset(env, k_env)
        params = learner.net.init(k_net, carry.obs)
        opt_state = learner.optimizer(hp, total_grad_steps).init(params)
        value_norm = learner.init_value_norm() if learner.init_value_norm else None
        return TrainState(params, opt_state, carry, key, hp, jnp.zeros((), jnp.int32), value_norm)

    def collect(state, sched, key):
        act = learner.acting(state.params, state.hparams, sched)
        if learner.num_unrolls == 1:
            return rollout(env, act, state.carry, key, cfg.num_steps)
        # Brax's PPO: many short unrolls per update, each bootstrapped at its own end
        carry, traj = jax.lax.scan(
            lambda c, k: rollout(env, act, c, k, cfg.num_steps), state.carry, jax.random.split(key, learner.num_unrolls)
        )
        return carry, jax.tree.map(lambda x: _to_time_major(x, cfg.num_steps), traj)

    def update(state: TrainState):
        hp = state.hparams
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        # frames in float32: update_count * frames_per_update in int32 overflows at 2.1e9 frames
        frames = state.update_count.astype(jnp.float32) * frames_per_update
        sched = learner.schedules(hp, frames, total_frames)
        carry, traj = collect(state, sched, k_roll)
        out, value_norm = learner.targets(
            state.params, traj, hp, sched, state.value_norm, k_learn if learner.targets_key else None
        )
        batch = {"obs": traj.obs, "action": traj.action, **out}
        tx = learner.optimizer(hp, total_grad_steps)

        def step(params, opt_state, mb, key):
            if learner.normalize_advantages:
                mb = {**mb, "advantage": losses.standardize(mb["advantage"], mb.get("weight"))}
            grads, aux = jax.grad(learner.loss, has_aux=True)(params, mb, hp, sched, key)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            aux["grad_norm"] = optax.global_norm(grads)
            return params, opt_state, aux

        loss_key = None if learner.targets_key else k_learn
        if learner.shuffle:
            params, opt_state, aux = _minibatch_epochs(learner, step, state, batch, batch_size, loss_key)
        elif grad_steps == 1:
            params, opt_state, aux = step(state.params, state.opt_state, batch, loss_key)
        else:
            keys = None if loss_key is None else jax.random.split(loss_key, learner.num_epochs)

            def full_batch_step(carry, k):
                params, opt_state, aux = step(*carry, batch, k)
                return (params, opt_state), aux

            (params, opt_state), aux = jax.lax.scan(
                full_batch_step, (state.params, state.opt_state), keys, length=learner.num_epochs
            )
        metrics = jax.tree.map(jnp.mean, aux)
        metrics.update(sched)
        metrics["lr"] = optim.current_lr(opt_state, hp["lr"], cfg.lr_schedule, total_grad_steps)
        if "weight" in batch:
            metrics["used_frac"] = batch["weight"].mean()
        metrics.update(common.envs.episode_metrics(env, carry.env_state))
        return TrainState(params, opt_state, carry, key, hp, state.update_count + 1, value_norm), metrics

    return common.Algo(
        init, update, frames_per_update, num_updates, grad_steps, env, learner.policy, policy_params=lambda s: s.params
    )


def _minibatch_epochs(learner: Learner, step, state, batch, batch_size, key):
    """``num_epochs`` passes over the flattened batch, each a fresh permutation cut into
    ``num_minibatches`` (CleanRL's ``ppo.py``); the key is split per epoch, then per minibatch."""
    minibatch_size = batch_size // learner.num_minibatches
    batch = jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]), batch)

    def minibatch_step(carry, mb):
        params, opt_state, key = carry
        key, k_loss = jax.random.split(key)
        params, opt_state, aux = step(params, opt_state, mb, k_loss)
        return (params, opt_state, key), aux

    def epoch(carry, key):
        k_perm, k_mb = jax.random.split(key)
        perm = jax.random.permutation(k_perm, batch_size)
        shuffled = jax.tree.map(
            lambda x: x[perm].reshape((learner.num_minibatches, minibatch_size) + x.shape[1:]), batch
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
        jax.random.split(key, learner.num_epochs),
        unroll=learner.unroll_epochs,
    )
    return params, opt_state, aux


# ---------------------------------------------------------------- actor-critic pieces (PPO, A2C, REINFORCE)


def make_network(cfg: NetConfig, env):
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
        network=cfg.network,
        obs_key=cfg.obs_key,
        critic_obs_key=cfg.critic_obs_key,
        obs_shape=space_shape(env.observation_space),
    )
    return net, dist


# ActorCritic's submodules: the critic torso is "critic" and the value head is the second Dense it
# creates (the policy head is "Dense_0"); tests/algos/test_onpolicy.py checks this split against gradients.
CRITIC_MODULES = ("critic", "Dense_1")


def actor_critic_labels(params):
    """``"critic"`` for the critic torso and value head of an ``ActorCritic``, ``"actor"`` otherwise."""

    def label(path, _):
        keys = [getattr(p, "key", None) for p in path]
        top = keys[1] if keys and keys[0] == "params" and len(keys) > 1 else keys[0]
        return "critic" if top in CRITIC_MODULES else "actor"

    return jax.tree_util.tree_map_with_path(label, params)


def make_optimizer(cfg: OptimConfig, hp, total_steps: int, split_actor_critic: bool = False):
    """``optim.make_optimizer`` once for the whole network, or, with ``split_actor_critic``, once per
    network of a separate actor and critic (each its own gradient clip; critic lr x critic_lr_scale)."""

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

    if not split_actor_critic:
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


def actor_critic_learner(cfg: ActorCriticConfig, env, targets: Callable, loss: Callable, **shape) -> Learner:
    """The ``Learner`` of an actor-critic algorithm: ``targets(params, traj, hp, value_norm, dist_value)``
    and ``loss(dist, value, minibatch, hp, sched, key)`` are what it adds; ``shape`` sets the
    ``Learner``'s epochs, minibatches, unrolls and shuffling."""
    net, dist_kind = make_network(cfg, env)
    dist_value = make_dist_value(net, dist_kind, cfg.min_std)

    def schedules(hp, frames, total_frames):
        # entropy bonus annealed over the run (SLM-Lab's entropy_coef_spec linear_decay to 0)
        return {"ent_coef": explore.schedule(cfg.ent_schedule, hp["ent_coef"], 0.0, 0.0, total_frames, frames)}

    def ac_loss(params, mb, hp, sched, key):
        dist, value = dist_value(params, mb["obs"])
        return loss(dist, value, mb, hp, sched, key)

    def optimizer(hp, total_steps):
        return make_optimizer(cfg, hp, total_steps, split_actor_critic=cfg.separate_optim and not cfg.shared)

    return Learner(
        net=net,
        schedules=schedules,
        acting=lambda params, hp, sched: sampler(dist_value, params),
        targets=lambda params, traj, hp, sched, vn, key: targets(params, traj, hp, vn, dist_value),
        loss=ac_loss,
        optimizer=optimizer,
        policy=make_policy(dist_value),
        normalize_advantages=cfg.normalize_advantages,
        unroll_epochs=cfg.network == "cnn",
        **shape,
    )


def vanilla_pg_loss(use_value: bool):
    """The ``loss`` of A2C and REINFORCE for ``actor_critic_learner`` (``losses.vanilla_pg_loss``)."""

    def loss(dist, value, mb, hp, sched, key):
        return losses.vanilla_pg_loss(
            dist.log_prob(mb["action"]),
            mb["advantage"],
            dist.entropy(key),
            value,
            mb["target"],
            hp["vf_coef"],
            sched["ent_coef"],
            mb.get("weight"),
            use_value,
        )

    return loss


def stateless_targets(targets_fn):
    """Adapts ``targets_fn(traj, value_of, hp) -> batch entries`` (A2C, REINFORCE: no statistics,
    ``value_of(obs)`` is the critic under the rollout's parameters) to ``actor_critic_learner``."""

    def targets(params, traj, hp, value_norm, dist_value):
        return targets_fn(traj, lambda obs: dist_value(params, obs)[1], hp), value_norm

    return targets


def build_env(config: RunConfig, env=None):
    """The config's env unless one is given (tests and benchmarks pass their own)."""
    return env or common.build_env(config, gamma=config.algo.gamma)
