#!/usr/bin/env bash
# Runs every test: bash scripts/test.sh [extra pytest arguments]
# Installs first when .venv is missing or out of date (a no-op otherwise), so it works on a fresh clone.
# The protocol tests run under Scipion's own runner; pytest then runs everything else (plain `pytest` runs all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --no-demo
export MPLBACKEND=Agg QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-xcb}
with_display() {
  if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then xvfb-run -a -s "-screen 0 1280x1024x24" "$@"; else "$@"; fi
}
echo "[test] Scipion's test runner on the protocol tests"
(
  eval "$(.venv/bin/python -m tomorois_surfora.tests.scipion_env)"
  modules=$(ls tomorois_surfora/tests/test_protocol_*.py | sed 's#/#.#g; s#\.py$##')
  # shellcheck disable=SC2086
  with_display .venv/bin/python -m pyworkflow.apps.pw_run_tests --run $modules
) > .scipion-runner.log 2>&1 || { tail -60 .scipion-runner.log; echo "[test] Scipion's runner failed"; exit 1; }
grep -E "PASSED|run [0-9]+ tests" .scipion-runner.log | sed 's/\x1b\[[0-9;]*m//g'
echo "[test] pytest"
with_display .venv/bin/python -m pytest --ignore-glob='*/test_protocol_*.py' "$@"
