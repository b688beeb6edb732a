"""``python -m springpython``: the same as the ``springpython`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
