"""``python -m rlx.enjoy``: the ``rlx-enjoy`` command (``rlx.evaluate.enjoy``)."""

import sys

from rlx.evaluate.enjoy import main

if __name__ == "__main__":
    sys.exit(main())
