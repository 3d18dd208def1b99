"""REINFORCE (Williams 1992): Monte-Carlo policy gradient over complete episodes, with an optional
learned-value baseline (Sutton & Barto 2018, sec. 13.4) and an entropy bonus; discrete and
continuous actions. Defaults follow SLM-Lab's ``reinforce_cartpole`` spec. The update is
``rlx.algos.onpolicy``'s assembly, one full-batch step of ``losses.vanilla_pg_loss``.

Episodes that straddle rollout boundaries (``incomplete``):

- ``mask`` (default): a step whose episode has not ended by the rollout's end has no Monte-Carlo
  return yet, so it gets weight 0 (``returns.complete_episode_mask``); every step that is used has
  its exact discounted return. Unbiased; the price is the discarded tail of each env's rollout
  (``used_frac`` in the metrics), so ``num_steps`` should be a few episode lengths.
- ``cut``: the rollout's end is treated as the episode's end (return 0 afterwards), as SLM-Lab's
  ``calc_returns`` does. Uses every step but biases the returns of the tail low.
- ``bootstrap`` (needs ``baseline``): the tail's return is completed with the critic's value of
  the state reached, i.e. A2C with lambda = 1.

Time-limit truncations inside the rollout bootstrap from V(final obs) when there is a baseline;
without one there is no value to bootstrap from and a truncation ends the return like a
termination (the usual REINFORCE behaviour on a time-limited task).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from rlx.algos import common, onpolicy
from rlx.algos.returns import complete_episode_mask, discounted_returns
from rlx.config import RunConfig, choice, field, non_negative, positive, unit_interval


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.ActorCriticConfig):
    name: str = "reinforce"
    # shapes and structure (static)
    num_steps: int = field(512, check=positive, help="rollout length per env (SLM-Lab training_frequency)")
    incomplete: str = field(
        "mask",
        check=choice("mask", "cut", "bootstrap"),
        help="episodes unfinished at the rollout's end: drop / cut / bootstrap from V",
    )
    baseline: bool = False
    hidden: tuple[int, ...] = (128, 128)
    normalize_advantages: bool = True  # SLM-Lab centres and standardises the returns
    # other network, optimiser and loss switches: onpolicy.ActorCriticConfig
    # traced hyperparameters (sweepable)
    lr: float = field(2e-3, check=positive, traced=True)
    gamma: float = field(0.99, check=unit_interval, traced=True)
    vf_coef: float = field(0.5, check=non_negative, traced=True)
    ent_coef: float = field(1e-3, check=non_negative, traced=True)
    max_grad_norm: float = field(0.5, check=positive, traced=True)

    def validate(self):
        if self.incomplete == "bootstrap" and not self.baseline:
            return "incomplete: 'bootstrap' needs baseline: true (a value to bootstrap from)"
        return super().validate()


def monte_carlo_targets(cfg: Config):
    """``targets(traj, value_of, hp)``: discounted returns, advantage, weights."""

    def targets(traj, value_of, hp):
        bootstrap = None
        if cfg.baseline:
            next_values = value_of(traj.next_obs)
            use = traj.truncated
            if cfg.incomplete == "bootstrap":
                use = use.at[-1].set(True)
            bootstrap = jnp.where(use, next_values, 0.0)
        returns = discounted_returns(traj.reward, traj.terminated, traj.truncated, hp["gamma"], bootstrap)
        advantage = returns - traj.extras["value"] if cfg.baseline else returns
        out = {"advantage": advantage, "target": returns}
        if cfg.incomplete == "mask":
            out["weight"] = complete_episode_mask(traj.terminated, traj.truncated)
        return out

    return targets


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = onpolicy.build_env(config, env)
    targets = onpolicy.stateless_targets(monte_carlo_targets(cfg))
    learner = onpolicy.actor_critic_learner(cfg, env, targets, onpolicy.vanilla_pg_loss(use_value=cfg.baseline))
    return onpolicy.make_algo(config, env, learner)


make_train = common.make_train  # ``reinforce.make_train(config)``; dispatches on config.algo.name
