"""`python -m nps_core ...`: see nps_core.cli (exit 130 on Ctrl-C, also while torch is imported)."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:
    print("error: interrupted (Ctrl-C).", file=sys.stderr)
    sys.exit(130)  # the same as nps_core.cli.EXIT_INTERRUPTED

if __name__ == "__main__":
    sys.exit(main())
