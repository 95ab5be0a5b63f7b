"""``python -m tinygrad_edu``: the same as the ``tinygrad-edu`` command."""

import sys

from tinygrad_edu.cli import main

sys.exit(main())
