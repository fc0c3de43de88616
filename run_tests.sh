#!/usr/bin/env bash
# Set up .venv on first use, then run the whole test suite (CPU only, no downloads).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_venv.sh
exec .venv/bin/python -m pytest -q tests "$@"
