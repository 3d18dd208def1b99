"""Every algorithm's loss, as pure functions of arrays (Stoix's ``utils/loss.py`` is the model):
no networks, no optimisers, no config objects, so each is tested on its own (tests/algos/test_losses_pg.py,
tests/algos/test_losses_offpolicy.py).

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


def td_loss(q_taken, target, weights, kind: str = "huber", delta=1.0):
    """Importance-weighted TD loss ``mean(w * l(Q - y))`` and the TD errors ``Q - y``.

    ``huber``: Mnih et al. 2015's error clipping (quadratic within ``delta``, linear beyond, optax's
    ``huber_loss``); ``mse``: ``0.5 (Q - y)^2``. ``weights`` are PER's IS weights (Schaul et al. 2016,
    sec. 3.4), ones for uniform replay. ``target`` is taken as given: stop its gradient beforehand.
    """
    td = q_taken - target
    per_item = optax.huber_loss(td, delta=delta) if kind == "huber" else 0.5 * td**2
    return jnp.mean(weights * per_item), td


def q_target(q_next_target, q_next_online, reward, terminated, gamma, double: bool):
    """``r + gamma (1 - terminated) Q_target(s', a*)``: ``a*`` maximises the target net's Q (DQN,
    Mnih et al. 2015) or, when ``double``, the online net's (Double DQN, van Hasselt et al. 2016), which
    removes the max operator's overestimation. ``q_next_online`` is unused (may be None) unless double.

    Only termination cuts the bootstrap: truncated steps carry their real final observation. For n-step
    samples ``reward`` is the discounted n-step sum and ``gamma`` (per item) gamma^steps.
    """
    chooser = q_next_online if double else q_next_target
    a_star = jnp.argmax(chooser, axis=-1)
    q_next = jnp.take_along_axis(q_next_target, a_star[..., None], axis=-1)[..., 0]
    return reward + gamma * (1.0 - terminated) * q_next


def soft_value(policy_out, q_next, alpha, discrete: bool):
    """``V(s') = E_pi[Q(s', a') - alpha log pi(a'|s')]`` (Haarnoja et al. 2018, eq. 3); ``q_next`` is
    already the twin minimum. Discrete: the exact expectation over actions with ``policy_out = (probs,
    log_probs)`` (Christodoulou 2019); continuous: the sampled ``policy_out = (a', log pi(a'|s'))``.
    """
    if discrete:
        probs, log_probs = policy_out
        return jnp.sum(probs * (q_next - alpha * log_probs), axis=-1)
    _, log_prob = policy_out
    return q_next - alpha * log_prob


def reduce_twins(q_twins, how: str = "min"):
    """The twin critics (stacked on axis 0) as one Q: their **minimum** (clipped double-Q, Fujimoto et al.
    2018, as SAC uses it) or their **mean** (the ensemble average REDQ's actor uses, Chen et al. 2021). The
    minimum is pessimistic where the twins disagree, i.e. where the replay is thin; on a sparse-goal task
    (Acrobot) that steers the policy away from the states it must explore (BENCHMARKS.md, session 12)."""
    return jnp.min(q_twins, axis=0) if how == "min" else jnp.mean(q_twins, axis=0)


def soft_target(reward, terminated, gamma, q_next_twins, policy_out, alpha, discrete: bool, twin_reduce: str = "min"):
    """``r + gamma (1 - terminated) V(s')`` with the twin critics reduced by ``reduce_twins``;
    ``q_next_twins`` stacks the twins on axis 0. Truncated steps bootstrap (their s' is the real final
    observation); only termination cuts the target. The result is a constant of the critic loss
    (stop_gradient), as in every SAC implementation.
    """
    v_next = soft_value(policy_out, reduce_twins(q_next_twins, twin_reduce), alpha, discrete)
    return jax.lax.stop_gradient(reward + gamma * (1.0 - terminated) * v_next)


def twin_critic_loss(q_twins, target, weights):
    """``mean over twins and batch of w (Q_i - y)^2`` and the TD errors ``(2, B)``.

    Each critic regresses on the one shared target; the mean over two twins is Stable-Baselines3's
    ``0.5 * sum_i MSE(Q_i, y)`` (``sac.py``), so the learning rates tuned there carry over. ``weights``
    are PER's IS weights, ones for uniform replay.
    """
    td = q_twins - target[None]
    return jnp.mean(weights[None] * td**2), td


def sac_actor_loss(policy_out, q_min, alpha, discrete: bool):
    """``E_s[alpha log pi(a|s) - min_i Q_i(s, a)]`` and the per-state entropy estimate.

    Continuous: ``a`` reparameterised from the actor (Haarnoja et al. 2018, eq. 7), entropy ``-log pi``;
    discrete: the exact expectation over actions (Christodoulou 2019, eq. 12), entropy ``H(pi(.|s))``.
    """
    if discrete:
        probs, log_probs = policy_out
        per_state = jnp.sum(probs * (alpha * log_probs - q_min), axis=-1)
        entropy = -jnp.sum(probs * log_probs, axis=-1)
    else:
        _, log_prob = policy_out
        per_state = alpha * log_prob - q_min
        entropy = -log_prob
    return per_state.mean(), entropy


def temperature_loss(log_alpha, entropy, target):
    """``J(alpha) = alpha E[H(pi) - H_target]`` (Haarnoja et al. 2018, eq. 18, with ``-log pi`` the
    entropy estimate): gradient descent raises alpha while the policy's entropy is below the target.
    Differentiated in ``log alpha`` (alpha stays positive); the entropy is a constant here.
    """
    return jnp.exp(log_alpha) * jnp.mean(jax.lax.stop_gradient(entropy) - target)


# (end of the value-based and soft losses)
