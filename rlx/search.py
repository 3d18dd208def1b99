"""``python -m rlx.search``: the ``rlx-search`` command (``rlx.cli.search``)."""

import sys

from rlx.cli.search import main

if __name__ == "__main__":
    sys.exit(main())
