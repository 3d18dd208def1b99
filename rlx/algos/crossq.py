"""CrossQ (Bhatt et al., ICLR 2024): SAC without target networks, with batch-renormalised critics.

The critic sees (s, a) and (s', a') in **one joint forward pass** in training mode, so both halves
are normalised with the same batch statistics; the next-state half is the bootstrap target under
stop_gradient. Batch-renorm running statistics are state (``learner.critic["batch_stats"]``), updated
by that joint pass only; the actor step reads the critic in evaluation mode (running statistics),
as the reference implementation (sbx) does. Defaults follow the paper: Adam with beta1 = 0.5,
lr 1e-3, policy delay 3. Only the critic step and the learner's init are CrossQ's own; networks,
actor, temperature tuning (``rlx.algos.sac``) and the off-policy loop (``rlx.algos.offpolicy``) are
shared; discrete action spaces work too (expectations over the policy's probabilities, Christodoulou 2019).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from rlx.algos import common, losses, offpolicy, sac
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


def init_learner(nets: sac.Nets, cfg, key, obs, hp) -> sac.Learner:
    """SAC's fresh learner without a target network (a placeholder zero keeps one Learner type)."""
    return sac.init_learner(nets, cfg, key, obs, hp).replace(target=jnp.zeros((), jnp.float32))


def critic_step(nets: sac.Nets, cfg, learner: sac.Learner, sample, hp, out_next, alpha):
    """CrossQ's critic step: (s, a) and (s', a') in one joint training-mode pass, so both halves share
    the batch statistics (Bhatt et al. 2024, sec. 3); the s' half gives the soft target under
    stop_gradient, and the pass's new running statistics become the critic's.

    Returns ``(learner, loss, td (2, B), target y)``, as ``sac.critic_step``.
    """
    b = sample.batch
    n = b["reward"].shape[0]
    obs_cat = jnp.concatenate([b["obs"], b["next_obs"]])
    act_cat = None if nets.discrete else jnp.concatenate([b["action"], jax.lax.stop_gradient(out_next[0])])

    def loss_fn(params):
        q_cat, new_vars = nets.critic.apply(
            {"params": params, "batch_stats": learner.critic["batch_stats"]},
            obs_cat,
            act_cat,
            True,
            mutable=["batch_stats"],
        )
        q = sac.pick(nets, q_cat[:, :n], b["action"])
        y = losses.soft_target(
            b["reward"], b["terminated"], sample.gamma, q_cat[:, n:], out_next, alpha, nets.discrete, cfg.twin_reduce
        )
        loss, td = losses.twin_critic_loss(q, y, sample.weights)
        return loss, (td, new_vars["batch_stats"], y)

    (loss, (td, stats, y)), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.critic["params"])
    tx = sac.optimizer(cfg, hp["critic_lr"], hp)
    updates, critic_opt = tx.update(grads, learner.critic_opt, learner.critic["params"])
    critic = {"params": optax.apply_updates(learner.critic["params"], updates), "batch_stats": stats}
    return learner.replace(critic=critic, critic_opt=critic_opt), loss, td, y


def make_algo(config: RunConfig, env=None) -> common.Algo:
    cfg: Config = config.algo
    env = env or common.build_env(config, gamma=cfg.gamma)
    nets = sac.build_nets(cfg, env, batch_renorm=True, bn_momentum=cfg.bn_momentum, bn_warmup=cfg.bn_warmup)
    learner = sac.make_learner(cfg, env, nets, critic_step=critic_step, init=init_learner)
    return offpolicy.make_offpolicy(config, cfg, env, learner)


make_train = common.make_train  # ``crossq.make_train(config)``; dispatches on config.algo.name
