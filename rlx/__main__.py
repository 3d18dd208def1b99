from rlx.train import main
import sys

sys.exit(main())
