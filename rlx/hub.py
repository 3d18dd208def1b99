"""``python -m rlx.hub``: the ``rlx-hub`` command (``rlx.experiment.hub``)."""

import sys

from rlx.experiment.hub import main

if __name__ == "__main__":
    sys.exit(main())
