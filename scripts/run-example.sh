#!/usr/bin/env bash
# Set up the virtualenv and plan the bundled real-data example: the peak day
# 2025-11-11 at Hong Kong airport. Writes out/plan.json and out/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

.venv/bin/clearplan plan examples/hkia-2025-11-11.json \
    --out out/plan.json --report out/report.html --time-limit "${TIME_LIMIT_S:-60}"
.venv/bin/clearplan validate out/plan.json
