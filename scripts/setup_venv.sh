#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv: torch 2.14.1 / torchvision 0.29.1,
# the pack's runtime requirements and the test tools (pytest, ruff). Safe to run repeatedly: it reinstalls
# only when the requirement files changed since the last successful run. NPS_WITH_RAY=1 also installs the
# optional `ray` extra of pyproject.toml (Ray Data for `batch --engine ray`; CI sets it) if absent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.nps-setup-stamp
want=$(cat requirements.txt scripts/setup_venv.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
  # test tools: pytest, hypothesis (the property-based suite, tests/test_properties.py), ruff (lint)
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt pytest hypothesis==6.170.17 ruff==0.17.5
  # Reference implementation used by one backbone test; --no-deps so it never touches torch.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps efficientnet-lite-pytorch
  echo "$want" > "$stamp"
fi
if [ "${NPS_WITH_RAY:-0}" = 1 ] && ! .venv/bin/python -c "import ray.data" 2>/dev/null; then
  # the pin lives in pyproject.toml's [project.optional-dependencies] ray = [...]
  ray_reqs=$(.venv/bin/python -c 'import pathlib, re
text = pathlib.Path("pyproject.toml").read_text()
print(" ".join(re.findall(r"\"([^\"]+)\"", re.search(r"^ray = \[(.*)\]$", text, re.M).group(1))))')
  .venv/bin/python -m pip install -q --disable-pip-version-check $ray_reqs
fi
