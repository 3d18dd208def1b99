"""``python -m rlx.hub``: the ``rlx-hub`` command (``rlx.cli.hub``)."""

import sys

from rlx.cli.hub import main

if __name__ == "__main__":
    sys.exit(main())
