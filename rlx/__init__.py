"""rlx: pure-JAX reinforcement learning, compiled end to end."""

__version__ = "0.2.0"


def load(path, checkpoint="best", seed=None):
    """A trained policy: ``rlx.load(run_folder_or_policy_file).act(obs)`` (see ``rlx.evaluate.agent``)."""
    from rlx.evaluate.agent import load as load_agent

    return load_agent(path, checkpoint, seed)
