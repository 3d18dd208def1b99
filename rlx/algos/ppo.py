"""Proximal Policy Optimization (Schulman et al. 2017) with GAE, compiled end to end.

``make_train(config)(key)`` runs a whole training run as one XLA program; the runner instead
calls ``make_algo(config)`` and scans ``update`` in chunks so it can log between them.
PPO is ``rlx.algos.onpolicy``'s assembly with GAE targets (optionally over several unrolls and
with value normalisation) and the clipped loss (``losses.ppo_loss``) over shuffled minibatches.
Defaults follow the PPO paper / CleanRL's ``ppo.py``; per-env tuned values live in ``rlx/configs/bench``.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from rlx.algos import common, losses, onpolicy
from rlx.algos.returns import gae
from rlx.config import ConfigError, RunConfig, choice, field, non_negative, positive, unit_interval
from rlx.envs.wrappers import RunningMeanStd


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.ActorCriticConfig):
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
    clip_value: bool = False
    normalize_values: bool = field(False, help="critic learns value targets standardised by running statistics")
    # network and optimiser: onpolicy.ActorCriticConfig, with PPO's defaults
    lr_schedule: str = field("linear", check=choice("constant", "linear"))
    ent_schedule: str = field("constant", check=choice("constant", "linear"), help="linear: decay to 0 over the run")
    normalize_advantages: bool = field(True, help="per minibatch (CleanRL)")
    separate_optim: bool = field(False, help="separate actor and critic optimisers (see a2c); PPO: one, one clip")
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


def _denormalize(value, rms):
    """The critic's output in return units (identity without value normalisation)."""
    return value if rms is None else value * jnp.sqrt(rms.var + 1e-8) + rms.mean


def _normalize(value, rms):
    return value if rms is None else (value - rms.mean) / jnp.sqrt(rms.var + 1e-8)


def gae_targets(params, traj, hp, value_norm, dist_value):
    """GAE advantages and value targets of the (scaled) rewards; with value normalisation the
    statistics take in this batch's targets and the critic regresses standardised ones."""
    vn = value_norm
    values = _denormalize(traj.extras["value"], vn)
    next_values = _denormalize(dist_value(params, traj.next_obs)[1], vn)
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
    out = {
        "log_prob": traj.extras["log_prob"],
        "value": _normalize(values, vn),
        "advantage": advantages,
        "target": _normalize(targets, vn),
    }
    return out, vn


def clipped_loss(clip_value: bool):
    """The ``loss`` for ``onpolicy.actor_critic_learner``: ``losses.ppo_loss`` on a minibatch."""

    def loss(dist, value, mb, hp, sched, key):
        return losses.ppo_loss(
            dist.log_prob(mb["action"]),
            mb["log_prob"],
            mb["advantage"],
            dist.entropy(key),
            value,
            mb["value"],
            mb["target"],
            hp["clip_eps"],
            hp["vf_coef"],
            sched["ent_coef"],
            clip_value,
        )

    return loss


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = onpolicy.build_env(config, env)
    batch_size = cfg.num_steps * env.num_envs * cfg.num_unrolls
    if batch_size % cfg.num_minibatches:
        raise ConfigError(
            f"algo.num_minibatches: must divide num_steps x num_envs x num_unrolls = {batch_size}, "
            f"got {cfg.num_minibatches}"
        )
    learner = onpolicy.actor_critic_learner(
        cfg,
        env,
        gae_targets,
        clipped_loss(cfg.clip_value),
        num_epochs=cfg.num_epochs,
        num_minibatches=cfg.num_minibatches,
        num_unrolls=cfg.num_unrolls,
        shuffle=True,
        init_value_norm=(lambda: RunningMeanStd.create(())) if cfg.normalize_values else None,
    )
    return onpolicy.make_algo(config, env, learner)


make_train = common.make_train  # ``ppo.make_train(config)`` (README); dispatches on config.algo.name
