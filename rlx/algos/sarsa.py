"""SARSA (Rummery & Niranjan 1994; Sutton & Barto 2018, sec. 10.1): on-policy TD control with a
Q-network, epsilon-greedy or Boltzmann exploration on a linear, exponential or constant schedule.

Each update acts ``num_steps`` steps in every env with the exploration policy, then regresses
Q(s, a) on ``r + gamma * Q(s', a')`` (mean squared error, no target network, as SLM-Lab's SARSA)
where ``a'`` is the action the policy really took next. Where there is no next action in the
rollout — the episode ended (truncation: its final observation was never acted on) or the rollout
ended — ``a'`` is a fresh sample of the same policy at ``s'``, so the target stays an on-policy
sample of ``E_pi[Q(s', .)]``. Terminations cut the bootstrap; truncations do not.
Defaults follow SLM-Lab's ``sarsa_boltzmann_cartpole`` spec (``benchmark_arc/sarsa/sarsa_arc.yaml``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from rlx import envs
from rlx.algos import common, optim
from rlx.algos import explore as exploration
from rlx.algos import pg
from rlx.algos.pg import TrainState  # the same fields as every on-policy learner
from rlx.algos.rollout import rollout
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, positive, unit_interval
from rlx.nets import ACTIVATIONS, QNetwork


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "sarsa"
    # shapes and structure (static)
    num_steps: int = field(32, check=positive, help="rollout length per env (SLM-Lab training_frequency)")
    num_epochs: int = field(1, check=positive, help="full-batch gradient steps per rollout")
    hidden: tuple[int, ...] = (128,)
    activation: str = field("tanh", check=choice(*ACTIVATIONS))
    explore: str = field("boltzmann", check=choice("epsilon_greedy", "boltzmann"))
    explore_schedule: str = field("linear", check=choice(*exploration.SCHEDULES))
    optimizer: str = field("rmsprop", check=choice("adam", "adamw", "rmsprop", "sgd"))
    adam_eps: float = field(1e-8, check=positive, help="optimiser epsilon (Adam and RMSprop)")
    rmsprop_decay: float = field(0.99, check=unit_interval)
    lr_schedule: str = field("constant", check=choice("constant", "linear"))
    # traced hyperparameters (sweepable)
    lr: float = field(8.7e-3, check=positive, traced=True)
    gamma: float = field(0.99, check=unit_interval, traced=True)
    max_grad_norm: float = field(0.35, check=positive, traced=True)
    explore_start: float = field(1.0, check=positive, help="epsilon or tau at explore_start_step", traced=True)
    explore_end: float = field(0.05, check=positive, help="epsilon or tau from explore_end_step on", traced=True)
    explore_start_step: float = field(0.0, check=non_negative, help="frames", traced=True)
    explore_end_step: float = field(15000.0, check=non_negative, help="frames", traced=True)

    def validate(self):
        if self.explore == "epsilon_greedy" and max(self.explore_start, self.explore_end) > 1:
            return "explore_start/explore_end: an epsilon must be in (0, 1]"
        if self.explore_end_step < self.explore_start_step:
            return "explore_end_step: must be >= explore_start_step"
        for h in self.hidden:
            if h <= 0:
                return f"hidden: layer sizes must be > 0, got {list(self.hidden)}"
        return None


def sarsa_targets(q_next_all, action, next_sampled, reward, terminated, truncated, gamma):
    """``r_t + gamma * Q(s'_t, a'_t)``, zero bootstrap at terminations; time-major ``(T, ...)``.

    ``a'_t`` is ``action[t + 1]`` inside an episode, ``next_sampled[t]`` (a fresh sample of the
    policy at ``s'_t``) after a truncation and at the rollout's last step.
    """
    done = jnp.logical_or(terminated, truncated)
    following = jnp.concatenate([action[1:], next_sampled[-1:]], axis=0)
    inside = jnp.logical_not(done).at[-1].set(False)
    next_action = jnp.where(inside, following, next_sampled)
    q_next = jnp.take_along_axis(q_next_all, next_action[..., None], axis=-1)[..., 0]
    return reward + gamma * (1.0 - terminated.astype(jnp.float32)) * q_next


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    if not isinstance(env.action_space, envs.Discrete):
        raise ConfigError(f"algo: sarsa needs a discrete action space, {config.env} has {env.action_space}")
    net = QNetwork(env.action_space.n, cfg.hidden, cfg.activation, obs_shape=env.observation_space.shape)
    frames_per_update = cfg.num_steps * env.num_envs
    num_updates = common.num_updates_for(config.max_frame, frames_per_update)
    total_grad_steps = num_updates * cfg.num_epochs

    def optimizer(hp):
        return optim.make_optimizer(
            cfg.optimizer,
            hp["lr"],
            hp["max_grad_norm"],
            schedule=cfg.lr_schedule,
            total_steps=total_grad_steps,
            eps=cfg.adam_eps,
            rmsprop_decay=cfg.rmsprop_decay,
        )

    def explore_value(hp, update_count):
        frames = update_count.astype(jnp.float32) * frames_per_update
        return exploration.schedule(
            cfg.explore_schedule,
            hp["explore_start"],
            hp["explore_end"],
            hp["explore_start_step"],
            hp["explore_end_step"],
            frames,
        )

    init = pg.make_init(cfg, env, net, optimizer)

    def q_loss(params, obs, action, target):
        q = jnp.take_along_axis(net.apply(params, obs), action[..., None], axis=-1)[..., 0]
        loss = ((q - target) ** 2).mean()  # SLM-Lab's MSELoss
        return loss, {"loss": loss, "q_mean": q.mean()}

    def update(state: TrainState):
        hp = state.hparams
        key, k_roll, k_next = jax.random.split(state.key, 3)
        value = explore_value(hp, state.update_count)

        def act(obs, k):
            a = exploration.select_action(cfg.explore, k, net.apply(state.params, obs), value)
            return a, a, {}

        carry, traj = rollout(env, act, state.carry, k_roll, cfg.num_steps)
        q_next_all = net.apply(state.params, traj.next_obs)
        next_sampled = exploration.select_action(cfg.explore, k_next, q_next_all, value)
        target = sarsa_targets(
            q_next_all, traj.action, next_sampled, traj.reward, traj.terminated, traj.truncated, hp["gamma"]
        )
        tx = optimizer(hp)

        def grad_step(carry, _):
            params, opt_state = carry
            grads, aux = jax.grad(q_loss, has_aux=True)(params, traj.obs, traj.action, target)
            updates, opt_state = tx.update(grads, opt_state, params)
            aux["grad_norm"] = optax.global_norm(grads)
            return (optax.apply_updates(params, updates), opt_state), aux

        (params, opt_state), aux = jax.lax.scan(grad_step, (state.params, state.opt_state), None, length=cfg.num_epochs)
        metrics = jax.tree.map(jnp.mean, aux)
        metrics["explore"] = value
        metrics["lr"] = optim.current_lr(opt_state, hp["lr"], cfg.lr_schedule, total_grad_steps)
        metrics.update(envs.episode_metrics(env, carry.env_state))
        return TrainState(params, opt_state, carry, key, hp, state.update_count + 1), metrics

    def policy(params, obs, key, deterministic=False):
        q = net.apply(params, obs)
        if deterministic:
            return exploration.greedy(key, q)
        return exploration.select_action(cfg.explore, key, q, cfg.explore_end)

    return common.Algo(init, update, frames_per_update, num_updates, cfg.num_epochs, env, policy, lambda s: s.params)


def make_train(config: RunConfig):
    """``train(key, hparams=None) -> (final TrainState, per-update metrics)``; jit and vmap it freely."""
    return common.make_train(make_algo, config)
