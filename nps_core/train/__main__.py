"""`python -m nps_core.train ...` entry point."""

import sys

from .cli import main

sys.exit(main())
