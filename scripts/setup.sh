#!/usr/bin/env bash
# Set up Boltzmann Studio on a fresh Debian/Ubuntu machine: the system libraries Qt needs, a virtual
# environment in .venv, torch's CPU build first (a plain `torch` requirement would pull a multi-GB CUDA
# build), then the project itself with the extras named in $1 (e.g. "test").
# Override the torch wheel with TORCH_SPEC (e.g. TORCH_SPEC='torch==2.13.0' or a CUDA build of your choice).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-}

# Qt (offscreen and real windows), QtMultimedia (libpulse0) and a virtual screen for headless machines.
pkgs="libpulse0 libegl1 libgl1 libopengl0 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0
libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0
libxcb-shape0 libxcb-cursor0 libxcb-xinerama0 libxcb-xkb1 xvfb xauth"
if command -v dpkg >/dev/null 2>&1; then
  missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | tr '\n' ' ')
  if [ -n "${missing// /}" ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" = none ]; then
      echo "setup: please install these system packages first: $missing" >&2
      exit 1
    fi
    echo "setup: installing system packages: $missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python >= 3.11 is needed ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@" 2>&1 | grep -v "^WARNING: Location" || true; }
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  echo "setup: installing ${TORCH_SPEC:-torch==2.13.0}"
  pip install "${TORCH_SPEC:-torch==2.13.0}"
fi
echo "setup: installing boltzmann-studio${extras:+[$extras]}"
pip install -e ".${extras:+[$extras]}"
.venv/bin/python -c 'import torch, PySide6, engine' || { echo "setup: the install is incomplete" >&2; exit 1; }
