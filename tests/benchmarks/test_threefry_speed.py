"""benchmarks/threefry_speed.py runs and its two programs draw the same numbers (it exits otherwise)."""

from scriptload import load_script

threefry_speed = load_script("benchmarks/threefry_speed.py")


def test_the_script_times_both_key_implementations(capsys):
    assert threefry_speed.main(["--envs", "2", "--steps", "20", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "jax threefry2x32:" in out and "rlx written out:" in out and "x faster" in out
