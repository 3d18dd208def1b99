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


# (end of the policy-gradient losses)


# ---------------------------------------------------------------- value-based and soft losses


# (end of the value-based and soft losses)
