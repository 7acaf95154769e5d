#!/usr/bin/env bash
# Runs every test: bash scripts/test.sh [extra pytest arguments]
# Installs first when .venv is missing or out of date (a no-op otherwise), so it works on a fresh clone.
# The protocol tests run under Scipion's own runner, beside pytest on everything else (plain `pytest` runs all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --no-demo
export MPLBACKEND=Agg QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-xcb}
with_display() {
  if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then xvfb-run -a -s "-screen 0 1280x1024x24" "$@"; else "$@"; fi
}
# The two halves run side by side: the protocol tests mostly wait (pyworkflow's process starts, step polls and
# queue jobs), so the cores are shared well and the suite takes about as long as its longer half.
echo "[test] Scipion's test runner on the protocol tests (log: .scipion-runner.log) and pytest on the rest, side by side"
(
  eval "$(.venv/bin/python -m tomorois_surfora.tests.scipion_env)"
  modules=$(ls tomorois_surfora/tests/test_protocol_*.py | sed 's#/#.#g; s#\.py$##')
  # shellcheck disable=SC2086
  with_display .venv/bin/python -m pyworkflow.apps.pw_run_tests --run $modules
) > .scipion-runner.log 2>&1 &
runner=$!
sleep 3  # two xvfb-run -a starting at the same moment can pick the same display
pytest_status=0
with_display .venv/bin/python -m pytest --ignore-glob='*/test_protocol_*.py' "$@" || pytest_status=$?
runner_status=0
wait "$runner" || runner_status=$?
echo "[test] Scipion's runner on the protocol tests:"
grep -E "PASSED|FAILED|run [0-9]+ tests" .scipion-runner.log | sed 's/\x1b\[[0-9;]*m//g' || true
if [ "$runner_status" -ne 0 ]; then tail -60 .scipion-runner.log; echo "[test] Scipion's runner failed"; fi
[ "$runner_status" -eq 0 ] && [ "$pytest_status" -eq 0 ]
