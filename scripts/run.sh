#!/usr/bin/env bash
# Set up, build (or refresh) the index, and answer questions typed one per line.
#   COUNTY=涟源 ./scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/assistant knowledge check
echo "请输入问题，每行一个（Ctrl-D 结束）。户籍地：${COUNTY:-全国}" >&2
exec .venv/bin/assistant ask --county "${COUNTY:-全国}"
