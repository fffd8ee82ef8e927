"""``python -m lift_dspy``: the same as the ``lift-dspy`` command."""

import sys

from lift_dspy.cli import main

if __name__ == "__main__":
    sys.exit(main())
