"""Learning-curve plots: mean return across seeds with a min-max band, against frames."""

from __future__ import annotations

import csv
import pathlib

import numpy as np


def load_curve(metrics_csv: pathlib.Path, column: str = "total_reward"):
    """``(frames, values[seed, point])`` from a run's metrics.csv."""
    by_seed: dict[int, list[tuple[float, float]]] = {}
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            by_seed.setdefault(int(row["seed"]), []).append((float(row["frame"]), float(row[column])))
    seeds = sorted(by_seed)
    n = min(len(by_seed[s]) for s in seeds)
    frames = np.array([fr for fr, _ in by_seed[seeds[0]][:n]])
    values = np.array([[v for _, v in by_seed[s][:n]] for s in seeds])
    return frames, values


def plot_runs(runs: list[tuple[str, pathlib.Path]], out: pathlib.Path, title: str,
              column: str = "total_reward", target: float | None = None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, csv_path in runs:
        frames, values = load_curve(csv_path, column)
        mean = np.nanmean(values, axis=0)
        ax.plot(frames, mean, label=f"{label} ({values.shape[0]} seeds)")
        ax.fill_between(frames, np.nanmin(values, axis=0), np.nanmax(values, axis=0), alpha=0.25)
    if target is not None:
        ax.axhline(target, color="grey", ls="--", lw=1, label="target")
    ax.set_xlabel("frames")
    ax.set_ylabel(column.replace("_", " "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
