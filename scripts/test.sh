#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh Debian machine, then runs it.
# This is the README's test command and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian's nginx package starts a system nginx on port 80; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi

echo "==> npm ci"
npm ci --no-audit --no-fund

echo "==> typecheck"
npx tsc -p tsconfig.json --noEmit

echo "==> tests"
out=$(mktemp)
set +e
npx tap --reporter=tap --disable-coverage | tee "$out"
status=${PIPESTATUS[0]}
set -e
# One plain closing line for CI: count top-level test files' assertions from tap's summary.
pass=$(grep -Eo '^# pass +[0-9]+' "$out" | grep -Eo '[0-9]+' | tail -1)
fail=$(grep -Eo '^# fail +[0-9]+' "$out" | grep -Eo '[0-9]+' | tail -1)
rm -f "$out"
echo "${pass:-0} passed, ${fail:-0} failed"
exit "$status"
