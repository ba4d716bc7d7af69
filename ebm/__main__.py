"""Entry point of ``python -m ebm``; the commands live in ``ebm._cli``."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
