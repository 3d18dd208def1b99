"""DQN (Mnih et al. 2015) with Double-DQN targets (van Hasselt et al. 2016) and prioritized replay
(Schaul et al. 2016) as switches, compiled end to end with the replay in the train state.

One module, two registered names: ``dqn`` (``Config``, uniform replay) and ``ddqn_per``
(``DDQNPERConfig``: the same code with double and prioritized switched on). ``make_learner`` gives
the learner functions ``rlx.algos.offpolicy`` runs; the TD loss and the (double) Q target are
``rlx.algos.losses``'. Target network: a hard copy every ``target_period``
gradient steps, or Polyak averaging with ``tau`` every step. Exploration: epsilon-greedy or
Boltzmann over the Q-values with a linear / exponential schedule over frames (``rlx.algos.explore``).
The replay ratio follows SLM-Lab's knobs (``num_steps`` x ``num_envs`` frames per update,
``batches_per_update`` x ``grads_per_batch`` gradient steps, ``warmup_frames``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlx.algos import common, losses, offpolicy, optim
from rlx.algos import explore as exploration
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, open_unit, positive, unit_interval
from rlx.envs import Discrete
from rlx.nets import ACTIVATIONS, QNetwork


@dataclasses.dataclass(frozen=True)
class Config(offpolicy.ReplayConfig, common.LayersConfig):
    name: str = field("dqn", check=choice("dqn"))
    # static structure
    hidden: tuple[int, ...] = (64, 64)
    activation: str = field("relu", check=choice(*ACTIVATIONS))
    layer_norm: bool = field(False, help="LayerNorm in the Q-network's hidden layers (keeps TD from diverging)")
    double: bool = False
    loss: str = field("huber", check=choice("huber", "mse"))
    explore: str = field("epsilon_greedy", check=choice("epsilon_greedy", "boltzmann"))
    explore_schedule: str = field("linear", check=choice(*exploration.SCHEDULES))
    target_update: str = field("hard", check=choice("hard", "polyak"))
    target_period: int = field(500, check=positive, help="gradient steps between hard target copies")
    optimizer: str = field("adam", check=choice("adam", "adamw", "rmsprop"))
    adam_eps: float = field(1e-5, check=positive)
    lr_schedule: str = field("constant", check=choice("constant", "linear"))
    # traced hyperparameters
    lr: float = field(5e-4, check=positive, traced=True)
    gamma: float = field(0.99, check=unit_interval, traced=True)
    max_grad_norm: float = field(10.0, check=positive, traced=True)
    tau: float = field(0.005, check=open_unit, help="Polyak rate when target_update=polyak", traced=True)
    explore_start: float = field(1.0, check=positive, help="epsilon or Boltzmann temperature at frame 0", traced=True)
    explore_end: float = field(0.05, check=positive, traced=True)
    explore_frames: float = field(2e4, check=non_negative, help="frames over which exploration decays", traced=True)
    huber_delta: float = field(1.0, check=positive, traced=True)

    def validate(self):
        if self.explore == "epsilon_greedy" and max(self.explore_start, self.explore_end) > 1:
            return "explore_start/explore_end: epsilon must be <= 1"
        return super().validate()


@dataclasses.dataclass(frozen=True)
class DDQNPERConfig(Config):
    """``ddqn_per``: DQN with Double-DQN targets and prioritized replay switched on."""

    name: str = field("ddqn_per", check=choice("ddqn_per"))
    double: bool = True
    prioritized: bool = True


@struct.dataclass
class Learner:
    params: Any
    target: Any
    opt_state: Any


def update_target(target, params, phase, hp, kind: str, period: int):
    """Hard copy after every ``period``-th gradient step, or Polyak averaging every step.

    ``phase`` is the gradient steps taken before this one modulo ``period`` (``offpolicy.Learner.cycle``),
    so the copy lands after steps period, 2 period, ... as in Mnih et al. 2015, at any run length.
    """
    if kind == "polyak":
        return offpolicy.polyak(target, params, hp["tau"])
    copy = (phase + 1) % period == 0
    return jax.tree.map(lambda t, p: jnp.where(copy, p, t), target, params)


def make_learner(config: RunConfig, cfg: Config, env) -> offpolicy.Learner:
    """DQN's learner functions: a Q-network, its target copy and one optimiser."""
    net = QNetwork(env.action_space.n, cfg.hidden, cfg.activation, cfg.layer_norm, env.observation_space.shape)
    total_steps = offpolicy.total_grad_steps(config, cfg, env.num_envs)

    def optimizer(hp):
        return optim.make_optimizer(
            cfg.optimizer,
            hp["lr"],
            hp["max_grad_norm"],
            schedule=cfg.lr_schedule,
            total_steps=total_steps,
            eps=cfg.adam_eps,
        )

    def init(key, obs, hp):
        params = net.init(key, obs)
        return Learner(params, params, optimizer(hp).init(params))

    def explore(params, obs, key, hp, frame):
        q = net.apply(params, obs)
        value = exploration.schedule(
            cfg.explore_schedule, hp["explore_start"], hp["explore_end"], 0.0, hp["explore_frames"], frame
        )
        action = exploration.select_action(cfg.explore, key, q, value)
        return action, action

    def act(params, obs, key, deterministic=False):
        """Greedy in the Q-values either way: exploration belongs to training, not to the learned policy."""
        return exploration.greedy(key, net.apply(params, obs))

    def learn(learner: Learner, sample, hp, key, phase):
        b = sample.batch
        n = b["reward"].shape[0]

        def loss_fn(params):
            if cfg.double:  # one forward pass of the online net over s and s' (s' picks a*)
                q_all = net.apply(params, jnp.concatenate([b["obs"], b["next_obs"]]))
                q, q_next_online = q_all[:n], jax.lax.stop_gradient(q_all[n:])
            else:  # plain DQN never looks at the online net's Q(s'): a third less forward work
                q, q_next_online = net.apply(params, b["obs"]), None
            q_taken = jnp.take_along_axis(q, b["action"][:, None].astype(jnp.int32), axis=-1)[:, 0]
            q_next_target = net.apply(learner.target, b["next_obs"])
            target = jax.lax.stop_gradient(
                losses.q_target(q_next_target, q_next_online, b["reward"], b["terminated"], sample.gamma, cfg.double)
            )
            loss, td = losses.td_loss(q_taken, target, sample.weights, cfg.loss, hp["huber_delta"])
            return loss, (td, q_taken)

        (loss, (td, q_taken)), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.params)
        updates, opt_state = optimizer(hp).update(grads, learner.opt_state, learner.params)
        params = optax.apply_updates(learner.params, updates)
        target = update_target(learner.target, params, phase, hp, cfg.target_update, cfg.target_period)
        metrics = {
            "loss": loss,
            "q_mean": q_taken.mean(),
            "td_abs": jnp.abs(td).mean(),
            "grad_norm": optax.tree.norm(grads),
        }
        return Learner(params, target, opt_state), jnp.abs(td), metrics

    cycle = cfg.target_period if cfg.target_update == "hard" else 1
    return offpolicy.Learner(init, lambda learner: learner.params, explore, learn, act, cycle)


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    if not isinstance(env.action_space, Discrete):
        raise ConfigError(f"algo: {cfg.name} needs a discrete action space, got {env.action_space}")
    return offpolicy.make_offpolicy(config, cfg, env, make_learner(config, cfg, env))


make_train = common.make_train  # ``dqn.make_train(config)``; dispatches on config.algo.name
