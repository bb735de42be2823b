#!/usr/bin/env bash
# Set everything up (once) and start the studio on its bundled demo models. Arguments go to boltzmann-studio.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "studio: no screen found; starting on a virtual screen (xvfb-run). Use --screenshot DIR to see it."
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/boltzmann-studio "$@"
fi
exec .venv/bin/boltzmann-studio "$@"
