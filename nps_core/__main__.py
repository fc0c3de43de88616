"""`python -m nps_core ...`: see nps_core.cli (exit 130 on Ctrl-C, also while torch is imported).

Before torch loads, OpenMP's wait policy defaults to defaults.CLI_OMP_WAIT_POLICY (a user's own
OMP_WAIT_POLICY is kept): spinning threads on a shared machine cost many times the work itself.
"""

import os
import sys

from . import defaults


def quiet_openmp(environ=os.environ) -> None:
    """Set OMP_WAIT_POLICY in `environ` (a mapping, the process environment by default) to
    defaults.CLI_OMP_WAIT_POLICY unless it is already set; must run before torch is imported."""
    if defaults.CLI_OMP_WAIT_POLICY:
        environ.setdefault("OMP_WAIT_POLICY", defaults.CLI_OMP_WAIT_POLICY)


quiet_openmp()

try:
    from .cli import main
except KeyboardInterrupt:
    print("error: interrupted (Ctrl-C).", file=sys.stderr)
    sys.exit(130)  # the same as nps_core.cli.EXIT_INTERRUPTED

if __name__ == "__main__":
    sys.exit(main())
