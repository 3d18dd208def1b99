"""``python -m rlx.search``: the ``rlx-search`` command (``rlx.tune.search``)."""

import sys

from rlx.tune.search import main

if __name__ == "__main__":
    sys.exit(main())
