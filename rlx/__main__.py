"""``python -m rlx`` is ``python -m rlx.train``."""

import sys

from rlx.cli.train import main

sys.exit(main())
