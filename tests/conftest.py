import os

# keep the test runs off the user's caches and make XLA use what the machine has
os.environ.setdefault("RLX_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "rlx"))
# headless: MuJoCo renders through EGL (read when mujoco is first imported, so before any test imports it);
# the rlx-enjoy command sets the same for itself, the library sets nothing at import
if "DISPLAY" not in os.environ:
    os.environ.setdefault("MUJOCO_GL", "egl")

# tests/scriptload.py (the one loader of the repository's scripts) is importable from every test module
import sys  # noqa: E402

sys.path.append(os.path.dirname(__file__))
