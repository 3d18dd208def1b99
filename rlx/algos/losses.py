"""Every algorithm's loss, as pure functions of arrays (Stoix's ``utils/loss.py`` is the model):
no networks, no optimisers, no config objects, so each is tested on its own (tests/algos/test_losses.py).

Sections: policy-gradient losses (REINFORCE, A2C, PPO), then value-based and soft losses (SARSA,
DQN, SAC, CrossQ).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

# ---------------------------------------------------------------- policy-gradient losses


def weighted_mean(x, weight=None):
    """Mean over the entries with weight 1 (all when ``weight`` is None): REINFORCE's complete-episode
    mask drops the steps whose return is not known yet without changing the array shapes."""
    if weight is None:
        return x.mean()
    return (x * weight).sum() / jnp.maximum(weight.sum(), 1.0)


def standardize(x, weight=None, eps: float = 1e-8):
    """``(x - mean) / (std + eps)`` over the weighted entries: the advantage normalisation of
    baselines' PPO2 and SLM-Lab (the scale of the policy gradient stops depending on the reward's)."""
    mean = weighted_mean(x, weight)
    std = jnp.sqrt(weighted_mean((x - mean) ** 2, weight))
    return (x - mean) / (std + eps)


def vanilla_pg_loss(log_prob, advantage, entropy, value, target, vf_coef, ent_coef, weight=None, use_value=True):
    """The policy-gradient loss of REINFORCE (Williams 1992) and A2C (Mnih et al. 2016), per-step arrays in:
    ``-E[log pi(a|s) A] - ent_coef * E[entropy] + vf_coef * 0.5 E[(V(s) - target)^2]``.

    ``use_value`` False (REINFORCE without a baseline): the value head gets no gradient and the value
    loss reads 0. Returns ``(loss, aux metrics)``.
    """
    policy_loss = -weighted_mean(log_prob * advantage, weight)
    entropy = weighted_mean(entropy, weight)
    loss = policy_loss - ent_coef * entropy
    value_loss = jnp.zeros((), jnp.float32)
    if use_value:
        value_loss = 0.5 * weighted_mean((value - target) ** 2, weight)
        loss = loss + vf_coef * value_loss
    return loss, {"loss": loss, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}


def clipped_surrogate(log_prob, old_log_prob, advantage, clip_eps):
    """PPO's clipped surrogate objective as a loss (Schulman et al. 2017, eq. 7):
    ``-E[min(r A, clip(r, 1 - eps, 1 + eps) A)]`` with ``r = pi(a|s) / pi_old(a|s)``.
    Returns ``(loss, ratio, log_ratio)``; the ratios feed the KL and clip-fraction diagnostics."""
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return -jnp.minimum(ratio * advantage, clipped * advantage).mean(), ratio, log_ratio


def value_loss(value, target, old_value=None, clip_eps=None):
    """``0.5 E[(V - target)^2]``; with ``old_value``, PPO2's clipped value loss (baselines ppo2;
    Engstrom et al. 2020 discuss its effect): the larger of the errors of ``V`` and of
    ``old_value + clip(V - old_value, -eps, eps)``."""
    err = (value - target) ** 2
    if old_value is not None:
        clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
        err = jnp.maximum(err, (clipped - target) ** 2)
    return 0.5 * err.mean()


def ppo_loss(
    log_prob, old_log_prob, advantage, entropy, value, old_value, target, clip_eps, vf_coef, ent_coef, clip_value
):
    """PPO's loss (Schulman et al. 2017, eq. 9 as a loss; CleanRL's ``ppo.py``): clipped surrogate
    + ``vf_coef`` x (optionally clipped) value loss - ``ent_coef`` x entropy, per-step arrays in.
    Returns ``(loss, aux metrics)`` with the low-variance KL estimator ``E[(r - 1) - log r]``
    (Schulman, "Approximating KL divergence", 2020) and the fraction of clipped ratios."""
    policy_loss, ratio, log_ratio = clipped_surrogate(log_prob, old_log_prob, advantage, clip_eps)
    v_loss = value_loss(value, target, old_value if clip_value else None, clip_eps)
    entropy = entropy.mean()
    loss = policy_loss + vf_coef * v_loss - ent_coef * entropy
    aux = {
        "loss": loss,
        "policy_loss": policy_loss,
        "value_loss": v_loss,
        "entropy": entropy,
        "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
        "clip_frac": (jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32).mean(),
    }
    return loss, aux


# (end of the policy-gradient losses)


# ---------------------------------------------------------------- value-based and soft losses


# (end of the value-based and soft losses)
