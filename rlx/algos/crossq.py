"""CrossQ (Bhatt et al., ICLR 2024): SAC without target networks, with batch-renormalised critics.

The critic sees (s, a) and (s', a') in **one joint forward pass** in training mode, so both halves
are normalised with the same batch statistics; the next-state half is the bootstrap target under
stop_gradient. Batch-renorm running statistics are state (``learner.critic["batch_stats"]``), updated
by that joint pass only; the actor step reads the critic in evaluation mode (running statistics),
as the reference implementation (sbx) does. Defaults follow the paper: Adam with beta1 = 0.5,
lr 1e-3, policy delay 3. Actor, temperature tuning and the off-policy loop are SAC's
(``rlx.algos.sac``, ``rlx.algos.offpolicy``); discrete action spaces work too (expectations over the
policy's probabilities, Christodoulou 2019).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from rlx.algos import common, offpolicy, sac
from rlx.config import RunConfig, field, non_negative, open_unit, positive


@dataclasses.dataclass(frozen=True)
class Config(sac.Config):
    name: str = "crossq"
    bn_momentum: float = field(0.99, check=open_unit, help="running = m * running + (1 - m) * batch")
    bn_warmup: int = field(5000, check=non_negative, help="critic steps of plain batch norm before renorm")
    policy_delay: int = 3
    adam_b1: float = 0.5
    lr: float = field(1e-3, check=positive, help="actor learning rate", traced=True)
    critic_lr: float = field(1e-3, check=positive, traced=True)
    alpha_lr: float = field(1e-3, check=positive, traced=True)
    tau: float = field(0.005, check=open_unit, help="unused: CrossQ has no target network (static, not swept)")


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    parts = sac.Parts(config, cfg, env, batch_renorm=True, bn_momentum=cfg.bn_momentum, bn_warmup=cfg.bn_warmup)
    discrete = parts.discrete

    def init_learner(key, obs, hp):
        learner = parts.init(key, obs, hp)
        return learner.replace(target=jnp.zeros((), jnp.float32))  # no target network

    def learn(learner: sac.Learner, sample, hp, key, step):
        b = sample.batch
        n = b["reward"].shape[0]
        k_next, k_actor = jax.random.split(key)
        alpha = jnp.exp(learner.log_alpha)
        target_ent = sac.target_entropy(discrete, env.action_space, hp["target_entropy_scale"])
        out_next = parts.policy_out(learner.actor, b["next_obs"], k_next)
        obs_cat = jnp.concatenate([b["obs"], b["next_obs"]])
        act_cat = None if discrete else jnp.concatenate([b["action"], jax.lax.stop_gradient(out_next[0])])

        def critic_loss(params):
            q_cat, new_vars = parts.critic.apply(
                {"params": params, "batch_stats": learner.critic["batch_stats"]},
                obs_cat,
                act_cat,
                True,
                mutable=["batch_stats"],
            )
            q = parts.pick(q_cat[:, :n], b["action"])
            y = sac.soft_target(b["reward"], b["terminated"], sample.gamma, q_cat[:, n:], out_next, alpha, discrete)
            td = q - y[None]
            return jnp.mean(sample.weights[None] * td**2), (td, new_vars["batch_stats"], y)

        (c_loss, (td, stats, y)), grads = jax.value_and_grad(critic_loss, has_aux=True)(learner.critic["params"])
        updates, critic_opt = parts.opt(hp["critic_lr"], hp).update(grads, learner.critic_opt, learner.critic["params"])
        critic = {"params": optax.apply_updates(learner.critic["params"], updates), "batch_stats": stats}
        learner = learner.replace(critic=critic, critic_opt=critic_opt)
        learner, a_metrics = parts.actor_and_alpha_step(learner, b["obs"], k_actor, hp, step, critic, target_ent)
        metrics = {"loss": c_loss, "critic_loss": c_loss, "q_mean": y.mean(), **a_metrics}
        return learner, jnp.abs(td).max(0), metrics

    return offpolicy.make_offpolicy(
        config, cfg, env, init_learner=init_learner, act=parts.act, learn=learn, policy=parts.policy
    )


def make_train(config: RunConfig):
    """``train(key, hparams=None) -> (final state, per-update metrics)``; jit and vmap it freely."""
    return common.make_train(make_algo, config)
