#!/usr/bin/env bash
# Set up, start a local PostgreSQL (storage tests run on SQLite and PostgreSQL), lint, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ -z "${BANGJIAO_TEST_POSTGRES_URL:-}" ]; then
  BANGJIAO_TEST_POSTGRES_URL=$(./scripts/postgres.sh)
  export BANGJIAO_TEST_POSTGRES_URL
fi
.venv/bin/ruff check assistant tests scripts
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
