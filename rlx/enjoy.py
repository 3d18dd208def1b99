"""``python -m rlx.enjoy``: the ``rlx-enjoy`` command (``rlx.cli.enjoy``)."""

import sys

from rlx.cli.enjoy import main

if __name__ == "__main__":
    sys.exit(main())
