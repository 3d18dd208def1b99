"""``python -m rlx.train``: the ``rlx-train`` command (``rlx.cli.train``)."""

import sys

from rlx.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
