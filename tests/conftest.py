import os

# keep the test runs off the user's caches and make XLA use what the machine has
os.environ.setdefault("RLX_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "rlx"))
