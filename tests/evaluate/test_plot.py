"""rlx-plot: sweep folders stand for their trials, and a new plot never replaces an earlier one."""

import pathlib

from rlx.cli import plot as plot_cli
from rlx.evaluate.plot import expand_runs, fresh_path


def _run(folder: pathlib.Path, offset: float) -> pathlib.Path:
    folder.mkdir(parents=True)
    rows = ["seed,frame,total_reward"] + [f"{s},{f},{offset + f / 100 + s}" for s in (0, 1) for f in (100, 200, 300)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_a_sweep_folder_expands_to_its_trials(tmp_path):
    sweep = tmp_path / "sweep"
    trials = [_run(sweep / "trials" / f"{i:03d}", i) for i in range(3)]
    plain = _run(tmp_path / "plain", 0)
    assert expand_runs([sweep, plain]) == [*trials, plain]


def test_fresh_path_never_returns_an_existing_file(tmp_path):
    first = tmp_path / "curves.png"
    assert fresh_path(first) == first
    first.write_bytes(b"x")
    second = fresh_path(first)
    assert second == tmp_path / "curves_2.png"
    second.write_bytes(b"y")
    assert fresh_path(first) == tmp_path / "curves_3.png"


def test_two_plots_with_the_same_title_keep_both(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = _run(tmp_path / "a", 0)
    assert plot_cli.main([str(run), "title=same"]) == 0
    assert plot_cli.main([str(run), "title=same"]) == 0
    written = capsys.readouterr().out.split()
    assert written == ["runs/plots/same.png", "runs/plots/same_2.png"]
    assert all((tmp_path / w).stat().st_size > 0 for w in written)
