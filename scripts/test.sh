#!/usr/bin/env bash
# Set up; install the browser (Debian's chromium, CJK fonts, poppler for looking at PDFs) and start a local PostgreSQL
# and Redis for the tests that need them; lint and type-check; run every test (slow ones included; tests/test_wheel.py
# builds the wheel, installs it into a fresh venv and serves /kiosk from it).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
need=()
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ -z "${BANGJIAO_TEST_POSTGRES_URL:-}" ]; then
  BANGJIAO_TEST_POSTGRES_URL=$(./scripts/postgres.sh)
  export BANGJIAO_TEST_POSTGRES_URL
fi
if [ -z "${BANGJIAO_TEST_REDIS_URL:-}" ]; then
  BANGJIAO_TEST_REDIS_URL=$(./scripts/redis.sh)
  export BANGJIAO_TEST_REDIS_URL
fi
.venv/bin/ruff check assistant tests scripts  # includes complexity (C90, max 15) and log-call (G) rules
.venv/bin/mypy  # assistant/, configured in pyproject.toml
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
