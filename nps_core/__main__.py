"""`python -m nps_core ...`: see nps_core.cli (exit 130 on Ctrl-C, also while torch is imported)."""

import sys

try:
    from .cli import EXIT_INTERRUPTED, main
except KeyboardInterrupt:
    print("error: interrupted (Ctrl-C).", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(main())
