"""``python -m restorebench.restore``: the same command as ``restorebench-restore``."""

import sys

from restorebench.restore.cli import main

sys.exit(main())
