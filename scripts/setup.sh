#!/usr/bin/env bash
# Install everything 帮教问答 needs into .venv (idempotent). CPU PyTorch is pinned first so that
# sentence-transformers does not pull the CUDA build. The printed FAQ sheets (PDF) need a CJK font
# from Debian's packages (fonts-noto-cjk); read-aloud needs Debian's espeak-ng (its Mandarin voice
# cmn-latn-pinyin ships with the package, nothing is downloaded at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null
fi
if ! command -v espeak-ng >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,bench]"
