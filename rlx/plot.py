"""``python -m rlx.plot``: the ``rlx-plot`` command (``rlx.evaluate.plot``)."""

import sys

from rlx.evaluate.plot import main

if __name__ == "__main__":
    sys.exit(main())
