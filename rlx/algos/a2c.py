"""Advantage actor-critic (A2C, the synchronous variant of Mnih et al. 2016's A3C): one gradient
step per rollout on the policy gradient with a learned baseline, value loss and entropy bonus.
Discrete and continuous actions; shared or separate actor and critic; Adam or RMSprop.

``returns`` picks the estimator: ``gae`` (Schulman et al. 2016) or ``nstep`` (bootstrapped returns
to the end of the rollout, A3C's n-step return with n = ``num_steps``). Both cut at terminations and
bootstrap from V(final obs) at truncations (``rlx.algos.returns``). Defaults follow SLM-Lab's
``a2c_gae_cartpole`` spec (training_frequency 32, 64x64 tanh, entropy 0.01 decayed to 0).
The update is ``rlx.algos.onpolicy``'s assembly, one full-batch step of ``losses.vanilla_pg_loss``.
"""

from __future__ import annotations

import dataclasses

from rlx.algos import common, onpolicy
from rlx.algos.returns import gae, nstep_returns
from rlx.config import RunConfig, choice, field, non_negative, positive, unit_interval


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.ActorCriticConfig):
    name: str = "a2c"
    # shapes and structure (static)
    num_steps: int = field(32, check=positive, help="rollout length per env (SLM-Lab training_frequency)")
    returns: str = field("gae", check=choice("gae", "nstep"))
    # network, optimiser and loss switches: onpolicy.ActorCriticConfig
    # traced hyperparameters (sweepable)
    lr: float = field(1e-3, check=positive, traced=True)
    gamma: float = field(0.99, check=unit_interval, traced=True)
    gae_lambda: float = field(0.95, check=unit_interval, traced=True)
    vf_coef: float = field(0.5, check=non_negative, traced=True)
    ent_coef: float = field(0.01, check=non_negative, traced=True)
    max_grad_norm: float = field(0.5, check=positive, traced=True)


def bootstrapped_targets(cfg: Config):
    """``targets(traj, value_of, hp)``: GAE or n-step advantages and value targets."""

    def targets(traj, value_of, hp):
        values = traj.extras["value"]
        next_values = value_of(traj.next_obs)
        if cfg.returns == "gae":
            advantage, target = gae(
                traj.reward, values, next_values, traj.terminated, traj.truncated, hp["gamma"], hp["gae_lambda"]
            )
        else:
            target = nstep_returns(traj.reward, next_values, traj.terminated, traj.truncated, hp["gamma"])
            advantage = target - values
        return {"advantage": advantage, "target": target}

    return targets


def make_algo(config: RunConfig, env=None) -> common.Algo:
    env = onpolicy.build_env(config, env)
    targets = onpolicy.stateless_targets(bootstrapped_targets(config.algo))
    learner = onpolicy.actor_critic_learner(config.algo, env, targets, onpolicy.vanilla_pg_loss(use_value=True))
    return onpolicy.make_algo(config, env, learner)


make_train = common.make_train  # ``a2c.make_train(config)``; dispatches on config.algo.name
