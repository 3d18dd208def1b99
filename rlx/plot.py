"""``python -m rlx.plot``: the ``rlx-plot`` command (``rlx.cli.plot``)."""

import sys

from rlx.cli.plot import main

if __name__ == "__main__":
    sys.exit(main())
