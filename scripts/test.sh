#!/usr/bin/env bash
# Set up and run the whole test suite (slow tests included), then lint.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check assistant tests scripts
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
