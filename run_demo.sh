#!/usr/bin/env bash
# Set up .venv on first use, then inpaint the bundled example (example_workflows/nps_example.png,
# hole = transparent pixels) headless and write out/demo.png. Extra arguments go to the CLI.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_venv.sh
exec .venv/bin/python -m nps_core inpaint --demo out/demo.png --overwrite "$@"
