"""Running an experiment: the chunk loop, its sinks (CSV, wandb, progress, checkpoints, Hub), scoring."""
