#!/usr/bin/env bash
# Set everything up (once) and run the test suite (offscreen Qt, tiny models; a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
