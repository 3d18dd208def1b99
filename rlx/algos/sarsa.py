"""SARSA (Rummery & Niranjan 1994; Sutton & Barto 2018, sec. 10.1): on-policy TD control with a
Q-network, epsilon-greedy or Boltzmann exploration on a linear, exponential or constant schedule.

Each update acts ``num_steps`` steps in every env with the exploration policy, then regresses
Q(s, a) on ``r + gamma * Q(s', a')`` (mean squared error, no target network, as SLM-Lab's SARSA)
where ``a'`` is the action the policy really took next. Where there is no next action in the
rollout — the episode ended (truncation: its final observation was never acted on) or the rollout
ended — ``a'`` is a fresh sample of the same policy at ``s'``, so the target stays an on-policy
sample of ``E_pi[Q(s', .)]``. Terminations cut the bootstrap; truncations do not.
Defaults follow SLM-Lab's ``sarsa_boltzmann_cartpole`` spec (``benchmark_arc/sarsa/sarsa_arc.yaml``).
The update is ``rlx.algos.onpolicy``'s assembly with a Q-network learner: ``num_epochs`` full-batch steps.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from rlx import envs
from rlx.algos import common, onpolicy
from rlx.algos import explore as exploration
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, positive, unit_interval
from rlx.nets import QNetwork


@dataclasses.dataclass(frozen=True)
class Config(common.LayersConfig, onpolicy.OptimConfig):
    name: str = "sarsa"
    # shapes and structure (static)
    num_steps: int = field(32, check=positive, help="rollout length per env (SLM-Lab training_frequency)")
    num_epochs: int = field(1, check=positive, help="full-batch gradient steps per rollout")
    hidden: tuple[int, ...] = (128,)
    explore: str = field("boltzmann", check=choice("epsilon_greedy", "boltzmann"))
    explore_schedule: str = field("linear", check=choice(*exploration.SCHEDULES))
    optimizer: str = field("rmsprop", check=choice("adam", "adamw", "rmsprop", "sgd"))
    adam_eps: float = field(1e-8, check=positive, help="optimiser epsilon (Adam and RMSprop)")
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
        return super().validate()


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
    env = onpolicy.build_env(config, env)
    if not isinstance(env.action_space, envs.Discrete):
        raise ConfigError(f"algo: sarsa needs a discrete action space, {config.env} has {env.action_space}")
    net = QNetwork(env.action_space.n, cfg.hidden, cfg.activation, obs_shape=env.observation_space.shape)

    def schedules(hp, frames, total_frames):
        value = exploration.schedule(
            cfg.explore_schedule,
            hp["explore_start"],
            hp["explore_end"],
            hp["explore_start_step"],
            hp["explore_end_step"],
            frames,
        )
        return {"explore": value}

    def acting(params, hp, sched):
        def act(obs, k):
            a = exploration.select_action(cfg.explore, k, net.apply(params, obs), sched["explore"])
            return a, a, {}

        return act

    def targets(params, traj, hp, sched, value_norm, key):
        q_next_all = net.apply(params, traj.next_obs)
        # a' where the rollout has none (episode or rollout ended): a fresh sample of the same policy
        next_sampled = exploration.select_action(cfg.explore, key, q_next_all, sched["explore"])
        target = sarsa_targets(
            q_next_all, traj.action, next_sampled, traj.reward, traj.terminated, traj.truncated, hp["gamma"]
        )
        return {"target": target}, value_norm

    def q_loss(params, mb, hp, sched, key):
        q = jnp.take_along_axis(net.apply(params, mb["obs"]), mb["action"][..., None], axis=-1)[..., 0]
        loss = ((q - mb["target"]) ** 2).mean()  # SLM-Lab's MSELoss
        return loss, {"loss": loss, "q_mean": q.mean()}

    def policy(params, obs, key, deterministic=False):
        q = net.apply(params, obs)
        if deterministic:
            return exploration.greedy(key, q)
        return exploration.select_action(cfg.explore, key, q, cfg.explore_end)

    learner = onpolicy.Learner(
        net=net,
        schedules=schedules,
        acting=acting,
        targets=targets,
        loss=q_loss,
        optimizer=lambda hp, total_steps: onpolicy.make_optimizer(cfg, hp, total_steps),
        policy=policy,
        num_epochs=cfg.num_epochs,
        targets_key=True,
    )
    return onpolicy.make_algo(config, env, learner)


make_train = common.make_train  # ``sarsa.make_train(config)``; dispatches on config.algo.name
