"""rlx: pure-JAX reinforcement learning, compiled end to end."""

__version__ = "0.2.0"
