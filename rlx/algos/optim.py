"""The one optimiser builder every algorithm uses: gradient clipping, the update rule, a learning rate
that may be traced (a swept hyperparameter) and may decay linearly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from rlx.config import ConfigError


def make_optimizer(
    name: str,
    lr,
    max_grad_norm,
    *,
    schedule: str = "constant",
    total_steps: int = 1,
    eps: float = 1e-5,
    b1: float = 0.9,
    weight_decay=0.0,
    rmsprop_decay: float = 0.99,
) -> optax.GradientTransformation:
    """Global-norm gradient clipping, then the optimiser, then a (possibly traced) learning rate.

    Built inside traced code with ``lr`` and ``max_grad_norm`` as arrays: the optimiser state's
    structure depends only on the static choices, so init and update agree.
    """
    if schedule == "linear":
        # linear decay to zero over the run (PPO's "anneal_lr", Schulman et al. 2017)
        def lr_fn(count):
            return lr * jnp.maximum(1.0 - count.astype(jnp.float32) / total_steps, 0.0)
    else:

        def lr_fn(count):
            return lr * jnp.ones((), jnp.float32)

    if name == "adam":
        base = optax.scale_by_adam(b1=b1, eps=eps)
    elif name == "adamw":
        base = optax.chain(optax.scale_by_adam(b1=b1, eps=eps), optax.add_decayed_weights(weight_decay))
    elif name == "rmsprop":
        base = optax.scale_by_rms(decay=rmsprop_decay, eps=eps)
    elif name == "sgd":
        base = optax.identity()
    else:
        raise ConfigError(f"algo.optimizer: unknown {name!r}; allowed: adam, adamw, rmsprop, sgd")
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), base, optax.scale_by_learning_rate(lr_fn))


def current_lr(opt_state, lr, schedule, total_steps):
    """The learning rate the next step will use (for logging)."""
    is_schedule = lambda x: isinstance(x, optax.ScaleByScheduleState)  # noqa: E731
    counts = [s.count for s in jax.tree.leaves(opt_state, is_leaf=is_schedule) if is_schedule(s)]
    if schedule != "linear" or not counts:
        return lr
    return lr * jnp.maximum(1.0 - counts[-1].astype(jnp.float32) / total_steps, 0.0)
