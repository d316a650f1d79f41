"""``python -m psychoalign.cli``: the ``psychoalign`` command."""

import sys

from psychoalign.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
