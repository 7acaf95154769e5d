#!/usr/bin/env bash
# Installs everything TomoROIS-SurfORA needs on a fresh Debian machine, then runs the demo.
#   bash scripts/install.sh            # Debian packages + .venv + the demo on the embedded synthetic data
#   bash scripts/install.sh --no-demo  # the same without the demo (used by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN_DEMO=1
[ "${1:-}" = "--no-demo" ] && RUN_DEMO=0

# Debian packages: libusb for open3d; Xvfb, GL, EGL/OSMesa and the xcb libraries for napari (Qt) and PyVista (VTK);
# munge and SLURM's daemons and client for scripts/slurm-local.sh (a single-node cluster; the queue test).
DEB_PACKAGES="libusb-1.0-0 xvfb xauth libgl1 libegl1 libglx-mesa0 libgl1-mesa-dri libosmesa6 libgomp1
  libglib2.0-0 libdbus-1-3 libfontconfig1 libxrender1 libxi6 libxkbcommon0 libxkbcommon-x11-0
  libxcb1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0
  libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libxcb-xkb1 munge slurmctld slurmd slurm-client"
missing=""
for p in $DEB_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "[install] Debian packages to install:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (Scipion pins numpy 1.26.1)"'
stamp_of() { cat requirements.txt constraints.txt setup.py | sha256sum | cut -d' ' -f1; }
STAMP=.venv/.tomorois-surfora-installed
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(stamp_of)" ]; then
  echo "[install] creating .venv and installing the Python packages (a few minutes on a fresh machine)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade "pip<26" wheel "setuptools<81"
  .venv/bin/python -m pip install -q -c constraints.txt -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  stamp_of > "$STAMP"
fi
echo "[install] done: $ROOT/.venv"

if [ "$RUN_DEMO" = 1 ]; then
  .venv/bin/tomorois-surfora demo --out "$ROOT/demo_output"
fi
