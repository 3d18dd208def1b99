"""``python -m rlx <command> ...`` is ``rlx <command> ...``; without a command, ``python -m rlx.train``."""

import sys

from rlx.cli import main

sys.exit(main())
