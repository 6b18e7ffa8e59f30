#!/usr/bin/env bash
# Set up the virtualenv with the test tools and run the test suite.
# Usage: bash scripts/test.sh [pytest args]   (slow suite: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."

# The service's tests start their own redis-server (never the machine's 6379).
command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server)

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy scheduler solver api simulations
.venv/bin/python -m pytest -n 2 -q "$@"
