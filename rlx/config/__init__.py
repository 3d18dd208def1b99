"""Configuration: the schema machinery (``schema``), the run config (``run``) and the composition of
a config the way the command line does it (``compose``). The names below are the public ones."""

from rlx.config.compose import available, compose_dict, load, load_run
from rlx.config.run import (
    CheckpointConfig,
    EvalConfig,
    DistributedConfig,
    HubConfig,
    LoggerConfig,
    RunConfig,
    WrapperConfig,
    run_config_from_dict,
)
from rlx.config.schema import (
    ConfigError,
    choice,
    field,
    from_dict,
    non_negative,
    open_unit,
    positive,
    to_dict,
    unit_interval,
)

__all__ = [
    "CheckpointConfig",
    "EvalConfig",
    "ConfigError",
    "DistributedConfig",
    "HubConfig",
    "LoggerConfig",
    "RunConfig",
    "WrapperConfig",
    "available",
    "choice",
    "compose_dict",
    "field",
    "from_dict",
    "load",
    "load_run",
    "non_negative",
    "open_unit",
    "positive",
    "run_config_from_dict",
    "to_dict",
    "unit_interval",
]
