#!/usr/bin/env bash
# Set up everything and start the kiosk service on http://127.0.0.1:8000/kiosk
# (the index is built or refreshed before questions are taken; /health says when it is ready).
# On first start a demo kiosk is registered and its device code and officer PIN are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/assistant knowledge check
exec .venv/bin/assistant serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --demo-kiosk
